"""Writes the audit trail: every change made through a service leaves one row."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from ..extensions import db
from ..models import AuditEvent, User


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
