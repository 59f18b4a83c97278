from flask import Blueprint

bp = Blueprint("libraries", __name__, url_prefix="/libraries", template_folder="templates")

from . import views  # noqa: E402,F401
