"""The annual report (California SB 321, from 2029): per partnership, per school year."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ...extensions import db
from ...models import (
    Library,
    OutcomeReport,
    Partnership,
    SchoolDistrict,
)
from .filters import RollupFilter, libraries_in_program
from .years import SchoolYear


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
        query = query.where(Partnership.library_id.in_(libraries_in_program(f)))
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
