"""What the read-only JSON API reads: what a state official may see, set-based.

Each function returns a SELECT that loads everything its rows show (the API pages it),
so a page costs the same few statements whatever its size. Nothing here reads the
private columns (notes, district contacts, explanations, who entered a report): the
API's serialisers never see them asked for, and its tests search every response for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, load_only, selectinload

from ..models import (
    Cohort,
    Library,
    OutcomeReport,
    Participation,
    Partnership,
    PartnershipStageDate,
)
from .outcomes import FIGURE_COLUMNS


def libraries_query() -> sa.Select:
    return sa.select(Library).order_by(Library.id)


def cohorts_query() -> sa.Select:
    """Cohorts with the libraries taking part (one more statement per page)."""
    return sa.select(Cohort).options(selectinload(Cohort.participations)).order_by(Cohort.id)


def partnerships_query() -> sa.Select:
    """Partnerships with their district, stage and the dates each stage was reached."""
    return (
        sa.select(Partnership)
        .options(
            joinedload(Partnership.district),
            joinedload(Partnership.stage),
            selectinload(Partnership.stage_dates).joinedload(PartnershipStageDate.stage),
        )
        .order_by(Partnership.id)
    )


@dataclass(frozen=True)
class OutcomeFilters:
    library_id: int | None = None
    cohort_id: int | None = None  # libraries taking part in the cohort (active places)
    county: str | None = None  # the library's county
    since: date | None = None  # reports whose period ends on or after this day


def outcome_reports_query(filters: OutcomeFilters) -> sa.Select:
    """Whole-LEA outcome reports, oldest id first, narrowed by the filters given. Rows by
    school and grade are not listed: their small counts are published only suppressed
    (the legislative report)."""
    query = (
        sa.select(OutcomeReport)
        .where(OutcomeReport.school_id.is_(None))
        .options(
            joinedload(OutcomeReport.partnership).load_only(
                Partnership.library_id, Partnership.district_id
            ),
            load_only(OutcomeReport.partnership_id, *FIGURE_COLUMNS),
        )
        .order_by(OutcomeReport.id)
    )
    partnerships = sa.select(Partnership.id)
    if filters.library_id is not None:
        partnerships = partnerships.where(Partnership.library_id == filters.library_id)
    if filters.county is not None:
        partnerships = partnerships.where(
            Partnership.library_id.in_(
                sa.select(Library.id).where(Library.county == filters.county)
            )
        )
    if filters.cohort_id is not None:
        partnerships = partnerships.where(
            Partnership.library_id.in_(
                sa.select(Participation.library_id).where(
                    Participation.cohort_id == filters.cohort_id,
                    Participation.active.is_(True),
                )
            )
        )
    if partnerships.whereclause is not None:
        query = query.where(OutcomeReport.partnership_id.in_(partnerships))
    if filters.since is not None:
        query = query.where(OutcomeReport.period_end >= filters.since)
    return query
