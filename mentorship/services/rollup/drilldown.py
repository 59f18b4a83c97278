"""Drill-down: the libraries in view, and one library's partners and reports (nothing private)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

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
from ..figures import (
    Figures,
    as_figures,
    figures_by_library,
    partnership_figures,
    partnerships_of_libraries,
    summed,
)
from ..outcomes import FIGURE_COLUMNS
from ..risk import RiskSettings
from .filters import RollupFilter, in_program, libraries_in_program
from .pilots import PilotStatus, pilot_statuses


@dataclass(frozen=True)
class LibraryFigures:
    """A library's row in the drill-down: progress and figures, nothing private."""

    library_id: int
    name: str
    county: str
    system: str
    roles: str
    pilot: PilotStatus | None
    figures: Figures


def libraries_in_view(f: RollupFilter):
    """Libraries in the program and the filter, by name (a select to paginate)."""
    return (
        sa.select(Library)
        .where(Library.id.in_(libraries_in_program(f)))
        .order_by(Library.name, Library.id)
    )


def library_figures(
    libraries: list[Library], f: RollupFilter, today: date, settings: RiskSettings
) -> list[LibraryFigures]:
    """Figures for some libraries: three statements, however many libraries."""
    ids = [library.id for library in libraries]
    if not ids:
        return []
    places = in_program(f).add_columns(Participation.role, Cohort.name.label("cohort"))
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
    totals = figures_by_library(ids, f.year)
    return [
        LibraryFigures(
            library.id,
            library.name,
            library.county,
            library.cooperative_system,
            "; ".join(roles.get(library.id, [])),
            pilots.get(library.id),
            totals.get(library.id, Figures()),
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
    figures: Figures


def partnerships_of_library(library_id: int, f: RollupFilter) -> list[PartnershipFigures]:
    """A library's school partners with stage and figures (no contacts, no notes)."""
    figures = partnership_figures(partnerships_of_libraries([library_id]), f.year)
    described_by = (
        figures.c.partnership_id,
        SchoolDistrict.name,
        SchoolDistrict.state_code,
        PartnershipStage.position,
        PartnershipStage.name,
        figures.c.card_model,
        figures.c.enrolment,
        figures.c.fine_free,
    )
    rows = db.session.execute(
        sa.select(*described_by, *summed(figures))
        .join(Partnership, Partnership.id == figures.c.partnership_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .join(PartnershipStage, PartnershipStage.id == Partnership.stage_id)
        .group_by(*described_by, Partnership.rollout_order)
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
            as_figures(values),
        )
        for pid, district, code, position, stage, card_model, enrolment, fine_free, *values in rows
    ]


def reports_of_library(library_id: int, f: RollupFilter) -> list:
    """The library's dated whole-LEA outcome reports (figures only), newest first. Rows by
    school and grade are not listed here: state officials see them only suppressed, in
    the legislative report."""
    query = (
        sa.select(SchoolDistrict.name.label("district"), *FIGURE_COLUMNS)
        .join(Partnership, Partnership.id == OutcomeReport.partnership_id)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .where(Partnership.library_id == library_id, Partnership.active.is_(True))
        .where(OutcomeReport.school_id.is_(None))
        .order_by(OutcomeReport.period_end.desc(), SchoolDistrict.name)
    )
    if f.year:
        query = query.where(OutcomeReport.period_end.between(f.year.first_day, f.year.last_day))
    return db.session.execute(query).all()
