"""The list / create / show / edit / deactivate pages every program record has.

Libraries, school districts, cohorts and people are kept the same way, so their
blueprints describe themselves with a `RecordPages` and share these thin views.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired

from ..access import CREATE, DEACTIVATE, EDIT, LIST, VIEW, get_or_404, require
from ..extensions import db
from ..models import AuditEvent
from ..models.library import CALIFORNIA_COUNTIES
from ..services import records
from ..services.errors import DomainError
from ..tables import Column, csv_response


def empty_is_none(convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A select's `coerce` whose empty choice stores None ("not decided", "any")."""
    return lambda value: convert(value) if value not in ("", None) else None


CONTROL_CHARACTERS = (
    "Remove the line breaks and other invisible characters: this field is one line."
)


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


class RecordForm(FlaskForm):
    """A form whose `fields_to_store` map one to one onto model attributes."""

    fields_to_store: tuple[str, ...] = ()

    def validate(self, extra_validators=None) -> bool:
        """Also: a one-line field (a name, a title, an email) holds no line breaks or
        other control characters, which break calendars, emails and CSV rows."""
        valid = super().validate(extra_validators)
        for one in self:
            if (
                isinstance(one, StringField)
                and not isinstance(one, TextAreaField)
                and isinstance(one.data, str)
                and has_control_characters(one.data)
            ):
                one.errors = [*one.errors, CONTROL_CHARACTERS]
                valid = False
        return valid

    def values(self) -> dict[str, Any]:
        values = {}
        for name in self.fields_to_store:
            data = self[name].data
            values[name] = data.strip() if isinstance(data, str) else data
        return values


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's refusal next to its field (or above the form)."""
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        flash(error.message, "error")


def commit_or_show(form: FlaskForm, action: Callable[[], Any]) -> Any | None:
    """Run one user action as one transaction; on a domain error store nothing."""
    try:
        result = action()
        db.session.commit()
        return result
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None


def form_page(page: ResponseReturnValue) -> Response:
    """A form's page: as rendered when shown (GET), **400** when a POST comes back to it.

    A POST only comes back to its form when it was refused (a field is invalid, or a
    service's `DomainError` was put beside its field), so nothing was stored; the 400
    lets scripts, the access matrix and monitoring tell a refused submission from a
    shown page. A page that chose its own status (409 for a stale edit) keeps it."""
    response = make_response(page)
    if request.method == "POST" and response.status_code == 200:
        response.status_code = 400
    return response


def save_from_form(
    form: FlaskForm,
    action: Callable[[], Any],
    success: str | Callable[[Any], str],
    next_url: str | Callable[[Any], str],
    page: Callable[[], ResponseReturnValue],
    after: Callable[[Any], None] | None = None,
) -> Response:
    """The one way a view handles a POSTed form: validate → act → commit → message → redirect.

    A valid form runs `action` (one service call) as one transaction, then `after` (what
    waits for the commit, such as an email) with its result, flashes `success` and
    redirects to `next_url`. Otherwise `page` draws the form again: on a GET as it is,
    and for a refused POST with **status 400**, the messages beside the fields (WTForms'
    own, or a service's `DomainError` put on its `field`, or flashed above the form when
    it names none) and what the person typed kept. Nothing was stored."""
    if form.validate_on_submit():
        result = commit_or_show(form, lambda: action() or True)
        if result is not None:
            if after is not None:
                after(result)
            flash(success(result) if callable(success) else success, "success")
            return redirect(next_url(result) if callable(next_url) else next_url)
    return form_page(page())


def recent_changes(obj: Any, limit: int = 10) -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
        .options(sa.orm.selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()


@dataclass
class RecordPages:
    model: type
    form_class: type[RecordForm]
    noun: str  # "library"
    plural: str  # "libraries"
    columns: Sequence[Column]
    search: Sequence[Any]  # columns searched by ?q=
    order_by: Any
    show_template: str
    create: Callable[[dict, Any], Any] | None = None
    update: Callable[[Any, dict, Any], Any] | None = None
    after_create: Callable[[Any], None] | None = None  # runs after the commit (email)
    detail_context: Callable[[Any], dict] = field(default=lambda obj: {})
    list_options: Sequence[Any] = ()
    importable: bool = False  # offers "Import from a spreadsheet" (services/importing.py)

    def register(self, bp: Blueprint) -> None:
        model = self.model
        bp.add_url_rule("/", "index", require(LIST, model)(self.index))
        bp.add_url_rule("/new", "new", require(CREATE, model)(self.new), methods=["GET", "POST"])
        bp.add_url_rule("/<int:object_id>", "show", require(VIEW, model)(self.show))
        bp.add_url_rule(
            "/<int:object_id>/edit",
            "edit",
            require(EDIT, model)(self.edit),
            methods=["GET", "POST"],
        )
        bp.add_url_rule(
            "/<int:object_id>/active",
            "set_active",
            require(DEACTIVATE, model)(self.set_active),
            methods=["POST"],
        )
        self.endpoint = bp.name

    # The require() decorator checks the kind; these check the object.
    def index(self):
        query = sa.select(self.model).options(*self.list_options).order_by(self.order_by)
        q = request.args.get("q", "").strip()
        show_inactive = request.args.get("inactive") == "1"
        if q:
            # The words as typed: `%` and `_` are characters here, not wildcards.
            query = query.where(
                sa.or_(*(column.icontains(q, autoescape=True) for column in self.search))
            )
        if not show_inactive:
            query = query.where(self.model.active.is_(True))
        if request.args.get("format") == "csv":
            return csv_response(self.plural.replace(" ", "-"), self.columns, query)
        page = db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False)
        return render_template(
            "records/list.html", pages=self, page=page, q=q, show_inactive=show_inactive
        )

    def new(self):
        form = self.form_class()
        return save_from_form(
            form,
            lambda: self._create(form.values()),
            lambda obj: f"{self.noun.capitalize()} “{form.values().get('name', '')}” was added.",
            lambda obj: url_for(f"{self.endpoint}.show", object_id=obj.id),
            lambda: render_template("records/form.html", pages=self, form=form, obj=None),
            after=self.after_create,
        )

    def _create(self, values: dict) -> Any:
        if self.create is not None:
            return self.create(values, current_user)
        return records.create(self.model, values, current_user)

    def show(self, object_id: int):
        obj = get_or_404(self.model, object_id, VIEW)
        return render_template(
            self.show_template,
            obj=obj,
            pages=self,
            changes=recent_changes(obj),
            **self.detail_context(obj),
        )

    def edit(self, object_id: int):
        obj = get_or_404(self.model, object_id, EDIT)
        form = self.form_class(obj=obj)
        update = self.update or records.update
        return save_from_form(
            form,
            lambda: update(obj, form.values(), current_user),
            f"Your changes to this {self.noun} were saved.",
            url_for(f"{self.endpoint}.show", object_id=object_id),
            lambda: render_template("records/form.html", pages=self, form=form, obj=obj),
        )

    def set_active(self, object_id: int):
        obj = get_or_404(self.model, object_id, DEACTIVATE)
        return set_active_from_form(
            obj, f"This {self.noun}", url_for(f"{self.endpoint}.show", object_id=object_id)
        )


def set_active_from_form(
    obj: Any, label: str, next_url: str, change: Callable[[bool], Any] | None = None
):
    """The deactivate / reactivate buttons: one audited change (`change`, when the record
    has its own service for it), then back."""
    active = request.form.get("active") == "1"
    if change is None:
        records.set_active(obj, active, current_user)
    else:
        change(active)
    db.session.commit()
    flash(f"{label} is now {'active' if active else 'deactivated'}.", "success")
    return redirect(next_url)


def county_field() -> Any:
    """California's 58 counties as a list, so a county is never misspelt."""
    return SelectField(
        "County",
        choices=[("", "Choose a county")] + [(county, county) for county in CALIFORNIA_COUNTIES],
        validators=[DataRequired(message="Choose the county.")],
    )
