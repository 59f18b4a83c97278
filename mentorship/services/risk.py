"""Which pilots are on track, need attention or are at risk, with the reasons in words.

The whole list comes from four set-based queries (pilots with their last activity and the end
of their last pairing, late steps, open steps, check-ins), never one query per pilot.
Thresholds are settings.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    AuditEvent,
    CheckIn,
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
from .months import months_between
from .words import plural


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
    unpaired_attention_days: int = 30  # no mentor this long after the start (or last pairing)
    unpaired_risk_days: int = 60  # … and this long: at risk

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
    return plural(n, "day")


def last_activity_of_library():
    """A pilot's library's latest change, correlated to the participation in the query:
    one index probe (audit_events (library_id, at)) per pilot, not a scan of the log."""
    return (
        sa.select(sa.func.max(AuditEvent.at))
        .where(AuditEvent.library_id == Participation.library_id)
        .scalar_subquery()
    )


def last_pairing_end_of_pilot():
    """The day a pilot's latest ended pairing ended, correlated to the participation in the
    query (one probe of pairings (pilot_participation_id) per pilot)."""
    ended = sa.orm.aliased(Pairing)  # the query may join the active pairing as `pairings`
    return (
        sa.select(sa.func.max(ended.end_date))
        .where(
            ended.pilot_participation_id == Participation.id,
            ended.status == PairingStatus.ENDED,
        )
        .correlate_except(ended)
        .scalar_subquery()
    )


def last_check_in_of_pairing():
    """A pairing's latest meeting, correlated to the pairing in the query (one probe)."""
    return (
        sa.select(sa.func.max(CheckIn.held_on))
        .where(CheckIn.pairing_id == Pairing.id)
        .scalar_subquery()
    )


def assess_pilots(
    today: date,
    settings: RiskSettings = RiskSettings(),
    cohort_id: int | None = None,
    cooperative_system: str | None = None,
    participation_ids: list[int] | None = None,
) -> list[PilotRisk]:
    """Every active pilot of an active cohort and active library (or only those of
    `participation_ids`, e.g. one page of the list), most worrying first, then by name.

    The other queries take the pilots as a subquery, never a list of thousands of ids."""
    in_view = sa.and_(
        Participation.role == ParticipationRole.PILOT,
        Participation.active.is_(True),
        Cohort.active.is_(True),
        Library.active.is_(True),
        *([Participation.cohort_id == cohort_id] if cohort_id else []),
        *([Library.cooperative_system == cooperative_system] if cooperative_system else []),
        *([Participation.id.in_(participation_ids)] if participation_ids is not None else []),
    )
    pilot_ids = (
        sa.select(Participation.id).join(Participation.cohort).join(Participation.library)
    ).where(in_view)
    last_activity = last_activity_of_library()
    rows = db.session.execute(
        sa.select(Participation, last_activity, last_pairing_end_of_pilot())
        .join(Participation.cohort)
        .join(Participation.library)
        .where(in_view)
        .options(
            sa.orm.contains_eager(Participation.library),
            sa.orm.contains_eager(Participation.cohort),
        )
    ).all()
    if not rows:
        return []

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
            Milestone.participation_id.in_(pilot_ids),
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
            .where(
                Milestone.participation_id.in_(pilot_ids),
                Milestone.status.not_in(CLOSED_STATUSES),
            )
            .group_by(Milestone.participation_id)
        ).all()
    )
    meetings = _check_in_dates(pilot_ids)

    assessed = []
    for pilot, last, pairing_ended in rows:
        pilot_late = late.get(pilot.id, [])
        assessed.append(
            assess(
                pilot,
                PilotFacts(
                    open_steps=open_steps.get(pilot.id, 0),
                    oldest_late=pilot_late[0] if pilot_late else None,
                    late_steps=len(pilot_late),
                    last_activity=last,
                    meetings=meetings.get(pilot.id),
                    last_pairing_ended_on=pairing_ended,
                ),
                today,
                settings,
            )
        )
    assessed.sort(
        key=lambda r: risk_order(r.level, r.participation.library.name, r.participation.id)
    )
    return assessed


def risk_order(level: RiskLevel, library_name: str, participation_id: int) -> tuple:
    """The list's order: most worrying first, then by library name (so staff can find one)."""
    return (-level, library_name.lower(), participation_id)


def level_counts(assessed: list[PilotRisk]) -> dict[RiskLevel, int]:
    """How many pilots at each level, most worrying first."""
    counts = dict.fromkeys(sorted(RiskLevel, reverse=True), 0)
    for risk in assessed:
        counts[risk.level] += 1
    return counts


@dataclass(frozen=True)
class PilotFacts:
    """What the rules look at for one pilot; the at-risk list and the rollup gather them."""

    open_steps: int
    oldest_late: tuple[str, int] | None  # (step, days late) of the oldest late step
    late_steps: int
    last_activity: datetime | None
    meetings: Meetings | None  # None: no active pairing
    last_pairing_ended_on: date | None = None  # the latest ended pairing's end, if any


def assess(pilot, facts: PilotFacts, today: date, settings: RiskSettings) -> PilotRisk:
    """Apply every rule to one pilot. `pilot` has start_date and target_months."""
    risk = PilotRisk(pilot, months_between(pilot.start_date, today), facts.open_steps)
    _late_steps(risk, facts.oldest_late, facts.late_steps, settings)
    _quiet(risk, facts.last_activity, today, settings)
    _check_ins(risk, facts.meetings, today, settings)
    _unpaired(risk, facts, today, settings)
    _near_the_end(risk, settings)
    return risk


def _late_steps(
    risk: PilotRisk, oldest: tuple[str, int] | None, count: int, settings: RiskSettings
) -> None:
    if oldest is None:
        return
    title, days = oldest
    more = f" (and {count - 1} more {'step' if count == 2 else 'steps'} late)" if count > 1 else ""
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
    steps = f"{plural(risk.open_steps, 'step')} open"
    if month >= OUTER_BOUND_MONTHS - settings.end_window_months:
        risk.flag(RiskLevel.AT_RISK, f"month {month} of {OUTER_BOUND_MONTHS} with {steps}")
    elif month > target:
        risk.flag(
            RiskLevel.NEEDS_ATTENTION, f"month {month}, past the {target}-month target, {steps}"
        )


def _unpaired(risk: PilotRisk, facts: PilotFacts, today: date, settings: RiskSettings) -> None:
    """No active pairing (never paired, a proposal removed or not yet published, the
    pairing ended): counted from the start, or from the day the last pairing ended."""
    if facts.meetings is not None:
        return
    since = risk.participation.start_date
    if facts.last_pairing_ended_on is not None:
        since = max(since, facts.last_pairing_ended_on)
    days = (today - since).days
    reason = f"no mentor since {since:%b} {since.day}, {since.year}"
    if days >= settings.unpaired_risk_days:
        risk.flag(RiskLevel.AT_RISK, reason)
    elif days >= settings.unpaired_attention_days:
        risk.flag(RiskLevel.NEEDS_ATTENTION, reason)


@dataclass(frozen=True)
class Meetings:
    """A pilot's active pairing, as far as check-ins go."""

    started_on: date | None
    next_on: date | None
    last_on: date | None


def _check_in_dates(participation_ids) -> dict[int, Meetings]:
    """{pilot participation id: its active pairing's dates}, one query for all pilots
    (`participation_ids`: a list or a select of ids)."""
    last = last_check_in_of_pairing()
    pairings = db.session.execute(
        sa.select(
            Pairing.pilot_participation_id, Pairing.start_date, Pairing.next_checkin_on, last
        ).where(
            Pairing.pilot_participation_id.in_(participation_ids),
            Pairing.status == PairingStatus.ACTIVE,
        )
    ).all()
    return {
        pilot_id: Meetings(start, next_on, last_on)
        for pilot_id, start, next_on, last_on in pairings
    }


def _check_ins(
    risk: PilotRisk, meetings: Meetings | None, today: date, settings: RiskSettings
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
