from flask import Blueprint

bp = Blueprint("toolkit", __name__, url_prefix="/toolkit", template_folder="templates")

from . import views  # noqa: E402,F401
