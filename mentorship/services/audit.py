"""Writes the audit trail: every change made through a service leaves one row."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import AuditEvent, Library, User


def _plain(value: Any) -> Any:
    """JSON-safe form of a column value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def label_of(obj: Any) -> str:
    for attribute in ("name", "email"):
        if getattr(obj, attribute, None):
            return str(getattr(obj, attribute))[:200]
    return f"{type(obj).__name__} {getattr(obj, 'id', '')}".strip()


def library_of(obj: Any) -> int | None:
    """The library a record belongs to, if it belongs to one."""
    if isinstance(obj, Library):
        return obj.id
    try:
        return getattr(obj, "library_id", None)
    except AttributeError:  # a related row not loaded yet
        return None


def record(
    actor: User | None, action: str, obj: Any, changes: dict[str, list[Any]] | None = None
) -> AuditEvent:
    """Add an audit row for `obj` (flushed so the object has its id)."""
    db.session.flush()
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=getattr(obj, "id", None),
        object_label=label_of(obj),
        library_id=library_of(obj),
        changes={key: [_plain(old), _plain(new)] for key, (old, new) in (changes or {}).items()},
    )
    db.session.add(event)
    return event


def apply_changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set attributes on `obj`; return {field: [old, new]} for those that changed."""
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [old, new]
            setattr(obj, field, new)
    return changes


def recent_activity(library_id: int, limit: int = 6) -> list[AuditEvent]:
    """The latest changes to a library's work, newest first."""
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.library_id == library_id)
        .options(sa.orm.joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
