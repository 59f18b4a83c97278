from pathlib import Path

from flask import abort, current_app, render_template
from flask_login import current_user

from ...access import VIEW, HelpGuide, require
from ...services import help as help_service
from . import bp


def current_help() -> help_service.Help:
    # In debug, edits to the files show on the next request.
    return help_service.help_from(Path(current_app.config["HELP_DIR"]), watch=current_app.debug)


@bp.get("/")
@require(VIEW, HelpGuide)
def index():
    found = current_help()
    return render_template(
        "help/index.html",
        guides=found.ordered(),
        yours=found.for_role(current_user.role.value),
        errors=found.errors if current_user.is_staff else [],
    )


@bp.get("/<guide>")
@require(VIEW, HelpGuide)
def guide(guide: str):
    found = current_help().guides.get(guide)
    if found is None:
        abort(404)
    return render_template("help/guide.html", guide=found)
