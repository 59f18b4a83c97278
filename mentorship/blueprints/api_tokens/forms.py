from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...services.api_tokens import holder_choices


class ApiTokenForm(FlaskForm):
    name = StringField(
        "What the token is for",
        validators=[DataRequired(message="Say what the token is for."), Length(max=120)],
        description="For example “CDE data team dashboard”: the list shows it, so you know which token to revoke.",
    )
    user_id = SelectField(
        "Acts for",
        coerce=lambda value: int(value) if value not in (None, "", "None") else None,
        validators=[DataRequired(message="Choose whom the token acts for.")],
        description="A state official or staff member. The token sees what a state official sees, and stops working if this person is deactivated or no longer has that role.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [("", "— Choose a person —"), *holder_choices()]
