from __future__ import annotations

from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from ...models import Role
from ...services.libraries import active_library_choices
from ..records import RecordForm

ROLE_LABELS = {
    Role.STAFF: "Program staff",
    Role.PILOT: "Pilot librarian",
    Role.MENTOR: "Mentor librarian",
    Role.STATE: "State education official",
}


class PersonForm(RecordForm):
    fields_to_store = ("name", "email", "role", "library_id")

    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Email(message="Enter an email address like name@library.org"),
            Length(max=254),
        ],
    )
    role = SelectField("Role", choices=[(role.value, label) for role, label in ROLE_LABELS.items()])
    library_id = SelectField(
        "Library",
        coerce=lambda value: int(value) if value not in (None, "", "None") else None,
        description="Required for pilot and mentor librarians; leave empty for staff and state officials.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.library_id.choices = [(None, "— No library —"), *active_library_choices()]
