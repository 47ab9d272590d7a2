"""Charts for the situation picture: matplotlib (Agg) rendered to inline SVG.

Why matplotlib and not a JavaScript library: the report must work offline and in print with no
script at all, and matplotlib is already a project dependency. Colours are the Okabe–Ito palette
(safe for the common colour-vision deficiencies), and every series also differs in line style,
marker or hatch so the charts still read when printed in greyscale.

The chart functions only ever receive published values: ``None``/NaN means "not drawn". They never
compute a total from parts, so a suppressed part cannot be read off as a difference.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from lagesbild.report.cells import number  # noqa: E402

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

SWEDISH_MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]

_RC = {
    "svg.fonttype": "none",  # text stays text: searchable, selectable, read by screen readers
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "hatch.linewidth": 0.8,
    "svg.image_inline": True,
}


def _svg_text(fig: plt.Figure, chart_id: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element with no XML prolog, metadata or namespace URLs."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart_id}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Inline SVG in HTML needs no namespace declarations; dropping them keeps the page free of URLs.
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    # Scale with the page but never beyond the drawn size, so a one-panel chart keeps its type size.
    width_pt = float(re.search(r'\swidth="([0-9.]+)pt"', svg).group(1))
    svg = re.sub(r'\s(width|height)="[^"]*pt"', "", svg, count=2)
    title = label.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    svg = svg.replace(
        "<svg",
        f'<svg role="img" aria-label="{title}" class="chart" id="{chart_id}" '
        f'style="max-width:{width_pt * 4 / 3:.0f}px"',
        1,
    )
    return svg.strip()


def _memoized(func):
    """Cache a chart by its arguments: the county's charts recur unchanged in every municipality's page."""
    cache: dict[str, str] = {}

    @functools.wraps(func)
    def wrapper(*args):
        key = repr(args)
        if key not in cache:
            if len(cache) >= 64:  # bounded: a long-running process renders many publications
                cache.pop(next(iter(cache)))
            cache[key] = func(*args)
        return cache[key]

    wrapper.cache = cache
    return wrapper


def _swedish_date(value: float, _pos: int | None = None) -> str:
    day = mdates.num2date(value)
    return f"{SWEDISH_MONTHS[day.month - 1]}\n{day.year}" if day.month == 1 else SWEDISH_MONTHS[day.month - 1]


def _int_ticks(value: float, _pos: int | None = None) -> str:
    return number(value, 0 if float(value).is_integer() else 1)


@dataclass(frozen=True)
class WeeklySeries:
    """One panel of the weekly chart: values aligned with ``weeks``; NaN = not drawn."""

    label: str
    values: Sequence[float]
    suppressed: Sequence[bool] = ()  # weeks whose value is under the disclosure threshold: marked, not drawn


@_memoized
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
    with matplotlib.rc_context(_RC):
        fig, axes = plt.subplots(len(series), 1, sharex=True, figsize=(9.0, 1.9 * len(series) + 0.6))
        axes = list(axes) if len(series) > 1 else [axes]
        x = [dt.datetime.combine(w, dt.time()) for w in weeks]
        for i, (ax, s) in enumerate(zip(axes, series, strict=True)):
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
            for gap in gap_weeks:
                start = dt.datetime.combine(gap, dt.time())
                ax.axvspan(
                    start,
                    start + dt.timedelta(days=7),
                    facecolor=GAP_COLOUR,
                    edgecolor="#777777",
                    hatch="///",
                    linewidth=0,
                    alpha=0.5,
                    zorder=0,
                )
            ax.plot(
                x,
                list(s.values),
                color=style["color"],
                linestyle=style["linestyle"],
                marker=style["marker"],
                markersize=3.6,
                linewidth=1.4,
                zorder=2,
            )
            ax.set_title(s.label, loc="left", fontsize=10, fontweight="bold")
            drawn = [v for v in s.values if not math.isnan(v)]
            # Counts: at least 0..4 on the axis, so tiny values never give ticks like "0,0 0,0 0".
            top = max(drawn, default=0.0)
            ax.set_ylim(0, max(4.0, top * 1.12))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
            ax.yaxis.set_major_formatter(FuncFormatter(_int_ticks))
            hidden = [xi for xi, flag in zip(x, s.suppressed, strict=False) if flag]
            if hidden:
                ax.plot(
                    hidden,
                    [0] * len(hidden),
                    linestyle="none",
                    marker="_",
                    markersize=7,
                    markeredgewidth=2,
                    color="#555555",
                    clip_on=False,
                    zorder=3,
                    label="under gränsen för röjandekontroll",
                )
                ax.legend(
                    loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, borderaxespad=0.1
                )
            if not drawn:
                ax.set_yticks([])
                ax.text(
                    0.5,
                    0.5,
                    "Inga publicerade värden" + (" (under gränsen för röjandekontroll)" if hidden else ""),
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    color="#555555",
                )
        axes[-1].xaxis.set_major_locator(mdates.MonthLocator(bymonth=[1, 4, 7, 10]))
        axes[-1].xaxis.set_major_formatter(FuncFormatter(_swedish_date))
        if gap_weeks:
            axes[0].legend(
                handles=[
                    Patch(
                        facecolor=GAP_COLOUR,
                        edgecolor="#777777",
                        hatch="///",
                        label="vecka utan full täckning",
                    )
                ],
                loc="lower right",
                bbox_to_anchor=(1.0, 1.0),
                fontsize=8,
                frameon=False,
                borderaxespad=0.1,
            )
        fig.tight_layout()
        return _svg_text(fig, chart_id, title)


@dataclass(frozen=True)
class IntervalPanel:
    """One region's yearly estimates: ``None`` = not published, not drawn."""

    label: str
    years: Sequence[int]
    central: Sequence[float | None]
    low: Sequence[float | None]
    high: Sequence[float | None]
    weeks: Sequence[int | None] = ()  # covered weeks per year, shown under the year


@_memoized
def yearly_interval_svg(chart_id: str, title: str, panels: Sequence[IntervalPanel]) -> str:
    """Point estimate with its low–high interval per year, one panel per region (own y scale)."""
    with matplotlib.rc_context(_RC):
        fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels) + 0.4, 3.0), squeeze=False)
        for i, (ax, p) in enumerate(zip(axes[0], panels, strict=True)):
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
            for year, c, lo, hi in zip(p.years, p.central, p.low, p.high, strict=True):
                if c is None:  # not published: a mark at the base line, not a silent hole
                    ax.text(
                        year,
                        0,
                        "—",
                        ha="center",
                        va="bottom",
                        fontsize=12,
                        fontweight="bold",
                        color="#333333",
                    )
                if lo is not None and hi is not None:
                    ax.vlines(year, lo, hi, color=style["color"], linewidth=2.2)
                    for end in (lo, hi):
                        ax.hlines(end, year - 0.12, year + 0.12, color=style["color"], linewidth=1.4)
                if c is not None:
                    ax.plot(
                        [year],
                        [c],
                        marker=style["marker"],
                        color=style["color"],
                        markersize=7,
                        markeredgecolor="black",
                        markeredgewidth=0.6,
                        linestyle="none",
                    )
                    ax.annotate(
                        number(c),
                        (year, c),
                        xytext=(8, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=9,
                    )
            ax.set_title(p.label, loc="left", fontsize=10, fontweight="bold")
            ax.set_xticks(list(p.years))
            weeks = list(p.weeks) or [None] * len(p.years)
            ax.set_xticklabels(
                [
                    f"{y}\n{int(w)} veckor" if w is not None else str(y)
                    for y, w in zip(p.years, weeks, strict=True)
                ]
            )
            if p.years:
                ax.set_xlim(min(p.years) - 0.6, max(p.years) + 0.9)
            published = [v for v in (*p.central, *p.high) if v is not None]
            # At least 0..4, so tiny estimates never give a collapsed axis with ticks like "0,0 0,0 0".
            ax.set_ylim(0, max(4.0, max(published, default=0.0) * 1.12))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=2))
            ax.yaxis.set_major_formatter(FuncFormatter(_int_ticks))
            ax.grid(axis="x", visible=False)
            if not any(v is not None for v in p.central):
                ax.set_yticks([])
                ax.text(
                    0.5,
                    0.5,
                    "Inga publicerade värden",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    color="#555555",
                )
        fig.tight_layout()
        return _svg_text(fig, chart_id, title)


@_memoized
def grouped_bars_svg(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    groups: Sequence[tuple[str, Sequence[float | None]]],
    y_label: str,
) -> str:
    """Grouped (never stacked) bars; a ``None`` value gets no bar and a "—" at the base line."""
    with matplotlib.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(9.0, 3.2))
        n = max(len(groups), 1)
        width = 0.8 / n
        handles = []
        for g, (label, values) in enumerate(groups):
            style = BAR_STYLES[g % len(BAR_STYLES)]
            handles.append(
                Patch(
                    facecolor=style["color"],
                    hatch=style["hatch"],
                    edgecolor="black",
                    linewidth=0.5,
                    label=label,
                )
            )
            for k, value in enumerate(values):
                x = k - 0.4 + width * (g + 0.5)
                if value is None:
                    ax.text(
                        x, 0, "—", ha="center", va="bottom", fontsize=12, fontweight="bold", color="#333333"
                    )
                    continue
                ax.bar(
                    x,
                    value,
                    width=width * 0.92,
                    color=style["color"],
                    hatch=style["hatch"],
                    edgecolor="black",
                    linewidth=0.5,
                )
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(list(categories))
        ax.set_ylabel(y_label)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(_int_ticks))
        ax.grid(axis="x", visible=False)
        ax.set_ylim(bottom=0)
        ax.legend(handles=handles, frameon=False, fontsize=8, ncol=min(n, 4), loc="upper right")
        fig.tight_layout()
        return _svg_text(fig, chart_id, title)
