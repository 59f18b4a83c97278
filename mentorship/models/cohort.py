"""Cohorts (rounds of the program) and each library's part in one."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .library import Library

TARGET_MONTHS = 18
OUTER_BOUND_MONTHS = 24
DEFAULT_MENTOR_CAPACITY = 3


class ParticipationRole(enum.StrEnum):
    PILOT = "pilot"
    MENTOR = "mentor"
    SUSTAINING = "sustaining"


class Cohort(db.Model):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participations: Mapped[list[Participation]] = relationship(
        back_populates="cohort", order_by="Participation.id"
    )

    __table_args__ = (sa.CheckConstraint("end_date >= start_date", name="dates"),)

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.name!r}>"


class Participation(db.Model):
    """A library in a cohort, as pilot, mentor or sustaining library."""

    __tablename__ = "participations"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(sa.ForeignKey("libraries.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id"), index=True)
    role: Mapped[ParticipationRole] = mapped_column(
        enum_type(ParticipationRole, "participation_role")
    )
    start_date: Mapped[date]
    target_months: Mapped[int] = mapped_column(default=TARGET_MONTHS)
    # How many pilots a mentor library takes on in this cohort.
    mentor_capacity: Mapped[int] = mapped_column(
        default=DEFAULT_MENTOR_CAPACITY, server_default="3"
    )
    # The version of the milestone plan this pilot follows (kept when the plan changes).
    template_id: Mapped[int | None] = mapped_column(sa.ForeignKey("milestone_templates.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    library: Mapped[Library] = relationship()
    cohort: Mapped[Cohort] = relationship(back_populates="participations")

    __table_args__ = (
        sa.UniqueConstraint("library_id", "cohort_id", name="uq_participations_library_cohort"),
        sa.CheckConstraint(
            f"target_months BETWEEN 1 AND {OUTER_BOUND_MONTHS}", name="target_months"
        ),
        sa.CheckConstraint("mentor_capacity BETWEEN 0 AND 50", name="mentor_capacity"),
    )

    def __repr__(self) -> str:
        return f"<Participation {self.id} {self.role} lib={self.library_id} c={self.cohort_id}>"
