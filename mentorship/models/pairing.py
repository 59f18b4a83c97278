"""A mentor library paired with a pilot library inside one cohort."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .cohort import Participation
from .user import User


class PairingStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    ENDED = "ended"


OPEN_STATUSES = (PairingStatus.PROPOSED, PairingStatus.ACTIVE)


class Cadence(enum.StrEnum):
    """How often mentor and pilot meet."""

    WEEKLY = "weekly"
    EVERY_TWO_WEEKS = "every two weeks"
    MONTHLY = "monthly"
    EVERY_TWO_MONTHS = "every two months"
    QUARTERLY = "quarterly"


class Pairing(db.Model):
    __tablename__ = "pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_participation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("participations.id"), index=True
    )
    mentor_participation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("participations.id"), index=True
    )
    status: Mapped[PairingStatus] = mapped_column(enum_type(PairingStatus, "pairing_status"))
    score: Mapped[int] = mapped_column(default=0)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # How often mentor and pilot meet, and when they meet next.
    cadence: Mapped[Cadence] = mapped_column(
        enum_type(Cadence, "cadence"), default=Cadence.MONTHLY, server_default="monthly"
    )
    next_checkin_on: Mapped[date | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pilot: Mapped[Participation] = relationship(foreign_keys=[pilot_participation_id])
    mentor: Mapped[Participation] = relationship(foreign_keys=[mentor_participation_id])
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # A pilot has at most one open (proposed or active) pairing; ended ones stay as history.
        sa.Index(
            "uq_pairings_open_pilot",
            "pilot_participation_id",
            unique=True,
            sqlite_where=sa.text("status IN ('proposed', 'active')"),
            postgresql_where=sa.text("status IN ('proposed', 'active')"),
        ),
        sa.CheckConstraint("pilot_participation_id <> mentor_participation_id", name="two_sides"),
    )

    @property
    def name(self) -> str:  # for the audit trail
        return f"{self.pilot.library.name} ← {self.mentor.library.name}"
