from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ...models import AgreementKind, CardModel, Enrolment, SignerRole
from ...services.errors import DomainError
from ...services.importing import MAX_BYTES, TOO_LARGE, read_csv_text
from ..records import RecordForm, empty_is_none

NOT_DECIDED = ("", "Not decided yet")


def _yes_no(value):
    return {"yes": True, "no": False, True: True, False: False}.get(value)


def _document_link(label: str) -> URLField:
    return URLField(
        label,
        validators=[
            Optional(),
            URL(message="Enter a full address starting with https://"),
            Length(max=500),
        ],
        description="Optional: where the signed copy is kept (shared drive, document system).",
        filters=[lambda value: (value or "").strip()],
    )


class PartnershipForm(RecordForm):
    fields_to_store = (
        "district_id",
        "card_model",
        "enrolment",
        "fine_free",
        "rollout_order",
        "contact_name",
        "contact_title",
        "contact_email",
        "contact_phone",
        "notes",
    )

    district_id = SelectField("School district", coerce=int, validate_choice=True)
    card_model = SelectField(
        "Card model",
        choices=[NOT_DECIDED] + [(m.value, m.value.capitalize()) for m in CardModel],
        coerce=empty_is_none(CardModel),
        description="Full card; starter card (e.g. a limit on physical checkouts); "
        "or digital only (e-resources, student ID as card number).",
    )
    enrolment = SelectField(
        "Enrolment",
        choices=[
            NOT_DECIDED,
            (Enrolment.OPT_OUT.value, "Opt-out: every student gets a card unless parents decline"),
            (Enrolment.OPT_IN.value, "Opt-in: families sign up"),
        ],
        coerce=empty_is_none(Enrolment),
    )
    fine_free = SelectField(
        "Fine-free student cards",
        choices=[NOT_DECIDED, ("yes", "Yes"), ("no", "No")],
        coerce=_yes_no,
    )
    rollout_order = IntegerField(
        "Roll-out order",
        default=1,
        validators=[
            InputRequired(message="Enter 1 for the first district, 2 for the next…"),
            NumberRange(min=1, max=999, message="Enter a number from 1 to 999."),
        ],
        description="Districts are often rolled out one at a time: 1 is the first.",
    )
    contact_name = StringField("District contact: name", validators=[Length(max=120)])
    contact_title = StringField(
        "District contact: title",
        validators=[Length(max=120)],
        description="e.g. Assistant Superintendent, Educational Services.",
    )
    contact_email = StringField(
        "District contact: email",
        validators=[
            Optional(),
            Email(message="Enter an email address like name@district.org"),
            Length(max=254),
        ],
    )
    contact_phone = StringField("District contact: phone", validators=[Length(max=40)])
    notes = TextAreaField(
        "Notes",
        validators=[Length(max=5000)],
        description="Private to your library, your mentor and program staff.",
    )


class NewPartnershipForm(PartnershipForm):
    contacted_on = DateField(
        "First contact on",
        validators=[DataRequired(message="Enter the date of the first contact.")],
    )


class StageForm(FlaskForm):
    stage_id = SelectField("Stage reached", coerce=int, validate_choice=True)
    reached_on = DateField(
        "On", validators=[DataRequired(message="Enter the date the stage was reached.")]
    )


class AgreementForm(RecordForm):
    fields_to_store = ("kind", "effective_on", "expires_on", "document_url", "notes")

    kind = SelectField(
        "Kind of agreement",
        choices=[(AgreementKind.MOU.value, "MOU (memorandum of understanding)")]
        + [(AgreementKind.DATA_SHARING.value, "Data-sharing agreement")],
        coerce=AgreementKind,
    )
    effective_on = DateField(
        "Effective from", validators=[DataRequired(message="Enter the effective date.")]
    )
    expires_on = DateField(
        "Expires on",
        validators=[Optional()],
        description="Leave empty if it does not expire. Staff and your library see it "
        "90 days before it does.",
    )
    document_url = _document_link("Link to the signed agreement")
    notes = TextAreaField("Notes", validators=[Length(max=5000)])


class SignerForm(RecordForm):
    fields_to_store = ("role", "partnership_id", "name", "title", "signed_on")

    role = SelectField(
        "Signs as",
        choices=[(role.value, role.value.capitalize()) for role in SignerRole],
        coerce=SignerRole,
        description="The chief elected official is the mayor or county executive. "
        "Add one superintendent per partner district.",
    )
    # Choices: the library's active partner districts (set by the view).
    partnership_id = SelectField(
        "Superintendent of (partner district)",
        coerce=empty_is_none(int),
        validate_choice=False,  # the service checks it is one of the library's districts
        description="Only for a superintendent: the partner district they sign for.",
    )
    name = StringField(
        "Name", validators=[DataRequired(message="Enter the signer's name."), Length(max=120)]
    )
    title = StringField("Title", validators=[Length(max=160)], description="e.g. Mayor of Hayward.")
    signed_on = DateField(
        "Date signed", validators=[Optional()], description="Leave empty until they have signed."
    )


class LetterDocumentForm(RecordForm):
    fields_to_store = ("document_url",)

    document_url = _document_link("Link to the signed letter")


def _count(label: str, required: bool = True, description: str = "") -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(message="Enter a whole number (0 if none).") if required else Optional(),
            NumberRange(min=0, max=10_000_000, message="Enter a whole number, 0 or more."),
        ],
        description=description,
    )


class OutcomeReportForm(RecordForm):
    fields_to_store = (
        "period_start",
        "period_end",
        "students_enrolled",
        "physical_cards",
        "digital_cards",
        "students_using_cards",
        "explanation",
    )

    period_start = DateField(
        "Period from", validators=[DataRequired(message="Enter the first day of the period.")]
    )
    period_end = DateField(
        "Period to",
        validators=[DataRequired(message="Enter the last day of the period.")],
        description="Usually a school year or a quarter.",
    )
    students_enrolled = _count(
        "Students enrolled in the district", description="A count only: never a student's name."
    )
    physical_cards = _count("New physical cards issued in the period")
    digital_cards = _count("Digital / student-ID cards issued in the period")
    students_using_cards = _count(
        "Students who used their card in the period",
        required=False,
        description="Leave empty if you cannot count it yet.",
    )
    explanation = TextAreaField(
        "Explanation",
        validators=[Length(max=2000)],
        description="Needed only if the cards issued to date exceed the students enrolled.",
    )


class IlsUploadForm(FlaskForm):
    """The aggregate CSV the library system produces (the CSV import's rules)."""

    file = FileField(
        "ILS report (CSV)",
        validators=[
            FileRequired("Choose the CSV file your library system produced."),
            FileAllowed(["csv", "txt"], "Choose a .csv file (save the spreadsheet as CSV UTF-8)."),
            FileSize(MAX_BYTES, message=TOO_LARGE),
        ],
        description="Counts by school and grade only. Nothing is stored until you confirm.",
    )

    text = ""

    def validate_file(self, field):
        if field.errors:
            return
        try:
            self.text = read_csv_text(field.data.read())
        except DomainError as error:
            raise ValidationError(error.message) from error


class IlsConfirmForm(FlaskForm):
    """Carries the previewed file back; the server plans it again from scratch."""

    text = HiddenField(validators=[InputRequired(), Length(max=MAX_BYTES)])


class PartnershipSchoolsForm(FlaskForm):
    school_ids = SelectMultipleField(
        "Schools this partnership covers",
        coerce=int,
        description="Choose none to cover every school of the LEA. Hold Ctrl (or ⌘) to choose several.",
    )


def _uses(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(min=0, max=100_000_000, message="Enter 0 or more.")],
        description="Leave empty to keep what is stored.",
    )


class YearFiguresForm(FlaskForm):
    """A library's figures for a school year that the law asks for besides cards."""

    school_year = SelectField("School year", coerce=int)
    summer_readers = IntegerField(
        "New summer readers (all grades)",
        validators=[Optional(), NumberRange(min=0, max=10_000_000, message="Enter 0 or more.")],
        description="Counted in the summer that ends the school year. A count only.",
    )
    e_resources = _uses("E-resource sessions by student cards")
    checkouts = _uses("Checkouts by student cards")
    homework_help = _uses("Tutoring or homework-help sessions by student cards")

    def values(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in ("summer_readers", "e_resources", "checkouts", "homework_help")
        }
