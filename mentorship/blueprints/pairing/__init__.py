from flask import Blueprint

bp = Blueprint("pairing", __name__, url_prefix="/pairings", template_folder="templates")

from . import views  # noqa: E402,F401
