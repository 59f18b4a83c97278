from flask import Blueprint

bp = Blueprint("case_studies", __name__, url_prefix="/case-studies", template_folder="templates")

from . import views  # noqa: E402,F401
