from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/import", template_folder="templates")

from . import views  # noqa: E402,F401
