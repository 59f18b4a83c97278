from flask import Blueprint

bp = Blueprint("districts", __name__, url_prefix="/districts", template_folder="templates")

from . import views  # noqa: E402,F401
