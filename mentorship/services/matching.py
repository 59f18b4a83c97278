"""How well a mentor library fits a pilot library, and the best pairing of a whole cohort.

A good mentor is institutionally close: same cooperative system, nearby, similar size,
same governance, same integrated library system (ILS). Each reason has a named weight;
`score_pair` explains a score in words, `score_matrix` computes the same numbers for a
whole cohort at once (numpy), and `optimal_assignment` maximises the cohort's total
score under every mentor's capacity (the Hungarian method on capacity slots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Weights:
    same_system: int = 30
    same_county: int = 25
    similar_size: int = 20  # times min/max of the two service populations
    same_governance: int = 15
    same_ils: int = 10
    places_left: int = 5  # ranking only: times the share of the mentor's places still free
    experience: int = 5  # ranking only: the mentor has issued student cards itself


WEIGHTS = Weights()
SIMILAR_SIZE_RATIO = 0.5  # below this the sizes are not called "similar"


@dataclass(frozen=True)
class LibraryProfile:
    """What matching knows of a library (built from a Library row or by a test)."""

    id: int
    name: str
    county: str = ""
    cooperative_system: str = ""
    governance: str = ""
    service_population: int | None = None
    ils_name: str = ""


@dataclass(frozen=True)
class Fit:
    score: int
    reasons: tuple[str, ...]


def _size_ratio(a: int | None, b: int | None) -> float:
    if not a or not b:
        return 0.0
    return min(a, b) / max(a, b)


def _same(a: str, b: str) -> bool:
    return bool(a) and a.lower() == (b or "").lower()


def score_pair(pilot: LibraryProfile, mentor: LibraryProfile, weights: Weights = WEIGHTS) -> Fit:
    """The institutional fit of one mentor for one pilot, with its reasons in words."""
    score, reasons = 0, []
    if _same(pilot.cooperative_system, mentor.cooperative_system):
        score += weights.same_system
        reasons.append(f"same cooperative system ({pilot.cooperative_system})")
    if _same(pilot.county, mentor.county):
        score += weights.same_county
        reasons.append(f"same county ({pilot.county})")
    ratio = _size_ratio(pilot.service_population, mentor.service_population)
    score += round(weights.similar_size * ratio)
    if ratio >= SIMILAR_SIZE_RATIO:
        reasons.append(
            f"similar size (service population {pilot.service_population:,} vs "
            f"{mentor.service_population:,})"
        )
    if _same(pilot.governance, mentor.governance):
        score += weights.same_governance
        reasons.append(f"same governance ({pilot.governance})")
    if _same(pilot.ils_name, mentor.ils_name):
        score += weights.same_ils
        reasons.append(f"same ILS ({pilot.ils_name})")
    return Fit(score, tuple(reasons))


def ranking_score(
    fit: Fit, places_left: int, capacity: int, cards_issued: int = 0, weights: Weights = WEIGHTS
) -> int:
    """Suggestions also favour mentors with room to spare and with cards of their own."""
    share = places_left / capacity if capacity else 0.0
    experience = weights.experience if cards_issued > 0 else 0
    return fit.score + round(weights.places_left * share) + experience


def _codes(values: Sequence[str], vocabulary: dict[str, int]) -> np.ndarray:
    # Empty values get a code of their own per row, so "unknown" never matches "unknown".
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        if value:
            out[i] = vocabulary.setdefault(value.lower(), len(vocabulary))
        else:
            out[i] = -1 - i
    return out


def score_matrix(
    pilots: Sequence[LibraryProfile], mentors: Sequence[LibraryProfile], weights: Weights = WEIGHTS
) -> np.ndarray:
    """score_pair(p, m).score for every pilot × mentor, computed as arrays."""
    matrix = np.zeros((len(pilots), len(mentors)), dtype=np.float64)
    for attribute, weight in (
        ("cooperative_system", weights.same_system),
        ("county", weights.same_county),
        ("governance", weights.same_governance),
        ("ils_name", weights.same_ils),
    ):
        vocabulary: dict[str, int] = {}
        p = _codes([getattr(x, attribute) for x in pilots], vocabulary)
        m = _codes([getattr(x, attribute) for x in mentors], vocabulary)
        # Mentor "unknown" codes must differ from pilot ones too.
        m = np.where(m < 0, m - len(pilots), m)
        matrix += weight * (p[:, None] == m[None, :])
    p_pop = np.array([x.service_population or 0 for x in pilots], dtype=np.float64)
    m_pop = np.array([x.service_population or 0 for x in mentors], dtype=np.float64)
    low = np.minimum(p_pop[:, None], m_pop[None, :])
    high = np.maximum(p_pop[:, None], m_pop[None, :])
    ratio = np.divide(low, high, out=np.zeros_like(low), where=high > 0)
    # round half to even, like Python's round() in score_pair
    matrix += np.round(weights.similar_size * ratio)
    return matrix


@dataclass
class Assignment:
    pairs: dict[int, int]  # pilot index -> mentor index
    unmatched: list[int]  # pilot indexes left without a place
    total_score: float


def optimal_assignment(scores: np.ndarray, places: Sequence[int]) -> Assignment:
    """Maximise the total score; mentor j takes at most places[j] pilots.

    Each mentor becomes `places[j]` identical columns ("slots") and the Hungarian
    method (scipy's linear_sum_assignment) picks one slot per pilot.
    """
    pilot_count = scores.shape[0]
    slot_owner = np.repeat(np.arange(len(places)), np.maximum(np.asarray(places, dtype=int), 0))
    if pilot_count == 0 or slot_owner.size == 0:
        return Assignment({}, list(range(pilot_count)), 0.0)
    rows, slots = linear_sum_assignment(scores[:, slot_owner], maximize=True)
    pairs = {int(r): int(slot_owner[s]) for r, s in zip(rows, slots, strict=True)}
    unmatched = [i for i in range(pilot_count) if i not in pairs]
    return Assignment(pairs, unmatched, float(sum(scores[p, m] for p, m in pairs.items())))


def greedy_assignment(scores: np.ndarray, places: Sequence[int]) -> Assignment:
    """The obvious loop (best pair first), kept only to show what optimal gains."""
    left = list(places)
    pairs: dict[int, int] = {}
    order = np.argsort(-scores, axis=None, kind="stable")
    pilot_count = scores.shape[0]
    for flat in order:
        pilot, mentor = divmod(int(flat), scores.shape[1])
        if pilot in pairs or left[mentor] <= 0:
            continue
        pairs[pilot] = mentor
        left[mentor] -= 1
        if len(pairs) == pilot_count or not any(left):
            break
    unmatched = [i for i in range(pilot_count) if i not in pairs]
    return Assignment(pairs, unmatched, float(sum(scores[p, m] for p, m in pairs.items())))
