"""A library's partnership with a school district, its agreements, and the commitment letter."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .cohort import Participation
from .library import Library, SchoolDistrict
from .school import ALL_GRADES, School, grade_label


class PartnershipStage(db.Model):
    """contacted → meeting held → … → renewal due, as rows (migration 0003 writes them).

    Stages are data: code compares positions and never branches on a particular stage.
    """

    __tablename__ = "partnership_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(unique=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")

    def __repr__(self) -> str:
        return f"<PartnershipStage {self.position} {self.key}>"


class CardModel(enum.StrEnum):
    FULL = "full"
    STARTER = "starter"
    DIGITAL_ONLY = "digital only"


class Enrolment(enum.StrEnum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"


class Partnership(db.Model):
    """A library working with one school district; a library may have several."""

    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(sa.ForeignKey("libraries.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("school_districts.id"), index=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("partnership_stages.id"), index=True)
    card_model: Mapped[CardModel | None] = mapped_column(enum_type(CardModel, "card_model"))
    enrolment: Mapped[Enrolment | None] = mapped_column(enum_type(Enrolment, "enrolment"))
    fine_free: Mapped[bool | None]
    # Districts are often rolled out one at a time: 1 is the first.
    rollout_order: Mapped[int] = mapped_column(default=1)
    # The district's contact person: an adult at work, never a student.
    contact_name: Mapped[str] = mapped_column(sa.String(120), default="")
    contact_title: Mapped[str] = mapped_column(sa.String(120), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    library: Mapped[Library] = relationship()
    district: Mapped[SchoolDistrict] = relationship()
    stage: Mapped[PartnershipStage] = relationship()
    stage_dates: Mapped[list[PartnershipStageDate]] = relationship(
        back_populates="partnership", cascade="all, delete-orphan"
    )
    agreements: Mapped[list[Agreement]] = relationship(
        back_populates="partnership", order_by="Agreement.effective_on"
    )
    outcome_reports: Mapped[list[OutcomeReport]] = relationship(
        back_populates="partnership", order_by="OutcomeReport.period_end"
    )
    # The schools chosen; none chosen: every school of the LEA.
    schools: Mapped[list[School]] = relationship(
        secondary="partnership_schools", order_by="School.name", viewonly=True
    )

    __table_args__ = (
        sa.UniqueConstraint("library_id", "district_id", name="uq_partnerships_library_district"),
        sa.CheckConstraint("rollout_order BETWEEN 1 AND 999", name="rollout_order"),
    )

    @property
    def name(self) -> str:  # for the audit trail and headings
        return f"{self.library.name} – {self.district.name}"

    @property
    def first_contact(self) -> date | None:
        """The day it reached its first stage (the earliest of its stage dates)."""
        return min((d.reached_on for d in self.stage_dates), default=None)

    def reached_on(self, stage: PartnershipStage) -> date | None:
        for stage_date in self.stage_dates:
            if stage_date.stage_id == stage.id:
                return stage_date.reached_on
        return None


class PartnershipStageDate(db.Model):
    """The day a partnership reached a stage."""

    __tablename__ = "partnership_stage_dates"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("partnership_stages.id"))
    reached_on: Mapped[date]

    partnership: Mapped[Partnership] = relationship(back_populates="stage_dates")
    stage: Mapped[PartnershipStage] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "stage_id", name="uq_stage_dates_partnership_stage"),
    )


class AgreementKind(enum.StrEnum):
    MOU = "MOU"
    DATA_SHARING = "data-sharing agreement"


class Agreement(db.Model):
    """An MOU or data-sharing agreement with a district. Renewing one adds a new row."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_type(AgreementKind, "agreement_kind"))
    effective_on: Mapped[date]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    document_url: Mapped[str] = mapped_column(sa.String(500), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partnership: Mapped[Partnership] = relationship(back_populates="agreements")

    __table_args__ = (
        sa.CheckConstraint("expires_on IS NULL OR expires_on > effective_on", name="dates"),
    )

    @property
    def name(self) -> str:
        return f"{self.kind.value} with {self.partnership.district.name}"

    @property
    def library_id(self) -> int:  # whose it is, for the access rules
        return self.partnership.library_id


class SignerRole(enum.StrEnum):
    CHIEF_ELECTED_OFFICIAL = "chief elected official"
    SUPERINTENDENT = "superintendent"
    LIBRARY_DIRECTOR = "library director"


class CommitmentLetter(db.Model):
    """One per pilot participation; signed when the chief elected official, the library
    director and the superintendent of every active partner district have signed."""

    __tablename__ = "commitment_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(sa.ForeignKey("participations.id"), unique=True)
    document_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participation: Mapped[Participation] = relationship()
    signers: Mapped[list[LetterSigner]] = relationship(
        back_populates="letter", order_by="LetterSigner.id", cascade="all, delete-orphan"
    )
    # The library's active partner districts: each needs its superintendent's signature.
    partner_districts: Mapped[list[Partnership]] = relationship(
        secondary=lambda: Participation.__table__,
        primaryjoin=lambda: CommitmentLetter.participation_id == Participation.id,
        secondaryjoin=lambda: sa.and_(
            Participation.library_id == Partnership.library_id, Partnership.active.is_(True)
        ),
        order_by=lambda: (Partnership.rollout_order, Partnership.id),
        viewonly=True,
    )

    @property
    def name(self) -> str:
        return f"Commitment letter of {self.participation.library.name}"

    @property
    def library_id(self) -> int:
        return self.participation.library_id

    @property
    def waiting_for(self) -> list[str]:
        """Whose signature is still missing, in words."""
        return letter_progress(self.signers, _district_names(self.partner_districts))[0]

    @property
    def is_signed(self) -> bool:
        return self.signed_on is not None

    @property
    def signed_on(self) -> date | None:
        """The day the last of them signed, once all have."""
        return letter_progress(self.signers, _district_names(self.partner_districts))[1]


def _district_names(partnerships: list[Partnership]) -> dict[int, str]:
    return {partnership.id: partnership.district.name for partnership in partnerships}


def letter_progress(signers, districts: dict[int, str]) -> tuple[list[str], date | None]:
    """(whose signature is missing, the day the letter became signed) — the one rule.

    `signers` have a role, a signed_on and a partnership_id; `districts` are the library's
    active partnerships {id: district name} in roll-out order. Every signer of a role
    counted must have signed; a superintendent of a district no longer active no longer
    counts; a letter with no partner district is not signed.
    """
    waiting, counted = [], []
    for role in (SignerRole.CHIEF_ELECTED_OFFICIAL, SignerRole.LIBRARY_DIRECTOR):
        of_role = [signer for signer in signers if signer.role == role]
        if not of_role or any(signer.signed_on is None for signer in of_role):
            waiting.append(f"the {role.value}")
        counted += of_role
    if not districts:
        waiting.append("a partner district (and its superintendent)")
    for partnership_id, district in districts.items():
        theirs = [signer for signer in signers if signer.partnership_id == partnership_id]
        if not theirs or any(signer.signed_on is None for signer in theirs):
            waiting.append(f"the superintendent of {district}")
        counted += theirs
    if waiting:
        return waiting, None
    return waiting, max(signer.signed_on for signer in counted)


class LetterSigner(db.Model):
    __tablename__ = "letter_signers"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(
        sa.ForeignKey("commitment_letters.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[SignerRole] = mapped_column(enum_type(SignerRole, "signer_role"))
    # A superintendent signs for one partner district; the other leaders for the library.
    partnership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    title: Mapped[str] = mapped_column(sa.String(160), default="")
    signed_on: Mapped[date | None]

    letter: Mapped[CommitmentLetter] = relationship(back_populates="signers")
    partnership: Mapped[Partnership | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'superintendent') = (partnership_id IS NOT NULL)",
            name="district_of_superintendent",
        ),
    )

    @property
    def signs_as(self) -> str:
        if self.partnership_id:
            return f"{self.role} of {self.partnership.district.name}"
        return str(self.role)

    @property
    def library_id(self) -> int:
        return self.letter.library_id


class OutcomeReport(db.Model):
    """Dated counts for one partnership and one period: never a student, only numbers.

    Cards are those issued *in the period*, so the cards a partnership has issued to
    date are the sum of its reports, and a year's figures are a sum over its reports.
    """

    __tablename__ = "outcome_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    # Whole LEA (both empty), or one school and one grade (-1 TK, 0 K, 1–12).
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    grade: Mapped[int | None] = mapped_column(sa.SmallInteger)
    students_enrolled: Mapped[int]
    enrolled_on: Mapped[date | None]  # the census date of the enrolment figure
    physical_cards: Mapped[int] = mapped_column(default=0)
    digital_cards: Mapped[int] = mapped_column(default=0)
    # Students holding a card at the end of the period (however they got it).
    students_with_cards: Mapped[int | None]
    students_using_cards: Mapped[int | None]
    # Needed when the cards to date exceed the students enrolled.
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partnership: Mapped[Partnership] = relationship(back_populates="outcome_reports")
    school: Mapped[School | None] = relationship()

    __table_args__ = (
        # Also the index for a partnership's reports (its leading column). NULL school and
        # grade (the whole LEA) must clash too, hence the expressions.
        sa.Index(
            "uq_outcome_reports_period",
            "partnership_id",
            "period_start",
            "period_end",
            sa.text("coalesce(school_id, 0)"),
            sa.text(f"coalesce(grade, {ALL_GRADES})"),
            unique=True,
        ),
        sa.CheckConstraint("period_end >= period_start", name="period"),
        sa.CheckConstraint(
            "(school_id IS NULL) = (grade IS NULL) AND (grade IS NULL OR grade BETWEEN -1 AND 12)",
            name="school_grade",
        ),
        sa.CheckConstraint(
            "students_with_cards IS NULL OR students_with_cards >= 0", name="with_cards"
        ),
        sa.CheckConstraint(
            "students_enrolled >= 0 AND physical_cards >= 0 AND digital_cards >= 0 "
            "AND (students_using_cards IS NULL OR students_using_cards >= 0)",
            name="counts",
        ),
    )

    @property
    def cards(self) -> int:
        return self.physical_cards + self.digital_cards

    @property
    def name(self) -> str:
        period = f"Figures {self.period_start:%b %-d, %Y}–{self.period_end:%b %-d, %Y}"
        if self.school_id is None:
            return period
        return f"{period}, {self.school.name}, grade {grade_label(self.grade)}"

    @property
    def library_id(self) -> int:
        return self.partnership.library_id
