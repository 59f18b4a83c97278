"""The geometry of the server-drawn SVG charts (`templates/macros/charts.html`), worked
out here so that it is tested, as the county map's is; the macros only write it out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BAR_WIDTH = 300  # the longest bar
BAR_ROW = 24  # each bar's row, in SVG units
LABEL_CHARACTER = 8.4  # about one character of the label font
CARDS_STEP, CARDS_HEIGHT, CARDS_BASE = 60, 110, 120  # one period's column; the tallest; y of 0


@dataclass(frozen=True)
class Progress:
    fill: float  # percent of the track filled, 0–100
    marks: tuple[float, ...]  # percent positions of the marks (the target, the bound)


def progress(done: float, total: float, marks: Sequence[tuple[float, Any]] = ()) -> Progress:
    """A bar `done` of `total` long, capped at full (a pilot past its target month)."""
    percent = 100 * done / total if total else 0
    return Progress(min(percent, 100), tuple(at for at, _ in marks))


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int  # top of the bar
    width: float


@dataclass(frozen=True)
class BarChart:
    label_width: float  # the label column: as wide as the longest label
    width: float
    height: int
    bars: tuple[Bar, ...]


def bar_chart(bars: Sequence[tuple[Any, int]]) -> BarChart:
    """Horizontal bars, the largest value BAR_WIDTH long."""
    top = max((value for _, value in bars), default=0)
    label_width = max((len(str(label)) for label, _ in bars), default=0) * LABEL_CHARACTER + 10
    return BarChart(
        label_width=label_width,
        width=round(label_width + BAR_WIDTH + 60),
        height=BAR_ROW * len(bars) + 4,
        bars=tuple(
            Bar(str(label), value, BAR_ROW * row + 4, BAR_WIDTH * value / top if top else 0)
            for row, (label, value) in enumerate(bars)
        ),
    )


@dataclass(frozen=True)
class CardsColumn:
    point: Any  # the period's figures (period_end, cards, students_enrolled)
    x: int  # left of the period's column
    cards_height: float
    enrolled_y: float
    value_y: float  # the count above its bar, or inside a tall one


@dataclass(frozen=True)
class CardsChart:
    width: int
    columns: tuple[CardsColumn, ...]


def cards_chart(points: Sequence[Any]) -> CardsChart:
    """Cards issued to date at the end of each period (bars) against the students enrolled
    (a line), on one scale."""
    top = max((max(p.cards, p.students_enrolled) for p in points), default=0)

    def height(value: int) -> float:
        return CARDS_HEIGHT * value / top if top else 0

    columns = []
    for index, point in enumerate(points):
        cards = height(point.cards)
        columns.append(
            CardsColumn(
                point=point,
                x=CARDS_STEP * index,
                cards_height=cards,
                enrolled_y=CARDS_BASE - height(point.students_enrolled),
                value_y=CARDS_BASE - 4 - cards if cards < 92 else CARDS_BASE + 14 - cards,
            )
        )
    return CardsChart(CARDS_STEP * len(points) + 70, tuple(columns))
