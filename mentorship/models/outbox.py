"""Reminders: what the scheduler decided (the outbox) and what people chose to receive."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .user import User


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # one sender holds it (and keeps its claim fresh while it lives)
    SENDING = "sending"  # recorded before its final dot, until the server's reply to it
    SENT = "sent"  # the server answered 250 to its final dot
    # The final dot may have reached the server, but no reply came (a dropped connection,
    # or a sender stopped after recording it): shown to staff; maybe received, maybe not.
    UNCONFIRMED = "unconfirmed"
    SKIPPED = "skipped"  # not sent, on purpose: `last_error` says why (stale, opted out)
    FAILED = "failed"  # the server refused it on every try; staff can retry


class OutboxMessage(db.Model):
    """One email to one person. The unique key makes a second decision a no-op."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int] = mapped_column(sa.Integer)
    period: Mapped[str] = mapped_column(sa.String(40))  # the due date, or the week
    recipient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_type(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)  # refusals of this message only
    # Sent again after an unconfirmed delivery (OUTBOX_RESEND_UNCONFIRMED).
    resends: Mapped[int] = mapped_column(default=0)
    # The decision's own age rule: not sent after this day (in TIME_ZONE).
    relevant_until: Mapped[date | None] = mapped_column(sa.Date)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint(
            "kind", "object_type", "object_id", "period", "recipient_id", name="uq_outbox_key"
        ),
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    @property
    def name(self) -> str:
        return self.subject[:200]


class SchedulerRun(db.Model):
    """When each scheduled job last finished: the durable memory of the scheduler."""

    __tablename__ = "scheduler_runs"

    job: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailServerState(db.Model):
    """What the senders last found at the mail server: staff see an outage and its start."""

    __tablename__ = "mail_server_state"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # "smtp"
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailOptOut(db.Model):
    """A kind of reminder a person chose not to receive."""

    __tablename__ = "email_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "kind", name="uq_email_opt_outs_user_kind"),)
