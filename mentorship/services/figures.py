"""A partnership's figures, defined once: every page, CSV, report and API endpoint reads them.

One set-based statement (`partnership_figures`) gives each partnership's figures; groups
(a library, a county, a cohort) are sums of those rows, and coverage is always
`coverage(cards, enrolled)`. The definitions, word for word as the pages and the README
write them:

A period reported by school and grade counts as one report: the sum of its rows; in a
school year (by the period's end) in which the partnership also has a whole-LEA report,
the rows by school and grade are not added to it (they are counted in it).

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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm

from ..extensions import db
from ..models import (
    Cohort,
    Library,
    OutcomeReport,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipSchool,
    ResourceUse,
    School,
    SchoolDistrict,
    SummerReaders,
)
from ..models.school import THIRD_GRADE

if TYPE_CHECKING:  # the rollup imports this module
    from .rollup.years import SchoolYear

NOT_SHOWN = "—"

# What each figure means, as the pages write it ("How this is counted") and the README too.
DEFINITIONS = {
    "In the program": "A library is in the program when it has an active place in an active "
    "cohort.",
    "Reports by school and grade": "A period reported by school and grade (the ILS report) "
    "counts as one report, the sum of its rows, except in a school year in which the "
    "partnership also reported for its whole LEA: then the whole-LEA reports count.",
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


def _school_year_end(day):
    """The calendar year a school year (July–June) containing `day` ends in, in SQL."""
    return sa.extract("year", day) + sa.case((sa.extract("month", day) >= 7, 1), else_=0)


def report_periods(partnerships, last_day=None):
    """One row per period of `partnerships` (a select of ids) ending by `last_day`: a
    whole-LEA report, or the sum of the period's reports by school and grade. In a school
    year in which the partnership has a whole-LEA report, its rows by school and grade are
    not added (they are counted in it). Set-based: a window over the periods, no
    correlated subquery."""
    whole = OutcomeReport.school_id.is_(None)

    def of(column, rows):
        return sa.func.sum(sa.case((rows, column)))

    cards = OutcomeReport.physical_cards + OutcomeReport.digital_cards
    scope = [OutcomeReport.partnership_id.in_(partnerships)]
    if last_day is not None:
        scope.append(OutcomeReport.period_end <= last_day)
    periods = (
        sa.select(
            OutcomeReport.partnership_id,
            OutcomeReport.period_start,
            OutcomeReport.period_end,
            sa.func.max(sa.case((whole, 1), else_=0)).label("whole"),
            of(OutcomeReport.students_enrolled, whole).label("enrolled_whole"),
            of(OutcomeReport.students_enrolled, ~whole).label("enrolled_rows"),
            of(OutcomeReport.students_using_cards, whole).label("using_whole"),
            of(OutcomeReport.students_using_cards, ~whole).label("using_rows"),
            of(cards, whole).label("cards_whole"),
            of(cards, ~whole).label("cards_rows"),
        )
        .where(*scope)
        .group_by(
            OutcomeReport.partnership_id, OutcomeReport.period_start, OutcomeReport.period_end
        )
        .subquery()
    )
    year_has_whole = (
        sa.func.max(periods.c.whole)
        .over(partition_by=(periods.c.partnership_id, _school_year_end(periods.c.period_end)))
        .label("year_has_whole")
    )
    ranked = sa.select(periods, year_has_whole).subquery()
    use_whole = ranked.c.year_has_whole == 1
    return (
        sa.select(
            ranked.c.partnership_id,
            ranked.c.period_start,
            ranked.c.period_end,
            sa.case((use_whole, ranked.c.enrolled_whole), else_=ranked.c.enrolled_rows).label(
                "students_enrolled"
            ),
            sa.case((use_whole, ranked.c.using_whole), else_=ranked.c.using_rows).label(
                "students_using_cards"
            ),
            sa.case((use_whole, ranked.c.cards_whole), else_=ranked.c.cards_rows).label("cards"),
        )
        .where(sa.or_(~use_whole, ranked.c.whole == 1))
        .subquery("report_periods")
    )


def scoped_reports(partnerships, year: SchoolYear | None = None):
    """The report periods of `partnerships` (a select of ids) up to the end of `year`, each
    with its cards, whether it is in the year (`in_scope`) and in the programme
    (`since_joining`), and its rank from the newest in its scope (`newest`)."""
    joined = _joined()
    periods = report_periods(partnerships, year.last_day if year else None)
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


# --- The figures of Ed Code §19343 (the legislative report) ----------------------------
# Per school year and per local public library; the library of a partnership's report is
# the partnership's library (the one that partners with the school's LEA).

LEGISLATIVE_DEFINITIONS = {
    "Third-graders who obtained a card": "New cards (physical and digital) issued to "
    "third-grade pupils in the grade-3 rows of the partnerships' outcome reports whose period "
    "ends in the school year (July 1–June 30). A pupil counts when a card was issued to them "
    "in the year, whether or not they held one before.",
    "Third-graders with library access through the partnerships": "Third-grade pupils holding "
    "a student card at the end of the school year, as the latest grade-3 row of the year for "
    "each school covered by a partnership reports it. A school covered is one the "
    "partnership chose, or every school of its LEA when it chose none. A row without the "
    "number holding a card is not counted, and its school is listed.",
    "New summer readers": "New summer readers the library counted in the summer that ends "
    "the school year (summer 2029 for 2028–29), all grades, added up over its reports.",
    "Increase in the use of other library resources": "For each kind (e-resource sessions, "
    "checkouts, tutoring or homework-help sessions), uses by student cards in the school year "
    "minus the uses in the year before, for libraries that reported both years. These count "
    "uses, not pupils.",
    "Reports used": "Outcome reports with a grade-3 row whose period ends in the school year, "
    "of active partnerships.",
    "Schools without a report": "Active schools with a third grade covered by an active "
    "partnership, with no grade-3 row in the school year.",
}


def covered_schools():
    """(school_id, partnership_id, library_id, lea_id) for each active school an active
    partnership covers: the schools it chose, or all its LEA's schools when it chose none."""
    choosing = sa.select(PartnershipSchool.partnership_id).distinct().subquery()
    chose_it = sa.orm.aliased(PartnershipSchool)
    return (
        sa.select(
            School.id.label("school_id"),
            Partnership.id.label("partnership_id"),
            Partnership.library_id,
            School.lea_id,
        )
        .join(
            Partnership,
            sa.and_(Partnership.district_id == School.lea_id, Partnership.active.is_(True)),
        )
        .outerjoin(choosing, choosing.c.partnership_id == Partnership.id)
        .outerjoin(
            chose_it,
            sa.and_(chose_it.partnership_id == Partnership.id, chose_it.school_id == School.id),
        )
        .where(
            School.active.is_(True),
            sa.or_(choosing.c.partnership_id.is_(None), chose_it.id.is_not(None)),
        )
    )


@dataclass
class LibraryLawFigures:
    """One local public library's §19343 figures for a school year (exact counts)."""

    library_id: int
    name: str
    county: str
    obtained_card: int = 0  # (1)
    with_access: int = 0  # (2)
    summer_readers: int = 0  # (3)
    reports: int = 0
    schools_reporting: int = 0
    schools_without_report: int = 0
    schools_without_holding_count: int = 0
    resource_use: dict = field(default_factory=dict)  # kind -> (this year, year before)

    def increase(self, kind) -> int | None:  # (4)
        this, before = self.resource_use.get(kind, (None, None))
        return None if this is None or before is None else this - before


def legislative_figures(year: SchoolYear) -> list[LibraryLawFigures]:
    """Every library with a §19343 figure or a covered third-grade school in `year`, by
    name: four statements, whatever the number of schools."""
    in_year = OutcomeReport.period_end.between(year.first_day, year.last_day)
    grade3 = (
        sa.select(
            Partnership.library_id,
            OutcomeReport.id,
            OutcomeReport.school_id,
            OutcomeReport.physical_cards + OutcomeReport.digital_cards,
            OutcomeReport.students_with_cards,
            sa.func.row_number()
            .over(
                partition_by=(Partnership.library_id, OutcomeReport.school_id),
                order_by=(OutcomeReport.period_end.desc(), OutcomeReport.period_start.desc()),
            )
            .label("newest"),
        )
        .join(Partnership, Partnership.id == OutcomeReport.partnership_id)
        .where(Partnership.active.is_(True), OutcomeReport.grade == THIRD_GRADE, in_year)
        .subquery()
    )
    rows: dict[int, LibraryLawFigures] = {}
    per_library = sa.select(
        grade3.c.library_id,
        sa.func.sum(grade3.c[3]),
        sa.func.sum(sa.case((grade3.c.newest == 1, grade3.c.students_with_cards), else_=0)),
        sa.func.count(grade3.c.id),
        sa.func.count(sa.distinct(grade3.c.school_id)),
        sa.func.sum(
            sa.case(
                (sa.and_(grade3.c.newest == 1, grade3.c.students_with_cards.is_(None)), 1),
                else_=0,
            )
        ),
    ).group_by(grade3.c.library_id)
    figures = {row[0]: row[1:] for row in db.session.execute(per_library)}

    covered = covered_schools().subquery()
    reported = (
        sa.select(grade3.c.library_id, grade3.c.school_id).where(grade3.c.newest == 1).subquery()
    )
    without = (
        sa.select(covered.c.library_id, sa.func.count(sa.distinct(covered.c.school_id)))
        .join(School, School.id == covered.c.school_id)
        .outerjoin(
            reported,
            sa.and_(
                reported.c.library_id == covered.c.library_id,
                reported.c.school_id == covered.c.school_id,
            ),
        )
        .where(
            School.low_grade <= THIRD_GRADE,
            School.high_grade >= THIRD_GRADE,
            reported.c.school_id.is_(None),
        )
        .group_by(covered.c.library_id)
    )
    missing = dict(db.session.execute(without).all())

    summer = dict(
        db.session.execute(
            sa.select(SummerReaders.library_id, sa.func.sum(SummerReaders.new_readers))
            .where(SummerReaders.school_year == year.start)
            .group_by(SummerReaders.library_id)
        ).all()
    )
    use: dict[int, dict] = {}
    for library_id, kind, school_year, uses in db.session.execute(
        sa.select(
            ResourceUse.library_id, ResourceUse.kind, ResourceUse.school_year, ResourceUse.uses
        ).where(ResourceUse.school_year.in_((year.start, year.start - 1)))
    ):
        this, before = use.setdefault(library_id, {}).get(kind, (None, None))
        if school_year == year.start:
            this = uses
        else:
            before = uses
        use[library_id][kind] = (this, before)

    ids = set(figures) | set(missing) | set(summer) | set(use)
    # Every library's name in one read: cheaper than a list of thousands of ids.
    for library in db.session.execute(sa.select(Library.id, Library.name, Library.county)):
        if library.id not in ids:
            continue
        got = figures.get(library.id, (0, 0, 0, 0, 0))
        rows[library.id] = LibraryLawFigures(
            library_id=library.id,
            name=library.name,
            county=library.county,
            obtained_card=int(got[0] or 0),
            with_access=int(got[1] or 0),
            reports=int(got[2] or 0),
            schools_reporting=int(got[3] or 0),
            schools_without_holding_count=int(got[4] or 0),
            schools_without_report=int(missing.get(library.id, 0)),
            summer_readers=int(summer.get(library.id, 0) or 0),
            resource_use=use.get(library.id, {}),
        )
    return sorted(rows.values(), key=lambda row: row.name.lower())


def _covered_by_local_library():
    """A select of the ids of schools a partnership of their own local library covers."""
    covered = covered_schools().add_columns(School.local_library_id).subquery()
    return sa.select(covered.c.school_id).where(covered.c.library_id == covered.c.local_library_id)


def coverage_gap_by_county() -> list[tuple[str, int, int, int]]:
    """(county, schools with a third grade, of them in the gap, their third-graders) for
    each county with such schools. A school is in the gap when its local public library
    has no active partnership with its LEA that covers it (or it has no library named)."""
    gap = sa.case((School.id.in_(_covered_by_local_library()), 0), else_=1)
    rows = db.session.execute(
        sa.select(
            School.county,
            sa.func.count(School.id),
            sa.func.sum(gap),
            sa.func.sum(gap * sa.func.coalesce(School.third_graders, 0)),
        )
        .where(
            School.active.is_(True),
            School.low_grade <= THIRD_GRADE,
            School.high_grade >= THIRD_GRADE,
        )
        .group_by(School.county)
        .order_by(School.county)
    )
    return [(county, int(n), int(g or 0), int(t or 0)) for county, n, g, t in rows]


def coverage_gap_schools(county: str | None = None):
    """A select of the ids of the schools in the gap (see `coverage_gap_by_county`), by
    county and name."""
    query = (
        sa.select(School.id)
        .where(
            School.active.is_(True),
            School.low_grade <= THIRD_GRADE,
            School.high_grade >= THIRD_GRADE,
            School.id.not_in(_covered_by_local_library()),
        )
        .order_by(School.county, School.name, School.id)
    )
    return query.where(School.county == county) if county else query
