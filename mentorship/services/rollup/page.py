"""The whole rollup page: every figure for one filter, computed together and cached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ...caching import remembered, rollup_key
from ...extensions import db
from ..risk import RiskLevel, RiskSettings
from .figures import (
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
from .filters import RollupFilter, libraries_in_program
from .pilots import TIMELINE_STAGES, PilotStatus, pilot_statuses


@dataclass
class RollupFigures:
    """Grouped figures only, whatever the program's size: small to cache and to read back."""

    filter: RollupFilter
    today: date
    cohorts: list[CohortCount]
    stages: list[StageCount]
    coverage: dict[str, list[Coverage]]
    quarters: list[Quarter]
    counties: list[CountyFigures]
    libraries: int  # distinct libraries in the program (any role, any number of cohorts)
    timeline: list[tuple[str, int]]  # pilots by time on the timeline
    risk: list[tuple[RiskLevel, int]]  # pilots by status, most worrying first

    @property
    def pilot_count(self) -> int:
        return sum(n for _, n in self.risk)

    @property
    def total(self) -> Coverage | None:
        """The pilot libraries' figures (the programme's)."""
        return self.coverage["total"][0] if self.coverage["total"] else None

    @property
    def existing(self) -> Coverage | None:
        """Mentor libraries' existing programmes, shown apart."""
        return self.coverage["existing"][0] if self.coverage["existing"] else None


def _tally(pilots: list[PilotStatus]) -> tuple[list, list]:
    """Pilots by time on the timeline, and by status."""
    stages = {label: 0 for _, label in TIMELINE_STAGES}
    levels = dict.fromkeys(sorted(RiskLevel, reverse=True), 0)
    for pilot in pilots:
        stages[pilot.stage] += 1
        levels[pilot.level] += 1
    return list(stages.items()), list(levels.items())


def compute(f: RollupFilter, today: date, settings: RiskSettings) -> RollupFigures:
    coverage = coverage_by_dimension(f)
    timeline, risk = _tally(pilot_statuses(f, today, settings))
    return RollupFigures(
        filter=f,
        today=today,
        cohorts=cohort_counts(f),
        timeline=timeline,
        risk=risk,
        stages=partnership_stages(f),
        coverage=coverage,
        quarters=cards_per_quarter(f),
        counties=county_figures(libraries_by_county(f), coverage["county"]),
        libraries=db.session.scalar(
            sa.select(sa.func.count()).select_from(libraries_in_program(f).subquery())
        ),
    )


def rollup(f: RollupFilter, today: date, settings: RiskSettings) -> RollupFigures:
    """`compute`, kept for ROLLUP_CACHE_SECONDS per filter (see mentorship.caching)."""
    return remembered(
        rollup_key(f, today, settings), RollupFigures, lambda: compute(f, today, settings)
    )
