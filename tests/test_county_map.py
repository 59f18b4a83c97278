"""The statewide county map: committed outlines, shading classes, markers, the SVG macro."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask import render_template_string

from mentorship.models.library import CALIFORNIA_COUNTIES
from mentorship.services.county_map import (
    CLASS_FILLS,
    CLASS_PATTERNS,
    PATTERN_INK,
    build_county_map,
    county_outlines,
)


def rings(path: str) -> list[list[tuple[float, float]]]:
    """Our paths are absolute "Mx,y x,y …Z" rings (implicit line-to after M)."""
    assert re.fullmatch(r"(M[-\d., ]+Z)+", path), path[:80]
    return [
        [tuple(map(float, pair.split(","))) for pair in ring.split()]
        for ring in re.findall(r"M([^Z]+)Z", path)
    ]


def inside(point, county_rings) -> bool:
    """Even–odd ray casting over every ring of the county (islands, any holes)."""
    x, y = point
    result = False
    for ring in county_rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
                result = not result
    return result


def test_outlines_are_californias_58_counties_with_our_spelling():
    data = county_outlines()
    names = [c["name"] for c in data["counties"]]
    assert len(names) == 58
    assert sorted(names) == sorted(CALIFORNIA_COUNTIES)
    fips = [c["fips"] for c in data["counties"]]
    assert len(set(fips)) == 58 and all(re.fullmatch(r"06\d{3}", f) for f in fips)
    assert "public domain" in data["licence"] and "us-atlas" in data["source"]
    # Committed once and small enough to load into every rollup page's process.
    size = Path(__file__).parent.parent / "mentorship" / "data" / "california_counties.json"
    assert size.stat().st_size < 150_000


def test_every_outline_is_drawn_inside_the_view_box():
    data = county_outlines()
    _, _, width, height = map(float, data["view_box"].split())
    for county in data["counties"]:
        county_rings = rings(county["path"])
        assert county_rings, county["name"]
        for ring in county_rings:
            assert len(ring) >= 3, county["name"]
            assert all(0 <= x <= width and 0 <= y <= height for x, y in ring), county["name"]


def test_each_label_point_lies_in_its_own_county_and_no_other():
    counties = county_outlines()["counties"]
    shapes = {c["name"]: rings(c["path"]) for c in counties}
    for county in counties:
        point = (county["label_x"], county["label_y"])
        containing = [name for name, county_rings in shapes.items() if inside(point, county_rings)]
        assert containing == [county["name"]]


@pytest.mark.parametrize(
    ("ratio", "legend_label", "text"),
    [
        (0, "0–19%", "Alameda County: 0.0% of enrolled students have a card"),
        (0.19, "0–19%", "Alameda County: 19.0% of enrolled students have a card"),
        (0.2, "20–39%", "Alameda County: 20.0% of enrolled students have a card"),
        (0.85, "80% or more", "Alameda County: 85.0% of enrolled students have a card"),
        (1.3, "80% or more", "Alameda County: 130.0% of enrolled students have a card"),
        (None, "no figures yet", "Alameda County: no figures yet"),
    ],
)
def test_shading_matches_the_legend(ratio, legend_label, text):
    county_map = build_county_map({"Alameda": ratio}, [])
    alameda = next(s for s in county_map.shapes if s.name == "Alameda")
    legend = {entry.label: entry.fill for entry in county_map.legend}
    assert alameda.fill == legend[legend_label]
    assert alameda.label == text


def test_counties_left_out_have_no_figures_and_classes_run_light_to_dark():
    county_map = build_county_map({"Alameda": 0.5}, [])
    others = [s for s in county_map.shapes if s.name != "Alameda"]
    assert len(others) == 57 and all(s.fill is None for s in others)
    assert [e.fill for e in county_map.legend] == [*CLASS_FILLS, None]
    assert county_map.summary.startswith("1 of 58 counties have figures")

    def luminance(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert [luminance(f) for f in CLASS_FILLS] == sorted(map(luminance, CLASS_FILLS), reverse=True)


def test_unknown_counties_and_roles_are_refused_not_dropped():
    with pytest.raises(ValueError, match="Atlantis"):
        build_county_map({"Atlantis": 0.5}, [])
    with pytest.raises(ValueError, match="Atlantis"):
        build_county_map({}, [("Atlantis", "pilot", "Atlantis Library")])
    with pytest.raises(ValueError, match="role"):
        build_county_map({}, [("Napa", "staff", "Napa County Library")])
    # "County" suffixes and other spellings of a real county are fine.
    county_map = build_county_map({"los angeles county": 0.4}, [])
    assert next(s for s in county_map.shapes if s.name == "Los Angeles").fill == CLASS_FILLS[2]


def test_markers_use_a_shape_per_role_and_do_not_overlap_in_a_shared_county():
    libraries = [
        ("Alameda", "pilot", "Hayward Public Library"),
        ("Alameda", "mentor", "Oakland Public Library"),
        ("Alameda", "pilot", "Berkeley Public Library"),
        ("Alameda", "pilot", "Alameda Free Library"),
        ("Alameda", "mentor", "Alameda County Library"),
        ("Napa", "mentor", "Napa County Library"),
    ]
    county_map = build_county_map({}, libraries)
    markers = county_map.markers
    assert {(m.role, m.shape) for m in markers} == {("pilot", "circle"), ("mentor", "square")}
    assert {m.library for m in markers} == {name for _, _, name in libraries}
    oakland = next(m for m in markers if m.library == "Oakland Public Library")
    assert oakland.title == "Oakland Public Library: mentor library, Alameda County"
    alameda = [m for m in markers if m.county == "Alameda"]
    for i, a in enumerate(alameda):
        for b in alameda[i + 1 :]:
            # Centres at least a circle's width (plus its halo) apart: nothing hides another.
            assert math.dist((a.x, a.y), (b.x, b.y)) >= a.size * 1.128 + 1.5
    # Markers sit around the county's label point.
    outline = next(c for c in county_outlines()["counties"] if c["name"] == "Alameda")
    assert (
        math.dist(
            (outline["label_x"], outline["label_y"]),
            (sum(m.x for m in alameda) / 5, sum(m.y for m in alameda) / 5),
        )
        < alameda[0].size
    )
    napa = next(m for m in markers if m.county == "Napa")
    assert napa.shape == "square"
    assert "3 pilot libraries are marked with circles, 3 mentor libraries with squares" in (
        county_map.summary
    )


def render(app, county_map) -> str:
    with app.test_request_context():
        return render_template_string(
            '{% from "_county_map.html" import county_map %}'
            '{{ county_map(m, "Card coverage by county", "Darker is more & better") }}',
            m=county_map,
        )


def contrast(a: str, b: str) -> float:
    """WCAG 2.1's contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_each_class_reaches_3_to_1_against_white_or_carries_its_own_pattern():
    # WCAG 1.4.11: a county shaded in a faint blue beside the white page must still be seen.
    for fill, pattern in zip(CLASS_FILLS, CLASS_PATTERNS, strict=True):
        assert contrast(fill, "#ffffff") >= 3 or pattern, fill
        if pattern:
            assert contrast(PATTERN_INK, "#ffffff") >= 3 and contrast(PATTERN_INK, fill) >= 3
    assert contrast(CLASS_FILLS[0], "#ffffff") < 3  # the lightest does need its pattern
    patterns = [p for p in CLASS_PATTERNS if p]
    assert len(set(patterns)) == len(patterns) and "none" not in patterns


def test_macro_draws_an_accessible_svg_that_parses_as_xml(app):
    county_map = build_county_map(
        {"Alameda": 0.42, "Napa": None, "Kern": 0.9},
        [
            ("Alameda", "pilot", "Hayward Public Library"),
            ("Napa", "mentor", "Napa <County> Library"),
        ],
    )
    html = render(app, county_map)
    figure = ET.fromstring(html)  # raises if any tag is unclosed or text unescaped
    svg = figure.find("svg")
    assert svg.get("role") == "img" and svg.get("viewBox") == county_map.view_box
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find("title").get("id") == title_id
    assert svg.find("title").text == "Card coverage by county"
    assert svg.find("desc").get("id") == desc_id
    assert svg.find("desc").text == "Darker is more & better"

    paths = svg.findall(".//path")
    assert len(paths) == 58
    by_title = {p.find("title").text: p for p in paths}
    alameda = by_title["Alameda County: 42.0% of enrolled students have a card"]
    # 42% is the third class: its blue under its own pattern (the lightest three carry one).
    patterns = {p.get("id"): p for p in svg.iter("pattern")}
    stripes = patterns[alameda.get("fill").removeprefix("url(#").removesuffix(")")]
    assert stripes.find("rect").get("fill") == CLASS_FILLS[2]
    assert (
        by_title["Napa County: no figures yet"].get("fill")
        == f"url(#{svg.find('.//pattern').get('id')})"
    )

    circle, square = svg.findall(".//circle[title]"), svg.findall(".//rect[title]")
    assert [c.find("title").text for c in circle] == [
        "Hayward Public Library: pilot library, Alameda County"
    ]
    assert [r.find("title").text for r in square] == [
        "Napa <County> Library: mentor library, Napa County"
    ]

    legend = [" ".join(li.itertext()).strip() for li in figure.iter("li")]
    assert legend == [
        "0–19%", "20–39%", "40–59%", "60–79%", "80% or more", "no figures yet",
        "pilot library", "mentor library",
    ]  # fmt: skip
    # The Content-Security-Policy allows no inline styles.
    assert not any(el.get("style") is not None or el.tag == "style" for el in figure.iter())


def test_the_stylesheet_scales_the_map_to_the_column(app):
    css = (Path(app.static_folder) / "app.css").read_text()
    rule = re.search(r"\.county-map-svg \{([^}]*)\}", css).group(1)
    assert "width: 100%" in rule and "height: auto" in rule
