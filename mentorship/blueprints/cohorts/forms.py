from __future__ import annotations

import sqlalchemy as sa
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from ...extensions import db
from ...models import OUTER_BOUND_MONTHS, TARGET_MONTHS, Cohort, ParticipationRole
from ...services.libraries import active_library_choices
from ..records import RecordForm


class CohortForm(RecordForm):
    fields_to_store = ("name", "start_date", "end_date", "notes")

    name = StringField(
        "Cohort name",
        validators=[DataRequired(), Length(max=120)],
        description="e.g. “Year 1 — Northern California”.",
    )
    start_date = DateField("Start date", validators=[DataRequired(message="Enter a date.")])
    end_date = DateField("End date", validators=[DataRequired(message="Enter a date.")])
    notes = TextAreaField("Notes", validators=[Length(max=5000)])

    def __init__(self, *args, obj: Cohort | None = None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self._cohort_id = obj.id if obj else None

    def validate_end_date(self, field):
        if self.start_date.data and field.data and field.data < self.start_date.data:
            raise ValidationError("The end date must be on or after the start date.")

    def validate_name(self, field):
        if db.session.scalar(
            sa.select(Cohort.id).where(
                sa.func.lower(Cohort.name) == field.data.strip().lower(),
                Cohort.id != (self._cohort_id or 0),
            )
        ):
            raise ValidationError("A cohort with this name already exists.")


class ParticipationForm(RecordForm):
    fields_to_store = ("library_id", "role", "start_date", "target_months")

    library_id = SelectField("Library", coerce=int)
    role = SelectField(
        "Role in this cohort",
        choices=[(role.value, role.value.capitalize()) for role in ParticipationRole],
    )
    start_date = DateField("Start date", validators=[DataRequired(message="Enter a date.")])
    target_months = IntegerField(
        "Target length (months)",
        default=TARGET_MONTHS,
        validators=[
            InputRequired(message="Enter a number of months."),
            NumberRange(
                min=1, max=OUTER_BOUND_MONTHS, message=f"Between 1 and {OUTER_BOUND_MONTHS} months."
            ),
        ],
        description=f"{TARGET_MONTHS} is the program's target; {OUTER_BOUND_MONTHS} the outer bound.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.library_id.choices = active_library_choices()
