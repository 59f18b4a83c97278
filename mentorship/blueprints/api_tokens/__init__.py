from flask import Blueprint

bp = Blueprint("api_tokens", __name__, url_prefix="/api-tokens", template_folder="templates")

from . import views  # noqa: E402,F401
