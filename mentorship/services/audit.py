"""Writes the audit trail: every change made through a service leaves one row."""

from __future__ import annotations

import enum
from dataclasses import dataclass
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


# Records with no name of their own, named in words for the log ("Hayward Public
# Library with Berkeley Public Library"), never "Pairing 7".
_LABELS = {
    "Pairing": lambda o: f"{o.pilot.library.name} with {o.mentor.library.name}",
    "Participation": lambda o: f"{o.library.name} in {o.cohort.name}",
    "Partnership": lambda o: f"{o.library.name} with {o.district.name}",
    "Agreement": lambda o: f"{o.kind} with {o.partnership.district.name}",
    "CommitmentLetter": lambda o: f"of {o.participation.library.name}",
    "CheckIn": lambda o: f"of {o.held_on.strftime('%b %-d, %Y')}",
    "OutcomeReport": lambda o: (
        f"{o.partnership.district.name}, "
        f"{o.period_start.strftime('%b %-d, %Y')} to {o.period_end.strftime('%b %-d, %Y')}"
    ),
    "ActionItem": lambda o: o.text,
}


def label_of(obj: Any) -> str:
    for attribute in ("name", "title", "email"):
        if getattr(obj, attribute, None):
            return str(getattr(obj, attribute))[:200]
    words = _LABELS.get(type(obj).__name__)
    if words:
        try:
            return words(obj)[:200]
        except AttributeError:  # a related row not set yet
            pass
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
        .options(sa.orm.joinedload(AuditEvent.actor).joinedload(User.library))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()


# The audit log's pages ------------------------------------------------------------


def log_query(kind: str | None = None, library_id: int | None = None) -> sa.Select:
    """Every change, or one kind of record's, or one library's (newest first)."""
    query = (
        sa.select(AuditEvent)
        .options(sa.orm.joinedload(AuditEvent.actor).joinedload(User.library))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    if kind:
        query = query.where(AuditEvent.object_type == kind)
    if library_id:
        query = query.where(AuditEvent.library_id == library_id)
    return query


@dataclass(frozen=True)
class LogPage:
    events: list[AuditEvent]
    newer_than: int | None  # the event to page newer from, if there are newer ones
    older_than: int | None  # … older from, if there are older ones


def log_page(
    query: sa.Select,
    per_page: int,
    older_than: int | None = None,
    newer_than: int | None = None,
) -> LogPage:
    """One page of the log, by position rather than by number: the events just older
    (or newer) than a given event. Each page reads only its own rows from the
    (at, id) order, however long the log; no count of the whole log is needed."""
    if newer_than:
        events = db.session.scalars(
            query.where(*_beyond(newer_than, newer=True))
            .order_by(None)
            .order_by(AuditEvent.at, AuditEvent.id)
            .limit(per_page + 1)
        ).all()
        if len(events) <= per_page:  # reached the newest: show the first page
            return log_page(query, per_page)
        events = events[:per_page][::-1]
        return LogPage(events, events[0].id, events[-1].id)
    if older_than:
        query = query.where(*_beyond(older_than, newer=False))
    events = db.session.scalars(query.limit(per_page + 1)).all()
    more = len(events) > per_page
    events = events[:per_page]
    return LogPage(
        events,
        events[0].id if older_than and events else None,
        events[-1].id if more else None,
    )


def _beyond(event_id: int, newer: bool) -> tuple:
    """Events after (or before) one event in the (at, id) order. Spelt out rather than as
    a row comparison so that the `at` index bounds the scan (at ties are rare)."""
    at = sa.select(AuditEvent.at).where(AuditEvent.id == event_id).scalar_subquery()
    if newer:
        return AuditEvent.at >= at, sa.or_(AuditEvent.at > at, AuditEvent.id > event_id)
    return AuditEvent.at <= at, sa.or_(AuditEvent.at < at, AuditEvent.id < event_id)


def kinds() -> list[str]:
    """The kinds of record in the log, A–Z: one index probe per kind (a recursive query
    that skips from one kind to the next), not a DISTINCT over the whole log."""
    kind = sa.select(sa.func.min(AuditEvent.object_type).label("kind")).cte("kinds", recursive=True)
    following = sa.select(sa.func.min(AuditEvent.object_type)).where(
        AuditEvent.object_type > kind.c.kind
    )
    kind = kind.union_all(sa.select(following.scalar_subquery()).where(kind.c.kind.is_not(None)))
    return db.session.scalars(sa.select(kind.c.kind).where(kind.c.kind.is_not(None))).all()
