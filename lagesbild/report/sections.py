"""The sections of one situation-picture report: each gathers published cells and renders its template.

Every value goes through :func:`lagesbild.report.cells.cell`, so a suppressed cell is a "—" in a
table, no mark in a chart, and ``null`` in the embedded chart data. No section adds up parts into a
total: a total is shown only when the mart publishes it. The wording is in ``templates/``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from lagesbild.report import charts
from lagesbild.report.cells import (
    SUPPRESSED_MARK,
    Cell,
    cell,
    fmt,
    fmt_interval,
    fmt_share,
    json_value,
    marker,
    number,
)
from lagesbild.report.data import (
    COVERAGE_WEEKLY,
    DEMAND_YEARLY,
    FLOWS,
    HIDDEN_POPULATION,
    POOL_NAME,
    PREVALENCE_WEEKLY,
    PREVALENCE_YEARLY,
    Region,
    as_date,
    iso_week_label,
    mart,
    pool_code_of,
    pool_members,
    pool_threshold,
    pooled_rows,
    records,
    region_rows,
)
from lagesbild.report.names import UNKNOWN_HOME, UNKNOWN_PLACE, official_name, swedish_date
from lagesbild.report.summary import MIN_WEEKS_HEADLINE, headline_row, summary_facts
from lagesbild.report.templating import render
from lagesbild.report.texts import (
    AGE_BANDS,
    CHAPMAN_BIAS_MODERATE,
    CHAPMAN_BIAS_STRONG,
    HIDDEN_CI_METHOD,
    HIDDEN_STATUS,
    PURCHASES_INCL_HIDDEN_METHOD,
    SEVERITY,
    WEEKLY_SERIES,
)

__all__ = ["MIN_WEEKS_HEADLINE", "Context"]


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

    @property
    def is_country(self) -> bool:
        """The Sweden page of a national publication (county code 00)."""
        return self.region.code == "00"

    @property
    def national_mode(self) -> bool:
        """A page of a national publication: Sweden's, or a county's rendered from its slice."""
        return self.is_country or bool(self.meta.get("national_mode"))


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


def pool_region(ctx: Context) -> Region | None:
    """The pool ("Övriga länet") the page's municipality belongs to, or None."""
    if ctx.region.is_county:
        return None
    code = pool_code_of(ctx.marts, ctx.region.code)
    if code is None:
        return None
    return Region(code, POOL_NAME, "pooled", ctx.region.county_code, ctx.region.county_name)


def compared_regions(ctx: Context, mart_name: str | None = None) -> list[Region]:
    """The page's region, its pool (when it is a member and ``mart_name`` has the pool's rows), the county."""
    if ctx.region.is_county:
        return [ctx.region]
    pool = pool_region(ctx)
    if (
        pool is not None
        and mart_name is not None
        and not region_rows(mart(ctx.marts, mart_name), pool.code).empty
    ):
        return [ctx.region, pool, ctx.county]
    return [ctx.region, ctx.county]


def pool_note(ctx: Context, mart_name: str) -> Markup | None:
    """Why the pool's rows are on a member municipality's page, naming the members and the rule."""
    pool = pool_region(ctx)
    if pool is None or pool not in compared_regions(ctx, mart_name):
        return None
    members = [official_name(c, fallback=c) for c in pool_members(ctx.marts, pool.code)]
    threshold = pool_threshold()
    rule = (
        f"de kommuner i länet som hade färre än {number(threshold)} invånare 31 december 2019"
        if threshold
        else "de minsta kommunerna i länet (folkmängd 31 december 2019)"
    )
    return render("pool_note.html.j2", region=ctx.region, rule=rule, members=members)


def _region_label(row: pd.Series) -> str:
    """Short name for tables ("Linköping"); a pooled group keeps its own name ("Övriga länet")."""
    return str(row.get("region_name", ""))


def _sort_years(frame: pd.DataFrame, col: str = "year") -> pd.DataFrame:
    return frame.sort_values(col) if col in frame.columns else frame


def chart_figure(ctx: Context, chart_id: str, svg: str, caption: str, data: dict) -> Markup:
    """A chart with its caption and the published numbers behind it as JSON (for tests and reuse)."""
    data = {"chart": chart_id, "region_code": ctx.region.code, **data}
    ctx.chart_data.append(data)
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return render(
        "figure.html.j2", svg=Markup(svg), caption=caption, chart_id=chart_id, payload=Markup(payload)
    )


# --- summary -------------------------------------------------------------------------------------


def summary(ctx: Context, with_map: bool = False) -> Markup:
    """The written summary and the key figures for the latest well-covered year."""
    facts = summary_facts(ctx.marts, ctx.region, with_map)
    return render("summary.html.j2", s=facts, cards=_cards(ctx))


def _cards(ctx: Context) -> list[tuple]:
    rows = rows_for(ctx, PREVALENCE_YEARLY, ctx.region)
    if rows.empty or rows.pooled:
        return []
    latest = headline_row(rows.frame)
    year = int(latest["year"])
    demand = rows_for(ctx, DEMAND_YEARLY, ctx.region)
    demand_row = None
    if not demand.empty and not demand.pooled:
        same_year = demand.frame[demand.frame["year"] == year]
        demand_row = same_year.iloc[0] if not same_year.empty else None
    cards = [
        (
            f"Skattade sexköp {year}",
            fmt_interval(
                cell(latest, "est_purchases_low"),
                cell(latest, "est_purchases_central"),
                cell(latest, "est_purchases_high"),
            ),
            "central skattning (scenariospann)",
        ),
        ("Per 10 000 invånare", fmt(cell(latest, "est_purchases_per_10k"), 1), f"skattade köp {year}"),
    ]
    if not ctx.region.is_county:
        cards.append(("Andel av länets köp", fmt_share(cell(latest, "share_of_county")), f"skattad, {year}"))
    elif ctx.national_mode and not ctx.is_country:
        # a county's row in a national publication: share_of_county is its share of Sweden
        cards.append(("Andel av rikets köp", fmt_share(cell(latest, "share_of_county")), f"skattad, {year}"))
    if demand.pooled:
        buyers = Markup('<span class="small">redovisas i ”Övriga länet”</span>')
    else:
        buyers = fmt(cell(demand_row, "convicted_buyers"))
    where = "i kommunen" if not ctx.region.is_county else ("i riket" if ctx.is_country else "i länet")
    cards.append(("Lagförda köpare", buyers, f"med hemkommun {where}, {year}"))
    return cards


# --- national comparison of the counties ----------------------------------------------------------


def counties(ctx: Context) -> Markup:
    """The Sweden page: every county's published estimate, rate per 10 000 and share of Sweden."""
    if not ctx.is_country:
        return Markup("")
    frame = mart(ctx.marts, PREVALENCE_YEARLY)
    if frame is None or "region_level" not in frame.columns:
        return Markup("")
    country = frame[frame["region_level"].astype(str) == "country"]
    county_rows = frame[frame["region_level"].astype(str) == "county"]
    if county_rows.empty:
        return Markup("")
    year = int(headline_row(country if not country.empty else county_rows)["year"])
    county_rows = county_rows[county_rows["year"] == year].sort_values("region_code")
    body = []
    for _, row in county_rows.iterrows():
        code = str(row["region_code"])
        body.append(
            [
                official_name(code, fallback=str(row.get("region_name", code))),
                fmt(cell(row, "weeks_covered")),
                fmt_interval(
                    cell(row, "est_purchases_low"),
                    cell(row, "est_purchases_central"),
                    cell(row, "est_purchases_high"),
                ),
                fmt(cell(row, "est_purchases_per_10k"), 1),
                fmt_share(cell(row, "share_of_county")),
            ]
        )
    total = country[country["year"] == year]
    total_row = None
    if not total.empty:
        r = total.iloc[0]
        total_row = [
            "Hela riket",
            fmt(cell(r, "weeks_covered")),
            fmt_interval(
                cell(r, "est_purchases_low"), cell(r, "est_purchases_central"), cell(r, "est_purchases_high")
            ),
            fmt(cell(r, "est_purchases_per_10k"), 1),
            fmt_share(cell(r, "share_of_county")),
        ]
    return render("counties.html.j2", year=year, rows=body, total=total_row, n=len(body))


# --- estimated purchases per year ----------------------------------------------------------------


def _incl_hidden(row: pd.Series) -> Markup | None:
    """``N (low–high)`` incl. the hidden population from published cells, or None without an estimate."""
    if "est_purchases_incl_hidden" not in row.index:
        return None
    if str(row.get("purchases_incl_hidden_method", "")) == "no_hidden_population_estimate":
        return None
    c = cell(row, "est_purchases_incl_hidden")
    if c.status == "missing":
        return None
    return fmt_interval(
        cell(row, "est_purchases_incl_hidden_low"), c, cell(row, "est_purchases_incl_hidden_high")
    )


def purchases(ctx: Context) -> Markup:
    panels, body, data_panels, regions = [], [], [], []
    incl_methods: set[tuple[str, str]] = set()
    yearly = mart(ctx.marts, PREVALENCE_YEARLY)
    has_incl = yearly is not None and "est_purchases_incl_hidden" in yearly.columns
    for region in compared_regions(ctx, PREVALENCE_YEARLY):
        rows = rows_for(ctx, PREVALENCE_YEARLY, region)
        regions.append((region, rows.pooled, rows.empty))
        if rows.empty:
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
            incl = _incl_hidden(row)
            if incl is not None:
                incl_methods.add(
                    (
                        PURCHASES_INCL_HIDDEN_METHOD.get(
                            str(row.get("purchases_incl_hidden_method")),
                            str(row.get("purchases_incl_hidden_method")),
                        ),
                        str(row.get("purchases_incl_hidden_model_version", "") or ""),
                    )
                )
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    fmt(cell(row, "weeks_covered")),
                    fmt_interval(lo, c, hi),
                    *([incl if incl is not None else Markup("–")] if has_incl else []),
                    fmt(cell(row, "est_purchases_per_10k"), 1),
                    fmt_share(cell(row, "share_of_county"))
                    if row.get("region_level") in ("municipality", "pooled")
                    or (ctx.national_mode and row.get("region_level") == "county")
                    else "",
                    fmt(cell(row, "population")) + (OFFLINE_MARK if is_offline_population(row) else ""),
                    str(row.get("model_version", "")),
                ]
            )
        label = str(frame.iloc[0].get("region_name", region.name))
        panels.append(charts.IntervalPanel(label, years, centrals, lows, highs, weeks))
        data_panels.append({"region_code": str(frame.iloc[0]["region_code"]), "points": points})
    figure = None
    if panels:
        svg = charts.yearly_interval_svg("chart-yearly", "Skattade sexköp per år med scenariospann", panels)
        figure = chart_figure(
            ctx,
            "yearly_estimates",
            svg,
            "Skattade sexköp per år: punkten är den centrala skattningen, strecket scenariospannet mellan "
            f"låga och höga modellantaganden (modellversion {ctx.model_version}). Ett år med färre "
            "bevakade veckor ger en lägre summa.",
            {"model_version": ctx.model_version, "panels": data_panels},
        )
        body.sort(key=lambda r: r[0])
    return render(
        "purchases.html.j2",
        pool_note=pool_note(ctx, PREVALENCE_YEARLY),
        regions=regions,
        figure=figure,
        rows=body,
        ad_rows=_ads_per_year(ctx),
        method_note=_purchase_note(ctx),
        has_incl=has_incl,
        share_header="Andel av riket" if ctx.national_mode and ctx.region.is_county else "Andel av länet",
        offline_note=offline_population_note(ctx),
        incl_methods=sorted(incl_methods),
        bias_moderate=CHAPMAN_BIAS_MODERATE,
        bias_strong=CHAPMAN_BIAS_STRONG,
    )


def _purchase_note(ctx: Context) -> Markup:
    """Where the numbers are used: the model and the denominator, read from the published data."""
    params = model_parameters(ctx)
    years = population_years(ctx)
    parts = [
        "Skattningen = annonsörsdagar × andel arbetade dagar × kunder per arbetad dag "
        f"(modellversion {ctx.model_version}"
    ]
    if params:
        parts.append(
            "; "
            + "; ".join(
                f"{p['label'].lower()} {p['low']}–{p['high']} (centralt {p['central']})" for p in params
            )
        )
    parts.append("). Spannet är ett scenariospann, inte ett konfidensintervall.")
    if years:
        parts.append(f" Folkmängd enligt SCB den 31 december {', '.join(years)}.")
    return Markup('<p class="note">{}</p>').format("".join(parts))


def _ads_per_year(ctx: Context) -> list[list]:
    body = []
    for region in compared_regions(ctx, PREVALENCE_YEARLY):
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
    body.sort(key=lambda r: r[0])
    return body


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


def weekly(ctx: Context) -> Markup:
    rows = rows_for(ctx, PREVALENCE_WEEKLY, ctx.region)
    gaps = coverage_gaps(ctx) | {
        as_date(r["week_start"]) for r in records(rows.frame) if not _row_complete(r)
    }
    weeks = _all_weeks(ctx, gaps)
    figure = None
    if not rows.empty and weeks:
        figure = _weekly_figure(ctx, rows, weeks, gaps)
    return render(
        "weekly.html.j2",
        region=ctx.region,
        pooled=rows.pooled,
        figure=figure,
        missing_weeks=missing_weeks_text(ctx),
        coverage_note=_coverage_note(ctx),
    )


def _weekly_figure(ctx: Context, rows: Rows, weeks: list, gaps: set) -> Markup:
    by_week = {as_date(r["week_start"]): r for r in records(rows.frame)}
    series, data_series, suppressed_weeks = [], {}, {}
    for col, label in WEEKLY_SERIES:
        values, points, hidden, hidden_mask = [], [], [], []
        for week in weeks:
            c = cell(by_week.get(week), col)
            if week in gaps:
                c = Cell(None, "gap")
            if c.status == "suppressed":
                hidden.append(week.isoformat())
            hidden_mask.append(c.status == "suppressed")
            values.append(float(c.value) if c.ok else math.nan)
            if c.ok:
                points.append({"week_start": week.isoformat(), "value": c.value})
        series.append(charts.WeeklySeries(label, values, tuple(hidden_mask)))
        data_series[col] = points
        suppressed_weeks[col] = hidden
    gap_list = sorted(w for w in gaps if weeks[0] <= w <= weeks[-1])
    svg = charts.weekly_trend_svg(
        "chart-weekly", f"Annonser per vecka, {ctx.region.official}", weeks, series, gap_list
    )
    caption = (
        "Per vecka (måndag–söndag). Skuggade veckor saknar full bevakning och visas som luckor, "
        "inte som nollor."
    )
    if any(suppressed_weeks.values()):
        caption += (
            f" Veckor med värden under gränsen för röjandekontroll ritas inte; de markeras med "
            f"{SUPPRESSED_MARK}-tecken längs diagrammets nederkant."
        )
    return chart_figure(
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


def _row_complete(row: pd.Series | None) -> bool:
    if row is None:
        return True  # no row: nothing is drawn anyway
    flag = row.get("coverage_complete")
    return True if flag is None or pd.isna(flag) else bool(flag)


def _coverage_note(ctx: Context) -> Markup:
    coverage = mart(ctx.marts, COVERAGE_WEEKLY)
    if coverage is None or not {"site", "week_start"} <= set(coverage.columns):
        return Markup("")
    sites = sorted(coverage["site"].dropna().astype(str).unique())
    weeks = coverage["week_start"].dropna().map(as_date)
    if weeks.empty:
        return Markup("")
    return Markup(
        '<p class="note">Bevakade sajter: {}. Bevakningen omfattar veckorna {} till {}.</p>'
    ).format(", ".join(sites), swedish_date(weeks.min()), swedish_date(weeks.max()))


def missing_weeks_text(ctx: Context) -> Markup:
    by_site: dict[str, list] = {}
    for site, week in missing_weeks(ctx.quality, ctx.marts):
        by_site.setdefault(site, []).append(week)
    entries = [
        (site, [(iso_week_label(w), swedish_date(w)) for w in sorted(days)])
        for site, days in sorted(by_site.items())
    ]
    return render("missing_weeks.html.j2", by_site=entries)


# --- demand: convicted buyers ---------------------------------------------------------------------


def demand(ctx: Context) -> Markup:
    body, regions = [], []
    for region in compared_regions(ctx, DEMAND_YEARLY):
        rows = rows_for(ctx, DEMAND_YEARLY, region)
        regions.append((region, rows.pooled, rows.empty))
        for _, row in _sort_years(rows.frame).iterrows():
            mean = fmt(cell(row, "mean_age"), 1)
            lo, hi = cell(row, "min_age"), cell(row, "max_age")
            if lo.ok and hi.ok:
                mean = Markup("{} ({}–{})").format(mean, fmt(lo), fmt(hi))
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    fmt(cell(row, "convicted_buyers")),
                    fmt_share(cell(row, "share_bought_in_home")),
                    mean,
                    fmt(cell(row, "buyers_per_100k_adult_men"), 1),
                ]
            )
    body.sort(key=lambda r: r[0])
    sources = denominator_sources(ctx)
    return render(
        "demand.html.j2",
        pool_note=pool_note(ctx, DEMAND_YEARLY),
        region=ctx.region,
        regions=regions,
        rows=body,
        denominator="; ".join(sources) if sources else "",
        age=_age_bands(ctx),
    )


def _bands_complete(frame: pd.DataFrame) -> bool:
    return not frame.empty and all(cell(row, col).ok for _, row in frame.iterrows() for col, _ in AGE_BANDS)


def _age_bands(ctx: Context) -> dict:
    """Age bands at the region's level when every band is published, else at county level."""
    own = rows_for(ctx, DEMAND_YEARLY, ctx.region)
    use_own = ctx.region.is_county or (not own.pooled and _bands_complete(own.frame))
    level_region = ctx.region if use_own else ctx.county
    rows = own if use_own else rows_for(ctx, DEMAND_YEARLY, ctx.county)
    out = {"region": level_region, "empty": rows.empty, "fallback": not use_own}
    if rows.empty:
        return out
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
        f"Lagförda köpare per åldersgrupp, {level_region.official}",
        [label for _, label in AGE_BANDS],
        groups,
        "köpare",
    )
    out["figure"] = chart_figure(
        ctx,
        "age_bands",
        svg,
        "Lagförda köpare per åldersgrupp (ålder vid brottet) och år. "
        "— = under gränsen för röjandekontroll; staplarna är inte staplade på varandra.",
        {"level": level_region.level, "level_region_code": level_region.code, "years": data_years},
    )
    out["headers"] = ["År"] + [label for _, label in AGE_BANDS]
    out["rows"] = body
    return out


_FALLBACK = re.compile(
    r"fallback: men total (\d{4}) x national share of men aged (\d+)\+ (\d{4})(?: \(([^)]*)\))?"
)


def _denominator_sv(source: str) -> str:
    """The denominator_source text in Swedish where its form is known, else as published."""
    pooled = "sum of the pooled municipalities: "
    if source.strip().startswith(pooled):
        rest = _denominator_sv(source.strip()[len(pooled) :])
        return f"för ”{POOL_NAME}” summan av de sammanslagna kommunernas värden ({rest})"
    found = _FALLBACK.fullmatch(source.strip())
    if found:
        men_year, age, share_year, _ = found.groups()
        return (
            f"männen i området enligt SCB {men_year} × rikets andel män som är {age} år eller äldre "
            f"({share_year}); en uppskattning, eftersom kommunens egen åldersfördelning saknas"
        )
    return source


def denominator_sources(ctx: Context) -> list[str]:
    frame = mart(ctx.marts, DEMAND_YEARLY)
    if frame is None or "denominator_source" not in frame.columns:
        return []
    return sorted({_denominator_sv(s) for s in frame["denominator_source"].dropna().astype(str)})


_OFFLINE_SOURCE = re.compile(r".*31 Dec (\d{4}), offline default.*")


def is_offline_population(row: pd.Series | None) -> bool:
    """Whether this row's population is the offline reference copy (population_source says so)."""
    if row is None:
        return False
    source = row.get("population_source")
    return isinstance(source, str) and "offline default" in source


def offline_population_years(ctx: Context) -> list[str]:
    """The 31 December years of offline-default population figures behind this page (e.g. 2019)."""
    years: set[str] = set()
    for name in (PREVALENCE_YEARLY, DEMAND_YEARLY):
        for region in compared_regions(ctx):
            frame = rows_for(ctx, name, region).frame
            if "population_source" not in frame.columns:
                continue
            for source in frame["population_source"].dropna().astype(str):
                found = _OFFLINE_SOURCE.fullmatch(source)
                if found:
                    years.add(found.group(1))
    return sorted(years)


def offline_population_note(ctx: Context) -> Markup:
    years = offline_population_years(ctx)
    if not years:
        return Markup("")
    return Markup(
        '<p class="note warning"><strong>Obs! Folkmängden är ett standardvärde.</strong> För rader markerade '
        "med <sup>c</sup> kommer folkmängden (och antalet män) inte från SCB:s aktuella statistik utan från "
        "projektets inbyggda kopia av SCB:s siffror per den 31 december {}. Siffror per 10 000 invånare "
        "och per 100 000 vuxna män kan därför avvika från vad aktuell folkmängd skulle ge.</p>"
    ).format(" och ".join(years))


OFFLINE_MARK = Markup('<sup title="folkmängd ur inbyggd standardkopia, inte aktuell statistik">c</sup>')


def population_years(ctx: Context) -> list[str]:
    frame = mart(ctx.marts, PREVALENCE_YEARLY)
    if frame is None or "population_year" not in frame.columns:
        return []
    years = pd.to_numeric(frame["population_year"], errors="coerce").dropna().astype(int)
    return [str(y) for y in sorted(years.unique())]


# --- flows ----------------------------------------------------------------------------------------


def _place(row: pd.Series, side: str) -> str:
    code, name = row.get(f"{side}_region_code"), row.get(f"{side}_region_name")
    unknown = UNKNOWN_HOME if side == "home" else UNKNOWN_PLACE
    if code is None or pd.isna(code) or str(code).lower() in {"", "unknown", "okänd", "none"}:
        return unknown
    if name is None or pd.isna(name) or str(name).lower() in {"", "unknown", "okänd"}:
        return unknown
    return str(name)


def flows(ctx: Context) -> Markup:
    frame = mart(ctx.marts, FLOWS)
    groups, pooled_shown = [], False
    if frame is not None and not frame.empty:
        home, purchase = frame["home_region_code"].astype(str), frame["purchase_region_code"].astype(str)
        code = ctx.region.code
        if ctx.region.is_county:
            candidates = [
                ("Mellan kommuner i länet och till eller från andra län", frame[home != purchase]),
                ("Köp i den egna hemkommunen", frame[home == purchase]),
            ]
        else:
            candidates = [
                (
                    f"Köpare från {ctx.region.official} som köpt här",
                    frame[(home == code) & (purchase == code)],
                ),
                (
                    f"Köpare från {ctx.region.official} som köpt i en annan kommun",
                    frame[(home == code) & (purchase != code)],
                ),
                (
                    f"Köpare från andra kommuner som köpt i {ctx.region.official}",
                    frame[(home != code) & (purchase == code)],
                ),
            ]
        for title, rows in candidates:
            if rows.empty:
                continue
            rows = rows.assign(
                _order=[-(c.value if c.ok else -1) for c in (cell(r, "buyers") for _, r in rows.iterrows())]
            )
            body = []
            for _, r in rows.sort_values(["_order", "home_region_code"]).iterrows():
                pooled_shown |= "pooled" in str(r.get("home_region_code")) + str(
                    r.get("purchase_region_code")
                )
                body.append(
                    [
                        f"{int(r['period_start_year'])}–{int(r['period_end_year'])}",
                        _place(r, "home"),
                        _place(r, "purchase"),
                        fmt(cell(r, "buyers")),
                    ]
                )
            groups.append((title, body))
    return render("flows.html.j2", region=ctx.region, groups=groups, pooled_shown=pooled_shown)


# --- hidden population ----------------------------------------------------------------------------


#: Statuses under which the mart publishes a Chapman estimate (docs/estimation.md).
CHAPMAN_SHOWN = ("ok", "low_overlap")
#: Statuses under which the mart publishes a Chao2 (weekly-occasion) estimate.
CHAO2_SHOWN = ("ok", "low_doubletons")


def _estimate_with_interval(
    row: pd.Series, n_col: str, low: str, high: str, shown: bool, note: str
) -> Markup:
    """``N (low–high) [k]`` from published cells only; the marker or "–" when there is none."""
    n = cell(row, n_col)
    if not shown:
        return marker(n.status) if n.status == "suppressed" else Markup("–")
    if not n.ok:
        return fmt(n)
    text = fmt(n)
    lo, hi = cell(row, low), cell(row, high)
    if lo.ok and hi.ok:
        text = Markup("{} ({}–{})").format(text, fmt(lo), fmt(hi))
    if note:
        text += Markup(' <sup class="method">{}</sup>').format(note)
    return text


def hidden_population(ctx: Context) -> Markup:
    """Chapman (two sites) beside Chao2 (weekly occasions), each with its 95 % interval and method."""
    body, weekly, regions, disagree = [], [], [], []
    hidden = mart(ctx.marts, HIDDEN_POPULATION)
    has_chao2 = hidden is not None and "chao2_n" in hidden.columns
    methods: list[str] = []  # method keys in order of first use; the footnote number is index + 1

    def method_note(row: pd.Series, col: str) -> str:
        key = row.get(col)
        if key is None or (not isinstance(key, str) and pd.isna(key)):
            return ""
        if key not in methods:
            methods.append(str(key))
        return str(methods.index(str(key)) + 1)

    for region in compared_regions(ctx):
        rows = rows_for(ctx, HIDDEN_POPULATION, region)
        regions.append((region, rows.pooled, rows.empty))
        for _, row in _sort_years(rows.frame).iterrows():
            status = str(row.get("estimate_status", ""))
            chao2_status = str(row.get("chao2_status", "") or "")
            chapman_shown = status in CHAPMAN_SHOWN and cell(row, "chapman_n").ok
            chao2_shown = chao2_status in CHAO2_SHOWN and cell(row, "chao2_n").ok
            n = cell(row, "chapman_n")
            if "chao2_n" in row.index:
                chao2 = _estimate_with_interval(
                    row,
                    "chao2_n",
                    "chao2_ci_low",
                    "chao2_ci_high",
                    chao2_shown,
                    method_note(row, "chao2_ci_method") if chao2_shown else "",
                )
                chao2_text = HIDDEN_STATUS.get(chao2_status, chao2_status)
            else:
                chao2, chao2_text = Markup(".."), "ingår inte i publikationen"
            flag = row.get("estimates_disagree")
            disagrees = (
                chapman_shown and chao2_shown and flag is not None and not pd.isna(flag) and bool(flag)
            )
            if disagrees:
                disagree.append(f"{_region_label(row)} {int(row['year'])}")
            body.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    f"{row.get('site_a', '')} / {row.get('site_b', '')}",
                    fmt(cell(row, "n1")),
                    fmt(cell(row, "n2")),
                    fmt(cell(row, "m2")),
                    _estimate_with_interval(
                        row,
                        "chapman_n",
                        "ci_low",
                        "ci_high",
                        chapman_shown,
                        method_note(row, "ci_method") if chapman_shown else "",
                    ),
                    _missed_share(cell(row, "n1"), n) if chapman_shown else "–",
                    HIDDEN_STATUS.get(status, status),
                ]
            )
            weekly.append(
                [
                    str(int(row["year"])),
                    _region_label(row),
                    fmt(cell(row, "s_obs")),
                    chao2,
                    chao2_text,
                    "nej, intervallen överlappar inte"
                    if disagrees
                    else ("ja" if chapman_shown and chao2_shown else "–"),
                ]
            )
    body.sort(key=lambda r: r[0])
    weekly.sort(key=lambda r: r[0])
    headers = [
        "År",
        "Område",
        "Sajter (A / B)",
        "Annonsörer A",
        "Annonsörer B",
        "På båda",
        "Två sajter: skattat totalt (95 % intervall)",
        "Andel som A missar",
        "Status",
    ]
    weekly_headers = [
        "År",
        "Område",
        "Sedda annonsörer",
        "Skattat totalt (95 % intervall)",
        "Status",
        "Överens med två sajter?",
    ]
    return render(
        "hidden_population.html.j2",
        region=ctx.region,
        regions=regions,
        rows=body,
        headers=headers,
        weekly_rows=weekly if has_chao2 else [],
        weekly_headers=weekly_headers,
        ci_methods=[(i + 1, HIDDEN_CI_METHOD.get(m, m)) for i, m in enumerate(methods)],
        disagree=disagree,
    )


def _missed_share(n1: Cell, total: Cell) -> str:
    if not (n1.ok and total.ok) or not total.value:
        return "–"
    return number(max(0.0, 1 - float(n1.value) / float(total.value)) * 100, 0) + "\u00a0%"


# --- quality --------------------------------------------------------------------------------------


def quality(ctx: Context) -> Markup:
    checks = list(ctx.quality.get("checks", []))
    failed = [
        {
            "name": str(c.get("name", "")),
            "description": str(c.get("description", "")),
            "severity": SEVERITY.get(str(c.get("severity", "")).lower(), str(c.get("severity", ""))),
        }
        for c in checks
        if not c.get("passed")
    ]
    return render(
        "quality.html.j2",
        total=len(checks),
        passed=len(checks) - len(failed),
        failed=failed,
        missing_weeks=missing_weeks_text(ctx),
    )


# --- method ---------------------------------------------------------------------------------------

#: Plain-Swedish labels and units of the model parameters (keys as in the parameters seed).
PARAMETER_LABELS = {
    "worked_share": ("Andel annonserade dagar som arbetas", "andel av annonserade dagar"),
    "clients_per_worked_day": ("Kunder per arbetad dag", "kunder per dag"),
}


def model_parameters(ctx: Context) -> list[dict]:
    """The model's parameters for this model version, from the published parameters mart or the seed."""
    from lagesbild.report.method import parameters_for

    frame = parameters_for(ctx.marts, ctx.model_version)
    out = []
    for _, row in frame.iterrows():
        label, unit = PARAMETER_LABELS.get(
            str(row["parameter"]), (str(row["parameter"]), str(row.get("unit", "")))
        )
        decimals = 2
        out.append(
            {
                "label": label,
                "unit": unit,
                **{
                    k: number(float(row[k]), decimals).rstrip("0").rstrip(",")
                    for k in ("low", "central", "high")
                },
            }
        )
    return out


def method(ctx: Context) -> Markup:
    hidden = mart(ctx.marts, HIDDEN_POPULATION)
    methods = set()
    sites: set[str] = set()
    if hidden is not None:
        for col in ("ci_method", "chao2_ci_method"):
            if col in hidden.columns:
                methods |= set(hidden[col].dropna().astype(str))
        for col in ("site_a", "site_b"):
            if col in hidden.columns:
                sites |= set(hidden[col].dropna().astype(str))
    coverage = mart(ctx.marts, COVERAGE_WEEKLY)
    coverage_text = ""
    if coverage is not None and {"site", "snapshot_present"} <= set(coverage.columns) and not coverage.empty:
        sites |= set(coverage["site"].dropna().astype(str))
        present = coverage["snapshot_present"].fillna(False).astype(bool)
        coverage_text = (
            f"{number(int(present.sum()))} av {number(len(present))} sajtveckor har en ögonblicksbild"
        )
    return render(
        "method.html.j2",
        model_version=ctx.model_version,
        params=model_parameters(ctx),
        population_years=population_years(ctx),
        denominators=denominator_sources(ctx),
        offline_note=offline_population_note(ctx),
        ci_methods=sorted(HIDDEN_CI_METHOD.get(m, m) for m in methods),
        sites=sorted(sites),
        coverage=coverage_text,
        suppressed_mark=SUPPRESSED_MARK,
        bias_moderate=CHAPMAN_BIAS_MODERATE,
        bias_strong=CHAPMAN_BIAS_STRONG,
    )


def biases(ctx: Context) -> Markup:
    return render("biases.html.j2")


__all__ += ["official_name"]
