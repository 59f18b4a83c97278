"""The statewide map: California's 58 counties shaded by card coverage, libraries marked.

The outlines come from mentorship/data/california_counties.json (public-domain Census
boundaries, built once by scripts/build_county_map.py), so nothing is fetched at run
time. Shading is never the only carrier of a figure: every county has a text label
(its <title>) and the page puts the same figures in a table.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..models.library import CALIFORNIA_COUNTIES, california_county
from .figures import percent, percent_value

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "california_counties.json"

# A single-hue blue ramp (from ColorBrewer "Blues"): lightness alone separates the
# classes, so it reads the same with any colour-vision deficiency and in greyscale print.
# It stops at #2171b5 so the near-black borders keep 3:1 (WCAG 1.4.11) on every class.
CLASS_FILLS = ("#eff3ff", "#bdd7e7", "#6baed6", "#4292c6", "#2171b5")
CLASS_LABELS = ("0–19%", "20–39%", "40–59%", "60–79%", "80% or more")
# The three lightest fills stay under 3:1 against white (WCAG 1.4.11), and no blue ramp
# can lift them there while the darkest keeps 3:1 against the borders: those classes carry
# a near-black pattern as well, each its own, so no class is told by a faint colour alone.
CLASS_PATTERNS = ("sparse-dots", "dots", "stripes", None, None)
PATTERN_INK = "#1b1f24"
NO_FIGURES_LABEL = "no figures yet"
# Near-black borders and marker outlines: 16.6:1 against white, 3.2:1 against the
# darkest class. Markers also get white (a halo or a fill), so each has an edge of 3:1
# or more against whatever county lies under it.
BORDER = "#1b1f24"
MARKER_SIZE = 12.0  # SVG units (the map is about 600 wide): a square's side
MARKER_GAP = 4.0  # room for the larger circle and its white halo
MARKERS_PER_ROW = 3
ROLE_SHAPES = {"pilot": "circle", "mentor": "square"}


@dataclass(frozen=True)
class CountyShape:
    name: str
    fips: str
    path: str
    fill: str | None  # None: no figures, drawn hatched so it differs from "0–19%"
    coverage_class: int | None  # index into the legend, None for no figures
    label: str
    pattern: str | None = None  # drawn over the fill (CLASS_PATTERNS)


@dataclass(frozen=True)
class LegendEntry:
    label: str
    fill: str | None  # None: the hatched "no figures" swatch
    pattern: str | None = None


@dataclass(frozen=True)
class Marker:
    library: str
    role: str  # "pilot" or "mentor"
    county: str
    shape: str  # "circle" (pilot) or "square" (mentor)
    x: float  # centre
    y: float
    size: float
    title: str


@dataclass(frozen=True)
class CountyMap:
    view_box: str
    shapes: tuple[CountyShape, ...]
    legend: tuple[LegendEntry, ...]
    markers: tuple[Marker, ...]
    summary: str  # one sentence for the SVG's <desc> or a caption


@functools.cache
def county_outlines() -> dict:
    """The committed outlines, read once per process."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def coverage_class(ratio: float | None) -> int | None:
    """The shading class, from the percentage as written (services.figures.percent), so a
    county labelled "20.0%" is never shaded as "0–19%"."""
    if ratio is None:
        return None
    return min(int(max(percent_value(ratio), 0.0)) // 20, len(CLASS_FILLS) - 1)


COVERAGE_WORDS = "of enrolled students have a card"


def county_label(county: str, ratio: float | None, words: str = COVERAGE_WORDS) -> str:
    if ratio is None:
        return f"{county} County: {NO_FIGURES_LABEL}"
    return f"{county} County: {percent(ratio)} {words}"


def _county(name: str) -> str:
    county = california_county(name)
    if county is None:
        raise ValueError(f"{name!r} is not a California county")
    return county


def _marker_offsets(count: int) -> list[tuple[float, float]]:
    """Centres for `count` markers in rows of three, centred on (0, 0), so libraries
    sharing a county sit side by side instead of on top of each other."""
    step = MARKER_SIZE + MARKER_GAP
    rows = [min(MARKERS_PER_ROW, count - start) for start in range(0, count, MARKERS_PER_ROW)]
    offsets = []
    for row, in_row in enumerate(rows):
        y = (row - (len(rows) - 1) / 2) * step
        offsets += [((i - (in_row - 1) / 2) * step, y) for i in range(in_row)]
    return offsets


def build_county_map(
    coverage: dict[str, float | None],
    libraries: Iterable[tuple[str, str, str]],
    marker_title: str = "{name}: {role} library, {county} County",
    words: str = COVERAGE_WORDS,
) -> CountyMap:
    """Shade each county by its coverage ratio (cards / students enrolled; None or
    missing: no figures) and mark each (county, role, library name) near the county's
    label point (`marker_title` words its tooltip; a marker may stand for several
    libraries). Unknown county names raise ValueError rather than vanish from the map."""
    ratios = {_county(name): ratio for name, ratio in coverage.items()}
    outlines = county_outlines()
    shapes = []
    for county in outlines["counties"]:
        ratio = ratios.get(county["name"])
        klass = coverage_class(ratio)
        shapes.append(
            CountyShape(
                name=county["name"],
                fips=county["fips"],
                path=county["path"],
                fill=None if klass is None else CLASS_FILLS[klass],
                coverage_class=klass,
                label=county_label(county["name"], ratio, words),
                pattern=None if klass is None else CLASS_PATTERNS[klass],
            )
        )

    by_county: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for county, role, name in libraries:
        if role not in ROLE_SHAPES:
            raise ValueError(f"role must be pilot or mentor, not {role!r}")
        by_county[_county(county)].append((role, name))
    anchors = {c["name"]: (c["label_x"], c["label_y"]) for c in outlines["counties"]}
    markers = []
    for county in sorted(by_county):
        # Pilots first, then mentors, each by name: the same data always draws the same map.
        placed = sorted(by_county[county], key=lambda item: (item[0] != "pilot", item[1]))
        x0, y0 = anchors[county]
        for (role, name), (dx, dy) in zip(placed, _marker_offsets(len(placed)), strict=True):
            markers.append(
                Marker(
                    library=name,
                    role=role,
                    county=county,
                    shape=ROLE_SHAPES[role],
                    x=round(x0 + dx, 1),
                    y=round(y0 + dy, 1),
                    size=MARKER_SIZE,
                    title=marker_title.format(name=name, role=role, county=county),
                )
            )

    legend = tuple(
        LegendEntry(label, fill, pattern)
        for label, fill, pattern in zip(CLASS_LABELS, CLASS_FILLS, CLASS_PATTERNS, strict=True)
    )
    pilots = sum(m.role == "pilot" for m in markers)
    with_figures = sum(s.fill is not None for s in shapes)
    share = (
        "a larger share of enrolled students with a library card"
        if words == COVERAGE_WORDS
        else f"a larger share ({words})"
    )
    summary = (
        f"{with_figures} of {len(CALIFORNIA_COUNTIES)} counties have figures; darker blue "
        f"means {share}. "
        f"{pilots} pilot {'library is' if pilots == 1 else 'libraries are'} marked with circles, "
        f"{len(markers) - pilots} mentor {'library' if len(markers) - pilots == 1 else 'libraries'} with squares."
    )
    return CountyMap(
        view_box=outlines["view_box"],
        shapes=tuple(shapes),
        legend=legend + (LegendEntry(NO_FIGURES_LABEL, None),),
        markers=tuple(markers),
        summary=summary,
    )
