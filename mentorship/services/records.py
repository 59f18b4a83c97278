"""Create, edit and deactivate the program's records, each change audited.

Libraries, school districts, cohorts and participations are all edited the same way,
so one set of functions serves them; rules particular to one kind live in its form
(field checks) and in the database (constraints).
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import ApiToken, User
from ..models.base import utcnow
from ..models.user import new_session_token
from . import audit
from .errors import Conflict

T = TypeVar("T")


def _flush_or_conflict(message: str) -> None:
    """A unique constraint that a concurrent request won becomes a Conflict.

    The whole action is undone: one user action is one transaction.
    """
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(message) from error


def create(model: type[T], values: dict[str, Any], actor: User | None) -> T:
    obj = model(**values)
    db.session.add(obj)
    _flush_or_conflict(f"This {model.__name__.lower()} clashes with one already stored.")
    audit.record(actor, "create", obj, {key: [None, value] for key, value in values.items()})
    return obj


def update(obj: T, values: dict[str, Any], actor: User | None) -> dict[str, list[Any]]:
    changes = audit.apply_changes(obj, values)
    if changes:
        _flush_or_conflict(f"This {type(obj).__name__.lower()} clashes with one already stored.")
        audit.record(actor, "update", obj, changes)
    return changes


def set_active(obj: Any, active: bool, actor: User | None) -> None:
    if obj.active == active:
        return
    obj.active = active
    if not active and isinstance(obj, User):
        # A deactivated person's sessions, remember-me cookies and set-password links end
        # for good: reactivating them later does not revive a browser left signed in.
        obj.session_token = new_session_token()
        # Their calendar address and API tokens end too, and stay ended: a reactivated
        # person makes a new calendar link, and staff issue new tokens if still needed.
        obj.calendar_token = None
        for token in db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == obj.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = utcnow()
            token.revoked_by_id = actor.id if actor else None
    audit.record(
        actor, "reactivate" if active else "deactivate", obj, {"active": [not active, active]}
    )
