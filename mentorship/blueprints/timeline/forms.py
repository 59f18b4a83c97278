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
)
from wtforms.widgets import HiddenInput

from ...models import AgreementKind, MilestoneStatus, StepFact, StepScope
from ..records import RecordForm, empty_is_none


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
        validators=[
            Optional(),
            URL(message="Enter a full address starting with https://"),
            Length(max=500),
        ],
        description="Optional: the signed document, the launch photos, the report.",
        filters=[lambda value: (value or "").strip()],
    )


class FactMilestoneForm(MilestoneForm):
    """A step completed by a recorded fact: its fact marks it done (with the fact's date)
    and opens it again; by hand it can be put aside, or get a note and evidence."""

    fields_to_store = ("status", "not_applicable_reason", "note", "evidence_url")

    done_on = None

    def __init__(self, *args, milestone=None, **kwargs):
        super().__init__(*args, **kwargs)
        done = milestone is not None and milestone.status == MilestoneStatus.DONE
        shown = (
            (MilestoneStatus.DONE, MilestoneStatus.NOT_APPLICABLE)
            if done
            else (
                MilestoneStatus.NOT_STARTED,
                MilestoneStatus.IN_PROGRESS,
                MilestoneStatus.NOT_APPLICABLE,
            )
        )
        self.status.choices = [(s.value, s.value.capitalize()) for s in shown]
        self.status.description = (
            "Done by its fact (see above); it opens again by itself if the fact is undone."
            if done
            else "It is marked done by itself when the fact above is recorded."
        )


class DoneForm(VersionedForm):
    fields_to_store = ("done_on",)

    # Asked, never assumed: a step marked done today may have been done weeks ago.
    done_on = DateField(
        "Done on", validators=[InputRequired(message="Say on which day it was done.")]
    )


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment",
        validators=[DataRequired(message="Write a comment first."), Length(max=5000)],
        description="Plain text or Markdown (**bold**, lists, links).",
    )


class StepForm(RecordForm):
    fields_to_store = (
        "title",
        "description",
        "month_offset",
        "scope",
        "toolkit_page",
        "completed_by",
        "completed_by_stage",
        "completed_by_agreement",
    )

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
    # Choices: the toolkit's pages, by section (set by the view).
    toolkit_page = SelectField(
        "Toolkit page",
        validate_choice=True,
        description="The toolkit page that helps with this step (linked from each pilot's "
        "milestone).",
    )
    completed_by = SelectField(
        "Done by itself when",
        choices=[
            ("", "Nothing recorded elsewhere: the pilot marks it done"),
            (StepFact.STAGE_REACHED.value, "A partnership reaches a stage (choose it below)"),
            (StepFact.LETTER_SIGNED.value, "The commitment letter is signed"),
            (StepFact.AGREEMENT_IN_EFFECT.value, "An agreement with the district takes effect"),
            (
                StepFact.FIRST_OUTCOME_REPORT.value,
                "A partnership's first outcome figures are reported",
            ),
        ],
        coerce=empty_is_none(StepFact),
        description="A step done by a fact is never marked by hand: it is done on the day the "
        "fact happened and opens again if the fact is undone. Done once per pilot, a "
        "partnership's fact must hold for every active partnership.",
    )
    # Choices: the partnership stages (set by the view).
    completed_by_stage = SelectField(
        "Stage reached (if done when a partnership reaches a stage)",
        coerce=empty_is_none(int),
        validate_choice=False,  # the service checks it
    )
    completed_by_agreement = SelectField(
        "Kind of agreement (if done when an agreement takes effect)",
        choices=[("", "Any kind")] + [(k.value, k.value) for k in AgreementKind],
        coerce=empty_is_none(AgreementKind),
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
