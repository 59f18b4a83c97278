from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ...models import CardModel, DistrictSize
from ...models.library import COOPERATIVE_SYSTEMS
from ..records import RecordForm, empty_is_none


class CaseStudyForm(RecordForm):
    fields_to_store = ("title", "summary", "body", "card_model", "district_size", "region")

    # Staff choose the library; a librarian always writes for their own (field removed).
    library_id = SelectField("Library", coerce=int)
    title = StringField(
        "Title", validators=[DataRequired(message="Give the case study a title."), Length(max=200)]
    )
    summary = TextAreaField(
        "Summary",
        validators=[Length(max=500)],
        description="Two or three sentences: shown in the list of case studies.",
    )
    body = TextAreaField(
        "The story",
        validators=[Length(max=50000)],
        description="Markdown: ### headings, **bold**, lists, links. The library's figures "
        "(cards to date, students enrolled, coverage) are added from its outcome reports.",
    )
    card_model = SelectField(
        "Card model",
        choices=[("", "Not set")] + [(m.value, m.value.capitalize()) for m in CardModel],
        coerce=empty_is_none(CardModel),
    )
    district_size = SelectField(
        "School district size",
        choices=[
            ("", "Not set"),
            (DistrictSize.SMALL.value, "Small (under 5,000 students)"),
            (DistrictSize.MEDIUM.value, "Medium (5,000 to 25,000)"),
            (DistrictSize.LARGE.value, "Large (over 25,000)"),
        ],
        coerce=empty_is_none(DistrictSize),
    )
    region = SelectField(
        "Region",
        choices=[("", "The library's cooperative system")] + [(s, s) for s in COOPERATIVE_SYSTEMS],
        description="The cooperative system, for finding stories from nearby libraries.",
        default="",
    )


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment",
        validators=[DataRequired(message="Write a comment first."), Length(max=5000)],
        description="Plain text or Markdown (**bold**, lists, links).",
    )


def _reason(label: str, message: str) -> TextAreaField:
    return TextAreaField(label, validators=[DataRequired(message=message), Length(max=500)])


class SendBackForm(FlaskForm):
    reason = _reason("What the authors should change", "Say what the authors should change.")


class WithdrawForm(FlaskForm):
    reason = _reason("Why it is withdrawn", "Say why the case study is withdrawn.")


class HideForm(FlaskForm):
    reason = _reason(
        "Why hide this comment", "Say why the comment is hidden (everyone sees the reason)."
    )
