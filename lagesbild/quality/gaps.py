"""Gap checks: pure functions over DataFrames that find holes in what the numbers stand on.

Each returns a :class:`GapResult` whose metadata names the week(s), site(s) or municipality(ies) at
fault, so the data engineer knows where to look and the publication can say what is missing. They
read plain frames (from Parquet), never the DuckDB file dbt may hold.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True)
class GapResult:
    passed: bool
    severity: str  # "critical" | "warning"
    description: str
    metadata: dict = field(default_factory=dict)


def _as_date(value) -> dt.date:
    """Week starts arrive as date, datetime, Timestamp or ISO string; compare them as dates."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def week_label(week_start) -> str:
    """``2025-W14 (2025-03-31)``: the ISO week a person reads, and the Monday a partition is named by."""
    d = _as_date(week_start)
    iso = d.isocalendar()
    return f"{iso.year}-W{iso.week:02d} ({d.isoformat()})"


def _dates(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.date
    uniques = {v: _as_date(v) for v in pd.unique(series)}  # a few hundred weeks, not every row
    return series.map(uniques)


def poisson_cdf(k: float, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam) (scipy)."""
    if lam <= 0:
        return 1.0
    return float(stats.poisson.cdf(math.floor(k), lam))


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p) (scipy)."""
    if k <= 0:
        return 1.0
    return float(stats.binom.sf(k - 1, n, p))


def negbin_cdf(k: float, mean: float, var: float) -> float:
    """P(X <= k) for a negative binomial with this mean and variance (Poisson when var <= mean)."""
    if mean <= 0:
        return 1.0
    if var <= mean:
        return poisson_cdf(k, mean)
    return float(stats.nbinom.cdf(math.floor(k), mean * mean / (var - mean), mean / var))


def p_silent(weekly_counts, period_weeks: int, max_persistence: float = 0.95) -> tuple[float, float, float]:
    """P(no advertiser in ``period_weeks`` consecutive weeks), from earlier weekly advertiser counts.

    Advertisers arrive at random and stay for a while (an M/G/infinity queue): the weekly count of
    active advertisers is Poisson with mean ``mu``, and the share ``s`` of advertisers still there
    the next week is the counts' lag-1 autocorrelation. Silence needs nobody in the first week
    (exp(-mu)) and no arrival in the ``period_weeks - 1`` after it (arrivals mu (1 - s) a week):
    P = exp(-mu (1 + (1 - s)(period_weeks - 1))). Independent weeks (s = 0) give Poisson silence
    exp(-mu period_weeks); ads that stay up for months (s near 1) make a quiet month far likelier.
    ``s`` is capped at ``max_persistence`` and taken as that cap when the history is too short to
    estimate it (fewer alarms, never more). Returns (probability, mu, s).
    """
    x = np.asarray(weekly_counts, dtype=float)
    mu = float(x.mean()) if len(x) else 0.0
    s = max_persistence
    if len(x) >= 8 and x[:-1].var() > 0 and x[1:].var() > 0:
        s = float(np.clip(np.corrcoef(x[:-1], x[1:])[0, 1], 0.0, max_persistence))
    mu_period = mu * (1.0 + (1.0 - s) * (period_weeks - 1))
    return float(stats.poisson.pmf(0, mu_period)), mu, s


def _verdict(lines: list[str], failing: str, passing: str, severity: str, meta: dict) -> GapResult:
    """Failed, "``failing`` <the lines>.", when there are ``lines`` (what is wrong); else passed with ``passing``."""
    if lines:
        return GapResult(False, severity, f"{failing} {_listing(lines)}.", meta)
    return GapResult(True, severity, passing, meta)


def _listing(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def missing_snapshot_weeks(
    snapshot_files_df: pd.DataFrame,
    sites: Iterable[str],
    weeks: Iterable,
    severity: str = CRITICAL,
) -> GapResult:
    """Every monitored site must have at least one snapshot file in every expected week.

    ``weeks`` is the materialised partition range (Mondays); ``snapshot_files_df`` is
    ``raw/snapshot_files`` (site, week_start, ...). A week with no file at all for a site fails.
    """
    sites = sorted(set(sites))
    weeks = sorted({_as_date(w) for w in weeks})
    present = set()
    if len(snapshot_files_df):
        present = set(zip(snapshot_files_df["site"], _dates(snapshot_files_df["week_start"]), strict=True))
    missing = [(s, w) for s in sites for w in weeks if (s, w) not in present]
    meta = {
        "sites_expected": sites,
        "weeks_expected": len(weeks),
        "site_weeks_missing": len(missing),
        "missing": [{"site": s, "week": week_label(w), "week_start": w.isoformat()} for s, w in missing],
    }
    if not sites or not weeks:
        return GapResult(
            False, severity, "No monitored sites or no expected weeks: nothing to stand on.", meta
        )
    lines = [f"{s} in week {week_label(w)}" for s, w in missing]
    return _verdict(
        lines, "Snapshot missing for", f"Every site has a snapshot in all {len(weeks)} weeks.", severity, meta
    )


def vanished_sites(
    snapshot_files_df: pd.DataFrame,
    sites: Iterable[str] | None = None,
    latest_week=None,
    severity: str = CRITICAL,
) -> GapResult:
    """A monitored site whose last snapshot is older than the latest week has stopped appearing.

    ``latest_week`` defaults to the newest week any site delivered; ``sites`` defaults to every site
    that ever delivered (a configured site that never delivered is reported as never seen).
    """
    weeks = _dates(snapshot_files_df["week_start"]) if len(snapshot_files_df) else pd.Series(dtype=object)
    last_seen = {}
    if len(snapshot_files_df):
        last_seen = (
            pd.DataFrame({"site": snapshot_files_df["site"], "w": weeks}).groupby("site")["w"].max().to_dict()
        )
    sites = sorted(set(sites) if sites else set(last_seen))
    latest = (
        _as_date(latest_week) if latest_week is not None else (max(last_seen.values()) if last_seen else None)
    )
    if latest is None:
        return GapResult(False, severity, "No snapshot from any site.", {"sites": sites})
    gone = [s for s in sites if s not in last_seen or last_seen[s] < latest]
    meta = {
        "latest_week": week_label(latest),
        "sites_checked": sites,
        "vanished": [
            {"site": s, "last_seen": week_label(last_seen[s]) if s in last_seen else "never"} for s in gone
        ],
    }
    lines = [f"{s} (last seen {week_label(last_seen[s]) if s in last_seen else 'never'})" for s in gone]
    return _verdict(
        lines,
        f"Site stopped appearing before {week_label(latest)}:",
        f"All {len(sites)} sites deliver up to {week_label(latest)}.",
        severity,
        meta,
    )


def silent_municipalities(
    prevalence_weekly_df: pd.DataFrame,
    county_municipalities: dict[str, str] | Iterable[str],
    period_weeks: int = 4,
    min_prior_weeks: int = 2,
    alpha: float = 0.001,
    severity: str = CRITICAL,
) -> GapResult:
    """A county municipality with advertisers before but none in the latest ``period_weeks``, against the odds.

    That is far more often a broken location mapping or capture than a market that vanished. It
    counts advertisers (``active_advertisers``), not ad lines: one advertiser's ads stay up for
    weeks and appear on both sites, so lines are neither independent nor a count of anything that
    arrives. Silence counts only when it is improbable under :func:`p_silent` (advertisers arriving
    at random and staying as long as the municipality's own history shows). ``alpha`` is the
    nominal false-alarm rate of the whole check per evaluation: each of the m municipalities
    tested is held to alpha / m (Bonferroni). A row "counts" when its count is > 0; the
    municipality needs advertisers in ``min_prior_weeks`` earlier weeks. Measured false-alarm rate
    on complete simulated years: tests/quality/test_gap_false_alarms.py.
    """
    names = (
        dict(county_municipalities)
        if isinstance(county_municipalities, dict)
        else {c: c for c in county_municipalities}
    )
    weeks_all = sorted(set(_dates(prevalence_weekly_df["week_start"]))) if len(prevalence_weekly_df) else []
    if not weeks_all:
        return GapResult(
            False, severity, "The weekly prevalence mart has no rows.", {"municipalities": sorted(names)}
        )
    df = prevalence_weekly_df
    if "region_level" in df.columns:
        df = df[df["region_level"] == "municipality"]
    count_col = "active_advertisers" if "active_advertisers" in df.columns else "ads_seen"
    counts = (
        df[count_col].fillna(0).astype("float64")
        if count_col in df.columns
        else pd.Series(1.0, index=df.index)
    )
    series = (
        pd.DataFrame(
            {
                "code": df["region_code"].astype(str).to_numpy(),
                "w": _dates(df["week_start"]).to_numpy(),
                "n": counts.to_numpy(),
            }
        )
        .groupby(["code", "w"])["n"]
        .sum()
        .unstack("w")
        .reindex(columns=weeks_all)
        .fillna(0.0)
    )
    recent = weeks_all[-period_weeks:]
    prior_weeks = weeks_all[: len(weeks_all) - len(recent)]
    candidates = []
    for code in sorted(names):
        if code not in series.index:
            continue
        row = series.loc[code]
        prior = row[prior_weeks].to_numpy()
        if (row[recent] > 0).any() or (prior > 0).sum() < min_prior_weeks:
            continue
        candidates.append((code, prior))
    tested = sum(
        1
        for code in names
        if code in series.index and (series.loc[code, prior_weeks] > 0).sum() >= min_prior_weeks
    )
    per_test = alpha / max(tested, 1)
    silent = []
    for code, prior in candidates:
        p, mu, persistence = p_silent(prior, len(recent))
        if p < per_test:
            silent.append(
                {
                    "code": code,
                    "name": names[code],
                    "prior_weeks_with_ads": int((prior > 0).sum()),
                    "prior_ads_per_week": round(mu, 2),
                    "weekly_persistence": round(persistence, 2),
                    "p_silent_by_chance": float(f"{p:.3g}"),
                }
            )
    period = f"{week_label(min(recent))} – {week_label(max(recent))}"
    meta = {
        "latest_period": period,
        "alpha": alpha,
        "nominal_false_alarm_rate": alpha,
        "alpha_per_municipality": per_test,
        "counted": count_col,
        "municipalities_checked": len(names),
        "municipalities_tested": tested,
        "silent": silent,
    }
    unit = "advertisers" if count_col == "active_advertisers" else "ads"
    lines = [f"{s['name']} ({s['code']}, {s['prior_ads_per_week']} {unit}/week before)" for s in silent]
    return _verdict(
        lines,
        f"No ads in {period} for municipalities that had ads before:",
        f"No municipality went silent against the odds in {period}.",
        severity,
        meta,
    )


#: What ``volume_drops`` flags per complete site-week when weekly ads vary more than counts (negative
#: binomial): mean and variance come from only 4-8 trailing weeks, so the fitted tail is often too thin
#: and alpha is not held. Measured on stationary negative binomial weeks (mean 20-200, shape 3-10):
#: 0.4-1.2 % per site-week (tests/quality/test_gap_nominal_rates.py); with Poisson weeks <= alpha.
VOLUME_OVERDISPERSED_RATE = 0.015


def volume_drops(
    weekly_volume_df: pd.DataFrame,
    ratio: float = 0.5,
    trailing_weeks: int = 8,
    min_history_weeks: int = 4,
    alpha: float = 0.001,
    value_col: str = "rows",
    group_col: str = "site",
    severity: str = CRITICAL,
) -> GapResult:
    """A site-week whose ads fall below ``ratio`` × the mean of the ``trailing_weeks`` before it.

    A market does not halve in a week; a capture that broke half-way does. With small weekly
    counts a halving also happens by chance (9 ads a week often becomes 4), so a drop must also be
    improbable as ordinary variation: P(X <= ads) < ``alpha`` for X negative binomial with the
    trailing weeks' mean and variance (ad lines come in clusters, one advertiser posts several and
    keeps them up for weeks, so they vary more than Poisson; Poisson when they vary less).
    ``alpha`` is the false-alarm rate per site-week only when the weeks vary as plain counts: with
    over-dispersed weeks the fitted tail is too thin and the rate is up to
    ``VOLUME_OVERDISPERSED_RATE`` (tests/quality/test_gap_nominal_rates.py; whole runs on realistic
    years: tests/quality/test_gap_false_alarms.py).
    Input: one row per site and week (``mart_coverage_weekly``: site, week_start, rows[,
    snapshot_present]). Weeks without a snapshot are left to :func:`missing_snapshot_weeks` and
    kept out of the trailing mean.
    """
    df = weekly_volume_df
    if "snapshot_present" in df.columns:
        df = df[df["snapshot_present"].fillna(False).astype(bool)]
    df = pd.DataFrame(
        {"g": df[group_col].astype(str), "w": _dates(df["week_start"]), "v": df[value_col].astype("float64")}
    )
    df = df.groupby(["g", "w"], as_index=False)["v"].sum().sort_values(["g", "w"])
    drops = []
    for g, part in df.groupby("g"):
        window = part["v"].shift(1).rolling(trailing_weeks, min_periods=min_history_weeks)
        trailing, spread = window.mean(), window.var()
        for w, v, mean, var in zip(part["w"], part["v"], trailing, spread, strict=True):
            if (
                pd.notna(mean)
                and mean > 0
                and v < ratio * mean
                and negbin_cdf(v, mean, var if pd.notna(var) else mean) < alpha
            ):
                drops.append(
                    {
                        "site": g,
                        "week": week_label(w),
                        "week_start": w.isoformat(),
                        "ads": int(v),
                        "trailing_mean": round(float(mean), 1),
                    }
                )
    meta = {
        "ratio": ratio,
        "alpha": alpha,
        "nominal_false_alarm_rate": (
            f"{alpha} per site-week with Poisson weeks; up to {VOLUME_OVERDISPERSED_RATE:.1%} "
            "measured with over-dispersed weeks"
        ),
        "trailing_weeks": trailing_weeks,
        "site_weeks_checked": len(df),
        "drops": drops,
    }
    lines = [f"{d['site']} in week {d['week']}: {d['ads']} ads vs trailing mean {d['trailing_mean']}" for d in drops]
    return _verdict(
        lines,
        f"Ad volume below {ratio:.0%} of its trailing level (broken capture?):",
        f"No site-week below {ratio:.0%} of its trailing {trailing_weeks}-week mean.",
        severity,
        meta,
    )


def stale_population(
    population_df: pd.DataFrame,
    required_year: int | Iterable[int],
    max_age_years: int = 1,
    regions: Iterable[str] | None = None,
    severity: str = CRITICAL,
) -> GapResult:
    """Every region needs a population figure no older than ``max_age_years`` for each data year.

    Statistics Sweden publishes year Y in February of Y+1, so the newest data year legitimately
    uses last year's figures; anything older, or a region with no figure at all, fails.
    ``regions`` defaults to every region in the frame.
    """
    years = sorted(
        {int(required_year)} if isinstance(required_year, int | float) else {int(y) for y in required_year}
    )
    df = population_df[population_df["population"].notna()]
    by_region = (
        df.groupby(df["region_code"].astype(str))["year"]
        .apply(lambda s: sorted({int(y) for y in s}))
        .to_dict()
    )
    regions = sorted(set(regions) if regions is not None else set(by_region))
    problems = []
    for r in regions:
        available = by_region.get(r, [])
        for y in years:
            usable = [a for a in available if y - max_age_years <= a <= y]
            if not usable:
                older = [a for a in available if a < y]
                problems.append(
                    {"region": r, "data_year": y, "newest_available": max(older) if older else None}
                )
    meta = {
        "required_years": years,
        "max_age_years": max_age_years,
        "regions_checked": len(regions),
        "latest_year": int(df["year"].max()) if len(df) else None,
        "missing": problems,
    }
    if not regions:
        return GapResult(False, severity, "No population figures at all.", meta)
    lines = [f"{p['region']} for {p['data_year']} (newest: {p['newest_available'] or 'none'})" for p in problems]
    return _verdict(
        lines,
        f"Population missing or older than {max_age_years} year(s):",
        f"Population present for {len(regions)} regions, years {years}.",
        severity,
        meta,
    )


def _share_check(
    counts_df: pd.DataFrame,
    part_col: str,
    total_col: str,
    threshold: float,
    group_cols: list[str],
    what: str,
    min_rows: int,
    severity: str,
    alpha: float | None,
) -> GapResult:
    df = counts_df.copy()
    if "week_start" in df.columns:
        df["week_start"] = _dates(df["week_start"])
    grouped = df.groupby(group_cols, as_index=False, dropna=False)[[part_col, total_col]].sum()
    grouped = grouped[grouped[total_col] >= min_rows]
    grouped["share"] = grouped[part_col] / grouped[total_col]
    over = grouped[grouped["share"] > threshold]
    if alpha is not None:  # over the threshold by more than chance, given the group's size
        improbable = [
            binomial_sf(int(p), int(n), threshold) < alpha
            for p, n in zip(over[part_col], over[total_col], strict=True)
        ]
        over = over[improbable] if len(over) else over
    total_part, total = int(df[part_col].sum()), int(df[total_col].sum())
    offenders = []
    for row in over.itertuples(index=False):
        item = {
            c: (week_label(getattr(row, c)) if c == "week_start" else getattr(row, c)) for c in group_cols
        }
        item.update(
            {
                "rows": int(getattr(row, total_col)),
                what: int(getattr(row, part_col)),
                "share": round(float(row.share), 4),
            }
        )
        offenders.append(item)
    meta = {
        "threshold": threshold,
        "alpha": alpha,
        "nominal_false_alarm_rate": (
            f"{alpha} per group at a true rate of {threshold}" if alpha is not None else "0 (a plain share)"
        ),
        "groups_checked": len(grouped),
        f"total_{what}": total_part,
        "total_rows": total,
        "overall_share": round(total_part / total, 4) if total else None,
        "over_threshold": offenders,
    }
    lines = [" ".join(str(o[c]) for c in group_cols) + f": {o['share']:.1%}" for o in offenders]
    what = what.replace("_", " ").capitalize()
    return _verdict(
        lines,
        f"{what} share over {threshold:.0%} for",
        f"{what} share at or below {threshold:.0%} everywhere ({len(grouped)} groups).",
        severity,
        meta,
    )


def quarantine_share(
    counts_df: pd.DataFrame,
    threshold: float = 0.05,
    group_cols: Iterable[str] = ("source",),
    quarantined_col: str = "rows_quarantined",
    total_col: str = "rows_read",
    min_rows: int = 1,
    alpha: float | None = None,
    severity: str = CRITICAL,
) -> GapResult:
    """Quarantined rows / rows read over ``threshold`` for a group (site-week, source file, ...).

    With ``alpha`` a group fails only when its share is also improbable for a true rate of
    ``threshold`` (binomial tail < alpha): one bad line in a capture of eleven is chance, half the
    capture is a broken export. Without it (sources read as one file) the plain share decides.

    For snapshots pass ``raw/snapshot_files`` grouped by site and week_start; for verdicts and
    population a one-row frame of counts.
    """
    return _share_check(
        counts_df,
        quarantined_col,
        total_col,
        threshold,
        list(group_cols),
        "quarantined",
        min_rows,
        severity,
        alpha,
    )


def unmapped_share(
    coverage_df: pd.DataFrame,
    threshold: float = 0.15,
    group_cols: Iterable[str] = ("site", "week_start"),
    unmapped_col: str = "unmapped_rows",
    total_col: str = "rows",
    min_rows: int = 1,
    alpha: float | None = 0.001,
    severity: str = CRITICAL,
) -> GapResult:
    """Rows whose location maps to no municipality, over ``threshold`` per site-week.

    ``alpha`` as in :func:`quarantine_share`: small site-weeks cross the threshold by chance.

    A jump usually means the gazetteer lost an alias or the site changed its location format; the
    municipal figures would then be silently too low.
    """
    return _share_check(
        coverage_df,
        unmapped_col,
        total_col,
        threshold,
        list(group_cols),
        "unmapped",
        min_rows,
        severity,
        alpha,
    )
