from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import HiddenField, SelectField
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from ...services.errors import DomainError
from ...services.importing import KINDS, MAX_BYTES, TOO_LARGE, read_csv_text

KIND_CHOICES = [(kind.name, kind.label) for kind in KINDS.values()]


class UploadForm(FlaskForm):
    kind = SelectField("What the file holds", choices=KIND_CHOICES)
    file = FileField(
        "CSV file",
        validators=[
            FileRequired("Choose the CSV file to import."),
            FileAllowed(["csv", "txt"], "Choose a .csv file (save the spreadsheet as CSV UTF-8)."),
            FileSize(MAX_BYTES, message=TOO_LARGE),
        ],
        description="At most 2 MB and 5,000 rows. Nothing is stored until you confirm.",
    )

    text = ""  # the file's text, once validate_file has read it

    def validate_file(self, field):
        if field.errors:  # too large: not read
            return
        try:
            self.text = read_csv_text(field.data.read())
        except DomainError as error:
            raise ValidationError(error.message) from error


class ConfirmForm(FlaskForm):
    """Carries the previewed file back; the server plans it again from scratch."""

    kind = HiddenField(validators=[AnyOf(list(KINDS)), Length(max=40)])
    # Missing: a tampered form, not a file. At most what a 2 MB file decodes to.
    text = HiddenField(validators=[InputRequired(), Length(max=MAX_BYTES)])
