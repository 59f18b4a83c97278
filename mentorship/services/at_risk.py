"""The staff's list of pilots at risk: every pilot counted and ranked, one page explained.

Ranking thousands of pilots needs each one's risk level, which `rollup.pilot_statuses`
works out in one grouped statement with the same rules as `risk.assess`. That ranking
(level, then library name) is kept per filter for `ROLLUP_CACHE_SECONDS`, like the
rollup's figures: levels move by days, not seconds. The reasons in words, and the level
shown beside them, are worked out fresh with `risk.assess_pilots`, only for the rows
on the page (the CSV: for every row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..caching import at_risk_key, remembered
from ..extensions import db
from ..models import Library
from . import rollup
from .risk import PilotRisk, RiskLevel, RiskSettings, assess_pilots, risk_order


@dataclass(frozen=True)
class RankedPilot:
    participation_id: int
    level: RiskLevel


@dataclass(frozen=True)
class AtRiskFilter:
    cohort_id: int | None = None
    system: str | None = None
    level: RiskLevel | None = None  # only the pilots at this level


def _rank(f: AtRiskFilter, today: date, settings: RiskSettings) -> list[RankedPilot]:
    """Every pilot in view, most worrying first: two statements, whatever the count."""
    view = rollup.RollupFilter(cohort_id=f.cohort_id, system=f.system)
    statuses = rollup.pilot_statuses(view, today, settings)
    names = dict(
        db.session.execute(
            rollup.libraries_in_view(view).with_only_columns(Library.id, Library.name)
        ).all()
    )
    statuses.sort(
        key=lambda s: risk_order(s.level, names.get(s.library_id, ""), s.participation_id)
    )
    return [RankedPilot(s.participation_id, s.level) for s in statuses]


def ranked_pilots(f: AtRiskFilter, today: date, settings: RiskSettings) -> list[RankedPilot]:
    """Every pilot of the cohort/system filter (all levels), ranked; cached a little while."""
    return remembered(
        at_risk_key(f.cohort_id, f.system, today, settings),
        list[RankedPilot],
        lambda: _rank(f, today, settings),
    )


def level_counts(ranked: list[RankedPilot]) -> dict[RiskLevel, int]:
    """How many pilots at each level, most worrying first (for the whole list)."""
    counts = dict.fromkeys(sorted(RiskLevel, reverse=True), 0)
    for pilot in ranked:
        counts[pilot.level] += 1
    return counts


def of_level(ranked: list[RankedPilot], level: RiskLevel | None) -> list[RankedPilot]:
    return ranked if level is None else [p for p in ranked if p.level == level]


def explain(page: list[RankedPilot], today: date, settings: RiskSettings) -> list[PilotRisk]:
    """The reasons for the pilots of one page, in the page's order (a fixed few queries)."""
    if not page:
        return []
    assessed = {
        risk.participation.id: risk
        for risk in assess_pilots(
            today, settings, participation_ids=[p.participation_id for p in page]
        )
    }
    # A pilot that left the program since the ranking was made is simply not shown.
    return [assessed[p.participation_id] for p in page if p.participation_id in assessed]


def every_row(f: AtRiskFilter, today: date, settings: RiskSettings) -> list[PilotRisk]:
    """The whole list with reasons, for the CSV (assessed fresh, in the list's order)."""
    rows = assess_pilots(today, settings, cohort_id=f.cohort_id, cooperative_system=f.system)
    return [row for row in rows if f.level is None or row.level == f.level]
