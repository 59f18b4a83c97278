"""A partnership's figures, defined once: every page, CSV, report and API endpoint reads them.

One set-based statement (`partnership_figures`) gives each partnership's figures; groups
(a library, a county, a cohort) are sums of those rows, and coverage is always
`coverage(cards, enrolled)`. The definitions, word for word as the pages and the README
write them:

A period reported by school and grade counts as one report: the sum of its rows.

- Students enrolled: the enrolment in the partnership's latest outcome report (in the
  chosen school year, when one is chosen), else the district's enrolment on record.
- Cards to date: the cards (physical and digital) of all its outcome reports (in a chosen
  school year: of the reports whose period ends in it).
- Students using cards: the largest number reported by a single outcome report.
- Coverage: cards ÷ students enrolled.
- Cards since joining (the programme's): cards of reports whose period ends on or after
  the day the library started as a pilot. A report whose period includes that day counts
  as the programme's. Cards before joining (the baseline): cards of reports whose period
  ended before that day; every card of a library that is not a pilot is its existing
  programme's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Cohort,
    Library,
    OutcomeReport,
    Participation,
    ParticipationRole,
    Partnership,
    SchoolDistrict,
)

if TYPE_CHECKING:  # the rollup imports this module
    from .rollup.years import SchoolYear

NOT_SHOWN = "—"

# What each figure means, as the pages write it ("How this is counted") and the README too.
DEFINITIONS = {
    "In the program": "A library is in the program when it has an active place in an active "
    "cohort.",
    "Students enrolled": "The enrolment in the partnership's latest outcome report (in the "
    "chosen school year, when one is chosen), else the district's enrolment on record.",
    "Cards to date": "The cards (physical and digital) of all the partnership's outcome "
    "reports; in a chosen school year, of the reports whose period ends in it.",
    "Cards since joining": "Cards of reports whose period ends on or after the day the library "
    "started as a pilot (its earliest place as a pilot). A report whose period includes that "
    "day counts as the programme's.",
    "Cards before joining": "Cards of reports whose period ended before the library started as "
    "a pilot: its baseline, not counted as the programme's. Every card of a library that is "
    "not a pilot is of its existing programme.",
    "Students using cards": "The largest number reported by a single outcome report (in the "
    "chosen school year, or to date), added up over partnerships.",
    "Coverage": "Cards to date ÷ students enrolled.",
    "Pilots' coverage": "Pilot libraries' cards since joining ÷ their students enrolled. Mentor "
    "libraries' existing programmes are never counted in it.",
    "Mentor libraries, existing programmes": "Libraries in view with no place as a pilot in "
    "view (mentors and sustaining libraries), with every card their partnerships reported.",
}


def coverage(cards: int, enrolled: int | None) -> float | None:
    """Cards ÷ students enrolled; None when no students are on record."""
    return cards / enrolled if enrolled else None


def percent_value(ratio: float | None) -> float | None:
    """A ratio as a percentage with one decimal (what CSV columns and pages show)."""
    return None if ratio is None else round(100 * ratio, 1)


def percent(ratio: float | None) -> str:
    """The one way a percentage is written: "50.1%", or "—" when there is none."""
    value = percent_value(ratio)
    return NOT_SHOWN if value is None else f"{value:.1f}%"


def places_in_program():
    """Active places in active cohorts of active libraries (a library is then in the program)."""
    return (
        sa.select(Participation.id, Participation.library_id, Participation.cohort_id)
        .join(Cohort, Cohort.id == Participation.cohort_id)
        .join(Library, Library.id == Participation.library_id)
        .where(Participation.active.is_(True), Cohort.active.is_(True), Library.active.is_(True))
    )


def pilot_places(places=None):
    """Of `places` (default: all in the program), the places as a pilot, with their start."""
    places = (places if places is not None else places_in_program()).subquery()
    return sa.select(places.c.library_id, Participation.start_date).join(
        Participation,
        sa.and_(Participation.id == places.c.id, Participation.role == ParticipationRole.PILOT),
    )


def _joined():
    """(library_id, joined_on): the day each library started as a pilot (its earliest place)."""
    pilots = pilot_places().subquery()
    return (
        sa.select(pilots.c.library_id, sa.func.min(pilots.c.start_date).label("joined_on"))
        .group_by(pilots.c.library_id)
        .subquery()
    )


def report_periods():
    """One row per partnership and period: a whole-LEA report, or the sum of the period's
    reports by school and grade (a period is reported one way or the other)."""
    return (
        sa.select(
            OutcomeReport.partnership_id,
            OutcomeReport.period_start,
            OutcomeReport.period_end,
            sa.func.sum(OutcomeReport.students_enrolled).label("students_enrolled"),
            sa.func.sum(OutcomeReport.students_using_cards).label("students_using_cards"),
            sa.func.sum(OutcomeReport.physical_cards + OutcomeReport.digital_cards).label("cards"),
        )
        .group_by(
            OutcomeReport.partnership_id, OutcomeReport.period_start, OutcomeReport.period_end
        )
        .subquery("report_periods")
    )


def scoped_reports(partnerships, year: SchoolYear | None = None):
    """The report periods of `partnerships` (a select of ids) up to the end of `year`, each
    with its cards, whether it is in the year (`in_scope`) and in the programme
    (`since_joining`), and its rank from the newest in its scope (`newest`)."""
    joined = _joined()
    periods = report_periods()
    in_scope = periods.c.period_end.between(year.first_day, year.last_day) if year else sa.true()
    query = (
        sa.select(
            periods.c.partnership_id,
            Partnership.library_id,
            periods.c.period_start,
            periods.c.period_end,
            periods.c.students_enrolled,
            periods.c.students_using_cards,
            periods.c.cards,
            sa.case((in_scope, 1), else_=0).label("in_scope"),
            sa.case(
                (
                    sa.and_(
                        joined.c.joined_on.is_not(None),
                        periods.c.period_end >= joined.c.joined_on,
                    ),
                    1,
                ),
                else_=0,
            ).label("since_joining"),
            sa.func.row_number()
            .over(
                partition_by=(periods.c.partnership_id, in_scope),
                order_by=(periods.c.period_end.desc(), periods.c.period_start.desc()),
            )
            .label("newest"),
        )
        .join(Partnership, Partnership.id == periods.c.partnership_id)
        .outerjoin(joined, joined.c.library_id == Partnership.library_id)
        .where(periods.c.partnership_id.in_(partnerships), Partnership.active.is_(True))
    )
    if year:
        query = query.where(periods.c.period_end <= year.last_day)
    return query.subquery()


def partnership_figures(partnerships, year: SchoolYear | None = None):
    """One row per active partnership whose id `partnerships` selects: one statement (a CTE)."""
    reports = scoped_reports(partnerships, year)
    scoped = reports.c.in_scope == 1
    spanning = (
        sa.case((sa.and_(scoped, reports.c.period_start < year.first_day), 1), else_=0)
        if year
        else sa.literal(0)
    )
    per_partnership = (
        sa.select(
            reports.c.partnership_id,
            sa.func.sum(sa.case((scoped, reports.c.cards), else_=0)).label("cards"),
            sa.func.sum(
                sa.case((sa.and_(scoped, reports.c.since_joining == 1), reports.c.cards), else_=0)
            ).label("programme_cards"),
            sa.func.sum(reports.c.cards).label("cards_to_date"),
            sa.func.max(
                sa.case((sa.and_(scoped, reports.c.newest == 1), reports.c.students_enrolled))
            ).label("enrolled"),
            sa.func.max(sa.case((scoped, reports.c.students_using_cards))).label("using"),
            sa.func.sum(reports.c.in_scope).label("reports"),
            sa.func.sum(spanning).label("spanning"),
        )
        .group_by(reports.c.partnership_id)
        .subquery()
    )
    reports_in_scope = sa.func.coalesce(per_partnership.c.reports, 0)
    return (
        sa.select(
            Partnership.id.label("partnership_id"),
            Partnership.library_id,
            Library.county,
            Library.cooperative_system.label("system"),
            sa.cast(Partnership.card_model, sa.String).label("card_model"),
            sa.cast(Partnership.enrolment, sa.String).label("enrolment"),
            Partnership.fine_free,
            sa.func.coalesce(per_partnership.c.enrolled, SchoolDistrict.students_enrolled, 0).label(
                "enrolled"
            ),
            sa.func.coalesce(per_partnership.c.cards, 0).label("cards"),
            sa.func.coalesce(per_partnership.c.programme_cards, 0).label("programme_cards"),
            sa.func.coalesce(per_partnership.c.cards_to_date, 0).label("cards_to_date"),
            per_partnership.c.using,
            reports_in_scope.label("reports"),
            sa.func.coalesce(per_partnership.c.spanning, 0).label("spanning"),
            sa.case((reports_in_scope > 0, 1), else_=0).label("reporting"),
        )
        .join(Library, Library.id == Partnership.library_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .outerjoin(per_partnership, per_partnership.c.partnership_id == Partnership.id)
        .where(Partnership.active.is_(True), Partnership.id.in_(partnerships))
        .cte("partnership_figures")
    )


def partnerships_of_libraries(library_ids):
    """The partnerships of some libraries (a list of ids or a select of them)."""
    return sa.select(Partnership.id).where(Partnership.library_id.in_(library_ids))


@dataclass(frozen=True)
class Figures:
    """Figures of one partnership or the sum over several (their students are distinct)."""

    partnerships: int = 0
    reporting: int = 0
    enrolled: int = 0
    cards: int = 0
    programme_cards: int = 0
    using: int | None = None

    @property
    def baseline_cards(self) -> int:
        return self.cards - self.programme_cards

    @property
    def coverage(self) -> float | None:
        return coverage(self.cards, self.enrolled)

    @property
    def programme_coverage(self) -> float | None:
        return coverage(self.programme_cards, self.enrolled)


def summed(figures) -> list:
    """The columns that sum a CTE of `partnership_figures` into `Figures` (in its order)."""
    return [
        sa.func.count(sa.distinct(figures.c.partnership_id)),
        sa.func.coalesce(sa.func.sum(figures.c.reporting), 0),
        sa.func.coalesce(sa.func.sum(figures.c.enrolled), 0),
        sa.func.coalesce(sa.func.sum(figures.c.cards), 0),
        sa.func.coalesce(sa.func.sum(figures.c.programme_cards), 0),
        sa.func.sum(figures.c.using),
    ]


def as_figures(row) -> Figures:
    """`Figures` from the values of `summed` (in order)."""
    partnerships, reporting, enrolled, cards, programme, using = row
    return Figures(
        int(partnerships),
        int(reporting),
        int(enrolled),
        int(cards),
        int(programme),
        None if using is None else int(using),
    )


def figures_by_library(library_ids, year: SchoolYear | None = None) -> dict[int, Figures]:
    """{library id: Figures} summed over each library's active partnerships: one statement."""
    figures = partnership_figures(partnerships_of_libraries(library_ids), year)
    rows = db.session.execute(
        sa.select(figures.c.library_id, *summed(figures)).group_by(figures.c.library_id)
    )
    return {row[0]: as_figures(row[1:]) for row in rows}


def figures_of_library(library_id: int) -> Figures:
    return figures_by_library([library_id]).get(library_id, Figures())


def figures_by_partnership(partnership_ids, year: SchoolYear | None = None) -> dict[int, Figures]:
    """{partnership id: Figures} for some partnerships: one statement."""
    figures = partnership_figures(partnership_ids, year)
    rows = db.session.execute(
        sa.select(figures.c.partnership_id, *summed(figures)).group_by(figures.c.partnership_id)
    )
    return {row[0]: as_figures(row[1:]) for row in rows}


def figures_by_district(library_id: int) -> list[tuple[str, Figures]]:
    """(district, Figures) for each of a library's active partnerships: one statement."""
    figures = partnership_figures(partnerships_of_libraries([library_id]))
    rows = db.session.execute(
        sa.select(SchoolDistrict.name, *summed(figures))
        .join(Partnership, Partnership.id == figures.c.partnership_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .group_by(figures.c.partnership_id, SchoolDistrict.name, Partnership.rollout_order)
        .order_by(Partnership.rollout_order, SchoolDistrict.name)
    )
    return [(row[0], as_figures(row[1:])) for row in rows]
