"""Small counts stay private: what state officials, the API, CSV and the legislative
report show of a count of students.

The rule (stated on every page that applies it): a count of 1 to 10 students is shown as
"10 or fewer". So that it cannot be worked back out of a total, other cells of the same
sum are hidden too (complementary suppression): in every published sum — the libraries of
a county and their county total, the counties and the statewide total — either no cell is
hidden or at least two are. The complementary cell is the smallest count above zero that
is still shown (a child before the total). Zero is shown: it discloses no student.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

THRESHOLD = 10
SMALL = "10 or fewer"
HIDDEN = "not shown"
RULE = (
    f"Counts of 1 to {THRESHOLD} students are shown as “{SMALL}”. So that such a count cannot "
    "be worked out by subtracting the others from a total, other cells of the same total are "
    f"hidden too (“{HIDDEN}”). Zero is shown. Uses of library resources count uses, not "
    "pupils, and are shown as they are."
)


@dataclass(frozen=True)
class Cell:
    """A count as published: its value, or why it is not shown."""

    value: int | None
    hidden: str = ""  # "", SMALL or HIDDEN

    @property
    def shown(self) -> int | str:
        return self.hidden or self.value

    def __str__(self) -> str:
        return self.hidden or f"{self.value:,}"


def suppress(values: dict[Hashable, int], sums: Iterable[tuple[Hashable, list[Hashable]]]) -> dict:
    """{key: Cell} for published counts `values` (every cell: rows and totals alike), where
    each of `sums` is (total's key, its parts' keys) and the total is the sum of its parts."""
    sums = list(sums)
    hidden = {key: SMALL for key, value in values.items() if 1 <= value <= THRESHOLD}
    groups_of: dict[Hashable, list[int]] = {}
    for index, (total, parts) in enumerate(sums):
        for key in (total, *parts):
            groups_of.setdefault(key, []).append(index)
    # Only a sum holding a newly hidden cell can need another: check those again.
    pending = sorted({i for key in hidden for i in groups_of.get(key, ())})
    while pending:
        total, parts = sums[pending.pop()]
        if sum(key in hidden for key in (total, *parts)) != 1:
            continue
        shown = [key for key in parts if key not in hidden and values[key] > 0]
        if shown:
            chosen = min(shown, key=lambda key: (values[key], str(key)))
        elif total not in hidden:
            chosen = total
        else:  # the total alone hidden and every part zero: the total is zero
            continue
        hidden[chosen] = HIDDEN
        pending.extend(groups_of.get(chosen, ()))
    return {key: Cell(value, hidden.get(key, "")) for key, value in values.items()}


def exact(values: dict[Hashable, int]) -> dict:
    """The same cells with nothing hidden (staff and the library's own people)."""
    return {key: Cell(value) for key, value in values.items()}


def county_tree(rows: dict[Hashable, tuple[str, int]]) -> dict:
    """Cells of rows {key: (county, count)} with each county's total ("county", name) and
    the statewide total ("state",), suppressed together."""
    values: dict[Hashable, int] = {}
    counties: dict[tuple, list] = {}
    for key, (county, count) in rows.items():
        values[key] = count
        counties.setdefault(("county", county), []).append(key)
    for county, keys in counties.items():
        values[county] = sum(values[key] for key in keys)
    values[("state",)] = sum(values[county] for county in counties)
    sums = [*counties.items(), (("state",), list(counties))]
    return suppress(values, sums)
