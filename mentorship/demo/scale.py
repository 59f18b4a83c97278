"""Bigger demo programs, generated on top of the demo: `seed-demo --scale california|national`.

* california: a statewide program. The demo's libraries are topped up to California's 183
  public library jurisdictions, with at least one in each of the 58 counties, and each
  library is in its county's cooperative system (9 systems). Districts are topped up to
  1,000. Year 1 and Year 2 get more pilots and mentors, and a Year 3 is recruited for
  next September (pairings proposed, not started yet).
* national: the size of a national program (10,000 libraries, 13,000 school districts,
  100,000 milestones, 500,000 check-ins, 50,000 comments) in eight six-monthly rounds, the
  older four finished. The schema has a county and no state, so every generated row keeps
  to California's 58 counties and 9 systems: the statewide rollup stays meaningful and
  simply sees a very large state.

Every generated row is made the way the services would make it (stage dates in order,
milestone due dates from the published plan, cards never above the students enrolled,
an audit row for each change, so "last activity" is real), but written in bulk: COPY on
PostgreSQL, executemany elsewhere, with ids given here. Names are made up and say so
("… (synthetic)"); people are numbered ("Librarian 00123"). No student-level data exists
in the schema and none is made. The same seed gives the same rows; a second run finds
its marker cohort and changes nothing.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import random
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from types import SimpleNamespace

import sqlalchemy as sa

from .. import demo
from ..extensions import db
from ..models import (
    AgreementKind,
    Cohort,
    Library,
    PartnershipStage,
    School,
    SchoolDistrict,
    StepScope,
    User,
)
from ..models.library import CALIFORNIA_COUNTIES
from ..models.partnership import letter_progress
from ..rendering import render_markdown
from ..services import milestones
from ..services.auth import hash_password
from ..services.checkins import next_date
from ..services.milestone_facts import FactBook
from ..services.months import add_months
from . import scale_data as data

CALIFORNIA, NATIONAL = "california", "national"
CALIFORNIA_LIBRARIES, CALIFORNIA_DISTRICTS = 183, 1_000
CALIFORNIA_SCHOOLS = 10_000  # about as many public schools as California has
# Grade spans of generated schools: (low, high) and weight (TK is -1, K is 0).
GRADE_SPANS = (((0, 5), 45), ((-1, 5), 15), ((6, 8), 15), ((9, 12), 15), ((0, 8), 10))
YEAR3_NAME = "Year 3 — California"  # begins next school year
NATIONAL_ROUND = "National round {} (synthetic)"
SEED = 2026
CHUNK = 50_000
# Steps of the default plan whose completion moves a district partnership to a stage.
STAGE_OF_STEP = demo.STAGE_OF_STEP
CADENCE_DAYS = {"weekly": 7, "every two weeks": 14, "monthly": 30, "every two months": 61}


@dataclass(frozen=True)
class CohortPlan:
    name: str
    start: date
    end: date
    pilots: int  # generated pilots (a weight when Sizes.milestones fixes the total)
    mentors: int = 0  # generated mentors; at least one per three pilots
    systems: tuple[str, ...] = ()  # where its libraries come from (empty: anywhere)


@dataclass(frozen=True)
class Sizes:
    """How much to generate on top of what is stored; None: what the timelines give."""

    libraries: int
    districts: int
    cohorts: tuple[CohortPlan, ...]
    idle_share: float = 0.08  # generated libraries in no cohort (some run cards on their own)
    milestones: int | None = None
    check_ins: int | None = None
    comments: int | None = None
    numbered_names: bool = False
    schools: int = 0  # synthetic schools (with county offices and charters as their LEAs)
    cover_counties: bool = False  # a library and a district in every county first
    cadences: tuple[tuple[str, int], ...] = (
        ("monthly", 70), ("every two weeks", 20), ("every two months", 10)
    )  # fmt: skip


def california_sizes(today: date) -> Sizes:
    """Tops the stored program up to 183 libraries and 1,000 districts."""
    year1, year2 = demo.demo_rounds(today)
    year3 = demo.round_started(today, -1)
    return Sizes(
        libraries=max(CALIFORNIA_LIBRARIES - _count(Library), 0),
        districts=max(CALIFORNIA_DISTRICTS - _count(SchoolDistrict), 0),
        cohorts=(
            CohortPlan(*astuple(year1), 10, 3, ("NorthNet", "Pacific Library Partnership")),
            CohortPlan(*astuple(year2), 25, 8),
            CohortPlan(YEAR3_NAME, year3, date(year3.year + 2, 8, 31), 50, 17),
        ),
        idle_share=0.1,
        schools=max(CALIFORNIA_SCHOOLS - _count(School), 0),
        cover_counties=True,
    )


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def national_sizes(today: date, fraction: float = 1.0) -> Sizes:
    """The national program, or a `fraction` of it with the same proportions."""
    first_of_month = today.replace(day=1)
    rounds = []
    for n in range(8):  # every six months, the newest started two months ago
        start = add_months(first_of_month, -2 - 6 * (7 - n))
        rounds.append(
            CohortPlan(NATIONAL_ROUND.format(n + 1), start, add_months(start, 24) - timedelta(1), 1)
        )
    return Sizes(
        libraries=round(10_000 * fraction),
        districts=round(13_000 * fraction),
        cohorts=tuple(rounds),
        idle_share=0.05,
        milestones=round(100_000 * fraction),
        check_ins=round(500_000 * fraction),
        comments=round(50_000 * fraction),
        numbered_names=True,
        schools=round(100_000 * fraction),
        cadences=(("weekly", 35), ("every two weeks", 40), ("monthly", 25)),
    )


@dataclass
class Result:
    scale: str
    skipped: str  # why nothing was generated ("" when it was)
    counts: dict[str, int]
    seconds: float
    sample_pilot: str = ""  # a generated pilot's sign-in (demo password)


def seed(scale: str, today: date | None = None, sizes: Sizes | None = None) -> Result:
    """The demo, then the generated program of `scale` (once). The caller commits."""
    started = time.perf_counter()
    today = today or date.today()
    demo.seed_demo(today)
    db.session.flush()
    names = set(db.session.scalars(sa.select(Cohort.name)))
    markers = {CALIFORNIA: YEAR3_NAME, NATIONAL: NATIONAL_ROUND.format(1)}
    skipped, sample = "", ""
    if markers[scale] in names:
        skipped = f"the {scale} program is already loaded (cohort “{markers[scale]}” exists)"
    elif any(marker in names for marker in markers.values()):
        skipped = "another scale is already loaded: start from an empty database"
    else:
        if sizes is None:
            sizes = california_sizes(today) if scale == CALIFORNIA else national_sizes(today)
        sample = _Generator(sizes, today, random.Random(SEED)).run()
    counts = {table.name: _count(table) for table in db.metadata.sorted_tables}
    return Result(scale, skipped, counts, time.perf_counter() - started, sample)


# Writing in bulk -----------------------------------------------------------------------


class _Bulk:
    """Rows get their ids here and go in per table: COPY on PostgreSQL, executemany else."""

    def __init__(self):
        self.connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.next_id: dict[str, int] = {}
        self.written: Counter[str] = Counter()

    def id(self, table: sa.Table) -> int:
        if table.name not in self.next_id:
            top = self.connection.scalar(sa.select(sa.func.max(table.c.id)))
            self.next_id[table.name] = (top or 0) + 1
        self.next_id[table.name] += 1
        return self.next_id[table.name] - 1

    def insert(self, table: sa.Table, rows: list[dict]) -> None:
        if not rows:
            return
        names = [column.name for column in table.columns]
        defaults = {c.name: c.default for c in table.columns if c.default is not None}
        fixed = {n: _plain(d.arg) for n, d in defaults.items() if not d.is_callable}
        for row in rows:  # COPY skips column defaults: fill them in as the ORM would
            for name in names:
                if name not in row:
                    default = defaults.get(name)
                    row[name] = (
                        default.arg(None) if default and default.is_callable else fixed.get(name)
                    )
        if self.postgres:
            json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
            cursor = self.connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    for name in json_columns:
                        row[name] = json.dumps(row[name])
                    copy.write_row([row[name] for name in names])
        else:
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                self.connection.execute(
                    sa.insert(table), [{name: row[name] for name in names} for row in chunk]
                )
        self.written[table.name] += len(rows)

    def finish(self) -> None:
        """PostgreSQL's sequences continue after the ids given here, and its planner learns
        the new sizes now (autovacuum would, later: until then a page can pick a bad plan)."""
        if self.postgres:
            for name in self.written:
                self.connection.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
                self.connection.execute(sa.text(f"ANALYZE {name}"))


def _plain(value):
    """A default as COPY writes it: an enum as its value."""
    return value.value if isinstance(value, enum.Enum) else value


@functools.cache
def _html(markdown: str) -> str:
    """The stored HTML of a comment or story (the models render on save; bulk rows here)."""
    return str(render_markdown(markdown))


def _at(day: date, hour: int = 17) -> datetime:
    return datetime.combine(day, clock(hour), UTC)


# The generator ---------------------------------------------------------------------------


class _Generator:
    """Builds the rows in memory, parents before children, and writes each table once
    (check-ins and audit rows in chunks, to keep memory flat at national size)."""

    def __init__(self, sizes: Sizes, today: date, rng: random.Random):
        self.sizes, self.today, self.rng = sizes, today, rng
        self.bulk = _Bulk()
        self.t = db.metadata.tables
        self.audit: list[dict] = []
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.places = [f"{a} {b}" for a in data.PLACE_FIRST for b in data.PLACE_SECOND]
        rng.shuffle(self.places)

    # small helpers

    def days(self, low: int, high: int) -> timedelta:
        return timedelta(days=self.rng.randint(low, high))

    def weighted(self, pairs):
        values, weights = zip(*pairs, strict=True)
        return self.rng.choices(values, weights)[0]

    def record(self, actor, action, kind, object_id, label, library_id, changes, at) -> None:
        """An audit row as audit.record would write it (the risk list reads the latest)."""
        self.audit.append(
            {
                "id": self.bulk.id(self.t["audit_events"]),
                "at": at,
                "actor_id": actor,
                "action": action,
                "object_type": kind,
                "object_id": object_id,
                "object_label": label[:200],
                "library_id": library_id,
                "changes": changes,
            }
        )
        if len(self.audit) >= CHUNK:
            self.flush_audit()

    def flush_audit(self) -> None:
        self.bulk.insert(self.t["audit_events"], self.audit)
        self.audit = []

    def counties(self, n: int, covered: set[str], exponent: float) -> list[str]:
        """`n` counties weighted by population**exponent (small counties get more than
        their share), each uncovered county once first when the sizes ask for it."""
        first = []
        if self.sizes.cover_counties:
            first = [c for c in CALIFORNIA_COUNTIES if c not in covered]
        weights = [data.COUNTY_POPULATION_THOUSANDS[c] ** exponent for c in CALIFORNIA_COUNTIES]
        rest = self.rng.choices(CALIFORNIA_COUNTIES, weights, k=max(n - len(first), 0))
        return (first + rest)[:n]

    def card_terms(self) -> dict:
        return {
            "card_model": self.weighted((("digital only", 45), ("full", 35), ("starter", 20))),
            "enrolment": self.weighted((("opt-out", 70), ("opt-in", 30))),
            "fine_free": self.weighted(((True, 80), (False, 15), (None, 5))),
        }

    # the program, in order

    def run(self) -> str:
        stages = db.session.execute(
            sa.select(PartnershipStage.position, PartnershipStage.id, PartnershipStage.name)
        ).all()
        self.stage_id = {s.position: s.id for s in stages}
        self.stage_name = {s.position: s.name for s in stages}
        template = milestones.current_template()
        self.template_id = template.id
        self.steps = sorted(template.steps, key=lambda s: s.position)
        self.staff_id = db.session.scalar(sa.select(User.id).where(User.role == "staff").limit(1))
        self.password = hash_password(demo.DEMO_PASSWORD)  # hashed once, shared by all

        self.libraries()
        self.districts()
        self.cohorts()
        self.roles()
        self.people()
        self.participations()
        self.partnerships()
        self.schools()
        self.pairings()
        self.check_ins()
        self.comments()
        self.flush_audit()
        self.bulk.finish()
        return next((p["library"]["email"] for p in self.pilots if p["begun"]), "")

    def libraries(self) -> None:
        stored = db.session.execute(sa.select(Library.name, Library.county)).all()
        taken = {name for name, _ in stored}
        table, rows = self.t["libraries"], []
        places = (p for p in self.places if f"{p} Public Library (synthetic)" not in taken)
        for county in self.counties(self.sizes.libraries, {c for _, c in stored}, 0.6):
            library_id = self.bulk.id(table)
            if self.sizes.numbered_names:
                place = self.rng.choice(self.places)
                name = f"{place} Library {library_id:05d} (synthetic)"
            else:
                place = next(places)
                name = f"{place} Public Library (synthetic)"
            population = self.rng.lognormvariate(10.4, 1.1)  # median about 33,000
            rows.append(
                {
                    "id": library_id,
                    "name": name,
                    "short_name": f"{place} PL",
                    "city": f"{place} (synthetic)",
                    "county": county,
                    "cooperative_system": data.SYSTEM_OF_COUNTY[county],
                    "governance": self.weighted(data.GOVERNANCE_WEIGHTS),
                    "service_population": int(min(max(population, 800), 3_000_000)),
                    "ils_name": self.weighted(data.ILS_NAMES),
                }
            )
        self.bulk.insert(table, rows)
        self.libs = [{**row, "pilot_of": None, "mentor_of": [], "user_id": None} for row in rows]

    def districts(self) -> None:
        stored = db.session.execute(sa.select(SchoolDistrict.name, SchoolDistrict.county)).all()
        taken = set(stored)
        table, rows = self.t["school_districts"], []
        for county in self.counties(self.sizes.districts, {c for _, c in stored}, 0.5):
            district_id = self.bulk.id(table)
            # Many small districts, a few very large ones (median about 2,200 students).
            students = int(min(max(self.rng.lognormvariate(7.7, 1.35), 40), 250_000))
            kinds = data.DISTRICT_KINDS_SMALL if students < 3000 else data.DISTRICT_KINDS_LARGE
            name = f"{self.rng.choice(self.places)} {self.rng.choice(kinds)}"
            if self.sizes.numbered_names or (f"{name} (synthetic)", county) in taken:
                name = f"{name} {district_id:05d}"
            name = f"{name} (synthetic)"
            taken.add((name, county))
            rows.append(
                {
                    "id": district_id,
                    "name": name,
                    "county": county,
                    "students_enrolled": students,
                    "enrolment_school_year": "2024-25",
                }
            )
        self.bulk.insert(table, rows)
        # Any stored district can be chosen; in the library's county, unpartnered ones first.
        partnered = set(
            db.session.scalars(sa.text("SELECT DISTINCT district_id FROM partnerships"))
        )
        self.free_in_county: dict[str, list[int]] = defaultdict(list)
        self.in_county: dict[str, list[int]] = defaultdict(list)
        self.enrolled, self.district_name = {}, {}
        everything = db.session.execute(
            sa.select(
                SchoolDistrict.id,
                SchoolDistrict.name,
                SchoolDistrict.county,
                SchoolDistrict.students_enrolled,
            ).order_by(SchoolDistrict.id)
        ).all()
        for district_id, name, county, students in everything:
            self.enrolled[district_id], self.district_name[district_id] = students, name
            self.in_county[county].append(district_id)
            if district_id not in partnered:
                self.free_in_county[county].append(district_id)
        for ids in self.free_in_county.values():
            self.rng.shuffle(ids)
        self.all_districts = [row.id for row in everything]
        self.partnered_pairs: set[tuple[int, int]] = set()
        self.rollout: Counter[int] = Counter()

    def cohorts(self) -> None:
        stored = dict(db.session.execute(sa.select(Cohort.name, Cohort.id)).all())
        table, rows, self.plans = self.t["cohorts"], [], []
        for plan in self.sizes.cohorts:
            cohort_id = stored.get(plan.name)
            if cohort_id is None:
                cohort_id = self.bulk.id(table)
                rows.append(
                    {
                        "id": cohort_id,
                        "name": plan.name,
                        "start_date": plan.start,
                        "end_date": plan.end,
                        "active": plan.end >= self.today,  # finished rounds are closed
                        "notes": "Generated demo cohort.",
                    }
                )
            self.plans.append((plan, cohort_id))
        self.bulk.insert(table, rows)

    def roles(self) -> None:
        """Who pilots in which cohort (once each) and who mentors (perhaps in several)."""
        library_steps = sum(1 for s in self.steps if s.scope == StepScope.LIBRARY)
        district_steps = len(self.steps) - library_steps
        wanted = [plan.pilots for plan, _ in self.plans]
        self.district_total = None
        if self.sizes.milestones is not None:
            # milestones = pilots × library steps + districts × district steps (1.5 a pilot)
            pilots = round(self.sizes.milestones / (library_steps + 1.5 * district_steps))
            wanted = _split(pilots, wanted)
            if district_steps:
                rest = self.sizes.milestones - pilots * library_steps
                self.district_total = rest // district_steps
        free = list(self.libs)
        self.pilots_of_plan = []
        for (plan, _), count in zip(self.plans, wanted, strict=True):
            chosen = _pick(free, count, plan.systems)
            self.pilots_of_plan.append(chosen)
            taken = {lib["id"] for lib in chosen}
            free = [lib for lib in free if lib["id"] not in taken]
        pool = free[round(len(self.libs) * self.sizes.idle_share) :]  # the rest stay out
        self.mentors_of_plan = []
        for (plan, _), pilots in zip(self.plans, self.pilots_of_plan, strict=True):
            count = min(max(plan.mentors, math.ceil(len(pilots) / 3)), len(pool))
            shuffled = self.rng.sample(pool, len(pool))
            self.mentors_of_plan.append(_pick(shuffled, count, plan.systems))
        for index, pilots in enumerate(self.pilots_of_plan):
            for library in pilots:
                library["pilot_of"] = index
        for index, mentors in enumerate(self.mentors_of_plan):
            for library in mentors:
                library["mentor_of"].append(index)

    def people(self) -> None:
        """One librarian per taking-part library, numbered, with the demo password."""
        table, rows = self.t["users"], []
        for library in self.libs:
            if library["pilot_of"] is None and not library["mentor_of"]:
                continue
            library["user_id"] = self.bulk.id(table)
            library["email"] = f"librarian-{library['id']}@synthetic.test"
            rows.append(
                {
                    "id": library["user_id"],
                    "name": f"Librarian {library['id']:05d}",
                    "email": library["email"],
                    "role": "pilot" if library["pilot_of"] is not None else "mentor",
                    "library_id": library["id"],
                    "password_hash": self.password,
                    "session_token": secrets.token_hex(16),
                }
            )
        self.bulk.insert(table, rows)

    def participations(self) -> None:
        table, rows, self.pilots, self.mentors = self.t["participations"], [], [], []
        for index, (plan, cohort_id) in enumerate(self.plans):
            begun = plan.start <= self.today
            pilots, mentors = self.pilots_of_plan[index], self.mentors_of_plan[index]
            capacity = min(max(3, math.ceil(len(pilots) / max(len(mentors), 1))), 50)
            for library in mentors:
                row = {
                    "id": self.bulk.id(table),
                    "library_id": library["id"],
                    "cohort_id": cohort_id,
                    "role": "mentor",
                    "start_date": plan.start,
                    "mentor_capacity": capacity,
                }
                rows.append(row)
                self.mentors.append({"plan": index, "id": row["id"], "library": library,
                                     "capacity": capacity, "taken": 0})  # fmt: skip
            for library in pilots:
                start = plan.start
                if begun and self.rng.random() < 0.2:  # joined a little after the cohort began
                    start = min(start + self.days(14, 60), self.today)
                # How this pilot is doing: days its steps run late, and its check-ins below.
                health = self.weighted((("on track", 45), ("attention", 25), ("at risk", 30)))
                lag = {
                    "on track": self.rng.randint(-20, 0),
                    "attention": self.rng.randint(1, 25),
                    "at risk": self.rng.choice((30, 60, 120, 200, 0, 10)),
                }[health]
                row = {
                    "id": self.bulk.id(table),
                    "library_id": library["id"],
                    "cohort_id": cohort_id,
                    "role": "pilot",
                    "start_date": start,
                    "target_months": 24 if self.rng.random() < 0.15 else 18,
                    "template_id": self.template_id,
                }
                rows.append(row)
                self.pilots.append(
                    {"plan": index, "id": row["id"], "start": start, "begun": begun,
                     "library": library, "health": health, "lag": lag, "milestones": []}
                )  # fmt: skip
        self.bulk.insert(table, rows)

    # partnerships, milestones, letters, agreements and figures

    def district_for(self, library: dict) -> int:
        """An unpartnered district of the library's county, else one of its county, else any."""
        county, library_id = library["county"], library["id"]
        free = self.free_in_county[county]
        while free:
            district_id = free.pop()
            if (library_id, district_id) not in self.partnered_pairs:
                return district_id
        for candidates in (self.in_county[county], self.all_districts):
            for _ in range(20):
                district_id = self.rng.choice(candidates) if candidates else None
                if district_id and (library_id, district_id) not in self.partnered_pairs:
                    return district_id
        return next(d for d in self.all_districts if (library_id, d) not in self.partnered_pairs)

    def partnerships(self) -> None:
        for pilot, count in zip(self.pilots, self.districts_per_pilot(), strict=True):
            self.pilot_timeline(pilot, count)
        for mentor in {m["library"]["id"]: m["library"] for m in self.mentors}.values():
            for _ in range(self.rng.choice((1, 1, 2, 3))):  # older than the program
                contact = self.today - self.days(2 * 365, 7 * 365)
                self.long_running(mentor, contact, 7 if self.rng.random() < 0.15 else 6)
        for library in self.libs:  # some libraries outside the program have a district too
            if library["user_id"] is None and self.rng.random() < 0.5:
                contact = self.today - self.days(30, 5 * 365)
                self.long_running(library, contact, self.rng.randint(1, 6))
        for name in (
            "partnerships",
            "partnership_stage_dates",
            "agreements",
            "outcome_reports",
            "milestones",
            "commitment_letters",
            "letter_signers",
        ):
            self.bulk.insert(self.t[name], self.rows.pop(name, []))

    def schools(self) -> None:
        """Schools for the districts (in proportion to their students), a county office of
        education with two schools in each county, and directly funded charter schools as
        their own LEAs (one school in twenty); each school's local library (its district's
        partner library, else one of its county's, else none yet: the coverage gap); some
        partnerships choose half of their district's schools; grade-3 rows for the last two
        school years of every partnership with figures; summer readers and resource use."""
        total = self.sizes.schools
        if not total:
            return
        t = self.t
        number = {county: n for n, county in enumerate(CALIFORNIA_COUNTIES, start=1)}
        districts = db.session.execute(
            sa.select(SchoolDistrict.id, SchoolDistrict.county, SchoolDistrict.students_enrolled)
        ).all()
        libraries_in: dict[str, list[int]] = defaultdict(list)
        for library_id, county in db.session.execute(sa.select(Library.id, Library.county)):
            libraries_in[county].append(library_id)
        partners: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for pid, library_id, district_id in db.session.execute(
            sa.text("SELECT id, library_id, district_id FROM partnerships WHERE active ORDER BY id")
        ):
            partners[district_id].append((pid, library_id))
        first_report = dict(
            db.session.execute(
                sa.text(
                    "SELECT partnership_id, min(period_end) FROM outcome_reports "
                    "WHERE school_id IS NULL GROUP BY partnership_id"
                )
            ).all()
        )
        leas, schools, ids = [], [], []
        lea_county = {d.id: d.county for d in districts}
        # County offices, then charters: new LEAs.
        offices = [c for c in CALIFORNIA_COUNTIES]
        charters = total // 20
        plain = max(total - charters - 2 * len(offices), 0)
        for county in offices:
            lea_id = self.bulk.id(t["school_districts"])
            leas.append({"id": lea_id, "name": f"{county} County Office of Education {lea_id:05d} (synthetic)",
                         "county": county, "kind": "county office of education",
                         "students_enrolled": None, "enrolment_school_year": ""})  # fmt: skip
            lea_county[lea_id] = county
            schools += [(lea_id, (3, 12)), (lea_id, (-1, 8))]
        for county in self.counties(charters, set(), 0.7):
            lea_id = self.bulk.id(t["school_districts"])
            leas.append({"id": lea_id, "name": f"{self.rng.choice(self.places)} Charter {lea_id:05d} (synthetic)",
                         "county": county, "kind": "charter school",
                         "students_enrolled": None, "enrolment_school_year": ""})  # fmt: skip
            lea_county[lea_id] = county
            schools.append((lea_id, (0, 8)))
        weights = [max(d.students_enrolled or 500, 100) for d in districts]
        for district, count in zip(districts, _split(plain, weights), strict=True):
            for _ in range(max(count, 1) if district.students_enrolled else count):
                schools.append((district.id, self.weighted(GRADE_SPANS)))
        self.bulk.insert(t["school_districts"], leas)
        charter_ids = {lea["id"] for lea in leas if lea["kind"] == "charter school"}

        rows, covered_by = [], defaultdict(list)  # partnership -> its schools with grade 3
        for lea_id, (low, high) in schools:
            county = lea_county[lea_id]
            school_id = self.bulk.id(t["schools"])
            partner = partners.get(lea_id)
            local = None
            if partner and self.rng.random() < 0.85:
                local = partner[0][1]
            elif libraries_in.get(county) and self.rng.random() < 0.7:
                local = self.rng.choice(libraries_in[county])
            third = low <= 3 <= high
            rows.append({
                "id": school_id, "lea_id": lea_id, "county": county, "city": "",
                "name": f"{self.rng.choice(self.places)} {_school_word(low, high)} {school_id:06d} (synthetic)",
                "low_grade": low, "high_grade": high, "charter": lea_id in charter_ids,
                "local_library_id": local, "local_library_source": "import" if local else None,
                "third_graders": self.rng.randint(3, 140) if third else None,
                "third_graders_school_year": "2025-26" if third else "", "synthetic": True,
            })  # fmt: skip
            ids.append({"id": self.bulk.id(t["identifiers"]), "system": "CDS",
                        "value": f"{number[county]:02d}9{school_id:011d}", "school_id": school_id})  # fmt: skip
            if third:
                for pid, _ in partner or ():
                    covered_by[pid].append(rows[-1])
        self.bulk.insert(t["schools"], rows)
        self.bulk.insert(t["identifiers"], ids)

        chosen_rows, library_of = [], {}
        for plist in partners.values():
            for pid, library_id in plist:
                library_of[pid] = library_id
        for pid, its in covered_by.items():
            if len(its) >= 4 and self.rng.random() < 0.2:  # chose half of its schools
                its[:] = its[: len(its) // 2]
                for school in its:
                    chosen_rows.append({"id": self.bulk.id(t["partnership_schools"]),
                                        "partnership_id": pid, "school_id": school["id"]})  # fmt: skip
        self.bulk.insert(t["partnership_schools"], chosen_rows)

        last = demo.round_started(self.today).year - 1  # the last school year that has ended
        reports, reporting = [], set()
        for pid, its in covered_by.items():
            first = first_report.get(pid)
            if first is None:
                continue
            first = date.fromisoformat(first) if isinstance(first, str) else first
            for start_year in (last - 1, last):
                begin, end = date(start_year, 7, 1), date(start_year + 1, 6, 30)
                if first > end or end > self.today:
                    continue
                reporting.add(library_of[pid])
                for school in its:
                    enrolled = school["third_graders"]
                    held = round(enrolled * self.rng.uniform(0.3, 0.95))
                    new = held if start_year == last - 1 else round(held * self.rng.uniform(0, 0.3))
                    report_id = self.bulk.id(t["outcome_reports"])
                    reports.append({
                        "id": report_id, "partnership_id": pid, "school_id": school["id"],
                        "grade": 3, "period_start": begin, "period_end": end,
                        "students_enrolled": enrolled, "enrolled_on": date(start_year, 10, 1),
                        "physical_cards": 0, "digital_cards": new, "students_with_cards": held,
                        "students_using_cards": round(held * self.rng.uniform(0.2, 0.8)),
                        "explanation": "", "created_at": _at(min(end + timedelta(days=20), self.today)),
                    })  # fmt: skip
                    self.record(
                        None, "create", "OutcomeReport", report_id,
                        f"Figures {begin:%b %-d, %Y}–{end:%b %-d, %Y}, grade 3", library_of[pid],
                        {"students_with_cards": [None, held]}, reports[-1]["created_at"],
                    )  # fmt: skip
        self.bulk.insert(t["outcome_reports"], reports)

        summer, use = [], []
        for library_id in sorted(reporting):
            for start_year in (last - 1, last):
                summer.append({"id": self.bulk.id(t["summer_readers"]), "library_id": library_id,
                               "school_year": start_year, "grade": None,
                               "new_readers": self.rng.choice((self.rng.randint(1, 10), self.rng.randint(11, 900)))})  # fmt: skip
                for kind in (
                    "e-resource sessions",
                    "checkouts",
                    "tutoring or homework-help sessions",
                ):
                    use.append({"id": self.bulk.id(t["resource_use"]), "library_id": library_id,
                                "school_year": start_year, "kind": kind,
                                "uses": self.rng.randint(50, 20_000)})  # fmt: skip
        self.bulk.insert(t["summer_readers"], summer)
        self.bulk.insert(t["resource_use"], use)

    def districts_per_pilot(self) -> list[int]:
        if self.district_total is None:
            return [
                self.weighted(((1, 60), (2, 30), (3, 10)))
                if pilot["begun"]
                else self.weighted(((0, 40), (1, 60)))  # recruited: some have a district already
                for pilot in self.pilots
            ]
        counts = [1] * len(self.pilots)
        extra = min(max(self.district_total - len(counts), 0), 2 * len(counts))
        while extra:  # the rest spread at random, at most three districts a pilot
            index = self.rng.randrange(len(counts))
            if counts[index] < 3:
                counts[index] += 1
                extra -= 1
        return counts

    def new_partnership(self, library: dict, stage: int, contact: date) -> dict:
        district_id = self.district_for(library)
        self.partnered_pairs.add((library["id"], district_id))
        self.rollout[library["id"]] += 1
        row = {
            "id": self.bulk.id(self.t["partnerships"]),
            "library_id": library["id"],
            "district_id": district_id,
            "stage_id": self.stage_id[stage],
            "card_model": None,
            "enrolment": None,
            "fine_free": None,
            "rollout_order": self.rollout[library["id"]],
            "contact_title": self.rng.choice(data.CONTACT_TITLES),
            "created_at": _at(contact, 16),
        }
        row["contact_name"] = f"Contact {row['id']:05d}"
        row["label"] = f"{library['name']} – {self.district_name[district_id]}"
        self.rows["partnerships"].append(row)
        self.record(
            library["user_id"], "create", "Partnership", row["id"], row["label"], library["id"],
            {"district_id": [None, district_id]}, _at(contact, 16),
        )  # fmt: skip
        return row

    def reach(self, library: dict, partnership: dict, dates: list[date]) -> None:
        """Stage dates (positions 1, 2, …), their audit rows, and what follows from them."""
        partnership["stage_id"] = self.stage_id[len(dates)]
        partnership["dates"] = dates
        if len(dates) >= 3:
            partnership.update(self.card_terms())
        table = self.t["partnership_stage_dates"]
        for position, day in enumerate(dates, start=1):
            self.rows["partnership_stage_dates"].append(
                {
                    "id": self.bulk.id(table),
                    "partnership_id": partnership["id"],
                    "stage_id": self.stage_id[position],
                    "reached_on": day,
                }
            )
            if position > 1:
                self.record(
                    library["user_id"], "stage", "Partnership", partnership["id"],
                    partnership["label"], library["id"],
                    {"stage": [self.stage_name[position - 1], self.stage_name[position]],
                     "reached_on": [None, day.isoformat()]},
                    _at(day, 16),
                )  # fmt: skip
        if len(dates) >= 4:
            self.agreements(partnership, dates)
        if len(dates) >= 6 and self.rng.random() < 0.9:  # a few have no figures yet
            self.figures(library, partnership, dates[5])

    def long_running(self, library: dict, contact: date, stage: int) -> None:
        """A partnership older than the program (mentors, libraries on their own)."""
        dates = [contact]
        for low, high in ((20, 60), (40, 120), (60, 200), (20, 90), (20, 120)):
            if len(dates) >= min(stage, 6) or dates[-1] + timedelta(days=high) > self.today:
                break
            dates.append(dates[-1] + self.days(low, high))
        if stage == 7 and len(dates) == 6:  # its agreement expires within the next 90 days
            expires = self.today + self.days(-20, 85)
            dates.append(min(max(expires - timedelta(days=90), dates[-1]), self.today))
        self.reach(library, self.new_partnership(library, len(dates), contact), dates)

    def agreements(self, partnership: dict, dates: list[date]) -> None:
        table = self.t["agreements"]
        kind = self.weighted((("data-sharing agreement", 60), ("MOU", 40)))
        effective = dates[3]
        years = self.weighted(((3, 70), (2, 20), (None, 10)))
        expires = None if years is None else add_months(effective, 12 * years)
        partnership["agreement"] = (effective, kind)  # the first: the milestone's fact
        if len(dates) >= 7:
            expires = dates[6] + timedelta(days=90)
        while expires and expires < self.today:  # lapsed: renewed, the old one kept as history
            self.rows["agreements"].append(
                {"id": self.bulk.id(table), "partnership_id": partnership["id"], "kind": kind,
                 "effective_on": effective, "expires_on": expires, "created_at": _at(effective)}
            )  # fmt: skip
            effective, expires = expires - timedelta(days=30), add_months(expires, 36)
        self.rows["agreements"].append(
            {"id": self.bulk.id(table), "partnership_id": partnership["id"], "kind": kind,
             "effective_on": effective, "expires_on": expires, "created_at": _at(effective)}
        )  # fmt: skip

    def figures(self, library: dict, partnership: dict, cards_from: date) -> None:
        """A report per quarter or per school term since the first cards; the share of
        students with a card rises towards the partnership's own ceiling (19–95 %), so the
        cards to date never pass the students enrolled."""
        enrolled = self.enrolled.get(partnership["district_id"])
        if not enrolled:
            return
        quarterly = self.rng.random() < 0.5
        ceiling = min(max(self.rng.betavariate(4, 2.5), 0.19), 0.95)
        physical_share = {"digital only": 0.0, "starter": 0.4, "full": 0.6}.get(
            partnership["card_model"], 0.5
        )
        table, issued = self.t["outcome_reports"], 0
        for n, (start, end) in enumerate(_periods(cards_from, self.today, quarterly)):
            partnership.setdefault("first_report", end)
            to_date = round(enrolled * ceiling * (1 - 0.45 ** (n + 1)))
            cards, issued = to_date - issued, to_date
            physical = round(cards * physical_share)
            row = {
                "id": self.bulk.id(table),
                "partnership_id": partnership["id"],
                "period_start": start,
                "period_end": end,
                "students_enrolled": enrolled,
                "physical_cards": physical,
                "digital_cards": cards - physical,
                "students_using_cards": round(issued * self.rng.uniform(0.25, 0.7)),
                "created_by_id": library["user_id"],
                "created_at": _at(min(end + timedelta(days=10), self.today)),
            }
            self.rows["outcome_reports"].append(row)
            self.record(
                library["user_id"], "create", "OutcomeReport", row["id"],
                f"Figures {start:%b %-d, %Y}–{end:%b %-d, %Y}", library["id"],
                {"physical_cards": [None, physical], "digital_cards": [None, cards - physical]},
                row["created_at"],
            )  # fmt: skip

    def pilot_timeline(self, pilot: dict, districts: int) -> None:
        """A pilot's districts and milestones; its partnerships' stages follow from the
        milestones done (meeting held, letter signed, agreement, technical plan, launch)."""
        library, start, lag = pilot["library"], pilot["start"], timedelta(days=pilot["lag"])
        # Recruited for a later start: some have already contacted a district.
        first = start + self.days(7, 40) if pilot["begun"] else self.today - self.days(5, 150)
        contacts = [
            min(first + timedelta(days=k * self.rng.randint(60, 200)), self.today)
            for k in range(districts)
        ]
        partnerships = [self.new_partnership(library, 1, contact) for contact in contacts]
        done: dict[tuple[str, int | None], date] = {}
        table = self.t["milestones"]
        for step in self.steps:
            targets = [(None, None)]
            if step.scope == StepScope.PARTNERSHIP:
                targets = list(zip(partnerships, contacts, strict=True))
            for partnership, contact in targets:
                due = milestones.step_due_on(start, step.month_offset, contact)
                status, done_on = "not started", None
                if pilot["begun"] and due + lag <= self.today:
                    status = "done"
                    done_on = due + lag - self.days(0, 7)
                    done_on = min(max(done_on, contact or start, start), self.today)
                elif not pilot["begun"] and contact and step.key == "first_meeting":
                    if self.rng.random() < 0.4:
                        status, done_on = "done", min(contact + self.days(10, 40), self.today)
                elif pilot["begun"] and due <= self.today + timedelta(days=30):
                    status = self.weighted((("in progress", 50), ("not started", 50)))
                row = {
                    "id": self.bulk.id(table),
                    "participation_id": pilot["id"],
                    "partnership_id": partnership["id"] if partnership else None,
                    "step_key": step.key,
                    "position": step.position,
                    "title": step.title,
                    "description": step.description,
                    "toolkit_page": step.toolkit_page,
                    "due_on": due,
                    "status": status,
                    "done_on": done_on,
                    "completed_by": step.completed_by and step.completed_by.value,
                    "completed_by_stage": step.completed_by_stage,
                    "completed_by_agreement": (
                        step.completed_by_agreement and step.completed_by_agreement.value
                    ),
                    "updated_at": _at(done_on or min(start, self.today)),
                    "updated_by_id": library["user_id"] if done_on else None,
                }
                self.rows["milestones"].append(row)
                pilot["milestones"].append(row)
                if done_on:
                    done[(step.key, row["partnership_id"])] = done_on
                if done_on and not step.completed_by:  # the others follow their facts below
                    self.record(
                        library["user_id"], "update", "Milestone", row["id"], step.title,
                        library["id"],
                        {"status": ["not started", "done"], "done_on": [None, done_on.isoformat()]},
                        _at(done_on),
                    )  # fmt: skip
        for partnership, contact in zip(partnerships, contacts, strict=True):
            dates = [contact]
            for position in range(2, 7):
                key = next((k for k, s in STAGE_OF_STEP.items() if s == position), None)
                reached = done.get((key, partnership["id"])) or done.get((key, None))
                if reached is None:
                    break
                dates.append(max(reached, dates[-1]))
            self.reach(library, partnership, dates)
        signers = self.letter(
            pilot, partnerships, done.get(("kickoff", None)), done.get(("commitment_letter", None))
        )
        self.follow_facts(pilot, partnerships, signers)

    def letter(
        self, pilot: dict, partnerships: list[dict], kickoff: date | None, signed: date | None
    ) -> list[dict]:
        """The commitment letter: signers by their title only, numbered, never a real name;
        a superintendent for each partner district."""
        letter_id = self.bulk.id(self.t["commitment_letters"])
        self.rows["commitment_letters"].append({"id": letter_id, "participation_id": pilot["id"]})
        signers = [("library director", "Library Director", kickoff or signed, None)]
        if signed or self.rng.random() < 0.5:
            signers.append(
                ("chief elected official", f"Mayor of {pilot['library']['city']}", signed, None)
            )
            signers += [
                ("superintendent", f"Superintendent, {self.district_name[p['district_id']]}",
                 signed, p["id"])
                for p in partnerships
            ]  # fmt: skip
        rows = []
        for k, (role, title, day, partnership_id) in enumerate(signers, start=1):
            rows.append(
                {"id": self.bulk.id(self.t["letter_signers"]), "letter_id": letter_id,
                 "role": role, "name": f"Signer {letter_id:05d}-{k}", "title": title,
                 "signed_on": day, "partnership_id": partnership_id}
            )  # fmt: skip
        self.rows["letter_signers"] += rows
        return rows

    def follow_facts(self, pilot: dict, partnerships: list[dict], signers: list[dict]) -> None:
        """Steps completed by a fact agree with the facts written (the rule of
        services/milestone_facts.py), with the audit row the sync would write."""
        library = pilot["library"]
        districts = {p["id"]: self.district_name[p["district_id"]] for p in partnerships}
        book = FactBook(
            active_of_library={library["id"]: districts},
            stage_names=self.stage_name,
            stage_dates={p["id"]: list(enumerate(p["dates"], start=1)) for p in partnerships},
            agreements={
                (p["id"], AgreementKind(p["agreement"][1])): p["agreement"][0]
                for p in partnerships
                if p.get("agreement") and p["agreement"][0] <= self.today
            },
            first_reports={p["id"]: p["first_report"] for p in partnerships if "first_report" in p},
            letters={
                pilot["id"]: letter_progress([SimpleNamespace(**s) for s in signers], districts)[1]
            },
        )
        for row in pilot["milestones"]:
            change = row["completed_by"] and book.change(SimpleNamespace(**row), library["id"])
            if not change:
                continue
            values, action = change
            changes = {"status": [row["status"], values["status"].value]}
            if row["done_on"] != values["done_on"]:
                changes["done_on"] = [
                    row["done_on"] and row["done_on"].isoformat(),
                    values["done_on"] and values["done_on"].isoformat(),
                ]
            row["status"], row["done_on"] = values["status"].value, values["done_on"]
            row["updated_at"] = _at(row["done_on"] or min(pilot["start"], self.today))
            row["updated_by_id"] = library["user_id"] if row["done_on"] else None
            self.record(
                library["user_id"], action, "Milestone", row["id"], row["title"], library["id"],
                changes, _at(row["done_on"] or self.today),
            )  # fmt: skip

    # pairings and check-ins

    def pairings(self) -> None:
        """Each pilot with a mentor of its cohort (same system first, within capacity):
        active in running cohorts, ended in finished ones, proposed in a recruited one."""
        mentors_of = defaultdict(list)
        for mentor in self.mentors:
            mentors_of[mentor["plan"]].append(mentor)
        self.pairs = []
        for pilot in self.pilots:
            plan, _ = self.plans[pilot["plan"]]
            mentors = mentors_of[pilot["plan"]]
            if not mentors:
                continue
            system = pilot["library"]["cooperative_system"]
            room = [m for m in mentors if m["taken"] < m["capacity"]] or mentors
            near = [m for m in room if m["library"]["cooperative_system"] == system]
            mentor = min(near or room, key=lambda m: m["taken"])
            mentor["taken"] += 1
            row = {
                "id": self.bulk.id(self.t["pairings"]),
                "pilot_participation_id": pilot["id"],
                "mentor_participation_id": mentor["id"],
                "score": self.rng.randint(40, 95),
                "cadence": self.weighted(self.sizes.cadences),
                "created_by_id": self.staff_id,
                "status": "proposed",
                "start_date": None,
                "end_date": None,
                "next_checkin_on": None,
            }
            if pilot["begun"]:
                row["status"] = "active" if plan.end >= self.today else "ended"
                start = max(pilot["start"], plan.start) + self.days(0, 14)
                row["start_date"] = min(start, self.today)
                row["end_date"] = plan.end if row["status"] == "ended" else None
            self.pairs.append((row, pilot, mentor["library"]))

    def check_ins(self) -> None:
        """Meetings from the pairing's start to its last one, evenly spaced; how long ago
        the last one was follows the pilot's health, so overdue check-ins show up."""
        spans = []
        for row, pilot, _ in self.pairs:
            if row["status"] == "proposed":
                spans.append(None)
                continue
            every = CADENCE_DAYS[row["cadence"]]
            gap = {
                "on track": self.rng.randint(0, max(min(every - 2, 40), 0)),
                "attention": min(every + self.rng.randint(1, 20), 55),
                "at risk": every + self.rng.randint(31, 90),
            }[pilot["health"]]
            last = row["end_date"] or self.today - timedelta(days=gap)
            spans.append((row["start_date"], last) if last >= row["start_date"] else None)
        every = [CADENCE_DAYS[row["cadence"]] for row, _, _ in self.pairs]
        if self.sizes.check_ins is None:
            counts = [
                (s[1] - s[0]).days // e + 1 if s else 0 for s, e in zip(spans, every, strict=True)
            ]
        else:
            weights = [
                ((s[1] - s[0]).days + 1) / e if s else 0 for s, e in zip(spans, every, strict=True)
            ]
            counts = _split(self.sizes.check_ins, weights)
        for (row, _, _), span, count in zip(self.pairs, spans, counts, strict=True):
            if row["status"] == "active":
                since = span[1] if span and count else row["start_date"]
                row["next_checkin_on"] = next_date(since, row["cadence"])
        self.bulk.insert(self.t["pairings"], [row for row, _, _ in self.pairs])
        check_ins, items = [], []
        for (row, pilot, mentor), span, count in zip(self.pairs, spans, counts, strict=True):
            if not span or not count:
                continue
            first, last = span
            step = (last - first).days / max(count - 1, 1)
            for k in range(count):
                day = last - timedelta(days=round(step * (count - 1 - k)))
                self.check_in(row, pilot["library"], mentor, day, k, check_ins, items)
            if len(check_ins) >= CHUNK:
                self.bulk.insert(self.t["check_ins"], check_ins)
                self.bulk.insert(self.t["action_items"], items)
                check_ins, items = [], []
        self.bulk.insert(self.t["check_ins"], check_ins)
        self.bulk.insert(self.t["action_items"], items)

    def check_in(self, row, library, mentor, day, k, check_ins, items) -> None:
        check_in_id = self.bulk.id(self.t["check_ins"])
        mode = self.weighted((("video", 55), ("call", 30), ("visit", 15)))
        author = (library if k % 2 else mentor)["user_id"]
        check_ins.append(
            {"id": check_in_id, "pairing_id": row["id"], "held_on": day, "mode": mode,
             "attendees": "Pilot librarian, mentor librarian",
             "notes": data.CHECK_IN_NOTES[(row["id"] + k) % len(data.CHECK_IN_NOTES)],
             "logged_by_id": author, "created_at": _at(day, 18)}
        )  # fmt: skip
        # An action item at every statewide meeting; at national size one meeting in four.
        if self.sizes.check_ins is None or self.rng.random() < 0.25:
            text, side = data.ACTION_TEXTS[(row["id"] + k) % len(data.ACTION_TEXTS)]
            due = day + timedelta(days=21)
            items.append(
                {"id": self.bulk.id(self.t["action_items"]), "check_in_id": check_in_id,
                 "text": text, "owner_library_id": (library if side == "pilot" else mentor)["id"],
                 "due_on": due, "done": due < self.today - timedelta(days=14)}
            )  # fmt: skip
        self.record(
            author, "log check-in", "CheckIn", check_in_id, f"Check-in of {day:%b %-d, %Y}",
            library["id"], {"held_on": [None, day.isoformat()], "mode": [None, mode]},
            _at(day, 18),
        )  # fmt: skip

    # comments and case studies

    def comments(self) -> None:
        """Mentors and pilots comment on steps done or under way (nine in ten comments);
        the rest discuss published case studies."""
        mentor_of = {p["id"]: m for row, p, m in self.pairs if row["status"] != "proposed"}
        eligible = [
            (pilot, milestone)
            for pilot in self.pilots
            if pilot["id"] in mentor_of
            for milestone in pilot["milestones"]
            if milestone["status"] in ("done", "in progress")
        ]
        total = self.sizes.comments
        if total is None:
            many = [self.weighted(((0, 70), (1, 25), (2, 5))) for _ in eligible]
            chosen = [e for e, n in zip(eligible, many, strict=True) for _ in range(n)]
            stories = 6
        else:
            chosen = self.rng.choices(eligible, k=round(total * 0.9)) if eligible else []
            stories = max(len(self.pilots) // 100, 1)
        table, rows = self.t["milestone_comments"], []
        for n, (pilot, milestone) in enumerate(chosen):
            author = pilot["library"] if n % 3 == 0 else mentor_of[pilot["id"]]
            day = min((milestone["done_on"] or milestone["due_on"]) + self.days(0, 10), self.today)
            body = data.MILESTONE_COMMENTS[n % len(data.MILESTONE_COMMENTS)]
            rows.append(
                {"id": self.bulk.id(table), "milestone_id": milestone["id"],
                 "author_id": author["user_id"], "body": body, "body_html": _html(body),
                 "created_at": _at(day, 12)}
            )  # fmt: skip
            self.record(
                author["user_id"], "comment", "Milestone", milestone["id"], milestone["title"],
                pilot["library"]["id"], {"comment": [None, body]}, _at(day, 12),
            )  # fmt: skip
        self.bulk.insert(table, rows)
        self.case_studies(stories, None if total is None else total - len(rows))

    def case_studies(self, count: int, comments: int | None) -> None:
        """Published stories by mentor libraries (they have issued cards for years)."""
        writers = [lib for lib in self.libs if lib["mentor_of"]]
        readers = [lib for lib in self.libs if lib["user_id"] is not None]
        if not writers:
            return
        table, rows = self.t["case_studies"], []
        for library in self.rng.sample(writers, min(count, len(writers))):
            published = self.today - self.days(10, 400)
            rows.append(
                {
                    "id": self.bulk.id(table),
                    "library_id": library["id"],
                    "title": f"{library['short_name']}: what our first district taught us "
                    "(synthetic)",
                    "summary": "How one library and its school district got every student a card.",
                    "body": data.CASE_STUDY_BODY,
                    "body_html": _html(data.CASE_STUDY_BODY),
                    "status": "published",
                    "card_model": self.rng.choice(("digital only", "full", "starter")),
                    "district_size": self.rng.choice(("small", "medium", "large")),
                    "region": library["cooperative_system"],
                    "created_by_id": library["user_id"],
                    "created_at": _at(published - timedelta(days=30)),
                    "submitted_at": _at(published - timedelta(days=14)),
                    "published_at": _at(published),
                }
            )
        per_story = [3] * len(rows) if comments is None else _split(comments, [1] * len(rows))
        comment_table, comment_rows = self.t["case_study_comments"], []
        for story, many in zip(rows, per_story, strict=True):
            top: list[int] = []  # replies go one level deep, to a top-level comment
            for k in range(many):
                reader = readers[(story["id"] * 7 + k) % len(readers)]
                day = min(story["published_at"].date() + self.days(1, 120), self.today)
                reply = bool(top) and self.rng.random() < 0.2
                body = data.CASE_STUDY_COMMENTS[k % len(data.CASE_STUDY_COMMENTS)]
                comment_id = self.bulk.id(comment_table)
                comment_rows.append(
                    {"id": comment_id, "case_study_id": story["id"],
                     "parent_id": self.rng.choice(top) if reply else None,
                     "author_id": reader["user_id"], "body": body, "body_html": _html(body),
                     "created_at": _at(day, 12)}
                )  # fmt: skip
                if not reply:
                    top.append(comment_id)
                self.record(
                    reader["user_id"], "comment", "CaseStudy", story["id"], story["title"],
                    story["library_id"], {"comment": [None, body]}, _at(day, 12),
                )  # fmt: skip
        self.bulk.insert(table, rows)
        self.bulk.insert(comment_table, comment_rows)


def _school_word(low: int, high: int) -> str:
    return "High" if low >= 9 else "Middle" if low >= 6 else "Elementary"


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` in whole parts in proportion to `weights` (largest remainders)."""
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    parts = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: parts[i] - shares[i])
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _pick(libraries: list[dict], count: int, systems: tuple[str, ...]) -> list[dict]:
    """The first `count` libraries of `systems`, topped up from the others if too few."""
    chosen = [lib for lib in libraries if not systems or lib["cooperative_system"] in systems]
    chosen = chosen[:count]
    if len(chosen) < count:
        ids = {lib["id"] for lib in chosen}
        chosen += [lib for lib in libraries if lib["id"] not in ids][: count - len(chosen)]
    return chosen


def _periods(first: date, today: date, quarterly: bool):
    """Reporting periods from `first` that have ended by `today`: school-year quarters
    (Aug–Oct, Nov–Jan, Feb–Apr, May–Jul) or terms (Aug–Dec, Jan–Jun)."""
    year = first.year - 1
    while True:
        if quarterly:
            starts = [add_months(date(year, 8, 1), 3 * k) for k in range(4)]
            bounds = [(s, add_months(s, 3) - timedelta(days=1)) for s in starts]
        else:
            bounds = [
                (date(year, 8, 1), date(year, 12, 31)),
                (date(year + 1, 1, 1), date(year + 1, 6, 30)),
            ]
        for start, end in bounds:
            if end > today:
                return
            if end >= first:
                yield max(start, first), end
        year += 1
