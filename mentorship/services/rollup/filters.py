"""What the rollup shows: the filter (cohort, county, system, school year) and the places in view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ...extensions import db
from ...models import (
    Cohort,
    Library,
    Participation,
)
from ...models.library import CALIFORNIA_COUNTIES, COOPERATIVE_SYSTEMS
from .years import SCHOOL_YEARS, SchoolYear


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


def in_program(f: RollupFilter):
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


def libraries_in_program(f: RollupFilter):
    return sa.select(in_program(f).subquery().c.library_id).distinct()
