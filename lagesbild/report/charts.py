"""Charts for the situation picture, written directly as inline SVG.

Why no plotting library: the charts are simple (lines with gaps, intervals, grouped bars) and a page
is rendered for every municipality, so a fixed layout computed here costs milliseconds where
matplotlib's figure machinery and ``tight_layout`` cost about half a second per page. The report
must work offline and in print with no script, which inline SVG does. Text stays ``<text>``:
searchable, selectable and read by screen readers. Colours are the Okabe–Ito palette (safe for the
common colour-vision deficiencies), and every series also differs in line style, marker or hatch so
the charts still read when printed in greyscale.

The chart functions only ever receive published values: ``None``/NaN means "not drawn". They never
compute a total from parts, so a suppressed part cannot be read off as a difference.

Units are CSS pixels (96 per inch); the layout is fixed, with margins sized from the longest tick
label (estimated from the character count: no font metrics needed for a margin).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import escape

from lagesbild.report.cells import number
from lagesbild.report.data import memo

#: Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
SERIES_STYLES = [
    {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o"},
    {"color": OKABE_ITO["vermillion"], "linestyle": "--", "marker": "s"},
    {"color": OKABE_ITO["bluish_green"], "linestyle": ":", "marker": "^"},
    {"color": OKABE_ITO["reddish_purple"], "linestyle": "-.", "marker": "D"},
]
BAR_STYLES = [
    {"color": OKABE_ITO["blue"], "hatch": ""},
    {"color": OKABE_ITO["orange"], "hatch": "//"},
    {"color": OKABE_ITO["bluish_green"], "hatch": ".."},
    {"color": OKABE_ITO["reddish_purple"], "hatch": "xx"},
    {"color": OKABE_ITO["sky_blue"], "hatch": "\\\\"},
    {"color": OKABE_ITO["vermillion"], "hatch": "--"},
]
GAP_COLOUR = "#BBBBBB"
GRID_COLOUR = "#DDDDDD"
MUTED = "#555555"

SWEDISH_MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]

FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
FONT_PX = 13  # body text of a chart (10 pt)
SMALL_PX = 11  # legends (8 pt)
CHAR_EM = 0.6  # a generous average glyph width of the fonts above, in em
SUPPRESSED_LEGEND = "under gränsen för röjandekontroll"
GAP_LEGEND = "vecka utan full täckning"
#: Dash patterns per line style, in multiples of the line width (as matplotlib draws them).
DASHES = {"-": None, "--": (3.7, 1.6), ":": (1.0, 1.65), "-.": (6.4, 1.6, 1.0, 1.6)}


def _f(value: float) -> str:
    """A coordinate: one decimal, no trailing ``.0`` noise."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_EM


def _per_rendering(func):
    """A chart computed once per rendering block (``data.memo``): the county's charts recur unchanged
    on every municipality's page of a publication."""

    @functools.wraps(func)
    def wrapper(*args):
        return memo(("chart", func.__name__, repr(args)), lambda: func(*args))

    return wrapper


def nice_ticks(top: float, nbins: int) -> list[int]:
    """Integer ticks from 0 up to ``top``: the smallest whole step of 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k
    (k ≥ 0) that needs at most ``nbins`` intervals, as matplotlib's ``MaxNLocator(integer=True)`` picks it.
    So an axis never shows "0,0 0,5", and the ticks read as they did when matplotlib drew the charts.
    """
    raw = max(top, 1.0) / nbins
    magnitude = 10 ** max(math.floor(math.log10(raw)), 0)
    steps = (m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10))
    step = next(st for st in steps if st >= raw and float(st).is_integer())
    return list(range(0, int(top + 1e-9) + 1, int(step)))


def _tick_label(value: float) -> str:
    return number(value, 0 if float(value).is_integer() else 1)


def _marker_path(kind: str, x: float, y: float, size: float) -> str:
    """One marker as path commands, centred on (x, y); ``size`` is its width in px."""
    r = size / 2
    if kind == "o":
        return (
            f"M{_f(x - r)},{_f(y)}a{_f(r)},{_f(r)} 0 1,0 {_f(2 * r)},0a{_f(r)},{_f(r)} 0 1,0 {_f(-2 * r)},0Z"
        )
    if kind == "s":
        return f"M{_f(x - r)},{_f(y - r)}h{_f(2 * r)}v{_f(2 * r)}h{_f(-2 * r)}Z"
    if kind == "^":
        return f"M{_f(x)},{_f(y - r)}L{_f(x + r)},{_f(y + r)}L{_f(x - r)},{_f(y + r)}Z"
    if kind == "D":
        return f"M{_f(x)},{_f(y - r)}L{_f(x + r)},{_f(y)}L{_f(x)},{_f(y + r)}L{_f(x - r)},{_f(y)}Z"
    raise ValueError(f"unknown marker {kind!r}")


class _Svg:
    """An SVG document under construction; ``chart_id`` prefixes every id (several charts share a page)."""

    def __init__(self, chart_id: str, width: float, height: float):
        self.chart_id, self.width, self.height = chart_id, width, height
        self.defs: dict[str, tuple[str, str]] = {}  # key -> (id, <pattern> markup)
        self.body: list[str] = []

    def add(self, element: str) -> None:
        self.body.append(element)

    def text(self, x, y, content, size=FONT_PX, anchor="start", weight=None, fill=None, baseline=None):
        attrs = f'x="{_f(x)}" y="{_f(y)}"'
        if size != FONT_PX:
            attrs += f' font-size="{size}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if fill:
            attrs += f' fill="{fill}"'
        if baseline:
            attrs += f' dominant-baseline="{baseline}"'
        self.add(f"<text {attrs}>{escape(content)}</text>")

    def hatch(self, kind: str, background: str, colour: str = "#000000", opacity: float = 1.0) -> str:
        """``url(#...)`` of a hatch pattern: ``//``, ``\\\\``, ``xx``, ``..``, ``--``, ``///`` (dense)."""
        key = f"{kind}|{background}|{colour}|{opacity}"
        if key not in self.defs:
            pid = f"{self.chart_id}-hatch{len(self.defs)}"
            size = 5 if kind == "///" else 7
            stroke = f'stroke="{colour}" stroke-width="0.9"'
            lines = {
                "//": f'<line x1="0" y1="0" x2="0" y2="{size}" {stroke}/>',
                "///": f'<line x1="0" y1="0" x2="0" y2="{size}" {stroke}/>',
                "\\\\": f'<line x1="0" y1="0" x2="0" y2="{size}" {stroke}/>',
                "xx": f'<path d="M0,0L{size},{size}M{size},0L0,{size}" {stroke}/>',
                "--": f'<line x1="0" y1="{size / 2}" x2="{size}" y2="{size / 2}" {stroke}/>',
                "..": f'<circle cx="{size / 2}" cy="{size / 2}" r="1" fill="{colour}"/>',
            }[kind]
            rotate = {"//": 45, "///": 45, "\\\\": -45}.get(kind)
            transform = f' patternTransform="rotate({rotate})"' if rotate else ""
            self.defs[key] = (
                pid,
                (
                    f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="{size}" height="{size}"{transform}>'
                    f'<rect width="{size}" height="{size}" fill="{background}" fill-opacity="{opacity}"/>{lines}'
                    "</pattern>"
                ),
            )
        return f"url(#{self.defs[key][0]})"

    def legend(self, right: float, baseline: float, entries: list[tuple[str, str]]) -> None:
        """Entries ``(swatch SVG with its left edge at 0 and centre at 0, label)``, right-aligned in a row."""
        x = right
        for swatch, label in reversed(entries):
            x -= _text_width(label, SMALL_PX)
            self.text(x, baseline, label, size=SMALL_PX)
            x -= 22
            self.add(f'<g transform="translate({_f(x)},{_f(baseline - SMALL_PX * 0.35)})">{swatch}</g>')
            x -= 12

    def markup(self, label: str) -> str:
        defs = "<defs>" + "".join(markup for _, markup in self.defs.values()) + "</defs>" if self.defs else ""
        return (
            f'<svg role="img" aria-label="{escape(label)}" class="chart" id="{self.chart_id}" '
            f'viewBox="0 0 {_f(self.width)} {_f(self.height)}" style="max-width:{self.width:.0f}px" '
            f'font-family="{FONT}" font-size="{FONT_PX}">{defs}{"".join(self.body)}</svg>'
        )


@dataclass(frozen=True)
class _Axes:
    """A plot area in px and its data ranges; ``x``/``y`` map data to px (y grows upwards in data)."""

    left: float
    top: float
    width: float
    height: float
    x0: float
    x1: float
    y1: float  # the y range is always 0..y1

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, value: float) -> float:
        return self.top + self.height - value / self.y1 * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height


def _y_axis(svg: _Svg, ax: _Axes, ticks: Sequence[float]) -> None:
    """Horizontal grid lines and labels at ``ticks``, then the left and bottom axis lines."""
    for t in ticks:
        y = ax.y(t)
        svg.add(
            f'<line x1="{_f(ax.left)}" y1="{_f(y)}" x2="{_f(ax.left + ax.width)}" y2="{_f(y)}" '
            f'stroke="{GRID_COLOUR}" stroke-width="0.8"/>'
        )
        svg.text(ax.left - 7, y, _tick_label(t), anchor="end", baseline="central")
    svg.add(
        f'<path d="M{_f(ax.left)},{_f(ax.top)}V{_f(ax.bottom)}H{_f(ax.left + ax.width)}" '
        'fill="none" stroke="#000000" stroke-width="1"/>'
    )


def _label_margin(ticks: Sequence[float]) -> float:
    return 14 + max((_text_width(_tick_label(t), FONT_PX) for t in ticks), default=0)


def _empty_note(svg: _Svg, ax: _Axes, text: str) -> None:
    svg.text(
        ax.left + ax.width / 2, ax.top + ax.height / 2, text, anchor="middle", fill=MUTED, baseline="central"
    )


@dataclass(frozen=True)
class WeeklySeries:
    """One panel of the weekly chart: values aligned with ``weeks``; NaN = not drawn."""

    label: str
    values: Sequence[float]
    suppressed: Sequence[bool] = ()  # weeks whose value is under the disclosure threshold: marked, not drawn


def _quarter_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of January, April, July and October between ``first`` and ``last``."""
    out, year, month = [], first.year, 1
    while dt.date(year, month, 1) <= last:
        if dt.date(year, month, 1) >= first:
            out.append(dt.date(year, month, 1))
        month += 3
        if month > 12:
            year, month = year + 1, 1
    return out


@_per_rendering
def weekly_trend_svg(
    chart_id: str,
    title: str,
    weeks: Sequence[dt.date],
    series: Sequence[WeeklySeries],
    gap_weeks: Sequence[dt.date],
) -> str:
    """Small multiples, one panel per series, sharing the week axis.

    NaN breaks the line, so a week without coverage (or with a suppressed value) shows as a gap,
    never as a dip to zero. Weeks with a coverage gap get a hatched grey band in every panel.
    """
    width, plot_h, head_h, gap_h, foot_h = 864.0, 128.0, 26.0, 14.0, 40.0
    ranges = []
    for s in series:
        drawn = [v for v in s.values if not math.isnan(v)]
        y1 = max(4.0, max(drawn, default=0.0) * 1.12)  # at least 0..4: tiny values never give "0,0 0,0"
        ranges.append((drawn, y1, nice_ticks(y1, 4) if drawn else []))
    left = max(_label_margin(ticks) for _, _, ticks in ranges) if ranges else 20.0
    height = 6 + len(series) * (head_h + plot_h) + (len(series) - 1) * gap_h + foot_h
    svg = _Svg(chart_id, width, height)
    start = weeks[0]
    end = max([weeks[-1], *(g + dt.timedelta(days=7) for g in gap_weeks)])
    pad = max((end - start).days, 7) * 0.05  # matplotlib's default margin, so the axis ends as it did
    ordinal0, ordinal1 = start.toordinal() - pad, end.toordinal() + pad
    quarters = _quarter_starts(dt.date.fromordinal(math.ceil(ordinal0)), dt.date.fromordinal(int(ordinal1)))
    gap_fill = svg.hatch("///", GAP_COLOUR, "#777777", 0.5) if gap_weeks else ""
    for i, (s, (drawn, y1, ticks)) in enumerate(zip(series, ranges, strict=True)):
        top = 6 + head_h + i * (head_h + plot_h + gap_h)
        ax = _Axes(left, top, width - left - 12, plot_h, ordinal0, ordinal1, y1)
        style = SERIES_STYLES[i % len(SERIES_STYLES)]
        svg.text(left, top - 9, s.label, weight="bold")
        for gap in gap_weeks:
            x0, x1 = ax.x(gap.toordinal()), ax.x(gap.toordinal() + 7)
            svg.add(
                f'<rect x="{_f(x0)}" y="{_f(top)}" width="{_f(x1 - x0)}" height="{_f(plot_h)}" fill="{gap_fill}"/>'
            )
        for q in quarters:
            x = ax.x(q.toordinal())
            svg.add(
                f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(ax.bottom)}" '
                f'stroke="{GRID_COLOUR}" stroke-width="0.8"/>'
            )
        _y_axis(svg, ax, ticks)
        points = [
            (ax.x(w.toordinal()), ax.y(v)) if not math.isnan(v) else None
            for w, v in zip(weeks, s.values, strict=True)
        ]
        line, pen_down = [], False
        for p in points:
            if p is None:
                pen_down = False
                continue
            line.append(("L" if pen_down else "M") + f"{_f(p[0])},{_f(p[1])}")
            pen_down = True
        dashes = DASHES[style["linestyle"]]
        dash = f' stroke-dasharray="{",".join(_f(d * 1.4) for d in dashes)}"' if dashes else ""
        if line:
            svg.add(
                f'<path d="{"".join(line)}" fill="none" stroke="{style["color"]}" stroke-width="1.4"'
                f'{dash} stroke-linejoin="round"/>'
            )
            marks = "".join(_marker_path(style["marker"], x, y, 4.8) for x, y in filter(None, points))
            svg.add(f'<path d="{marks}" fill="{style["color"]}"/>')
        hidden = [w for w, flag in zip(weeks, s.suppressed, strict=False) if flag]
        if hidden:
            ticks_d = "".join(f"M{_f(ax.x(w.toordinal()) - 4.5)},{_f(ax.bottom)}h9" for w in hidden)
            svg.add(f'<path d="{ticks_d}" stroke="{MUTED}" stroke-width="2.6"/>')
        entries = []
        if i == 0 and gap_weeks:
            entries.append(
                (
                    f'<rect x="0" y="-5" width="16" height="10" fill="{gap_fill}" stroke="#777777" stroke-width="0.5"/>',
                    GAP_LEGEND,
                )
            )
        if hidden:
            entries.append((f'<path d="M3,0h10" stroke="{MUTED}" stroke-width="2.6"/>', SUPPRESSED_LEGEND))
        if entries:
            svg.legend(ax.left + ax.width, top - 8, entries)
        if not drawn:
            _empty_note(
                svg,
                ax,
                "Inga publicerade värden" + (" (under gränsen för röjandekontroll)" if hidden else ""),
            )
        if i == len(series) - 1:
            for q in quarters:
                x = ax.x(q.toordinal())
                svg.add(
                    f'<line x1="{_f(x)}" y1="{_f(ax.bottom)}" x2="{_f(x)}" y2="{_f(ax.bottom + 4)}" stroke="#000000"/>'
                )
                svg.text(x, ax.bottom + 17, SWEDISH_MONTHS[q.month - 1], anchor="middle")
                if q.month == 1:
                    svg.text(x, ax.bottom + 32, str(q.year), anchor="middle")
    return svg.markup(title)


@dataclass(frozen=True)
class IntervalPanel:
    """One region's yearly estimates: ``None`` = not published, not drawn."""

    label: str
    years: Sequence[int]
    central: Sequence[float | None]
    low: Sequence[float | None]
    high: Sequence[float | None]
    weeks: Sequence[int | None] = ()  # covered weeks per year, shown under the year


@_per_rendering
def yearly_interval_svg(chart_id: str, title: str, panels: Sequence[IntervalPanel]) -> str:
    """Point estimate with its low–high interval per year, one panel per region (own y scale)."""
    panel_w, height, head_h, foot_h = 413.0, 288.0, 30.0, 44.0
    width = panel_w * len(panels) + 38
    svg = _Svg(chart_id, width, height)
    for i, p in enumerate(panels):
        style = SERIES_STYLES[i % len(SERIES_STYLES)]
        published = [v for v in (*p.central, *p.high) if v is not None]
        # At least 0..4, so tiny estimates never give a collapsed axis with ticks like "0,0 0,0 0".
        y1 = max(4.0, max(published, default=0.0) * 1.12)
        has_central = any(v is not None for v in p.central)
        ticks = nice_ticks(y1, 5) if has_central else []
        left = 19 + i * panel_w + _label_margin(ticks)
        years = list(p.years)
        x0, x1 = (min(years) - 0.6, max(years) + 0.9) if years else (0.0, 1.0)
        right = 19 + (i + 1) * panel_w - 12
        ax = _Axes(left, head_h, right - left, height - head_h - foot_h, x0, x1, y1)
        svg.text(left, head_h - 10, p.label, weight="bold")
        _y_axis(svg, ax, ticks)
        colour = style["color"]
        for year, c, lo, hi in zip(p.years, p.central, p.low, p.high, strict=True):
            x = ax.x(year)
            if c is None:  # not published: a mark at the base line, not a silent hole
                svg.text(x, ax.bottom - 3, "—", size=16, anchor="middle", weight="bold", fill="#333333")
            if lo is not None and hi is not None:
                cap = (ax.x(year + 0.12) - ax.x(year - 0.12)) / 2
                svg.add(
                    f'<path d="M{_f(x)},{_f(ax.y(lo))}V{_f(ax.y(hi))}" stroke="{colour}" stroke-width="2.9"/>'
                    f'<path d="M{_f(x - cap)},{_f(ax.y(lo))}h{_f(2 * cap)}M{_f(x - cap)},{_f(ax.y(hi))}h{_f(2 * cap)}" '
                    f'stroke="{colour}" stroke-width="1.9"/>'
                )
            if c is not None:
                y = ax.y(c)
                svg.add(
                    f'<path d="{_marker_path(style["marker"], x, y, 9.3)}" fill="{colour}" '
                    'stroke="#000000" stroke-width="0.8"/>'
                )
                svg.text(x + 11, y, number(c), size=12, baseline="central")
        weeks = list(p.weeks) or [None] * len(years)
        for year, w in zip(years, weeks, strict=True):
            x = ax.x(year)
            svg.add(
                f'<line x1="{_f(x)}" y1="{_f(ax.bottom)}" x2="{_f(x)}" y2="{_f(ax.bottom + 4)}" stroke="#000000"/>'
            )
            svg.text(x, ax.bottom + 17, str(year), anchor="middle")
            if w is not None:
                svg.text(x, ax.bottom + 32, f"{int(w)} veckor", anchor="middle")
        if not has_central:
            _empty_note(svg, ax, "Inga publicerade värden")
    return svg.markup(title)


@_per_rendering
def grouped_bars_svg(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    groups: Sequence[tuple[str, Sequence[float | None]]],
    y_label: str,
) -> str:
    """Grouped (never stacked) bars; a ``None`` value gets no bar and a "—" at the base line."""
    width, height, head_h, foot_h = 864.0, 307.0, 30.0, 30.0
    values = [v for _, vs in groups for v in vs if v is not None]
    y1 = max(values, default=0.0) * 1.05 or 1.0  # matplotlib's default margin above the tallest bar
    ticks = nice_ticks(y1, 5)
    left = 26 + _label_margin(ticks)
    ax = _Axes(left, head_h, width - left - 12, height - head_h - foot_h, -0.5, len(categories) - 0.5, y1)
    svg = _Svg(chart_id, width, height)
    _y_axis(svg, ax, ticks)
    svg.add(
        f'<text transform="translate(14,{_f(ax.top + ax.height / 2)}) rotate(-90)" text-anchor="middle" '
        f'dominant-baseline="central">{escape(y_label)}</text>'
    )
    n = max(len(groups), 1)
    group_w = 0.8 / n
    entries = []
    for g, (label, vals) in enumerate(groups):
        style = BAR_STYLES[g % len(BAR_STYLES)]
        fill = svg.hatch(style["hatch"], style["color"]) if style["hatch"] else style["color"]
        entries.append(
            (
                f'<rect x="0" y="-5" width="16" height="10" fill="{fill}" stroke="#000000" stroke-width="0.6"/>',
                label,
            )
        )
        for k, value in enumerate(vals):
            x = k - 0.4 + group_w * (g + 0.5)
            if value is None:
                svg.text(ax.x(x), ax.bottom - 3, "—", size=16, anchor="middle", weight="bold", fill="#333333")
                continue
            bar_left, bar_right = ax.x(x - group_w * 0.46), ax.x(x + group_w * 0.46)
            top = ax.y(value)
            svg.add(
                f'<rect x="{_f(bar_left)}" y="{_f(top)}" width="{_f(bar_right - bar_left)}" '
                f'height="{_f(ax.bottom - top)}" fill="{fill}" stroke="#000000" stroke-width="0.6"/>'
            )
    for k, category in enumerate(categories):
        x = ax.x(k)
        svg.add(
            f'<line x1="{_f(x)}" y1="{_f(ax.bottom)}" x2="{_f(x)}" y2="{_f(ax.bottom + 4)}" stroke="#000000"/>'
        )
        svg.text(x, ax.bottom + 17, category, anchor="middle")
    svg.legend(ax.left + ax.width, head_h - 12, entries)
    return svg.markup(title)
