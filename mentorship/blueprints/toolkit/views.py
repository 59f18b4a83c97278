from pathlib import Path

from flask import abort, current_app, render_template, request, send_from_directory, url_for
from flask_login import current_user

from ...access import VIEW, ToolkitPage, require
from ...services import case_studies, toolkit
from . import bp


def _directory() -> Path:
    return Path(current_app.config["TOOLKIT_DIR"])


def _toolkit() -> toolkit.Toolkit:
    # In debug, edits to the files show on the next request.
    return toolkit.toolkit_from(_directory(), watch=current_app.debug)


@bp.get("/")
@require(VIEW, ToolkitPage)
def index():
    kit = _toolkit()
    return render_template(
        "toolkit/index.html",
        sections=kit.sections(),
        errors=kit.errors if current_user.is_staff else [],
    )


@bp.get("/search")
@require(VIEW, ToolkitPage)
def search():
    words = request.args.get("q", "").strip()[:200]
    # Published case studies are searched with the toolkit (drafts never are).
    extra = (
        case_studies.search_documents(lambda cs: url_for("case_studies.show", case_study_id=cs.id))
        if words
        else []
    )
    hits = toolkit.search(_directory(), words, extra, watch=current_app.debug) if words else []
    return render_template("toolkit/search.html", words=words, hits=hits)


@bp.get("/<slug>")
@require(VIEW, ToolkitPage)
def page(slug: str):
    kit = _toolkit()
    found = kit.pages.get(slug)
    if found is None:
        abort(404)
    previous, following = kit.neighbours(found)
    return render_template("toolkit/page.html", page=found, previous=previous, following=following)


@bp.get("/downloads/<name>")
@require(VIEW, ToolkitPage)
def download(name: str):
    kit = _toolkit()
    if not any(name in p.downloads for p in kit.pages.values()):
        abort(404)  # only the files pages offer, nothing else in the folder
    return send_from_directory(kit.downloads_dir, name, as_attachment=True)
