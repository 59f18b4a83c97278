from flask import Blueprint

from ...extensions import csrf

# GET only, authenticated by a bearer token and never by the session cookie, so there
# is no cross-site request to forge: CSRF protection does not apply.
bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

from . import legislative, views  # noqa: E402,F401
