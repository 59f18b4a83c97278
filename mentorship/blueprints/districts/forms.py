from __future__ import annotations

import re

import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ...extensions import db
from ...models import LeaKind, SchoolDistrict
from ..records import RecordForm, county_field

SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


class SchoolDistrictForm(RecordForm):
    fields_to_store = (
        "name",
        "kind",
        "county",
        "state_code",
        "students_enrolled",
        "enrolment_school_year",
    )

    name = StringField("District name", validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        "Kind of local educational agency",
        choices=[(kind.value, kind.value.capitalize()) for kind in LeaKind],
        coerce=LeaKind,
        default=LeaKind.DISTRICT.value,
    )
    county = county_field()
    state_code = StringField(
        "State code",
        validators=[Optional(), Length(max=20)],
        description="California CDS county-district code (e.g. 43-69666) or NCES district id.",
        filters=[lambda value: (value or "").strip() or None],
    )
    students_enrolled = IntegerField(
        "Students enrolled (K-12)",
        validators=[
            Optional(),
            NumberRange(min=0, max=5_000_000, message="Enter a count of students, 0 or more."),
        ],
        description="A count only: never enter a student's name or ID.",
    )
    enrolment_school_year = StringField(
        "School year of that figure",
        validators=[Optional(), Length(max=7)],
        description="Like 2024-25.",
    )

    def __init__(self, *args, obj: SchoolDistrict | None = None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self._district_id = obj.id if obj else None

    def validate_enrolment_school_year(self, field):
        value = (field.data or "").strip()
        if not value:
            if self.students_enrolled.data is not None:
                raise ValidationError(
                    "Say which school year the enrolment figure is for, like 2024-25."
                )
            return
        match = SCHOOL_YEAR.match(value)
        if not match or (int(match[1]) + 1) % 100 != int(match[2]):
            raise ValidationError("Write the school year as two consecutive years, like 2024-25.")

    def validate_state_code(self, field):
        if field.data and db.session.scalar(
            sa.select(SchoolDistrict.id).where(
                SchoolDistrict.state_code == field.data,
                SchoolDistrict.id != (self._district_id or 0),
            )
        ):
            raise ValidationError("Another district already has this state code.")

    def validate_name(self, field):
        if db.session.scalar(
            sa.select(SchoolDistrict.id).where(
                sa.func.lower(SchoolDistrict.name) == field.data.strip().lower(),
                sa.func.lower(SchoolDistrict.county) == (self.county.data or "").strip().lower(),
                SchoolDistrict.id != (self._district_id or 0),
            )
        ):
            raise ValidationError("A district with this name already exists in this county.")


class SchoolLibraryForm(FlaskForm):
    """A school's local public library (set by its elementary attendance area)."""

    school_id = SelectField("School", coerce=int)
    library_id = SelectField(
        "Local public library",
        coerce=int,
        description="The library of the school's elementary attendance area; it may be in "
        "another county.",
    )
