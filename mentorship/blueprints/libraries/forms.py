from __future__ import annotations

import sqlalchemy as sa
from wtforms import EmailField, IntegerField, SelectField, StringField, URLField
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ...extensions import db
from ...models.library import COOPERATIVE_SYSTEMS, Governance, Library
from ..records import RecordForm, county_field


class LibraryForm(RecordForm):
    fields_to_store = (
        "name",
        "short_name",
        "city",
        "county",
        "cooperative_system",
        "governance",
        "service_population",
        "ils_name",
        "website",
        "contact_name",
        "contact_email",
        "contact_phone",
    )

    name = StringField("Library name", validators=[DataRequired(), Length(max=200)])
    short_name = StringField(
        "Short name",
        validators=[Length(max=60)],
        description="Shown in tight places, e.g. “San José PL”.",
    )
    city = StringField("City", validators=[Length(max=100)])
    county = county_field()
    cooperative_system = SelectField(
        "Cooperative library system",
        choices=[("", "None / not in a system")] + [(name, name) for name in COOPERATIVE_SYSTEMS],
        validate_choice=True,
    )
    governance = SelectField(
        "Governance", choices=[(g.value, g.value.capitalize()) for g in Governance]
    )
    service_population = IntegerField(
        "Service population",
        validators=[
            Optional(),
            NumberRange(min=0, max=50_000_000, message="Enter a number of people, 0 or more."),
        ],
    )
    ils_name = StringField(
        "Integrated library system (ILS)",
        validators=[Length(max=80)],
        description="e.g. Polaris, Sierra, Koha.",
    )
    website = URLField(
        "Website",
        validators=[
            Optional(),
            URL(message="Enter a full address starting with https://"),
            Length(max=300),
        ],
    )
    contact_name = StringField("Main contact: name", validators=[Length(max=120)])
    contact_email = EmailField(
        "Main contact: email",
        validators=[
            Optional(),
            Email(message="Enter an email address like name@library.org"),
            Length(max=254),
        ],
    )
    contact_phone = StringField("Main contact: phone", validators=[Length(max=40)])

    def __init__(self, *args, obj: Library | None = None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self._library_id = obj.id if obj else None

    def validate_name(self, field):
        clash = db.session.scalar(
            sa.select(Library.id).where(
                sa.func.lower(Library.name) == field.data.strip().lower(),
                Library.id != (self._library_id or 0),
            )
        )
        if clash:
            raise ValidationError("A library with this name already exists.")
