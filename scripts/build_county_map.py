"""Build mentorship/data/california_counties.json, the county outlines the rollup map draws.

Run once, by hand, when the outlines need rebuilding (the output is committed, so the
app never fetches a map at run time):

    cd /tmp && npm pack us-atlas@3.0.1 && tar xzf us-atlas-3.0.1.tgz
    cd /work/main && .venv/bin/python scripts/build_county_map.py /tmp/package/counties-10m.json

The source is us-atlas 3.0.1's unprojected TopoJSON of the U.S. Census Bureau's 2017
cartographic county boundaries (public domain). The script decodes the TopoJSON
(quantized, delta-encoded arcs), keeps California's 58 counties (FIPS 06…), projects
them with California Albers (the state's own equal-area projection, EPSG:3310's
parameters on a sphere), simplifies each shared arc once with Douglas–Peucker so
neighbouring counties still meet exactly, rounds to 0.1 SVG units and picks a label
point well inside each county. Only the standard library and the project's county list
are used.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mentorship.models.library import CALIFORNIA_COUNTIES  # noqa: E402

OUTPUT = ROOT / "mentorship" / "data" / "california_counties.json"
HEIGHT = 700.0  # SVG units; the width follows from the state's shape
MARGIN = 4.0
TOLERANCE = 0.2  # Douglas–Peucker tolerance in SVG units: the source is already coarse
MIN_RING_AREA = 2.0  # square SVG units; smaller islets (Farallones…) would be a speck

Point = tuple[float, float]


def decode_arcs(topology: dict) -> list[list[Point]]:
    """Undo quantization and delta encoding: each arc becomes absolute lon/lat points."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def albers(lon: float, lat: float) -> Point:
    """California Albers (standard parallels 34° and 40.5°, centred on 120° W), unit sphere."""
    phi1, phi2, phi0, lam0 = map(math.radians, (34.0, 40.5, 0.0, -120.0))
    n = (math.sin(phi1) + math.sin(phi2)) / 2
    c = math.cos(phi1) ** 2 + 2 * n * math.sin(phi1)
    rho0 = math.sqrt(c - 2 * n * math.sin(phi0)) / n
    phi, lam = math.radians(lat), math.radians(lon)
    rho = math.sqrt(c - 2 * n * math.sin(phi)) / n
    theta = n * (lam - lam0)
    return rho * math.sin(theta), rho0 - rho * math.cos(theta)


def segment_distance(p: Point, a: Point, b: Point) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas–Peucker, iterative; the end points (shared with other arcs) always stay."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        index, worst = 0, tolerance
        for i in range(first + 1, last):
            d = segment_distance(points[i], points[first], points[last])
            if d > worst:
                index, worst = i, d
        if index:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def ring_area(ring: list[Point]) -> float:
    """Signed shoelace area (sign depends on winding)."""
    return (
        sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
        / 2
    )


def inside(point: Point, ring: list[Point]) -> bool:
    """Even–odd ray casting."""
    x, y = point
    result = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            result = not result
    return result


def edge_distance(point: Point, ring: list[Point]) -> float:
    return min(
        segment_distance(point, a, b) for a, b in zip(ring, ring[1:] + ring[:1], strict=True)
    )


def label_point(ring: list[Point]) -> Point:
    """The ring's centroid if it sits comfortably inside, else the point farthest from
    the edge found on a grid (a rough "pole of inaccessibility"): markers go around it."""
    area = ring_area(ring)
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        cx, cy = cx + (x0 + x1) * cross, cy + (y0 + y1) * cross
    centroid = (cx / (6 * area), cy / (6 * area))
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    size = min(max(xs) - min(xs), max(ys) - min(ys))
    if inside(centroid, ring) and edge_distance(centroid, ring) > size / 5:
        return centroid
    best, best_distance = centroid, -1.0
    left, top, step = min(xs), min(ys), size / 30
    for _ in range(2):  # coarse grid over the box, then a fine one around the best cell
        for i in range(int((max(xs) - left) / step) + 2):
            for j in range(int((max(ys) - top) / step) + 2):
                p = (left + i * step, top + j * step)
                if inside(p, ring) and (d := edge_distance(p, ring)) > best_distance:
                    best, best_distance = p, d
        left, top, xs, ys = best[0] - step, best[1] - step, [best[0] + step], [best[1] + step]
        step /= 10
    return best


def number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def build(topology: dict) -> dict:
    geometries = [
        g for g in topology["objects"]["counties"]["geometries"] if g["id"].startswith("06")
    ]
    names = sorted(g["properties"]["name"] for g in geometries)
    if names != sorted(CALIFORNIA_COUNTIES):
        raise SystemExit(f"us-atlas county names differ from CALIFORNIA_COUNTIES: {names}")

    arcs = decode_arcs(topology)
    used = {i if i >= 0 else ~i for g in geometries for i in iter_arc_indexes(g)}
    projected = {i: [albers(lon, lat) for lon, lat in arcs[i]] for i in used}
    xs = [x for arc in projected.values() for x, _ in arc]
    ys = [y for arc in projected.values() for _, y in arc]
    scale = (HEIGHT - 2 * MARGIN) / (max(ys) - min(ys))
    width = math.ceil((max(xs) - min(xs)) * scale + 2 * MARGIN)
    # SVG's y axis points down, so north (larger projected y) goes to the top.
    svg = {
        i: simplify(
            [((x - min(xs)) * scale + MARGIN, (max(ys) - y) * scale + MARGIN) for x, y in points],
            TOLERANCE,
        )
        for i, points in projected.items()
    }

    counties = []
    for g in sorted(geometries, key=lambda g: g["properties"]["name"]):
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        rings = []
        for polygon in polygons:
            for ring_arcs in polygon:
                ring = rounded_ring(ring_arcs, svg)
                if len(ring) >= 3 and abs(ring_area(ring)) >= MIN_RING_AREA:
                    rings.append(ring)
        largest = max(rings, key=lambda r: abs(ring_area(r)))
        x, y = label_point(largest)
        counties.append(
            {
                "name": g["properties"]["name"],
                "fips": g["id"],
                "path": "".join(
                    "M" + " ".join(f"{number(px)},{number(py)}" for px, py in ring) + "Z"
                    for ring in rings
                ),
                "label_x": round(x, 1),
                "label_y": round(y, 1),
            }
        )
    return {
        "source": "us-atlas 3.0.1 counties-10m.json (U.S. Census Bureau cartographic "
        "boundary files, 2017, 1:10,000,000), California Albers projection, "
        "built by scripts/build_county_map.py",
        "licence": "public domain (U.S. Census Bureau cartographic boundary files via us-atlas 3.0.1)",
        "view_box": f"0 0 {width} {math.ceil(HEIGHT)}",
        "counties": counties,
    }


def iter_arc_indexes(geometry: dict):
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    for polygon in polygons:
        for ring in polygon:
            yield from ring


def rounded_ring(ring_arcs: list[int], svg: dict[int, list[Point]]) -> list[Point]:
    """Join a ring's arcs (a negative index ~i means arc i reversed), round to 0.1 and
    drop repeated points and the closing point (the path's Z closes it)."""
    points: list[Point] = []
    for index in ring_arcs:
        arc = svg[index] if index >= 0 else svg[~index][::-1]
        points += arc[1:] if points else arc
    ring: list[Point] = []
    for x, y in points:
        p = (round(x, 1), round(y, 1))
        if not ring or p != ring[-1]:
            ring.append(p)
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    return ring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counties_json", type=Path, help="us-atlas 3.0.1 counties-10m.json")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = build(json.loads(args.counties_json.read_text()))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(
        f"{len(data['counties'])} counties, view box {data['view_box']}, "
        f"{args.output.stat().st_size:,} bytes → {args.output}"
    )


if __name__ == "__main__":
    main()
