"""Cohorts and who takes part in them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Cohort, Participation, ParticipationRole, User
from . import milestones, records
from .errors import Conflict


def _check_unique(cohort_id: int, library_id: int, participation_id: int | None = None) -> None:
    clash = db.session.scalar(
        sa.select(Participation.id).where(
            Participation.cohort_id == cohort_id,
            Participation.library_id == library_id,
            Participation.id != (participation_id or 0),
        )
    )
    if clash:
        raise Conflict("This library already takes part in this cohort.", "library_id")


def add_participation(cohort: Cohort, values: dict[str, Any], actor: User | None) -> Participation:
    _check_unique(cohort.id, values["library_id"])
    participation = records.create(Participation, {**values, "cohort_id": cohort.id}, actor)
    milestones.start_timeline(participation)
    return participation


def update_participation(
    participation: Participation, values: dict[str, Any], actor: User | None
) -> dict:
    _check_unique(participation.cohort_id, values["library_id"], participation.id)
    changes = records.update(participation, values, actor)
    milestones.start_timeline(participation)  # e.g. now a pilot; never duplicates
    return changes


def participations_query(cohort_id: int, include_inactive: bool = True) -> sa.Select:
    """The cohort's places with their libraries, in a stable order (a select to paginate)."""
    query = (
        sa.select(Participation)
        .where(Participation.cohort_id == cohort_id)
        .options(joinedload(Participation.library))
        .order_by(Participation.role, Participation.id)
    )
    if not include_inactive:
        query = query.where(Participation.active.is_(True))
    return query


def role_counts(cohort_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """{cohort id: {"pilot": n, "mentor": n, "sustaining": n}} of active participations."""
    query = (
        sa.select(Participation.cohort_id, Participation.role, sa.func.count())
        .where(Participation.active.is_(True))
        .group_by(Participation.cohort_id, Participation.role)
    )
    if cohort_ids is not None:
        query = query.where(Participation.cohort_id.in_(cohort_ids))
    counts: dict[int, dict[str, int]] = {}
    for cohort_id, role, count in db.session.execute(query):
        counts.setdefault(cohort_id, {r.value: 0 for r in ParticipationRole})[role.value] = count
    return counts
