"""The report's SVG charts, drawn without a plotting library: well-formed, only published values,
gaps as gaps, suppressed values as marks, ticks as matplotlib chose them for the same data."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET

import pytest

from lagesbild.report import charts
from lagesbild.report.cells import number

WEEKS = [dt.date(2024, 1, 1) + dt.timedelta(weeks=i) for i in range(8)]


def _texts(svg: str) -> list[str]:
    return [("".join(t.itertext())) for t in ET.fromstring(svg).iter("text")]


@pytest.mark.parametrize(
    ("top", "nbins", "expected"),
    [
        # what matplotlib's MaxNLocator(integer=True) drew for the demo publications
        (1556.0, 5, [0, 400, 800, 1200]),
        (3200.0, 5, [0, 800, 1600, 2400, 3200]),
        (1150.0, 5, [0, 250, 500, 750, 1000]),
        (11.2, 4, [0, 3, 6, 9]),
        (15.7, 4, [0, 4, 8, 12]),
        (4.0, 4, [0, 1, 2, 3, 4]),
        (1.0, 5, [0, 1]),  # no bar at all: 0 and 1, never "0,0 0,0 0,0"
    ],
)
def test_ticks_are_whole_numbers_with_matplotlibs_steps(top, nbins, expected):
    assert charts.nice_ticks(top, nbins) == expected


def test_weekly_gap_breaks_the_line_and_suppressed_weeks_are_marked_not_drawn():
    values = [5.0, 6.0, math.nan, 7.0, 8.0, math.nan, math.nan, 9.0]
    suppressed = (False, False, False, False, False, True, False, False)
    svg = charts.weekly_trend_svg.__wrapped__(
        "chart-test",
        "Annonser per vecka, Testkommun",
        WEEKS,
        [
            charts.WeeklySeries("Annonser sedda", values, suppressed),
            charts.WeeklySeries("Tom", [math.nan] * 8),
        ],
        [WEEKS[2]],
    )
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Annonser per vecka, Testkommun"
    line = next(p.get("d") for p in root.iter("path") if p.get("stroke-width") == "1.4")
    # three runs of published weeks: 0-1, 3-4 and 7; NaN is a gap, never a zero
    assert line.count("M") == 3 and line.count("L") == 2
    texts = _texts(svg)
    assert "vecka utan full täckning" in texts and "under gränsen för röjandekontroll" in texts
    assert "Inga publicerade värden" in texts  # the all-NaN panel
    gap_bands = [r for r in root.iter("rect") if (r.get("fill") or "").startswith("url(#chart-test-hatch")]
    assert len(gap_bands) == 2 + 1  # one band per panel, plus the legend swatch
    ids = [p.get("id") for p in root.iter("pattern")]
    assert ids and all(i.startswith("chart-test-") for i in ids)  # never collides with another chart's


def test_yearly_intervals_write_only_the_published_central_values():
    panel = charts.IntervalPanel(
        "Testkommun",
        [2024, 2025],
        central=[1438.0, None],
        low=[610.0, None],
        high=[2890.0, None],
        weeks=[52, 30],
    )
    svg = charts.yearly_interval_svg.__wrapped__("chart-yearly-test", "Skattade sexköp per år", [panel])
    texts = _texts(svg)
    assert number(1438.0) in texts
    assert "—" in texts  # 2025 is not published: a mark at the base line
    assert "52 veckor" in texts and "30 veckor" in texts
    # the interval ends are drawn, not written (as before), and nothing unpublished is written
    assert number(610.0) not in texts and number(2890.0) not in texts


def test_grouped_bars_draw_no_bar_for_a_suppressed_value():
    groups = [("2024", [8.0, None, 5.0]), ("2025", [None, 13.0, 0.0])]
    svg = charts.grouped_bars_svg.__wrapped__(
        "chart-ages-test", "Lagförda köpare", ["18–24", "25–34", "35–44"], groups, "köpare"
    )
    root = ET.fromstring(svg)
    bars = [r for r in root.iter("rect") if r.get("stroke") == "#000000" and r.get("x") != "0"]  # not legend
    assert len(bars) == 4  # six values, two of them suppressed
    texts = _texts(svg)
    assert texts.count("—") == 2 and {"2024", "2025", "köpare", "18–24"} <= set(texts)
    assert re.search(r'<pattern id="chart-ages-test-hatch\d+"', svg)  # 2025's bars are hatched too


def test_charts_escape_labels():
    svg = charts.grouped_bars_svg.__wrapped__("chart-x", 'A "<b>" & co', ["<i>"], [("<s>", [1.0])], "köpare")
    root = ET.fromstring(svg)  # would not parse with raw markup in it
    assert root.get("aria-label") == 'A "<b>" & co'
    assert {"<i>", "<s>"} <= set(_texts(svg))
