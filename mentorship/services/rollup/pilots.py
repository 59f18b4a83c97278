"""Pilots in the rollup: where each is on the timeline and how it is doing (one statement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ...extensions import db
from ...models import (
    CLOSED_STATUSES,
    Milestone,
    MilestoneStatus,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
)
from ...models.cohort import OUTER_BOUND_MONTHS
from ..risk import (
    Meetings,
    PilotFacts,
    RiskLevel,
    RiskSettings,
    assess,
    last_activity_of_library,
    last_check_in_of_pairing,
    last_pairing_end_of_pilot,
)
from .filters import RollupFilter, in_program

# Named by time only: a pilot in months 13–18 may not have issued a card yet.
TIMELINE_STAGES = (
    (6, "Months 0–6"),
    (12, "Months 7–12"),
    (18, "Months 13–18"),
    (OUTER_BOUND_MONTHS, "Months 19–24"),
    (None, f"Past {OUTER_BOUND_MONTHS} months"),
)


def timeline_stage(months: int) -> str:
    for limit, label in TIMELINE_STAGES:
        if limit is None or months <= limit:
            return label
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PilotStatus:
    participation_id: int
    library_id: int
    cohort_id: int
    months: int
    target_months: int
    steps_done: int
    steps_applicable: int
    late_steps: int
    level: RiskLevel

    @property
    def stage(self) -> str:
        return timeline_stage(self.months)


def pilot_statuses(
    f: RollupFilter,
    today: date,
    settings: RiskSettings,
    library_ids: list[int] | None = None,
) -> list[PilotStatus]:
    """Every pilot in view with its progress and risk level: one statement.

    The risk level comes from the same rules as the at-risk list (services.risk.assess),
    fed with facts the database has already grouped per pilot.
    """
    pilots = in_program(f).where(Participation.role == ParticipationRole.PILOT)
    if library_ids is not None:
        pilots = pilots.where(Participation.library_id.in_(library_ids))
    pilots = pilots.subquery()
    is_open = Milestone.status.not_in(CLOSED_STATUSES)
    late = sa.and_(is_open, Milestone.due_on < today)
    steps = (
        sa.select(
            Milestone.participation_id,
            sa.func.sum(sa.case((Milestone.status == MilestoneStatus.DONE, 1), else_=0)).label(
                "done"
            ),
            sa.func.sum(
                sa.case((Milestone.status != MilestoneStatus.NOT_APPLICABLE, 1), else_=0)
            ).label("applicable"),
            sa.func.sum(sa.case((is_open, 1), else_=0)).label("open"),
            sa.func.sum(sa.case((late, 1), else_=0)).label("late"),
            sa.func.min(sa.case((late, Milestone.due_on))).label("oldest_late"),
        )
        .where(Milestone.participation_id.in_(sa.select(pilots.c.id)))
        .group_by(Milestone.participation_id)
        .subquery()
    )
    last_activity = last_activity_of_library()
    last_check_in = last_check_in_of_pairing()
    rows = db.session.execute(
        sa.select(
            Participation.id,
            Participation.library_id,
            Participation.cohort_id,
            Participation.start_date,
            Participation.target_months,
            steps.c.done,
            steps.c.applicable,
            steps.c.open,
            steps.c.late,
            steps.c.oldest_late,
            last_activity.label("last_activity"),
            Pairing.pilot_participation_id.label("paired"),
            Pairing.start_date.label("paired_on"),
            Pairing.next_checkin_on,
            last_check_in.label("last_check_in"),
            last_pairing_end_of_pilot().label("pairing_ended_on"),
        )
        .join(pilots, pilots.c.id == Participation.id)
        .outerjoin(steps, steps.c.participation_id == Participation.id)
        .outerjoin(
            Pairing,
            sa.and_(
                Pairing.pilot_participation_id == Participation.id,
                Pairing.status == PairingStatus.ACTIVE,
            ),
        )
        .order_by(Participation.id)
    )
    statuses = []
    for row in rows:
        facts = PilotFacts(
            open_steps=int(row.open or 0),
            oldest_late=("", (today - row.oldest_late).days) if row.oldest_late else None,
            late_steps=int(row.late or 0),
            last_activity=row.last_activity,
            meetings=(
                Meetings(row.paired_on, row.next_checkin_on, row.last_check_in)
                if row.paired
                else None
            ),
            last_pairing_ended_on=row.pairing_ended_on,
        )
        risk = assess(row, facts, today, settings)
        statuses.append(
            PilotStatus(
                participation_id=row.id,
                library_id=row.library_id,
                cohort_id=row.cohort_id,
                months=risk.months_elapsed,
                target_months=row.target_months,
                steps_done=int(row.done or 0),
                steps_applicable=int(row.applicable or 0),
                late_steps=int(row.late or 0),
                level=risk.level,
            )
        )
    return statuses


@dataclass(frozen=True)
class PilotPlace:
    cohort: str
    status: PilotStatus
