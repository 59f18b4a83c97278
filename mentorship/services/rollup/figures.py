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
    OutcomeReport,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipStage,
    SchoolDistrict,
)
from ...models.library import CALIFORNIA_COUNTIES
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


def partnership_figures(f: RollupFilter, library_ids: list[int] | None = None):
    """One row per active partnership in view: its library, district, enrolment, cards."""
    libraries = (
        sa.select(Library.id).where(Library.id.in_(library_ids))
        if library_ids is not None
        else libraries_in_program(f)
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
    figures = partnership_figures(f)
    cohort_of = (
        in_program(f).add_columns(Cohort.name.label("cohort_name")).subquery()
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
        .where(Partnership.active.is_(True), Partnership.library_id.in_(libraries_in_program(f)))
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
