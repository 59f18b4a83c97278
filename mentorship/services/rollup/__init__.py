"""The statewide rollup: the whole program at a glance, in a handful of set-based statements.

Every figure is a GROUP BY (or a window function) in the database; Python only folds
the grouped rows into tables. The result is plain data, so it can be cached for a
minute per filter (`ROLLUP_CACHE_SECONDS`): state figures need not be live to the second,
and the page then costs what a template costs.

By concern: `years` (school years), `filters` (what is in view), `pilots` (pilot statuses),
`figures` (grouped figures), `page` (the whole page, cached by `mentorship.caching`), `drilldown`
(libraries and one library), `annual` (the annual report). This package names their
public parts, so callers write `rollup.compute(...)`.

A partnership's figures (students enrolled, cards, coverage, the programme's cards
apart from the baseline) are services.figures'; the rollup groups them. It leads with the
pilot libraries' figures and shows the others' (mentors', sustaining libraries') apart.
"""

from ...models.library import CALIFORNIA_COUNTIES, COOPERATIVE_SYSTEMS
from .annual import AnnualReportRow, AnnualTotals, annual_report, annual_report_count, annual_totals
from .drilldown import (
    LibraryFigures,
    PartnershipFigures,
    libraries_in_view,
    library_figures,
    partnerships_of_library,
    reports_of_library,
)
from .figures import (
    DIMENSIONS,
    CohortCount,
    CountyFigures,
    Coverage,
    Quarter,
    StageCount,
    cards_per_quarter,
    cohort_counts,
    county_figures,
    coverage_by_dimension,
    libraries_by_county,
    partnership_stages,
)
from .filters import CohortChoice, RollupFilter, active_cohorts, parse_filter
from .page import RollupFigures, compute, rollup
from .pilots import TIMELINE_STAGES, PilotPlace, PilotStatus, pilot_statuses, timeline_stage
from .years import SCHOOL_YEARS, SchoolYear, school_years

__all__ = [
    "CALIFORNIA_COUNTIES",
    "COOPERATIVE_SYSTEMS",
    "DIMENSIONS",
    "SCHOOL_YEARS",
    "TIMELINE_STAGES",
    "AnnualReportRow",
    "AnnualTotals",
    "CohortChoice",
    "CohortCount",
    "CountyFigures",
    "Coverage",
    "LibraryFigures",
    "PartnershipFigures",
    "PilotPlace",
    "PilotStatus",
    "Quarter",
    "RollupFigures",
    "RollupFilter",
    "SchoolYear",
    "StageCount",
    "active_cohorts",
    "annual_report",
    "annual_report_count",
    "annual_totals",
    "cards_per_quarter",
    "cohort_counts",
    "compute",
    "county_figures",
    "coverage_by_dimension",
    "libraries_by_county",
    "libraries_in_view",
    "library_figures",
    "parse_filter",
    "partnership_stages",
    "partnerships_of_library",
    "pilot_statuses",
    "reports_of_library",
    "rollup",
    "school_years",
    "timeline_stage",
]
