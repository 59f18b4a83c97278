"""Import libraries, districts and people from a CSV file: upload, preview, confirm.

Nothing is stored until staff confirm. The confirm form carries the file's text back,
and it is planned again from scratch, since the database may have changed meanwhile.
"""

from __future__ import annotations

import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ...access import CREATE, require
from ...extensions import db
from ...models import Library, User
from ...services import importing
from ...services.errors import DomainError
from ..auth.links import send_password_link
from ..records import form_page
from . import bp
from .forms import ConfirmForm, UploadForm

log = logging.getLogger(__name__)

LIST_PAGES = {
    "libraries": "libraries.index",
    "districts": "districts.index",
    "people": "people.index",
    "cde-schools": "districts.index",
    "pls-libraries": "libraries.index",
}


@bp.url_value_preprocessor
def allow_a_whole_file(endpoint, values):
    # Runs before the CSRF check reads the form. The file, or its text in the confirm
    # form, may be 2 MB (Flask's default limit on a form field is 500 kB); a body far
    # beyond that is refused unread and answered by `too_large` below.
    request.max_content_length = request.max_form_memory_size = 4 * importing.MAX_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    flash(importing.TOO_LARGE, "error")
    return redirect(url_for("imports.upload"))


@bp.route("/", methods=["GET", "POST"])
@require(CREATE, Library)
def upload():
    form = UploadForm(kind=request.args.get("kind"))
    if form.validate_on_submit():
        return _preview(importing.plan_import(form.kind.data, form.text), form.text)
    return form_page(render_template("imports/upload.html", form=form, kinds=importing.KINDS))


@bp.post("/confirm")
@require(CREATE, Library)
def confirm():
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    plan = importing.plan_import(form.kind.data, form.text.data)
    if plan.has_errors:
        return _preview(plan, form.text.data)
    try:
        result = importing.apply_import(plan, current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(f"Nothing was stored. {error.message}", "error")
        return redirect(url_for("imports.upload", kind=plan.kind))
    sent = _invite(result.new_people)
    summary = (
        f"Imported: {result.created} added, {result.updated} updated, {result.unchanged} unchanged."
    )
    if plan.kind == "people":
        summary += f" {sent} invitation{'' if sent == 1 else 's'} sent."
    flash(summary, "success")
    if sent < len(result.new_people):
        flash(
            f"{len(result.new_people) - sent} invitations could not be sent. Open those people's "
            "pages and use “Email a link to set a password”.",
            "warning",
        )
    return redirect(url_for(LIST_PAGES[plan.kind]))


@bp.get("/template/<kind>.csv")
@require(CREATE, Library)
def template(kind: str):
    if kind not in importing.KINDS:
        abort(404)
    return Response(
        importing.template_csv(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


def _preview(plan: importing.ImportPlan, text: str):
    confirm = None if plan.has_errors else ConfirmForm(formdata=None, kind=plan.kind, text=text)
    return render_template(
        "imports/preview.html", plan=plan, kind=importing.KINDS[plan.kind], confirm=confirm
    )


def _invite(people: list[User]) -> int:
    """Email each new person their invitation, after the commit; how many went."""
    sent = 0
    for person in people:
        try:
            send_password_link(person, invitation=True)
            sent += 1
        except OSError:  # they are stored; staff can send the link from their page
            log.exception("The invitation to %s could not be sent", person.email)
    return sent
