"""Check-ins: mentor and pilot meet at a cadence, log each meeting and its action items.

Each active pairing has a cadence and a next check-in date. Logging a meeting moves the
next date one cadence past it, unless a later meeting is already logged (an old meeting
entered late never moves the date backwards). Changing the cadence counts again from the
last meeting, or from the start of the pairing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import ActionItem, Cadence, CheckIn, CheckInMode, Pairing, PairingStatus, User
from . import audit
from .errors import Conflict, ValidationError
from .months import add_months

ACTION_TEXT_MAX = 500
_DAYS = {Cadence.WEEKLY: 7, Cadence.EVERY_TWO_WEEKS: 14}
_MONTHS = {Cadence.MONTHLY: 1, Cadence.EVERY_TWO_MONTHS: 2, Cadence.QUARTERLY: 3}


def next_date(from_date: date, cadence: Cadence) -> date:
    """The day one cadence after `from_date` (months keep the day of the month)."""
    cadence = Cadence(cadence)
    if cadence in _DAYS:
        return from_date + timedelta(days=_DAYS[cadence])
    return add_months(from_date, _MONTHS[cadence])


@dataclass(frozen=True)
class NextCheckIn:
    """When a pairing meets next, as shown on the home pages and the check-ins page."""

    on: date | None
    days_overdue: int = 0

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def next_check_in(pairing: Pairing, today: date) -> NextCheckIn:
    on = pairing.next_checkin_on if pairing.status == PairingStatus.ACTIVE else None
    return NextCheckIn(on, max((today - on).days, 0) if on else 0)


@dataclass(frozen=True)
class ActionItemDraft:
    """One action-item row of the form; `row` says where an error belongs."""

    text: str = ""
    owner_library_id: int | None = None
    due_on: date | None = None
    row: int = 1

    @property
    def empty(self) -> bool:
        return not self.text.strip() and self.owner_library_id is None and self.due_on is None


def _check_active(pairing: Pairing) -> None:
    if pairing.status != PairingStatus.ACTIVE:
        raise Conflict("Check-ins are logged for active pairings only; this one is not active.")


def _check_items(pairing: Pairing, drafts: Iterable[ActionItemDraft]) -> list[ActionItemDraft]:
    sides = {pairing.pilot.library_id, pairing.mentor.library_id}
    kept = []
    for draft in drafts:
        if draft.empty:
            continue
        text = draft.text.strip()
        if not text:
            raise ValidationError(
                "Describe the action, or leave the whole row empty.", f"item{draft.row}_text"
            )
        if len(text) > ACTION_TEXT_MAX:
            raise ValidationError(
                f"Keep it to {ACTION_TEXT_MAX} characters.", f"item{draft.row}_text"
            )
        if draft.owner_library_id not in sides:
            raise ValidationError(
                "Choose the pilot or the mentor library.", f"item{draft.row}_owner"
            )
        kept.append(ActionItemDraft(text, draft.owner_library_id, draft.due_on, draft.row))
    return kept


def last_check_in_on(pairing_id: int) -> date | None:
    return db.session.scalar(
        sa.select(sa.func.max(CheckIn.held_on)).where(CheckIn.pairing_id == pairing_id)
    )


def log_check_in(
    pairing: Pairing,
    values: dict[str, Any],
    action_items: Sequence[ActionItemDraft],
    actor: User | None,
    today: date,
) -> CheckIn:
    """Store a meeting and its action items; move the next date if it is the latest."""
    _check_active(pairing)
    held_on = values.get("held_on")
    if held_on is None:
        raise ValidationError("Enter the day you met.", "held_on")
    if held_on > today:
        raise ValidationError("The meeting cannot be in the future.", "held_on")
    if pairing.start_date and held_on < pairing.start_date:
        raise ValidationError(f"The pairing started on {pairing.start_date:%b %-d, %Y}.", "held_on")
    try:
        mode = CheckInMode(values.get("mode"))
    except ValueError:
        raise ValidationError("Choose call, video or visit.", "mode") from None
    items = _check_items(pairing, action_items)

    latest = last_check_in_on(pairing.id)
    check_in = CheckIn(
        pairing=pairing,
        held_on=held_on,
        mode=mode,
        attendees=(values.get("attendees") or "").strip(),
        notes=(values.get("notes") or "").strip(),
        logged_by_id=actor.id if actor else None,
        action_items=[
            ActionItem(text=i.text, owner_library_id=i.owner_library_id, due_on=i.due_on)
            for i in items
        ],
    )
    db.session.add(check_in)
    audit.record(
        actor,
        "log check-in",
        check_in,
        {
            "held_on": [None, held_on],
            "mode": [None, mode],
            "attendees": [None, check_in.attendees],
            "action_items": [None, [i.text for i in items]],
        },
    )
    if latest is None or held_on >= latest:
        _move_next_date(pairing, next_date(held_on, pairing.cadence), actor)
    return check_in


def _move_next_date(pairing: Pairing, new: date | None, actor: User | None, **more) -> None:
    changes = audit.apply_changes(pairing, {**more, "next_checkin_on": new})
    if changes:
        audit.record(actor, "update", pairing, changes)


def set_cadence(pairing: Pairing, cadence: Cadence, actor: User | None) -> None:
    """A new cadence counts from the last meeting, or from the start of the pairing."""
    _check_active(pairing)
    cadence = Cadence(cadence)
    since = last_check_in_on(pairing.id) or pairing.start_date
    new = next_date(since, cadence) if since else pairing.next_checkin_on
    _move_next_date(pairing, new, actor, cadence=cadence)


def set_action_item_done(item: ActionItem, done: bool, actor: User | None) -> None:
    if item.done == done:
        return
    item.done = done
    audit.record(actor, "update", item, {"done": [not done, done]})


def check_ins_of(pairing: Pairing) -> list[CheckIn]:
    """A pairing's meetings, latest first, with their action items and owners."""
    return db.session.scalars(
        sa.select(CheckIn)
        .where(CheckIn.pairing_id == pairing.id)
        .options(
            selectinload(CheckIn.action_items).joinedload(ActionItem.owner_library),
            joinedload(CheckIn.logged_by),
        )
        .order_by(CheckIn.held_on.desc(), CheckIn.id.desc())
    ).all()


def last_check_in_dates(pairing_ids: Iterable[int]) -> dict[int, date]:
    """{pairing id: the day of its latest meeting}, in one query (pairings never met: absent)."""
    ids = list(pairing_ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(CheckIn.pairing_id, sa.func.max(CheckIn.held_on))
            .where(CheckIn.pairing_id.in_(ids))
            .group_by(CheckIn.pairing_id)
        ).all()
    )


def overdue_pairings(today: date) -> list[Pairing]:
    """Active pairings whose next check-in date has passed, the longest overdue first."""
    return db.session.scalars(
        sa.select(Pairing)
        .where(Pairing.status == PairingStatus.ACTIVE, Pairing.next_checkin_on < today)
        .order_by(Pairing.next_checkin_on, Pairing.id)
    ).all()
