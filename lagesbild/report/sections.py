"""The sections of one situation-picture report, each a function returning an HTML fragment.

Every value goes through :func:`lagesbild.report.cells.cell`, so a suppressed cell is a "—" in a
table, no mark in a chart, and ``null`` in the embedded chart data. No section adds up parts into a
total: a total is shown only when the mart publishes it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field

import pandas as pd

from lagesbild.report import charts
from lagesbild.report.cells import Cell, cell, fmt, fmt_interval, fmt_share, json_value, number
from lagesbild.report.data import (
    COVERAGE_WEEKLY,
    DEMAND_YEARLY,
    FLOWS,
    HIDDEN_POPULATION,
    PREVALENCE_WEEKLY,
    PREVALENCE_YEARLY,
    Region,
    as_date,
    iso_week_label,
    mart,
    pooled_rows,
    region_rows,
)
from lagesbild.report.texts import AGE_BANDS, CHECK_STATUS, HIDDEN_STATUS, SEVERITY, WEEKLY_SERIES

esc = html.escape

#: A year needs this many covered weeks to be the summary's headline year.
MIN_WEEKS_HEADLINE = 40


@dataclass
class Context:
    """What every section needs: the region, its county, the inputs, and the chart-data sink."""

    region: Region
    county: Region
    marts: dict[str, pd.DataFrame]
    quality: dict
    meta: dict
    chart_data: list[dict] = field(default_factory=list)

    @property
    def model_version(self) -> str:
        return str(self.meta.get("model_version", ""))


@dataclass(frozen=True)
class Rows:
    """A region's rows in one mart; ``pooled`` when they are the "Övriga länet" pool's rows."""

    frame: pd.DataFrame
    pooled: bool = False

    @property
    def empty(self) -> bool:
        return self.frame.empty


def rows_for(ctx: Context, mart_name: str, region: Region) -> Rows:
    frame = mart(ctx.marts, mart_name)
    own = region_rows(frame, region.code)
    if own.empty and not region.is_county:
        pool = pooled_rows(frame)
        if not pool.empty:
            return Rows(pool, pooled=True)
    return Rows(own)


def compared_regions(ctx: Context) -> list[Region]:
    return [ctx.region] if ctx.region.is_county else [ctx.region, ctx.county]


def _region_label(row: pd.Series) -> str:
    return esc(str(row.get("region_name", "")))


def _sort_years(frame: pd.DataFrame, col: str = "year") -> pd.DataFrame:
    return frame.sort_values(col) if col in frame.columns else frame


def chart_figure(ctx: Context, chart_id: str, svg: str, caption: str, data: dict) -> str:
    """A chart with its caption and the published numbers behind it as JSON (for tests and reuse)."""
    data = {"chart": chart_id, "region_code": ctx.region.code, **data}
    ctx.chart_data.append(data)
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return (
        f'<figure class="chart-figure">{svg}<figcaption>{caption}</figcaption>'
        f'<script type="application/json" class="chart-data" data-chart="{chart_id}">{payload}</script>'
        f"</figure>"
    )


def pooled_note(region: Region, rows: Rows) -> str:
    if not rows.pooled:
        return ""
    return (
        f'<p class="note">{esc(region.name)} redovisas inte separat i denna tabell. Små kommuner '
        "redovisas sammanslagna som ”Övriga länet”; gruppens siffror visas i stället.</p>"
    )


def no_data(region: Region, what: str) -> str:
    return f'<p class="empty">Det finns inga publicerade uppgifter om {what} för {esc(region.name)}.</p>'


def table(headers: list[str], body: list[list[str]], numeric_from: int = 1, cls: str = "") -> str:
    head = "".join(
        f'<th scope="col"{" class=num" if i >= numeric_from else ""}>{h}</th>' for i, h in enumerate(headers)
    )
    rows = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i >= numeric_from else ''}>{v}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in body
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


# --- summary -------------------------------------------------------------------------------------


def summary(ctx: Context) -> str:
    """Key figures for the latest year the region has estimates for."""
    rows = rows_for(ctx, PREVALENCE_YEARLY, ctx.region)
    if rows.empty or rows.pooled:
        return (
            '<section class="summary"><h2>I korthet</h2>'
            + no_data(ctx.region, "skattade sexköp")
            + "</section>"
        )
    latest = _headline_year(_sort_years(rows.frame))
    year = int(latest["year"])
    demand = rows_for(ctx, DEMAND_YEARLY, ctx.region)
    demand_row = None
    if not demand.empty and not demand.pooled:
        same_year = demand.frame[demand.frame["year"] == year]
        demand_row = same_year.iloc[0] if not same_year.empty else None
    weeks = cell(latest, "weeks_covered")
    figures = [
        (
            "Skattade sexköp",
            fmt_interval(
                cell(latest, "est_purchases_low"),
                cell(latest, "est_purchases_central"),
                cell(latest, "est_purchases_high"),
            ),
            "central skattning (låg–hög)",
        ),
        ("Per 10 000 invånare", fmt(cell(latest, "est_purchases_per_10k"), 1), "skattade köp"),
    ]
    if not ctx.region.is_county:
        figures.append(("Andel av länets köp", fmt_share(cell(latest, "share_of_county")), "skattad"))
    if demand.pooled:
        buyers = '<span class="small">redovisas i ”Övriga länet”</span>'
    else:
        buyers = fmt(cell(demand_row, "convicted_buyers"))
    figures.append(
        (
            "Lagförda köpare",
            buyers,
            "med hemkommun här" if not ctx.region.is_county else "med hemkommun i länet",
        )
    )
    cards = "".join(
        f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>'
        f'<div class="sub">{sub}</div></div>'
        for label, value, sub in figures
    )
    return (
        f'<section class="summary"><h2>I korthet: {year}</h2><div class="cards">{cards}</div>'
        f'<p class="note">Bygger på {fmt(weeks)} veckor med annonsbevakning under {year}. '
        f"Modellversion {esc(ctx.model_version)}.</p></section>"
    )


def _headline_year(frame: pd.DataFrame) -> pd.Series:
    """The latest year with most of its weeks covered; a half year would read as a fall in demand."""
    weeks = pd.to_numeric(frame.get("weeks_covered"), errors="coerce") if "weeks_covered" in frame else None
    if weeks is not None:
        mostly_covered = frame[weeks.fillna(0) >= MIN_WEEKS_HEADLINE]
        if not mostly_covered.empty:
            return mostly_covered.iloc[-1]
    return frame.iloc[-1]


# --- estimated purchases per year ----------------------------------------------------------------


def purchases(ctx: Context) -> str:
    parts = ["<section><h2>Skattade sexköp per år</h2>"]
    panels, body, data_panels, notes = [], [], [], []
    for region in compared_regions(ctx):
        rows = rows_for(ctx, PREVALENCE_YEARLY, region)
        notes.append(pooled_note(region, rows))
        if rows.empty:
            notes.append(no_data(region, "skattade sexköp"))
            continue
        frame = _sort_years(rows.frame)
        years, lows, centrals, highs, weeks, points = [], [], [], [], [], []
        for _, row in frame.iterrows():
            lo, c, hi = (cell(row, f"est_purchases_{k}") for k in ("low", "central", "high"))
            years.append(int(row["year"]))
            lows.append(json_value(lo))
            centrals.append(json_value(c))
            highs.append(json_value(hi))
            weeks.append(json_value(cell(row, "weeks_covered")))
            points.append(
                {
                    "year": int(row["year"]),
                    "est_purchases_low": json_value(lo),
                    "est_purchases_central": json_value(c),
                    "est_purchases_high": json_value(hi),
                }
            )
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    fmt(cell(row, "weeks_covered")),
                    fmt_interval(lo, c, hi),
                    fmt(cell(row, "est_purchases_per_10k"), 1),
                    fmt_share(cell(row, "share_of_county")) if row.get("region_level") != "county" else "",
                    fmt(cell(row, "population")),
                    esc(str(row.get("model_version", ""))),
                ]
            )
        label = str(frame.iloc[0].get("region_name", region.name))
        panels.append(charts.IntervalPanel(label, years, centrals, lows, highs, weeks))
        data_panels.append({"region_code": str(frame.iloc[0]["region_code"]), "points": points})
    parts.extend(notes)
    if panels:
        svg = charts.yearly_interval_svg("chart-yearly", "Skattade sexköp per år med intervall", panels)
        parts.append(
            chart_figure(
                ctx,
                "yearly_estimates",
                svg,
                "Skattade sexköp per år: punkten är den centrala skattningen, strecket spannet mellan låga och "
                f"höga modellantaganden (modellversion {esc(ctx.model_version)}). Ett år med färre bevakade "
                "veckor ger en lägre summa.",
                {"model_version": ctx.model_version, "panels": data_panels},
            )
        )
        body.sort(key=lambda r: r[0])
        parts.append(
            table(
                [
                    "År",
                    "Område",
                    "Bevakade veckor",
                    "Skattade köp (låg–hög)",
                    "Per 10 000 inv.",
                    "Andel av länet",
                    "Folkmängd",
                    "Modellversion",
                ],
                body,
                2,
                "by-region",
            )
        )
    parts.append(ads_per_year(ctx))
    parts.append("</section>")
    return "".join(parts)


def ads_per_year(ctx: Context) -> str:
    body = []
    for region in compared_regions(ctx):
        rows = rows_for(ctx, PREVALENCE_YEARLY, region)
        for _, row in _sort_years(rows.frame).iterrows():
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    fmt(cell(row, "unique_ads")),
                    fmt(cell(row, "new_ads")),
                    fmt(cell(row, "active_advertisers")),
                    fmt(cell(row, "advertiser_weeks")),
                    fmt(cell(row, "advertiser_days")),
                ]
            )
    if not body:
        return ""
    body.sort(key=lambda r: r[0])
    return "<h3>Annonser och annonsörer per år</h3>" + table(
        [
            "År",
            "Område",
            "Unika annonser",
            "Nya annonser",
            "Aktiva annonsörer",
            "Annonsörsveckor",
            "Annonsörsdagar",
        ],
        body,
        2,
        "by-region",
    )


# --- weekly trend --------------------------------------------------------------------------------


def _all_weeks(ctx: Context, gaps: set) -> list:
    frame = mart(ctx.marts, PREVALENCE_WEEKLY)
    weeks = set(gaps)
    if frame is not None and "week_start" in frame.columns:
        weeks |= {as_date(w) for w in frame["week_start"].dropna()}
    if not weeks:
        return []
    first, last = min(weeks), max(weeks)
    return [d.date() for d in pd.date_range(first, last, freq="7D")]


def missing_weeks(quality: dict, marts: dict[str, pd.DataFrame] | None = None) -> list[tuple[str, dt.date]]:
    """(site, week start) without a snapshot, sorted and de-duplicated.

    Read from ``quality["missing_weeks"]``, from any check's ``metadata["missing"]`` entries that name a
    site and a week start (the shape the ``lagesbild.quality`` gap checks report), and from
    ``mart_coverage_weekly`` rows with ``snapshot_present = false``, so the report works with any of them.
    """
    entries = list(quality.get("missing_weeks") or [])
    for check in quality.get("checks") or []:
        found = (check.get("metadata") or {}).get("missing")
        if isinstance(found, list):
            entries += [m for m in found if isinstance(m, dict) and m.get("site") and m.get("week_start")]
    weeks = {(str(m["site"]), as_date(m["week_start"])) for m in entries}
    coverage = mart(marts or {}, COVERAGE_WEEKLY)
    if coverage is not None and {"site", "week_start", "snapshot_present"} <= set(coverage.columns):
        absent = coverage[coverage["snapshot_present"].fillna(False).astype(bool) == False]  # noqa: E712
        weeks |= {(str(r.site), as_date(r.week_start)) for r in absent.itertuples()}
    return sorted(weeks)


def coverage_gaps(ctx: Context) -> set:
    """Weeks without full coverage: a site's missing snapshot, or the county row says incomplete."""
    gaps = {week for _, week in missing_weeks(ctx.quality, ctx.marts)}
    county_rows = region_rows(mart(ctx.marts, PREVALENCE_WEEKLY), ctx.county.code)
    if "coverage_complete" in county_rows.columns:
        incomplete = county_rows[county_rows["coverage_complete"].fillna(False).astype(bool) == False]  # noqa: E712
        gaps |= {as_date(w) for w in incomplete["week_start"]}
    return gaps


def weekly(ctx: Context) -> str:
    parts = ["<section><h2>Annonser per vecka</h2>"]
    rows = rows_for(ctx, PREVALENCE_WEEKLY, ctx.region)
    parts.append(pooled_note(ctx.region, rows))
    gaps = coverage_gaps(ctx) | {
        as_date(r["week_start"]) for _, r in rows.frame.iterrows() if not _row_complete(r)
    }
    weeks = _all_weeks(ctx, gaps)
    if rows.empty or not weeks:
        parts.append(no_data(ctx.region, "annonser per vecka"))
        parts.append(missing_weeks_text(ctx) + "</section>")
        return "".join(parts)
    by_week = {as_date(r["week_start"]): r for _, r in rows.frame.iterrows()}
    series, data_series, suppressed_weeks = [], {}, {}
    for col, label in WEEKLY_SERIES:
        values, points, hidden = [], [], []
        for week in weeks:
            c = cell(by_week.get(week), col)
            if week in gaps:
                c = Cell(None, "gap")
            if c.status == "suppressed":
                hidden.append(week.isoformat())
            values.append(float(c.value) if c.ok else math.nan)
            if c.ok:
                points.append({"week_start": week.isoformat(), "value": c.value})
        series.append(charts.WeeklySeries(label, values))
        data_series[col] = points
        suppressed_weeks[col] = hidden
    gap_list = sorted(w for w in gaps if weeks[0] <= w <= weeks[-1])
    svg = charts.weekly_trend_svg(
        "chart-weekly", f"Annonser per vecka, {ctx.region.name}", weeks, series, gap_list
    )
    n_hidden = sum(len(v) for v in suppressed_weeks.values())
    caption = (
        "Per vecka (måndag–söndag). Skuggade veckor saknar full bevakning och visas som luckor, "
        "inte som nollor."
    )
    if n_hidden:
        caption += " Veckovärden under gränsen för röjandekontroll ritas inte."
    parts.append(
        chart_figure(
            ctx,
            "weekly_trend",
            svg,
            caption,
            {
                "region_name": str(rows.frame.iloc[0].get("region_name", "")),
                "series": data_series,
                "gap_weeks": [w.isoformat() for w in gap_list],
                "suppressed_weeks": suppressed_weeks,
            },
        )
    )
    parts.append(missing_weeks_text(ctx) + "</section>")
    return "".join(parts)


def _row_complete(row: pd.Series | None) -> bool:
    if row is None:
        return True  # no row: nothing is drawn anyway
    flag = row.get("coverage_complete")
    return True if flag is None or pd.isna(flag) else bool(flag)


def missing_weeks_text(ctx: Context) -> str:
    missing = missing_weeks(ctx.quality, ctx.marts)
    if not missing:
        return '<p class="note">Ingen vecka saknar ögonblicksbilder från någon bevakad sajt.</p>'
    by_site: dict[str, list] = {}
    for site, week in missing:
        by_site.setdefault(site, []).append(week)
    items = "".join(
        f"<li><strong>{esc(site)}</strong>: "
        + ", ".join(f'{iso_week_label(w)} <span class="muted">({w.isoformat()})</span>' for w in sorted(days))
        + "</li>"
        for site, days in sorted(by_site.items())
    )
    return f'<p>Veckor utan ögonblicksbilder, per sajt:</p><ul class="weeks">{items}</ul>'


# --- demand: convicted buyers ---------------------------------------------------------------------


def demand(ctx: Context) -> str:
    parts = ["<section><h2>Efterfrågan: lagförda sexköpare</h2>"]
    body = []
    for region in compared_regions(ctx):
        rows = rows_for(ctx, DEMAND_YEARLY, region)
        parts.append(pooled_note(region, rows))
        if rows.empty:
            parts.append(no_data(region, "lagförda köpare"))
            continue
        for _, row in _sort_years(rows.frame).iterrows():
            age_range = ""
            lo, hi = cell(row, "min_age"), cell(row, "max_age")
            if lo.ok and hi.ok:
                age_range = f" ({fmt(lo)}–{fmt(hi)})"
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    fmt(cell(row, "convicted_buyers")),
                    fmt_share(cell(row, "share_bought_in_home")),
                    fmt(cell(row, "mean_age"), 1) + age_range,
                    fmt(cell(row, "buyers_per_100k_adult_men"), 1),
                ]
            )
    if body:
        body.sort(key=lambda r: r[0])
        parts.append(
            table(
                [
                    "År",
                    "Område",
                    "Lagförda köpare (hemkommun)",
                    "Köpte i hemkommunen",
                    "Medelålder (min–max)",
                    "Per 100 000 vuxna män",
                ],
                body,
                2,
                "by-region",
            )
        )
        parts.append(
            '<p class="note">Köparna räknas efter hemkommun och det år domen eller '
            "strafföreläggandet meddelades. Antalet följer polisens insatser, se ”Kända skevheter”.</p>"
        )
    parts.append(age_bands(ctx))
    parts.append("</section>")
    return "".join(parts)


def _bands_complete(frame: pd.DataFrame) -> bool:
    return not frame.empty and all(cell(row, col).ok for _, row in frame.iterrows() for col, _ in AGE_BANDS)


def age_bands(ctx: Context) -> str:
    """Age bands at the region's level when every band is published, else at county level."""
    own = rows_for(ctx, DEMAND_YEARLY, ctx.region)
    use_own = ctx.region.is_county or (not own.pooled and _bands_complete(own.frame))
    level_region = ctx.region if use_own else ctx.county
    rows = own if use_own else rows_for(ctx, DEMAND_YEARLY, ctx.county)
    heading = f"<h3>Åldersgrupper, {esc(level_region.name)}</h3>"
    if rows.empty:
        return heading + no_data(level_region, "köparnas ålder")
    note = ""
    if not use_own:
        note = (
            f'<p class="note">För {esc(ctx.region.name)} är antalen för små för att redovisa per '
            "åldersgrupp; diagrammet visar hela länet.</p>"
        )
    frame = _sort_years(rows.frame)
    groups, data_years, body = [], {}, []
    for _, row in frame.iterrows():
        year = str(int(row["year"]))
        cells = [cell(row, col) for col, _ in AGE_BANDS]
        groups.append((year, [json_value(c) for c in cells]))
        data_years[year] = {col: json_value(c) for (col, _), c in zip(AGE_BANDS, cells, strict=True)}
        body.append([year] + [fmt(c) for c in cells])
    svg = charts.grouped_bars_svg(
        "chart-ages",
        f"Lagförda köpare per åldersgrupp, {level_region.name}",
        [label for _, label in AGE_BANDS],
        groups,
        "köpare",
    )
    figure = chart_figure(
        ctx,
        "age_bands",
        svg,
        "Lagförda köpare per åldersgrupp (ålder vid brottet) och år. "
        "— = under gränsen för röjandekontroll; staplarna är inte staplade på varandra.",
        {"level": level_region.level, "level_region_code": level_region.code, "years": data_years},
    )
    return heading + note + figure + table(["År"] + [label for _, label in AGE_BANDS], body)


# --- flows ----------------------------------------------------------------------------------------


def flows(ctx: Context) -> str:
    parts = ["<section><h2>Köparnas rörelser: hemkommun och köpkommun</h2>"]
    frame = mart(ctx.marts, FLOWS)
    if frame is None or frame.empty:
        parts.append(no_data(ctx.region, "köparnas rörelser") + "</section>")
        return "".join(parts)
    home, purchase = frame["home_region_code"].astype(str), frame["purchase_region_code"].astype(str)
    code = ctx.region.code
    if ctx.region.is_county:
        groups = [
            ("Mellan kommuner i länet och till/från andra län", frame[home != purchase]),
            ("Köp i den egna hemkommunen", frame[home == purchase]),
        ]
    else:
        groups = [
            ("Köpare från kommunen som köpt här", frame[(home == code) & (purchase == code)]),
            ("Köpare från kommunen som köpt i en annan kommun", frame[(home == code) & (purchase != code)]),
            ("Köpare från andra kommuner som köpt här", frame[(home != code) & (purchase == code)]),
        ]
    shown = False
    for title, rows in groups:
        if rows.empty:
            continue
        shown = True
        rows = rows.assign(
            _order=[-(c.value if c.ok else -1) for c in (cell(r, "buyers") for _, r in rows.iterrows())]
        )
        body = [
            [
                f"{int(r['period_start_year'])}–{int(r['period_end_year'])}",
                esc(str(r.get("home_region_name") or "okänd")),
                esc(str(r.get("purchase_region_name") or "okänd")),
                fmt(cell(r, "buyers")),
            ]
            for _, r in rows.sort_values(["_order", "home_region_code"]).iterrows()
        ]
        parts.append(f"<h3>{title}</h3>" + table(["Period", "Hemkommun", "Köpkommun", "Köpare"], body, 3))
    if not shown:
        parts.append(no_data(ctx.region, "köparnas rörelser"))
    parts.append(
        '<p class="note">Bygger på domar och strafförelägganden där både hemkommun och '
        "köpkommun är kända. Flöden under gränsen för röjandekontroll, eller som annars skulle kunna "
        "räknas fram ur de andra, visas som —.</p></section>"
    )
    return "".join(parts)


# --- hidden population ----------------------------------------------------------------------------


def hidden_population(ctx: Context) -> str:
    parts = ["<section><h2>Mörkertal: vad en sajt missar</h2>"]
    body = []
    for region in compared_regions(ctx):
        rows = rows_for(ctx, HIDDEN_POPULATION, region)
        parts.append(pooled_note(region, rows))
        for _, row in _sort_years(rows.frame).iterrows():
            status = str(row.get("estimate_status", ""))
            n = cell(row, "chapman_n")
            estimate = fmt(n) if status == "ok" else "–"
            if status == "ok" and cell(row, "ci_low").ok and cell(row, "ci_high").ok:
                estimate += f" ({fmt(cell(row, 'ci_low'))}–{fmt(cell(row, 'ci_high'))})"
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    esc(f"{row.get('site_a', '')} / {row.get('site_b', '')}"),
                    fmt(cell(row, "n1")),
                    fmt(cell(row, "n2")),
                    fmt(cell(row, "m2")),
                    estimate,
                    _missed_share(cell(row, "n1"), n) if status == "ok" else "–",
                    esc(HIDDEN_STATUS.get(status, status)),
                ]
            )
    if not body:
        parts.append(no_data(ctx.region, "mörkertal") + "</section>")
        return "".join(parts)
    body.sort(key=lambda r: r[0])
    parts.append(
        table(
            [
                "År",
                "Område",
                "Sajter (A / B)",
                "Annonsörer A",
                "Annonsörer B",
                "På båda",
                "Skattat totalt (95 % int.)",
                "Andel som A missar",
                "Status",
            ],
            body,
            3,
            "by-region",
        )
    )
    parts.append(
        '<p class="note">Annonsörer = telefonnummer kopplade till varandra. ”Andel som A missar” '
        "= 1 − (annonsörer på sajt A ÷ skattat totalt). Skattningen gäller bara det som sajterna "
        "kan nå, inte hela marknaden.</p></section>"
    )
    return "".join(parts)


def _missed_share(n1: Cell, total: Cell) -> str:
    if not (n1.ok and total.ok) or not total.value:
        return "–"
    return number(max(0.0, 1 - float(n1.value) / float(total.value)) * 100, 0) + "\u00a0%"


# --- quality --------------------------------------------------------------------------------------


def quality(ctx: Context) -> str:
    checks = list(ctx.quality.get("checks", []))
    parts = ["<section><h2>Kvalitetskontroller</h2>"]
    if not checks:
        parts.append('<p class="empty">Publiceringen innehåller inga kvalitetsresultat.</p>')
    else:
        failed = [c for c in checks if not c.get("passed")]
        parts.append(
            f"<p>{len(checks) - len(failed)} av {len(checks)} kontroller godkändes."
            + (f' <strong class="warn">{len(failed)} godkändes inte; se nedan.</strong>' if failed else "")
            + "</p>"
        )
        ordered = sorted(
            checks, key=lambda c: (bool(c.get("passed")), str(c.get("asset")), str(c.get("name")))
        )
        body = [
            [
                f'<span class="{"pass" if c.get("passed") else "fail"}">'
                f"{'✓' if c.get('passed') else '✗'} {CHECK_STATUS[bool(c.get('passed'))]}</span>",
                esc(str(c.get("name", ""))),
                esc(str(c.get("asset", ""))),
                esc(SEVERITY.get(str(c.get("severity", "")).lower(), str(c.get("severity", "")))),
                esc(str(c.get("description", ""))),
            ]
            for c in ordered
        ]
        parts.append(table(["Resultat", "Kontroll", "Datamängd", "Allvarlighet", "Beskrivning"], body, 99))
    parts.append("<h3>Saknade veckor</h3>" + missing_weeks_text(ctx) + "</section>")
    return "".join(parts)
