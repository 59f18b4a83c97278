"""The statewide rollup: the whole program at a glance, in a handful of set-based statements.

Every figure is a GROUP BY (or a window function) in the database; Python only folds
the grouped rows into tables. The result is plain data, so it can be cached for a
minute per filter (`ROLLUP_CACHE_SECONDS`): state figures need not be live to the second,
and the page then costs what a template costs.

Definitions (also in the README):
- A library is *in the program* when it has an active place in an active cohort.
- A partnership's *students enrolled* is the enrolment of its latest outcome report
  (in the chosen school year, when one is chosen), else the district's enrolment on record.
- *Cards issued* is the sum of its outcome reports' cards (in the chosen year, or to date).
- *Coverage* is cards issued ÷ students enrolled.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import redis
import sqlalchemy as sa

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    Cohort,
    Library,
    Milestone,
    MilestoneStatus,
    OutcomeReport,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipStage,
    SchoolDistrict,
)
from ..models.cohort import OUTER_BOUND_MONTHS
from ..models.library import CALIFORNIA_COUNTIES, COOPERATIVE_SYSTEMS
from .outcomes import FIGURE_COLUMNS
from .risk import (
    Meetings,
    PilotFacts,
    RiskLevel,
    RiskSettings,
    assess,
    last_activity_of_library,
    last_check_in_of_pairing,
)


class Rollup:
    """The statewide figures, as something access rules can name."""


# Periods ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class SchoolYear:
    """California's school year: July 1 to June 30. `start` is the first calendar year."""

    start: int

    @property
    def key(self) -> str:  # 2025-26, as the URL and the CSV write it
        return f"{self.start}-{(self.start + 1) % 100:02d}"

    @property
    def label(self) -> str:
        return f"{self.start}–{(self.start + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.start, 7, 1)

    @property
    def last_day(self) -> date:
        return date(self.start + 1, 6, 30)

    @classmethod
    def of(cls, day: date) -> SchoolYear:
        return cls(day.year if day.month >= 7 else day.year - 1)

    @classmethod
    def last_ended(cls, today: date) -> SchoolYear:
        """The latest school year that is over: what an annual report is first asked for."""
        return cls(cls.of(today).start - 1)

    @classmethod
    def parse(cls, text: str) -> SchoolYear | None:
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not match:
            return None
        start = int(match[1])
        if not 2000 <= start < 2100 or (start + 1) % 100 != int(match[2]):
            return None
        return cls(start)


SCHOOL_YEARS = frozenset(SchoolYear(start) for start in range(2000, 2100))  # what parse accepts


def school_years(today: date, back: int = 5) -> list[SchoolYear]:
    """The current school year and the ones before it, newest first (filter choices)."""
    current = SchoolYear.of(today)
    return [SchoolYear(current.start - n) for n in range(back + 1)]


# Filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupFilter:
    cohort_id: int | None = None
    county: str | None = None
    system: str | None = None
    year: SchoolYear | None = None

    def args(self) -> dict[str, str]:
        """The filter as URL query arguments (so a view can be shared)."""
        values = {
            "cohort": self.cohort_id,
            "county": self.county,
            "system": self.system,
            "year": self.year.key if self.year else None,
        }
        return {key: str(value) for key, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.args())


def parse_filter(args, cohort_ids: set[int], today: date) -> tuple[RollupFilter, list[str]]:
    """Read the filter from query arguments; unknown values are dropped with a message."""
    problems = []

    def pick(name: str, allowed, convert=str):
        text = (args.get(name) or "").strip()
        if not text:
            return None
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or value not in allowed:
            problems.append(f"“{text[:60]}” is not a {name} the rollup knows, so it was left out.")
            return None
        return value

    return (
        RollupFilter(
            cohort_id=pick("cohort", cohort_ids, int),
            county=pick("county", CALIFORNIA_COUNTIES),
            system=pick("system", COOPERATIVE_SYSTEMS),
            year=pick("year", SCHOOL_YEARS, SchoolYear.parse),
        ),
        problems,
    )


@dataclass(frozen=True)
class CohortChoice:
    id: int
    name: str


def active_cohorts() -> list[CohortChoice]:
    """The cohorts a filter may name, newest first (plain data: it may be cached)."""
    rows = db.session.execute(
        sa.select(Cohort.id, Cohort.name)
        .where(Cohort.active.is_(True))
        .order_by(Cohort.start_date.desc())
    )
    return [CohortChoice(*row) for row in rows]


def _in_program(f: RollupFilter):
    """Places in active cohorts of active libraries, narrowed by the filter."""
    query = (
        sa.select(Participation.id, Participation.library_id, Participation.cohort_id)
        .join(Cohort, Cohort.id == Participation.cohort_id)
        .join(Library, Library.id == Participation.library_id)
        .where(Participation.active.is_(True), Cohort.active.is_(True), Library.active.is_(True))
    )
    if f.cohort_id:
        query = query.where(Participation.cohort_id == f.cohort_id)
    if f.county:
        query = query.where(Library.county == f.county)
    if f.system:
        query = query.where(Library.cooperative_system == f.system)
    return query


def _libraries_in_program(f: RollupFilter):
    return sa.select(_in_program(f).subquery().c.library_id).distinct()


# Libraries per cohort and role ---------------------------------------------------------


@dataclass
class CohortCount:
    cohort_id: int
    cohort: str
    pilots: int = 0
    mentors: int = 0
    sustaining: int = 0

    @property
    def libraries(self) -> int:
        return self.pilots + self.mentors + self.sustaining


def cohort_counts(f: RollupFilter) -> list[CohortCount]:
    places = _in_program(f).add_columns(Participation.role).subquery()
    rows = db.session.execute(
        sa.select(Cohort.id, Cohort.name, places.c.role, sa.func.count())
        .join(places, places.c.cohort_id == Cohort.id)
        .group_by(Cohort.id, Cohort.name, Cohort.start_date, places.c.role)
        .order_by(Cohort.start_date.desc(), Cohort.name)
    )
    counts: dict[int, CohortCount] = {}
    plural = {"pilot": "pilots", "mentor": "mentors", "sustaining": "sustaining"}
    for cohort_id, name, role, n in rows:
        row = counts.setdefault(cohort_id, CohortCount(cohort_id, name))
        setattr(row, plural[ParticipationRole(role).value], n)
    return list(counts.values())


# Pilots: where they are on the timeline, and how they are doing ---------------------------

TIMELINE_STAGES = (
    (6, "Months 0–6: getting started"),
    (12, "Months 7–12: agreements"),
    (18, "Months 13–18: cards issued"),
    (OUTER_BOUND_MONTHS, "Months 19–24: wrapping up"),
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
    pilots = _in_program(f).where(Participation.role == ParticipationRole.PILOT)
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


# Partnerships and their figures ---------------------------------------------------------


@dataclass(frozen=True)
class StageCount:
    position: int
    stage: str
    partnerships: int


def partnership_stages(f: RollupFilter) -> list[StageCount]:
    in_view = sa.and_(
        Partnership.stage_id == PartnershipStage.id,
        Partnership.active.is_(True),
        Partnership.library_id.in_(_libraries_in_program(f)),
    )
    rows = db.session.execute(
        sa.select(PartnershipStage.position, PartnershipStage.name, sa.func.count(Partnership.id))
        .outerjoin(Partnership, in_view)
        .group_by(PartnershipStage.position, PartnershipStage.name)
        .order_by(PartnershipStage.position)
    )
    return [StageCount(*row) for row in rows]


def _partnership_figures(f: RollupFilter, library_ids: list[int] | None = None):
    """One row per active partnership in view: its library, district, enrolment, cards."""
    libraries = (
        sa.select(Library.id).where(Library.id.in_(library_ids))
        if library_ids is not None
        else _libraries_in_program(f)
    )
    reports = sa.select(OutcomeReport).where(
        OutcomeReport.partnership_id.in_(
            sa.select(Partnership.id).where(Partnership.library_id.in_(libraries))
        )
    )
    if f.year:
        reports = reports.where(OutcomeReport.period_end.between(f.year.first_day, f.year.last_day))
    reports = reports.subquery()
    ranked = sa.select(
        reports.c.partnership_id,
        reports.c.students_enrolled,
        (reports.c.physical_cards + reports.c.digital_cards).label("cards"),
        sa.func.row_number()
        .over(
            partition_by=reports.c.partnership_id,
            order_by=(reports.c.period_end.desc(), reports.c.period_start.desc()),
        )
        .label("newest"),
    ).subquery()
    per_partnership = (
        sa.select(
            ranked.c.partnership_id,
            sa.func.sum(ranked.c.cards).label("cards"),
            sa.func.max(sa.case((ranked.c.newest == 1, ranked.c.students_enrolled))).label(
                "enrolled"
            ),
        )
        .group_by(ranked.c.partnership_id)
        .subquery()
    )
    return (
        sa.select(
            Partnership.id.label("partnership_id"),
            Partnership.library_id,
            Library.county,
            Library.cooperative_system.label("system"),
            sa.cast(Partnership.card_model, sa.String).label("card_model"),
            sa.cast(Partnership.enrolment, sa.String).label("enrolment"),
            sa.func.coalesce(per_partnership.c.enrolled, SchoolDistrict.students_enrolled, 0).label(
                "enrolled"
            ),
            sa.func.coalesce(per_partnership.c.cards, 0).label("cards"),
            sa.case((per_partnership.c.partnership_id.is_not(None), 1), else_=0).label("reporting"),
        )
        .join(Library, Library.id == Partnership.library_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .outerjoin(per_partnership, per_partnership.c.partnership_id == Partnership.id)
        .where(Partnership.active.is_(True), Partnership.library_id.in_(libraries))
        .cte("partnership_figures")
    )


@dataclass(frozen=True)
class Coverage:
    key: str
    partnerships: int
    reporting: int
    enrolled: int
    cards: int

    @property
    def coverage(self) -> float | None:
        return self.cards / self.enrolled if self.enrolled else None


DIMENSIONS = {
    "total": "All partnerships",
    "cohort": "Cohort",
    "county": "County",
    "system": "Cooperative system",
    "card_model": "Card model",
    "enrolment": "Enrolment",
}


def coverage_by_dimension(f: RollupFilter) -> dict[str, list[Coverage]]:
    """Students enrolled, cards issued and coverage, by each dimension: one statement."""
    figures = _partnership_figures(f)
    cohort_of = (
        _in_program(f).add_columns(Cohort.name.label("cohort_name")).subquery()
    )  # a library in two cohorts counts in both cohort rows (and once in the total)

    def grouped(dimension: str, key, *joins):
        query = sa.select(
            sa.literal(dimension).label("dimension"),
            sa.cast(key, sa.String).label("key"),
            sa.func.count(sa.distinct(figures.c.partnership_id)),
            sa.func.coalesce(sa.func.sum(figures.c.reporting), 0),
            sa.func.coalesce(sa.func.sum(figures.c.enrolled), 0),
            sa.func.coalesce(sa.func.sum(figures.c.cards), 0),
        ).select_from(figures)
        for target, on in joins:
            query = query.join(target, on)
        return query.group_by(key) if dimension != "total" else query

    statement = sa.union_all(
        grouped("total", sa.literal("")),
        grouped(
            "cohort",
            cohort_of.c.cohort_name,
            (cohort_of, cohort_of.c.library_id == figures.c.library_id),
        ),
        grouped("county", figures.c.county),
        grouped("system", figures.c.system),
        grouped("card_model", figures.c.card_model),
        grouped("enrolment", figures.c.enrolment),
    )
    result: dict[str, list[Coverage]] = {dimension: [] for dimension in DIMENSIONS}
    for dimension, key, partnerships, reporting, enrolled, cards in db.session.execute(statement):
        if dimension == "total" and not partnerships:
            continue
        result[dimension].append(
            Coverage(key or "not recorded", partnerships, int(reporting), int(enrolled), int(cards))
        )
    for rows in result.values():
        rows.sort(key=lambda row: row.key.lower())
    return result


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int
    cards: int
    cards_to_date: int

    @property
    def label(self) -> str:
        return f"{self.year} Q{self.quarter}"


def cards_per_quarter(f: RollupFilter) -> list[Quarter]:
    """Cards issued per calendar quarter (by the period's last day), and the running total."""
    year = sa.extract("year", OutcomeReport.period_end)
    month = sa.extract("month", OutcomeReport.period_end)
    query = (
        sa.select(
            year, month, sa.func.sum(OutcomeReport.physical_cards + OutcomeReport.digital_cards)
        )
        .join(Partnership, Partnership.id == OutcomeReport.partnership_id)
        .where(Partnership.active.is_(True), Partnership.library_id.in_(_libraries_in_program(f)))
        .group_by(year, month)
    )
    if f.year:
        query = query.where(OutcomeReport.period_end.between(f.year.first_day, f.year.last_day))
    per_quarter: dict[tuple[int, int], int] = defaultdict(int)
    for y, m, cards in db.session.execute(query):
        per_quarter[(int(y), (int(m) - 1) // 3 + 1)] += int(cards or 0)
    quarters, total = [], 0
    for (y, q), cards in sorted(per_quarter.items()):
        total += cards
        quarters.append(Quarter(y, q, cards, total))
    return quarters


# Counties (the map) -------------------------------------------------------------------


@dataclass
class CountyFigures:
    county: str
    pilots: int = 0
    mentors: int = 0
    partnerships: int = 0
    enrolled: int = 0
    cards: int = 0

    @property
    def coverage(self) -> float | None:
        return self.cards / self.enrolled if self.enrolled else None

    @property
    def shown(self) -> bool:  # worth a row on the page (the CSV has every county)
        return bool(self.pilots or self.mentors or self.partnerships)


def libraries_by_county(f: RollupFilter) -> dict[str, dict[str, int]]:
    """{county: {role: libraries}} for the program in view: one statement."""
    places = _in_program(f).add_columns(Participation.role, Library.county).subquery()
    rows = db.session.execute(
        sa.select(
            places.c.county, places.c.role, sa.func.count(sa.distinct(places.c.library_id))
        ).group_by(places.c.county, places.c.role)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for county, role, n in rows:
        counts[county][ParticipationRole(role).value] = n
    return counts


def county_figures(
    by_county: dict[str, dict[str, int]], coverage: list[Coverage]
) -> list[CountyFigures]:
    """Every county of California, with or without libraries in the program."""
    figures = {row.key: row for row in coverage}
    result = []
    for county in CALIFORNIA_COUNTIES:
        roles = by_county.get(county, {})
        cover = figures.get(county)
        result.append(
            CountyFigures(
                county,
                pilots=roles.get("pilot", 0),
                mentors=roles.get("mentor", 0),
                partnerships=cover.partnerships if cover else 0,
                enrolled=cover.enrolled if cover else 0,
                cards=cover.cards if cover else 0,
            )
        )
    return result


# The whole page ---------------------------------------------------------------------------


@dataclass
class RollupFigures:
    filter: RollupFilter
    today: date
    cohorts: list[CohortCount]
    pilots: list[PilotStatus]
    stages: list[StageCount]
    coverage: dict[str, list[Coverage]]
    quarters: list[Quarter]
    counties: list[CountyFigures]
    libraries: int  # distinct libraries in the program (any role, any number of cohorts)
    timeline: list[tuple[str, int]] = field(default_factory=list)
    risk: list[tuple[RiskLevel, int]] = field(default_factory=list)

    def __post_init__(self):
        stages = {label: 0 for _, label in TIMELINE_STAGES}
        levels = dict.fromkeys(sorted(RiskLevel, reverse=True), 0)
        for pilot in self.pilots:
            stages[pilot.stage] += 1
            levels[pilot.level] += 1
        self.timeline = list(stages.items())
        self.risk = list(levels.items())

    @property
    def total(self) -> Coverage | None:
        return self.coverage["total"][0] if self.coverage["total"] else None


def compute(f: RollupFilter, today: date, settings: RiskSettings) -> RollupFigures:
    coverage = coverage_by_dimension(f)
    return RollupFigures(
        filter=f,
        today=today,
        cohorts=cohort_counts(f),
        pilots=pilot_statuses(f, today, settings),
        stages=partnership_stages(f),
        coverage=coverage,
        quarters=cards_per_quarter(f),
        counties=county_figures(libraries_by_county(f), coverage["county"]),
        libraries=db.session.scalar(
            sa.select(sa.func.count()).select_from(_libraries_in_program(f).subquery())
        ),
    )


class _Cache:
    """Computed figures for a few seconds (thread-safe).

    In this process by default. With `ROLLUP_CACHE_URL` (Redis, as for the rate limits)
    every web process shares them, so one worker computes and all the others read; each
    still keeps what it read until the shared entry expires. The values are pickled by
    this code and read back only from that private server.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self.entries: dict[tuple, tuple[float, object]] = {}
        self.lock = threading.Lock()
        self.shared = None  # a redis.Redis, when configured
        self.prefix = ""

    def configure(self, url: str | None, prefix: str) -> None:
        self.shared = redis.Redis.from_url(url, socket_timeout=1) if url else None
        self.prefix = prefix

    def get(self, key: tuple, seconds: float, make):
        now = time.monotonic()
        with self.lock:
            hit = self.entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value, seconds_left = (
            self._get_shared(key, seconds, make) if self.shared is not None else (make(), seconds)
        )
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[key] = (now + seconds_left, value)
        return value

    def _get_shared(self, key: tuple, seconds: float, make) -> tuple[object, float]:
        """The shared value and how long it has left (kept here no longer than that)."""
        name = self.prefix + hashlib.sha256(repr(key).encode()).hexdigest()
        try:
            stored, left_ms = self.shared.pipeline().get(name).pttl(name).execute()
        except redis.RedisError:  # the figures can always be computed instead
            stored = None
        if stored is not None and left_ms > 0:
            try:
                return pickle.loads(stored), left_ms / 1000
            except Exception:  # written by another release: compute it afresh
                pass
        value = make()
        with contextlib.suppress(redis.RedisError):
            self.shared.set(name, pickle.dumps(value), px=max(1, int(1000 * seconds)))
        return value, seconds


cache = _Cache()


def rollup(
    f: RollupFilter, today: date, settings: RiskSettings, cache_seconds: float = 0
) -> RollupFigures:
    if cache_seconds <= 0:
        return compute(f, today, settings)
    return cache.get((f, today, settings), cache_seconds, lambda: compute(f, today, settings))


# Drill-down: the libraries in view, and one library ------------------------------------


@dataclass(frozen=True)
class LibraryFigures:
    """A library's row in the drill-down: progress and figures, nothing private."""

    library_id: int
    name: str
    county: str
    system: str
    roles: str
    pilot: PilotStatus | None
    partnerships: int
    enrolled: int
    cards: int

    @property
    def coverage(self) -> float | None:
        return self.cards / self.enrolled if self.enrolled else None


def libraries_in_view(f: RollupFilter):
    """Libraries in the program and the filter, by name (a select to paginate)."""
    return (
        sa.select(Library)
        .where(Library.id.in_(_libraries_in_program(f)))
        .order_by(Library.name, Library.id)
    )


def library_figures(
    libraries: list[Library], f: RollupFilter, today: date, settings: RiskSettings
) -> list[LibraryFigures]:
    """Figures for some libraries: three statements, however many libraries."""
    ids = [library.id for library in libraries]
    if not ids:
        return []
    places = _in_program(f).add_columns(Participation.role, Cohort.name.label("cohort"))
    roles: dict[int, list[str]] = defaultdict(list)
    for row in db.session.execute(
        places.where(Participation.library_id.in_(ids)).order_by(Cohort.start_date)
    ):
        roles[row.library_id].append(f"{ParticipationRole(row.role).value} ({row.cohort})")
    pilots = {}
    for status in pilot_statuses(f, today, settings, ids):
        current = pilots.get(status.library_id)
        if current is None or status.participation_id > current.participation_id:
            pilots[status.library_id] = status  # the latest place as a pilot
    figures = _partnership_figures(f, ids)
    totals = {
        library_id: (n, int(enrolled), int(cards))
        for library_id, n, enrolled, cards in db.session.execute(
            sa.select(
                figures.c.library_id,
                sa.func.count(),
                sa.func.sum(figures.c.enrolled),
                sa.func.sum(figures.c.cards),
            ).group_by(figures.c.library_id)
        )
    }
    return [
        LibraryFigures(
            library.id,
            library.name,
            library.county,
            library.cooperative_system,
            "; ".join(roles.get(library.id, [])),
            pilots.get(library.id),
            *totals.get(library.id, (0, 0, 0)),
        )
        for library in libraries
    ]


@dataclass(frozen=True)
class PartnershipFigures:
    partnership_id: int
    district: str
    cds_code: str
    stage_position: int
    stage: str
    card_model: str
    enrolment: str
    fine_free: bool | None
    enrolled: int
    cards: int
    reporting: bool

    @property
    def coverage(self) -> float | None:
        return self.cards / self.enrolled if self.enrolled else None


def partnerships_of_library(library_id: int, f: RollupFilter) -> list[PartnershipFigures]:
    """A library's school partners with stage and figures (no contacts, no notes)."""
    figures = _partnership_figures(f, [library_id])
    rows = db.session.execute(
        sa.select(
            figures.c.partnership_id,
            SchoolDistrict.name,
            SchoolDistrict.state_code,
            PartnershipStage.position,
            PartnershipStage.name,
            figures.c.card_model,
            figures.c.enrolment,
            Partnership.fine_free,
            figures.c.enrolled,
            figures.c.cards,
            figures.c.reporting,
        )
        .join(Partnership, Partnership.id == figures.c.partnership_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .join(PartnershipStage, PartnershipStage.id == Partnership.stage_id)
        .order_by(Partnership.rollout_order, SchoolDistrict.name)
    )
    return [
        PartnershipFigures(
            pid,
            district,
            code or "",
            position,
            stage,
            card_model or "not recorded",
            enrolment or "not recorded",
            fine_free,
            int(enrolled),
            int(cards),
            bool(reporting),
        )
        for (
            pid,
            district,
            code,
            position,
            stage,
            card_model,
            enrolment,
            fine_free,
            enrolled,
            cards,
            reporting,
        ) in rows
    ]


def reports_of_library(library_id: int, f: RollupFilter) -> list:
    """The library's dated outcome reports (figures only), newest first."""
    query = (
        sa.select(SchoolDistrict.name.label("district"), *FIGURE_COLUMNS)
        .join(Partnership, Partnership.id == OutcomeReport.partnership_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .where(Partnership.library_id == library_id, Partnership.active.is_(True))
        .order_by(OutcomeReport.period_end.desc(), SchoolDistrict.name)
    )
    if f.year:
        query = query.where(OutcomeReport.period_end.between(f.year.first_day, f.year.last_day))
    return db.session.execute(query).all()


# The annual report (California SB 321, from 2029) --------------------------------------


@dataclass(frozen=True)
class AnnualReportRow:
    """One partnership's figures for one school year; the rules are in the README."""

    year: SchoolYear
    library: str
    district: str
    cds_code: str
    students_enrolled: int | None  # from the latest report ending in the year
    cards_issued_in_year: int  # reports ending in the year
    students_with_cards: int  # cards issued by reports ending on or before the year's end
    students_using_cards: int | None  # the largest single-report count in the year
    reports_in_year: int
    reports_spanning_years: int  # reports ending in the year that began before it


def _reporting_partnerships(library_id: int | None, f: RollupFilter | None):
    query = sa.select(Partnership.id).where(Partnership.active.is_(True))
    if library_id is not None:
        query = query.where(Partnership.library_id == library_id)
    if f is not None:
        query = query.where(Partnership.library_id.in_(_libraries_in_program(f)))
    return query


def annual_report_count(
    year: SchoolYear, library_id: int | None = None, f: RollupFilter | None = None
) -> int:
    """How many rows the annual report has (every active partnership in view)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(_reporting_partnerships(library_id, f).subquery())
    )


def annual_report(
    year: SchoolYear,
    library_id: int | None = None,
    f: RollupFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[AnnualReportRow]:
    """Per partnership, one statement. A report belongs to the school year its period ends in."""
    # The rows asked for first, so the figures are summed for them only (a page of 100).
    shown = (
        sa.select(
            Partnership.id, Library.name.label("library"), SchoolDistrict.name.label("district")
        )
        .join(Library, Library.id == Partnership.library_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .where(Partnership.id.in_(_reporting_partnerships(library_id, f)))
        .order_by(Library.name, SchoolDistrict.name, Partnership.id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    in_year = OutcomeReport.period_end.between(year.first_day, year.last_day)
    of_shown = OutcomeReport.partnership_id.in_(sa.select(shown.c.id))
    ranked = (
        sa.select(
            OutcomeReport.partnership_id,
            OutcomeReport.students_enrolled,
            sa.func.row_number()
            .over(
                partition_by=OutcomeReport.partnership_id,
                order_by=(OutcomeReport.period_end.desc(), OutcomeReport.period_start.desc()),
            )
            .label("newest"),
        )
        .where(in_year, of_shown)
        .subquery()
    )
    latest = (
        sa.select(ranked.c.partnership_id, ranked.c.students_enrolled)
        .where(ranked.c.newest == 1)
        .subquery()
    )
    cards = OutcomeReport.physical_cards + OutcomeReport.digital_cards
    per_partnership = (
        sa.select(
            OutcomeReport.partnership_id,
            sa.func.sum(sa.case((in_year, cards), else_=0)).label("in_year"),
            sa.func.sum(cards).label("to_date"),
            sa.func.max(sa.case((in_year, OutcomeReport.students_using_cards))).label("using"),
            sa.func.sum(sa.case((in_year, 1), else_=0)).label("reports"),
            sa.func.sum(
                sa.case((sa.and_(in_year, OutcomeReport.period_start < year.first_day), 1), else_=0)
            ).label("spanning"),
        )
        .where(OutcomeReport.period_end <= year.last_day, of_shown)
        .group_by(OutcomeReport.partnership_id)
        .subquery()
    )
    query = (
        sa.select(
            shown.c.library,
            shown.c.district,
            SchoolDistrict.state_code,
            latest.c.students_enrolled,
            per_partnership.c.in_year,
            per_partnership.c.to_date,
            per_partnership.c.using,
            per_partnership.c.reports,
            per_partnership.c.spanning,
        )
        .select_from(shown)
        .join(Partnership, Partnership.id == shown.c.id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .outerjoin(per_partnership, per_partnership.c.partnership_id == shown.c.id)
        .outerjoin(latest, latest.c.partnership_id == shown.c.id)
        .order_by(shown.c.library, shown.c.district, shown.c.id)
    )
    return [
        AnnualReportRow(
            year,
            library,
            district,
            code or "",
            enrolled,
            int(in_year or 0),
            int(to_date or 0),
            using,
            int(reports or 0),
            int(spanning or 0),
        )
        for library, district, code, enrolled, in_year, to_date, using, reports, spanning in (
            db.session.execute(query)
        )
    ]


@dataclass(frozen=True)
class AnnualTotals:
    students_enrolled: int
    cards_issued_in_year: int
    students_with_cards: int
    students_using_cards: int


def annual_totals(rows: list[AnnualReportRow]) -> AnnualTotals:
    """A library's totals: its districts' students are distinct, so sums are honest."""
    return AnnualTotals(
        sum(r.students_enrolled or 0 for r in rows),
        sum(r.cards_issued_in_year for r in rows),
        sum(r.students_with_cards for r in rows),
        sum(r.students_using_cards or 0 for r in rows),
    )


@dataclass(frozen=True)
class PilotPlace:
    cohort: str
    status: PilotStatus
