"""Mentor and pilot meet regularly: each meeting is a check-in with its action items."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .library import Library
from .pairing import Pairing
from .user import User


class CheckInMode(enum.StrEnum):
    CALL = "call"
    VIDEO = "video"
    VISIT = "visit"


class CheckIn(db.Model):
    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(sa.ForeignKey("pairings.id"))
    held_on: Mapped[date]
    mode: Mapped[CheckInMode] = mapped_column(enum_type(CheckInMode, "check_in_mode"))
    attendees: Mapped[str] = mapped_column(sa.String(500), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    logged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pairing: Mapped[Pairing] = relationship()
    logged_by: Mapped[User | None] = relationship()
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="check_in", order_by="ActionItem.id", cascade="all, delete-orphan"
    )

    # A pairing's meetings, latest first (the last check-in per pairing).
    __table_args__ = (sa.Index("ix_check_ins_pairing_held", "pairing_id", "held_on"),)

    @property
    def name(self) -> str:
        return f"Check-in of {self.held_on:%b %-d, %Y}"

    @property
    def library_id(self) -> int:  # the pilot's: its timeline is what the meeting serves
        return self.pairing.pilot.library_id


class ActionItem(db.Model):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(
        sa.ForeignKey("check_ins.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(sa.String(500))
    owner_library_id: Mapped[int] = mapped_column(sa.ForeignKey("libraries.id"))
    due_on: Mapped[date | None]
    done: Mapped[bool] = mapped_column(default=False)

    check_in: Mapped[CheckIn] = relationship(back_populates="action_items")
    owner_library: Mapped[Library] = relationship()

    @property
    def name(self) -> str:
        return self.text[:200]

    @property
    def library_id(self) -> int:
        return self.check_in.library_id
