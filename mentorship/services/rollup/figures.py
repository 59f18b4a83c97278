"""The rollup's grouped figures: libraries per cohort, partnership stages, coverage by
dimension, cards per quarter and per county. Each is one GROUP BY in the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from ...extensions import db
from ...models import (
    Cohort,
    Library,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipStage,
)
from ...models.library import CALIFORNIA_COUNTIES
from ..figures import (
    Figures,
    as_figures,
    coverage,
    partnership_figures,
    partnerships_of_libraries,
    pilot_places,
    scoped_reports,
    summed,
)
from .filters import RollupFilter, in_program, libraries_in_program


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
    places = in_program(f).add_columns(Participation.role).subquery()
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


@dataclass(frozen=True)
class StageCount:
    position: int
    stage: str
    partnerships: int


def partnership_stages(f: RollupFilter) -> list[StageCount]:
    in_view = sa.and_(
        Partnership.stage_id == PartnershipStage.id,
        Partnership.active.is_(True),
        Partnership.library_id.in_(libraries_in_program(f)),
    )
    rows = db.session.execute(
        sa.select(PartnershipStage.position, PartnershipStage.name, sa.func.count(Partnership.id))
        .outerjoin(Partnership, in_view)
        .group_by(PartnershipStage.position, PartnershipStage.name)
        .order_by(PartnershipStage.position)
    )
    return [StageCount(*row) for row in rows]


def pilot_libraries_in_view(f: RollupFilter):
    """Libraries with a place as a pilot in view: their figures are the programme's."""
    return sa.select(pilot_places(in_program(f)).subquery().c.library_id).distinct()


def figures_in_view(f: RollupFilter):
    """The partnerships in view with their figures (services.figures) and whether their
    library is a pilot in view (`pilot`): the rows every rollup table groups."""
    figures = partnership_figures(partnerships_of_libraries(libraries_in_program(f)), f.year)
    pilots = pilot_libraries_in_view(f).subquery()
    return (
        sa.select(
            figures,
            sa.case((pilots.c.library_id.is_not(None), 1), else_=0).label("pilot"),
        )
        .outerjoin(pilots, pilots.c.library_id == figures.c.library_id)
        .cte("figures_in_view")  # one evaluation, however many groupings read it
    )


@dataclass(frozen=True)
class Coverage(Figures):
    """One group's figures (a cohort, a county, a card model...): sums of its partnerships."""

    key: str = ""


DIMENSIONS = {
    "total": "Pilot libraries",
    "existing": "Mentor libraries, existing programmes",
    "cohort": "Cohort",
    "county": "County",
    "system": "Cooperative system",
    "card_model": "Card model",
    "enrolment": "Enrolment",
    "fine_free": "Fine-free",
}

FINE_FREE = {True: "Fine-free", False: "Charges fines"}


def coverage_by_dimension(f: RollupFilter) -> dict[str, list[Coverage]]:
    """Pilots' figures by each dimension, and mentor libraries' apart: one statement.

    Every grouping but "existing" counts pilot libraries only (`pilot` = 1), so a cohort's
    coverage never mixes in its mentors' existing programmes.
    """
    figures = figures_in_view(f)
    cohort_of = (
        in_program(f)
        .add_columns(Cohort.name.label("cohort_name"))
        .where(Participation.role == ParticipationRole.PILOT)
        .subquery()
    )  # a pilot in two cohorts counts in both cohort rows (and once in the total)
    fine_free = sa.case(
        (figures.c.fine_free.is_(True), FINE_FREE[True]),
        (figures.c.fine_free.is_(False), FINE_FREE[False]),
    )

    def grouped(dimension: str, key, *joins, pilot: int = 1):
        query = (
            sa.select(
                sa.literal(dimension).label("dimension"),
                sa.cast(key, sa.String).label("key"),
                *summed(figures),
            )
            .select_from(figures)
            .where(figures.c.pilot == pilot)
        )
        for target, on in joins:
            query = query.join(target, on)
        return query.group_by(key) if dimension not in ("total", "existing") else query

    statement = sa.union_all(
        grouped("total", sa.literal("Pilot libraries")),
        grouped("existing", sa.literal("Mentor and sustaining libraries"), pilot=0),
        grouped(
            "cohort",
            cohort_of.c.cohort_name,
            (cohort_of, cohort_of.c.library_id == figures.c.library_id),
        ),
        grouped("county", figures.c.county),
        grouped("system", figures.c.system),
        grouped("card_model", figures.c.card_model),
        grouped("enrolment", figures.c.enrolment),
        grouped("fine_free", fine_free),
    )
    result: dict[str, list[Coverage]] = {dimension: [] for dimension in DIMENSIONS}
    for dimension, key, *values in db.session.execute(statement):
        if dimension in ("total", "existing") and not values[0]:
            continue
        sums = as_figures(values)
        result[dimension].append(Coverage(**vars(sums), key=key or "not recorded"))
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
    """Pilots' cards since joining per calendar quarter (by the period's last day), and
    the running total."""
    reports = scoped_reports(partnerships_of_libraries(pilot_libraries_in_view(f)), f.year)
    year = sa.extract("year", reports.c.period_end)
    month = sa.extract("month", reports.c.period_end)
    query = (
        sa.select(year, month, sa.func.sum(reports.c.cards))
        .where(reports.c.in_scope == 1, reports.c.since_joining == 1)
        .group_by(year, month)
    )
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
    """A county's libraries, and its pilots' partnerships with their cards since joining."""

    county: str
    pilots: int = 0
    mentors: int = 0
    partnerships: int = 0
    enrolled: int = 0
    programme_cards: int = 0

    @property
    def coverage(self) -> float | None:
        return coverage(self.programme_cards, self.enrolled)

    @property
    def shown(self) -> bool:  # worth a row on the page (the CSV has every county)
        return bool(self.pilots or self.mentors or self.partnerships)


def libraries_by_county(f: RollupFilter) -> dict[str, dict[str, int]]:
    """{county: {role: libraries}} for the program in view: one statement."""
    places = in_program(f).add_columns(Participation.role, Library.county).subquery()
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
    """Every county of California, with or without libraries in the program (`coverage`:
    the pilots' figures by county)."""
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
                programme_cards=cover.programme_cards if cover else 0,
            )
        )
    return result
