"""A map of the county's municipalities (or the whole country) shaded by a published rate, as inline SVG.

The boundaries are the shared reference TopoJSON (``reference/``), decoded here: TopoJSON stores
each shared border once as an *arc* of delta-encoded integer positions; a polygon is a list of arc
indices, where a negative index ``~i`` means arc ``i`` reversed. :func:`decode_arcs` and
:func:`rings` follow the specification (github.com/topojson/topojson-specification), so no library
is needed. The map works offline: the SVG is part of the page, with a hatch pattern for municipalities
whose rate is suppressed and a grey fill for those without a value of their own.

Only published values are drawn or written: the shade classes are labelled with the smallest and
largest published value in each class, never with computed boundaries.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

import pandas as pd
from markupsafe import Markup

from lagesbild.report.cells import SUPPRESSED, cell, number
from lagesbild.report.data import PREVALENCE_YEARLY, mart, memo
from lagesbild.report.names import NATIONAL_CODE, official_name, short_name
from lagesbild.report.summary import headline_row
from lagesbild.report.templating import render

#: Sequential blues (ColorBrewer "Blues", 5 classes): light = low, dark = high; reads in greyscale too.
CLASS_COLOURS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
NO_VALUE_COLOUR = "#e6e6e6"
RATE_COLUMN = "est_purchases_per_10k"


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute (longitude, latitude) positions of every arc, undoing quantisation and delta encoding."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy, *_ in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(float(p[0]), float(p[1])) for p in arc]
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indices: list[int]) -> list[tuple[float, float]]:
    """One closed ring from arc indices; consecutive arcs share their joining position (kept once)."""
    points: list[tuple[float, float]] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def rings(arcs: list, geometry: dict) -> list[list[tuple[float, float]]]:
    """Every ring (outer and holes) of a Polygon or MultiPolygon geometry."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return [ring(arcs, r) for r in geometry["arcs"]]
    if kind == "MultiPolygon":
        return [ring(arcs, r) for polygon in geometry["arcs"] for r in polygon]
    return []


@dataclass(frozen=True)
class Shape:
    code: str
    rings: tuple


@functools.cache
def _shapes(filename: str, code_key: str) -> tuple[Shape, ...]:
    path = resources.files("lagesbild.report").joinpath(f"reference/{filename}")
    topology = json.loads(path.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    (obj,) = topology["objects"].values()
    return tuple(
        Shape(str(g["properties"][code_key]), tuple(tuple(r) for r in rings(arcs, g)))
        for g in obj["geometries"]
    )


def municipality_shapes() -> tuple[Shape, ...]:
    return _shapes("municipality_boundaries_2019.topojson", "KnKod")


def county_shapes() -> tuple[Shape, ...]:
    return _shapes("county_boundaries_2019.topojson", "LnKod")


def _projector(shapes: list[Shape], width: float):
    """Equirectangular projection scaled by cos(mean latitude), fitted to ``width`` pixels."""
    lons = [p[0] for s in shapes for r in s.rings for p in r]
    lats = [p[1] for s in shapes for r in s.rings for p in r]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    x0, x1, y0, y1 = min(lons) * k, max(lons) * k, min(lats), max(lats)
    scale = width / (x1 - x0)
    height = (y1 - y0) * scale

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon * k - x0) * scale, (y1 - lat) * scale

    return project, height


def _path(shape: Shape, project) -> str:
    parts = []
    for r in shape.rings:
        pts = [project(*p) for p in r]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
    return "".join(parts)


def _classes(values: list[float], n: int = len(CLASS_COLOURS)) -> list[list[float]]:
    """Published values split into at most ``n`` groups of about equal size (quantiles), sorted."""
    ordered = sorted(set(values))
    if not ordered:
        return []
    n = min(n, len(ordered))
    return [ordered[round(i * len(ordered) / n) : round((i + 1) * len(ordered) / n)] for i in range(n)]


def map_facts(marts: dict, county_code: str) -> dict | None:
    """Per municipality of the map: status (ok, suppressed, pooled, none) and the published rate."""
    yearly = mart(marts, PREVALENCE_YEARLY)
    if yearly is None or RATE_COLUMN not in yearly.columns or yearly.empty:
        return None
    county_rows = yearly[yearly["region_level"].astype(str) == "county"]
    if county_rows.empty:
        return None
    year = int(headline_row(county_rows)["year"])
    national = county_code == NATIONAL_CODE
    shapes = [s for s in municipality_shapes() if national or s.code[:2] == county_code]
    if not shapes:
        return None
    rows = yearly[(yearly["year"] == year) & (yearly["region_level"].astype(str) == "municipality")]
    by_code = {str(r["region_code"]): r for _, r in rows.iterrows()}
    pooled = not yearly[yearly["region_level"].astype(str) == "pooled"].empty
    status, values = {}, {}
    for shape in shapes:
        row = by_code.get(shape.code)
        c = cell(row, RATE_COLUMN) if row is not None else None
        if c is not None and c.ok:
            status[shape.code], values[shape.code] = "ok", float(c.value)
        elif c is not None and c.status == SUPPRESSED:
            # a member of the small-area pool has no own estimate but is counted in "Övriga länet"
            member = row is not None and pd.notna(row.get("pool_code")) and pooled
            status[shape.code] = "pooled" if member else "suppressed"
        else:
            status[shape.code] = "pooled" if pooled else "none"
    return {"year": year, "shapes": shapes, "status": status, "values": values, "national": national}


def _projected(shapes: list[Shape], width: float, national: bool) -> tuple[dict[str, str], list[str], float]:
    """Each shape's SVG path by code, the county borders (national map) and the map's height."""
    project, height = _projector(shapes, width)
    paths = {shape.code: _path(shape, project) for shape in shapes}
    borders = [_path(s, project) for s in county_shapes()] if national else []
    return paths, borders, height


def map_svg(facts: dict, highlight: str | None = None, width: float = 560) -> tuple[Markup, list]:
    shapes = facts["shapes"]
    codes = tuple(s.code for s in shapes)
    # The same outlines on every page of a publication: projected once per rendering block.
    projected, borders, height = memo(
        ("map_paths", codes, width, facts["national"]), lambda: _projected(shapes, width, facts["national"])
    )
    classes = _classes(list(facts["values"].values()))
    colour_of = {}
    for colour, members in zip(CLASS_COLOURS[-len(classes) :] if classes else [], classes, strict=False):
        for v in members:
            colour_of[v] = colour
    paths = []
    for shape in shapes:
        code = shape.code
        st = facts["status"][code]
        name = short_name(code)
        if st == "ok":
            fill = colour_of[facts["values"][code]]
            label = f"{name}: {number(facts['values'][code], 1)} skattade köp per 10 000 invånare"
        elif st == "suppressed":
            fill = "url(#hatch)"
            label = f"{name}: under gränsen för röjandekontroll"
        else:
            fill = NO_VALUE_COLOUR
            label = f"{name}: ingen egen skattning" + (" (ingår i ”Övriga länet”)" if st == "pooled" else "")
        stroke = ("#000", "1.8") if code == highlight else ("#ffffff" if facts["national"] else "#555", "0.5")
        paths.append((projected[code], fill, stroke[0], stroke[1], label, code))
    legend = [
        (colour, number(min(members), 1) + ("" if len(members) == 1 else "–" + number(max(members), 1)))
        for colour, members in zip(CLASS_COLOURS[-len(classes) :] if classes else [], classes, strict=False)
    ]
    svg = render(
        "map_svg.html.j2",
        width=f"{width:.0f}",
        height=f"{height:.0f}",
        paths=paths,
        borders=borders,
        highlight=[p for p in paths if p[5] == highlight],
    )
    return svg, legend


def section(ctx) -> Markup:
    """The map section, or an empty string when the publication has no rates to map."""
    county_code = ctx.county.code
    facts = memo(("map_facts", county_code), lambda: map_facts(ctx.marts, county_code))
    if facts is None:
        return Markup("")
    highlight = None if ctx.region.is_county else ctx.region.code
    svg, legend = map_svg(facts, highlight, width=420 if facts["national"] else 560)
    statuses = set(facts["status"].values())
    return render(
        "map.html.j2",
        svg=svg,
        legend=legend,
        year=facts["year"],
        area=official_name(county_code),
        has_suppressed="suppressed" in statuses,
        has_pooled="pooled" in statuses,
        has_none="none" in statuses,
        region=ctx.region,
    )


__all__ = ["decode_arcs", "map_facts", "map_svg", "ring", "rings", "section", "pd"]
