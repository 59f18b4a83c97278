"""Which pilots are on track, need attention or are at risk, with the reasons in words.

The whole list comes from a fixed handful of set-based queries (pilots, late steps,
open steps, last activity, check-ins), never one query per pilot. Thresholds are settings.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    AuditEvent,
    Cohort,
    Library,
    Milestone,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
    Partnership,
    SchoolDistrict,
)
from ..models.cohort import OUTER_BOUND_MONTHS
from .checkins import last_check_in_dates
from .months import months_between


class RiskLevel(enum.IntEnum):
    ON_TRACK = 0
    NEEDS_ATTENTION = 1
    AT_RISK = 2

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").lower()


@dataclass(frozen=True)
class RiskSettings:
    late_risk_days: int = 30  # a step this late puts the pilot at risk (any lateness: attention)
    quiet_attention_days: int = 60  # no activity for this long: needs attention
    quiet_risk_days: int = 90  # … and for this long: at risk
    end_window_months: int = 2  # this close to the outer bound with steps open: at risk
    checkin_overdue_risk_days: int = 30  # a check-in this overdue: at risk (any: attention)
    no_checkin_attention_days: int = 45  # no check-in (or since pairing) for this long
    no_checkin_risk_days: int = 60  # … and for this long: at risk

    @classmethod
    def from_config(cls, config) -> RiskSettings:
        return cls(
            **{
                name: int(config[f"RISK_{name.upper()}"])
                for name in cls.__dataclass_fields__
                if f"RISK_{name.upper()}" in config
            }
        )


@dataclass
class PilotRisk:
    participation: Participation
    months_elapsed: int
    open_steps: int
    level: RiskLevel = RiskLevel.ON_TRACK
    reasons: list[str] = field(default_factory=list)

    def flag(self, level: RiskLevel, reason: str) -> None:
        self.level = max(self.level, level)
        self.reasons.append(reason)


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def assess_pilots(
    today: date,
    settings: RiskSettings = RiskSettings(),
    cohort_id: int | None = None,
    cooperative_system: str | None = None,
) -> list[PilotRisk]:
    """Every active pilot of an active cohort, most worrying first."""
    query = (
        sa.select(Participation)
        .join(Participation.cohort)
        .join(Participation.library)
        .where(
            Participation.role == ParticipationRole.PILOT,
            Participation.active.is_(True),
            Cohort.active.is_(True),
        )
        .options(joinedload(Participation.library), joinedload(Participation.cohort))
    )
    if cohort_id:
        query = query.where(Participation.cohort_id == cohort_id)
    if cooperative_system:
        query = query.where(Library.cooperative_system == cooperative_system)
    pilots = db.session.scalars(query).all()
    if not pilots:
        return []
    ids = [p.id for p in pilots]

    late = defaultdict(list)
    for participation_id, title, district, due_on in db.session.execute(
        sa.select(
            Milestone.participation_id,
            Milestone.title,
            SchoolDistrict.name,
            Milestone.due_on,
        )
        .outerjoin(Milestone.partnership)
        .outerjoin(Partnership.district)
        .where(
            Milestone.participation_id.in_(ids),
            Milestone.status.not_in(CLOSED_STATUSES),
            Milestone.due_on < today,
        )
        .order_by(Milestone.due_on)
    ):
        label = f"{title} ({district})" if district else title
        late[participation_id].append((label, (today - due_on).days))

    open_steps = dict(
        db.session.execute(
            sa.select(Milestone.participation_id, sa.func.count())
            .where(Milestone.participation_id.in_(ids), Milestone.status.not_in(CLOSED_STATUSES))
            .group_by(Milestone.participation_id)
        ).all()
    )
    last_activity = dict(
        db.session.execute(
            sa.select(AuditEvent.library_id, sa.func.max(AuditEvent.at))
            .where(AuditEvent.library_id.in_({p.library_id for p in pilots}))
            .group_by(AuditEvent.library_id)
        ).all()
    )

    meetings = _check_in_dates(ids)

    assessed = []
    for pilot in pilots:
        risk = PilotRisk(
            pilot, months_between(pilot.start_date, today), open_steps.get(pilot.id, 0)
        )
        _late_steps(risk, late.get(pilot.id, []), settings)
        _quiet(risk, last_activity.get(pilot.library_id), today, settings)
        _check_ins(risk, meetings.get(pilot.id), today, settings)
        _near_the_end(risk, settings)
        assessed.append(risk)
    assessed.sort(key=lambda r: (-r.level, -len(r.reasons), r.participation.library.name.lower()))
    return assessed


def level_counts(assessed: list[PilotRisk]) -> dict[RiskLevel, int]:
    """How many pilots at each level, most worrying first."""
    counts = dict.fromkeys(sorted(RiskLevel, reverse=True), 0)
    for risk in assessed:
        counts[risk.level] += 1
    return counts


def _late_steps(risk: PilotRisk, late: list[tuple[str, int]], settings: RiskSettings) -> None:
    if not late:
        return
    title, days = late[0]  # the oldest
    more = (
        f" (and {len(late) - 1} more step{'s' if len(late) > 2 else ''} late)"
        if len(late) > 1
        else ""
    )
    level = RiskLevel.AT_RISK if days >= settings.late_risk_days else RiskLevel.NEEDS_ATTENTION
    risk.flag(level, f"{title}: {_days(days)} late{more}")


def _quiet(risk: PilotRisk, last: datetime | None, today: date, settings: RiskSettings) -> None:
    start = datetime.combine(risk.participation.start_date, time(), UTC)
    since = max(last, start) if last else start
    days = (today - since.date()).days
    if days >= settings.quiet_risk_days:
        risk.flag(RiskLevel.AT_RISK, f"no activity for {_days(days)}")
    elif days >= settings.quiet_attention_days:
        risk.flag(RiskLevel.NEEDS_ATTENTION, f"no activity for {_days(days)}")


def _near_the_end(risk: PilotRisk, settings: RiskSettings) -> None:
    month, target = risk.months_elapsed, risk.participation.target_months
    if not risk.open_steps:
        return
    steps = f"{risk.open_steps} step{'s' if risk.open_steps != 1 else ''} open"
    if month >= OUTER_BOUND_MONTHS - settings.end_window_months:
        risk.flag(RiskLevel.AT_RISK, f"month {month} of {OUTER_BOUND_MONTHS} with {steps}")
    elif month > target:
        risk.flag(
            RiskLevel.NEEDS_ATTENTION, f"month {month}, past the {target}-month target, {steps}"
        )


@dataclass(frozen=True)
class _Meetings:
    """A pilot's active pairing, as far as check-ins go."""

    started_on: date | None
    next_on: date | None
    last_on: date | None


def _check_in_dates(participation_ids: list[int]) -> dict[int, _Meetings]:
    """{pilot participation id: its active pairing's dates}: two queries for all pilots."""
    pairings = db.session.execute(
        sa.select(
            Pairing.id, Pairing.pilot_participation_id, Pairing.start_date, Pairing.next_checkin_on
        ).where(
            Pairing.pilot_participation_id.in_(participation_ids),
            Pairing.status == PairingStatus.ACTIVE,
        )
    ).all()
    last = last_check_in_dates(row.id for row in pairings)
    return {
        row.pilot_participation_id: _Meetings(row.start_date, row.next_checkin_on, last.get(row.id))
        for row in pairings
    }


def _check_ins(
    risk: PilotRisk, meetings: _Meetings | None, today: date, settings: RiskSettings
) -> None:
    if meetings is None:  # no active pairing: nobody to meet
        return
    if meetings.next_on and (overdue := (today - meetings.next_on).days) > 0:
        level = (
            RiskLevel.AT_RISK
            if overdue >= settings.checkin_overdue_risk_days
            else RiskLevel.NEEDS_ATTENTION
        )
        risk.flag(level, f"check-in overdue by {_days(overdue)}")
    since = meetings.last_on or meetings.started_on
    if since is None:
        return
    days = (today - since).days
    if days >= settings.no_checkin_risk_days:
        risk.flag(RiskLevel.AT_RISK, f"no check-in for {_days(days)}")
    elif days >= settings.no_checkin_attention_days:
        risk.flag(RiskLevel.NEEDS_ATTENTION, f"no check-in for {_days(days)}")
