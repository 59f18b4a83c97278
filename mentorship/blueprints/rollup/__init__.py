from flask import Blueprint

bp = Blueprint("rollup", __name__, url_prefix="/rollup", template_folder="templates")

from . import views  # noqa: E402,F401
