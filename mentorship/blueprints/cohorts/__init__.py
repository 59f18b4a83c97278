from flask import Blueprint

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts", template_folder="templates")

from . import views  # noqa: E402,F401
