"""What each role's home page shows: a few GROUP BY queries, no per-row queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    OUTER_BOUND_MONTHS,
    Cohort,
    Library,
    Participation,
    SchoolDistrict,
    User,
)
from .cohorts import role_counts
from .libraries import participations_of
from .months import months_between


@dataclass
class CohortRow:
    cohort: Cohort
    pilots: int
    mentors: int
    sustaining: int


def cohort_rows(active_only: bool = True) -> list[CohortRow]:
    query = sa.select(Cohort).order_by(Cohort.start_date.desc())
    if active_only:
        query = query.where(Cohort.active.is_(True))
    cohorts = db.session.scalars(query).all()
    counts = role_counts([c.id for c in cohorts])
    rows = []
    for cohort in cohorts:
        by_role = counts.get(cohort.id, {})
        rows.append(
            CohortRow(
                cohort,
                by_role.get("pilot", 0),
                by_role.get("mentor", 0),
                by_role.get("sustaining", 0),
            )
        )
    return rows


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def staff_figures() -> dict[str, int]:
    return {
        "libraries": _count(Library, Library.active.is_(True)),
        "districts": _count(SchoolDistrict, SchoolDistrict.active.is_(True)),
        "cohorts": _count(Cohort, Cohort.active.is_(True)),
        "people": _count(User, User.active.is_(True)),
        "invited": _count(User, User.active.is_(True), User.password_hash.is_(None)),
    }


def libraries_by_system() -> list[tuple[str, int]]:
    """Libraries taking part in an active cohort, by cooperative system."""
    rows = db.session.execute(
        sa.select(Library.cooperative_system, sa.func.count(sa.distinct(Library.id)))
        .join(Participation, Participation.library_id == Library.id)
        .join(Cohort, Cohort.id == Participation.cohort_id)
        .where(Participation.active.is_(True), Cohort.active.is_(True))
        .group_by(Library.cooperative_system)
        .order_by(sa.func.count(sa.distinct(Library.id)).desc(), Library.cooperative_system)
    ).all()
    return [(system or "No system", count) for system, count in rows]


def state_figures() -> dict[str, int]:
    enrolled = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SchoolDistrict.students_enrolled), 0)).where(
            SchoolDistrict.active.is_(True)
        )
    )
    return {
        "libraries": _count(Participation, Participation.active.is_(True)),  # places in cohorts
        "districts": _count(SchoolDistrict, SchoolDistrict.active.is_(True)),
        "students_enrolled": int(enrolled or 0),
    }


@dataclass
class TimelinePosition:
    participation: Participation
    months_elapsed: int
    target_months: int
    outer_bound: int = OUTER_BOUND_MONTHS


def library_timelines(
    library_id: int, today: date, participations: list[Participation] | None = None
) -> list[TimelinePosition]:
    """Where the library is in each active cohort (pass its participations if loaded)."""
    if participations is None:
        participations = participations_of(library_id)
    return [
        TimelinePosition(p, months_between(p.start_date, today), p.target_months)
        for p in participations
        if p.active and p.cohort.active
    ]
