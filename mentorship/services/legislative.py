"""The legislative report: Ed Code §19343's four figures per school year, statewide and
per local public library, with their method, as published (small counts suppressed).

The figures themselves are services.figures' (`legislative_figures`); this module only
arranges them by county and applies services.suppression, the same way for the page,
its CSV, its print view and the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm

from ..caching import coverage_gap_key, coverage_gap_schools_key, legislative_key, remembered
from ..extensions import db
from ..models import ResourceKind, School
from .figures import (
    LEGISLATIVE_DEFINITIONS,
    LibraryLawFigures,
    coverage_gap_by_county,
    coverage_gap_schools,
    legislative_figures,
)
from .rollup.years import SchoolYear
from .suppression import RULE, Cell, county_tree, exact

# The three counts of pupils (suppressed) and what each is called on the page.
STUDENT_FIGURES = {
    "obtained_card": "Third-graders who obtained a card",
    "with_access": "Third-graders with library access through the partnerships",
    "summer_readers": "New summer readers",
}
RESOURCE_KINDS = tuple(ResourceKind)


@dataclass(frozen=True)
class ResourceChange:
    this_year: int | None
    year_before: int | None

    @property
    def increase(self) -> int | None:
        if self.this_year is None or self.year_before is None:
            return None
        return self.this_year - self.year_before

    @property
    def percent(self) -> float | None:
        if self.increase is None or not self.year_before:
            return None
        return round(100 * self.increase / self.year_before, 1)


@dataclass
class LawRow:
    """A published row: a library, a county's total or the statewide total."""

    label: str
    county: str
    cells: dict[str, Cell]  # STUDENT_FIGURES key -> Cell
    resources: dict[ResourceKind, ResourceChange]
    reports: int = 0
    schools_reporting: int = 0
    schools_without_report: int = 0
    schools_without_holding_count: int = 0
    library_id: int | None = None


@dataclass
class LegislativeReport:
    year: SchoolYear
    county: str | None
    total: LawRow  # the statewide total, or the county's when one is chosen
    counties: list[LawRow] = field(default_factory=list)  # by county (statewide view only)
    libraries: list[LawRow] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=lambda: dict(LEGISLATIVE_DEFINITIONS))
    rule: str = RULE
    suppressed: bool = True


def _resources(rows: list[LibraryLawFigures]) -> dict[ResourceKind, ResourceChange]:
    """Summed over libraries that reported both years (so the increase is like for like)."""
    changes = {}
    for kind in RESOURCE_KINDS:
        both = [r.resource_use[kind] for r in rows if None not in r.resource_use.get(kind, (None,))]
        changes[kind] = ResourceChange(
            sum(this for this, _ in both) if both else None,
            sum(before for _, before in both) if both else None,
        )
    return changes


def _summed(label: str, county: str, rows: list[LibraryLawFigures], cells) -> LawRow:
    return LawRow(
        label=label,
        county=county,
        cells=cells,
        resources=_resources(rows),
        reports=sum(r.reports for r in rows),
        schools_reporting=sum(r.schools_reporting for r in rows),
        schools_without_report=sum(r.schools_without_report for r in rows),
        schools_without_holding_count=sum(r.schools_without_holding_count for r in rows),
    )


def legislative_report(
    year: SchoolYear, county: str | None = None, suppressed: bool = True
) -> LegislativeReport:
    """The report for `year` (one county's libraries when `county` is given). Suppression
    is worked out over every library, county and the state at once, whatever is asked
    for, so no two views of the report can be subtracted to undo it."""
    rows = legislative_figures(year)
    cells: dict[str, dict] = {}
    for name in STUDENT_FIGURES:
        tree = {r.library_id: (r.county, getattr(r, name)) for r in rows}
        cells[name] = county_tree(tree) if suppressed else _exact_tree(tree)

    def cells_of(key) -> dict[str, Cell]:
        return {name: cells[name][key] for name in STUDENT_FIGURES}

    by_county: dict[str, list[LibraryLawFigures]] = {}
    for row in rows:
        by_county.setdefault(row.county, []).append(row)
    libraries = [
        LawRow(
            label=r.name,
            county=r.county,
            cells=cells_of(r.library_id),
            resources={
                kind: ResourceChange(*r.resource_use.get(kind, (None, None)))
                for kind in RESOURCE_KINDS
            },
            reports=r.reports,
            schools_reporting=r.schools_reporting,
            schools_without_report=r.schools_without_report,
            schools_without_holding_count=r.schools_without_holding_count,
            library_id=r.library_id,
        )
        for r in rows
        if county is None or r.county == county
    ]
    counties = [
        _summed(f"{name} County", name, members, cells_of(("county", name)))
        for name, members in sorted(by_county.items())
    ]
    if county is not None:
        total = next(
            (c for c in counties if c.county == county),
            _summed(f"{county} County", county, [], {n: Cell(0) for n in STUDENT_FIGURES}),
        )
        counties = []
    else:
        total = _summed("California", "", rows, cells_of(("state",)))
    return LegislativeReport(
        year=year,
        county=county,
        total=total,
        counties=counties,
        libraries=libraries,
        suppressed=suppressed,
    )


def _exact_tree(tree: dict) -> dict:
    values = {key: count for key, (_, count) in tree.items()}
    for county, count in tree.values():
        values[("county", county)] = values.get(("county", county), 0) + count
    values[("state",)] = sum(count for _, count in tree.values())
    return exact(values)


def cached_report(year: SchoolYear, county: str | None) -> LegislativeReport:
    """The published (suppressed) report, kept like the rollup's figures (mentorship.caching)."""
    return remembered(
        legislative_key(year.start, county),
        LegislativeReport,
        lambda: legislative_report(year, county),
    )


def cached_gap_by_county() -> list[tuple[str, int, int, int]]:
    """The coverage gap by county (services.figures), kept like the report."""
    return remembered(coverage_gap_key(), list[tuple[str, int, int, int]], coverage_gap_by_county)


def cached_gap_school_ids(county: str | None) -> list[int]:
    """The ids of the schools in the gap, in order (services.figures), kept like the report."""
    return remembered(
        coverage_gap_schools_key(county),
        list[int],
        lambda: list(db.session.scalars(coverage_gap_schools(county))),
    )


def schools_by_id(ids: list[int]) -> list[School]:
    """These schools with their local library, in the order given (one statement)."""
    found = {
        school.id: school
        for school in db.session.scalars(
            sa.select(School)
            .options(sa.orm.joinedload(School.local_library))
            .where(School.id.in_(ids))
        )
    }
    return [found[i] for i in ids if i in found]
