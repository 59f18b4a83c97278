"""The whole rollup page: every figure for one filter, computed together and cached."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from ...extensions import db
from ..risk import RiskLevel, RiskSettings
from .caching import cache
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
    filter: RollupFilter
    today: date
    cohorts: list[CohortCount]
    pilots: list[PilotStatus]
    stages: list[StageCount]
    coverage: dict[str, list[Coverage]]
    quarters: list[Quarter]
    counties: list[CountyFigures]
    libraries: int  # distinct libraries in the program (any role, any number of cohorts)
    timeline: list[tuple[str, int]] = field(default_factory=list)
    risk: list[tuple[RiskLevel, int]] = field(default_factory=list)

    def __post_init__(self):
        stages = {label: 0 for _, label in TIMELINE_STAGES}
        levels = dict.fromkeys(sorted(RiskLevel, reverse=True), 0)
        for pilot in self.pilots:
            stages[pilot.stage] += 1
            levels[pilot.level] += 1
        self.timeline = list(stages.items())
        self.risk = list(levels.items())

    @property
    def total(self) -> Coverage | None:
        """The pilot libraries' figures (the programme's)."""
        return self.coverage["total"][0] if self.coverage["total"] else None

    @property
    def existing(self) -> Coverage | None:
        """Mentor libraries' existing programmes, shown apart."""
        return self.coverage["existing"][0] if self.coverage["existing"] else None


def compute(f: RollupFilter, today: date, settings: RiskSettings) -> RollupFigures:
    coverage = coverage_by_dimension(f)
    return RollupFigures(
        filter=f,
        today=today,
        cohorts=cohort_counts(f),
        pilots=pilot_statuses(f, today, settings),
        stages=partnership_stages(f),
        coverage=coverage,
        quarters=cards_per_quarter(f),
        counties=county_figures(libraries_by_county(f), coverage["county"]),
        libraries=db.session.scalar(
            sa.select(sa.func.count()).select_from(libraries_in_program(f).subquery())
        ),
    )


def rollup(
    f: RollupFilter, today: date, settings: RiskSettings, cache_seconds: float = 0
) -> RollupFigures:
    if cache_seconds <= 0:
        return compute(f, today, settings)
    return cache.get((f, today, settings), cache_seconds, lambda: compute(f, today, settings))
