from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import HiddenInput

from ...models import MilestoneStatus, StepScope
from ..records import RecordForm


class VersionedForm(RecordForm):
    # The version the person saw: a save based on an older one is refused.
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class MilestoneForm(VersionedForm):
    fields_to_store = ("status", "done_on", "not_applicable_reason", "note", "evidence_url")

    status = SelectField(
        "Status", choices=[(s.value, s.value.capitalize()) for s in MilestoneStatus]
    )
    done_on = DateField(
        "Done on", validators=[Optional()], description="Today if you leave it empty."
    )
    not_applicable_reason = StringField(
        "Why it does not apply",
        validators=[Length(max=500)],
        description="Needed only when the status is “not applicable”.",
    )
    note = TextAreaField("Note", validators=[Length(max=5000)])
    evidence_url = URLField(
        "Evidence link",
        validators=[Optional(), URL(message="Enter a full address starting with https://")],
        description="Optional: the signed document, the launch photos, the report.",
        filters=[lambda value: (value or "").strip()],
    )


class DoneForm(VersionedForm):
    fields_to_store = ("done_on",)

    done_on = DateField("Done on", validators=[Optional()])


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment",
        validators=[DataRequired(message="Write a comment first."), Length(max=5000)],
        description="Plain text or Markdown (**bold**, lists, links).",
    )


class StepForm(RecordForm):
    fields_to_store = ("title", "description", "month_offset", "scope", "toolkit_page")

    title = StringField(
        "Step", validators=[DataRequired(message="Name the step."), Length(max=200)]
    )
    description = TextAreaField("What it involves", validators=[Length(max=2000)])
    month_offset = IntegerField(
        "Due in month",
        validators=[
            InputRequired(message="Enter the month it is due, counted from the pilot's start."),
            NumberRange(min=0, max=24, message="Enter a month from 0 to 24."),
        ],
    )
    scope = SelectField(
        "Done",
        choices=[
            (StepScope.LIBRARY.value, "Once per pilot library"),
            (StepScope.PARTNERSHIP.value, "Once per school-district partnership"),
        ],
        coerce=StepScope,
    )
    toolkit_page = StringField(
        "Toolkit page",
        validators=[
            Length(max=120),
            Regexp(r"^[a-z0-9-]*$", message="Use the page's short name, like commitment-letter."),
        ],
        description="The short name of the toolkit page that helps with this step.",
    )


class PublishForm(FlaskForm):
    apply_to_running = RadioField(
        "Running pilots",
        choices=[
            ("yes", "Apply the change to running pilots too (only steps they have not done)"),
            ("no", "Only pilots who start from now on"),
        ],
        validators=[DataRequired(message="Choose who gets the new version.")],
    )
