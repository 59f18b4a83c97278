"""Who changed what, when: one row per change, written by the service layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Words, e.g. "done: stage ‘Meeting held’ reached on Nov 10, 2026".
    action: Mapped[str] = mapped_column(sa.String(200))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None] = mapped_column(sa.Integer)
    object_label: Mapped[str] = mapped_column(sa.String(200), default="")
    # Whose work it was (for a library's activity log); empty for program-wide records.
    library_id: Mapped[int | None] = mapped_column(sa.Integer)
    # {"field": [old, new], ...}
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        # A library's activity log and its latest activity (the at-risk rules, the rollup).
        sa.Index("ix_audit_events_library_at", "library_id", "at"),
    )
