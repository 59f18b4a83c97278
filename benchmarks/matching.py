"""Whole-cohort assignment: time and total score of ours (optimal) vs a greedy loop.

    .venv/bin/python benchmarks/matching.py
    .venv/bin/python benchmarks/matching.py --smoke   # `make test`: the 45-library cohort only

Libraries are synthetic but shaped like California's: 9 cooperative systems, 58
counties, 5 governance types, a handful of ILS products, log-normal service populations.
The greedy loop is the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from mentorship.services.matching import (
    LibraryProfile,
    greedy_assignment,
    optimal_assignment,
    score_matrix,
)

SYSTEMS = [f"system {n}" for n in range(9)]
COUNTIES = [f"county {n}" for n in range(58)]
GOVERNANCE = ["city", "county", "special district", "joint powers", "other"]
ILS = ["Polaris", "Sierra", "Symphony", "Koha", "Evergreen", "Horizon", "Carl.X"]


def libraries(count: int, rng: random.Random, start: int) -> list[LibraryProfile]:
    return [
        LibraryProfile(
            id=start + n,
            name=f"Library {start + n}",
            county=rng.choice(COUNTIES),
            cooperative_system=rng.choice(SYSTEMS),
            governance=rng.choice(GOVERNANCE),
            service_population=int(rng.lognormvariate(11, 1.2)),
            ils_name=rng.choice(ILS),
        )
        for n in range(count)
    ]


def run(pilot_count: int, mentor_count: int, capacity: int = 3) -> bool:
    rng = random.Random(2026)
    pilots = libraries(pilot_count, rng, 0)
    mentors = libraries(mentor_count, rng, pilot_count)
    places = [capacity] * mentor_count

    started = time.perf_counter()
    scores = score_matrix(pilots, mentors)
    scored = time.perf_counter()
    ours = optimal_assignment(scores, places)
    ours_done = time.perf_counter()
    greedy = greedy_assignment(scores, places)
    greedy_done = time.perf_counter()

    print(f"{pilot_count} pilots x {mentor_count} mentors (capacity {capacity})")
    print(f"  scoring matrix      {scored - started:8.3f} s")
    print(
        f"  optimal assignment  {ours_done - scored:8.3f} s   total score {ours.total_score:,.0f}  unmatched {len(ours.unmatched)}"
    )
    print(
        f"  greedy baseline     {greedy_done - ours_done:8.3f} s   total score {greedy.total_score:,.0f}  unmatched {len(greedy.unmatched)}"
    )
    print(
        f"  whole cohort (scoring + optimal) {ours_done - started:.3f} s; optimal / greedy score = {ours.total_score / greedy.total_score:.4f}"
    )
    # Every pilot placed once or left unmatched, no mentor over capacity, never worse.
    ok = True
    for result in (ours, greedy):
        taken = [result.pairs.get(m) for m in range(pilot_count)]
        loads = [list(result.pairs.values()).count(j) for j in range(mentor_count)]
        placed = {p for p, m in enumerate(taken) if m is not None}
        ok = ok and placed.isdisjoint(result.unmatched)
        ok = ok and len(placed) + len(result.unmatched) == pilot_count
        ok = ok and max(loads) <= capacity
    ok = ok and ours.total_score >= greedy.total_score
    print("  count check:", "OK" if ok else "MISMATCH")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="the 45-library cohort only")
    smoke = parser.parse_args().smoke
    ok = run(45, 15)
    if not smoke:
        ok = run(5000, 2000) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
