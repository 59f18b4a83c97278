from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...models import Cadence, CheckInMode
from ...services.checkins import ACTION_TEXT_MAX, ActionItemDraft
from ..records import RecordForm

ACTION_ROWS = 3  # empty rows are ignored; more items: log them with the next check-in


class CadenceForm(FlaskForm):
    cadence = SelectField(
        "How often you meet",
        choices=[(c.value, c.value.capitalize()) for c in Cadence],
        coerce=Cadence,
        description="The next check-in counts from your last one.",
    )


def _owner(value):
    return int(value) if value not in ("", None) else None


class CheckInForm(RecordForm):
    fields_to_store = ("held_on", "mode", "attendees", "notes")

    held_on = DateField("Day you met", validators=[DataRequired(message="Enter the day you met.")])
    mode = RadioField(
        "How you met",
        choices=[(m.value, m.value.capitalize()) for m in CheckInMode],
        invalid_choice_message="Choose call, video or visit.",
    )
    attendees = StringField(
        "Who attended",
        validators=[Length(max=500)],
        description="Names and libraries, e.g. Priya Raman (Hayward), Grace Lin (Berkeley).",
    )
    notes = TextAreaField("Notes", validators=[Length(max=10_000)])

    def set_owners(self, libraries) -> None:
        """The two paired libraries are the only possible owners of an action."""
        choices = [("", "Choose a library")] + [(lib.id, lib.name) for lib in libraries]
        for n in range(1, ACTION_ROWS + 1):
            self[f"item{n}_owner"].choices = choices

    def action_items(self) -> list[ActionItemDraft]:
        return [
            ActionItemDraft(
                text=(self[f"item{n}_text"].data or "").strip(),
                owner_library_id=self[f"item{n}_owner"].data,
                due_on=self[f"item{n}_due"].data,
                row=n,
            )
            for n in range(1, ACTION_ROWS + 1)
        ]

    def item_rows(self) -> list[tuple]:
        return [
            (self[f"item{n}_text"], self[f"item{n}_owner"], self[f"item{n}_due"])
            for n in range(1, ACTION_ROWS + 1)
        ]


# Plain numbered fields (item1_text, item1_owner, item1_due, …): an error lands beside
# the field of its row, and the form keeps what was typed.
for _n in range(1, ACTION_ROWS + 1):
    setattr(
        CheckInForm,
        f"item{_n}_text",
        StringField(f"Action {_n}", validators=[Length(max=ACTION_TEXT_MAX)]),
    )
    setattr(
        CheckInForm,
        f"item{_n}_owner",
        # Any id is accepted here: the service says when it is not one of the pair.
        SelectField(f"Action {_n}: who does it", coerce=_owner, validate_choice=False),
    )
    setattr(
        CheckInForm, f"item{_n}_due", DateField(f"Action {_n}: due by", validators=[Optional()])
    )
