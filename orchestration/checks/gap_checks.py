"""Gap checks as Dagster asset checks.

They sit on unpartitioned assets downstream of the weekly snapshots (the dbt marts), so one
evaluation sees every materialised week. Each wraps a pure function from
:mod:`lagesbild.quality.gaps`; the metadata names the weeks, sites or municipalities at fault.
Thresholds come from :class:`lagesbild.quality.config.QualityConfig` (``LAGESBILD_QUALITY_*``).
"""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from lagesbild.quality import gaps
from lagesbild.quality.config import QualityConfig
from orchestration.checks._io import (
    MissingInput,
    county_municipalities,
    materialised_weeks,
    read_file,
    read_partitioned,
)
from orchestration.resources import LagesbildResource

COVERAGE = dg.AssetKey(["mart_coverage_weekly"])
PREVALENCE_WEEKLY = dg.AssetKey(["mart_prevalence_weekly"])
PREVALENCE_YEARLY = dg.AssetKey(["mart_prevalence_yearly"])
DEMAND_YEARLY = dg.AssetKey(["mart_demand_yearly"])

GapFn = Callable[[LagesbildResource, QualityConfig, str], gaps.GapResult]


def _metadata_value(value):
    if isinstance(value, list | dict | tuple):
        return dg.MetadataValue.json(list(value) if isinstance(value, tuple) else value)
    return value if value is not None else dg.MetadataValue.null()


def to_check_result(result: gaps.GapResult) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if result.severity == gaps.CRITICAL else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=severity,
        description=result.description,
        metadata={k: _metadata_value(v) for k, v in result.metadata.items()},
    )


def _snapshot_files(lagesbild: LagesbildResource) -> pd.DataFrame:
    return read_partitioned(lagesbild.path("raw", "snapshot_files"))


def _coverage(lagesbild: LagesbildResource) -> pd.DataFrame:
    return read_file(lagesbild.path("marts", "mart_coverage_weekly.parquet"))


def _sites(cfg: QualityConfig, *frames: pd.DataFrame) -> list[str]:
    if cfg.sites:
        return list(cfg.sites)
    return sorted({s for f in frames for s in f["site"].dropna().astype(str)})


def snapshot_weeks_complete(lagesbild, cfg, severity):
    files, coverage = _snapshot_files(lagesbild), _coverage(lagesbild)
    weeks = set(materialised_weeks(lagesbild)) | set(coverage["week_start"].map(gaps._as_date))
    return gaps.missing_snapshot_weeks(files, _sites(cfg, files, coverage), weeks, severity=severity)


def sites_still_delivering(lagesbild, cfg, severity):
    files = _snapshot_files(lagesbild)
    weeks = materialised_weeks(lagesbild)
    return gaps.vanished_sites(files, _sites(cfg, files), weeks[-1] if weeks else None, severity=severity)


def ad_volume_steady(lagesbild, cfg, severity):
    return gaps.volume_drops(
        _coverage(lagesbild),
        ratio=cfg.volume_drop_ratio,
        trailing_weeks=cfg.volume_trailing_weeks,
        min_history_weeks=cfg.volume_min_history_weeks,
        alpha=cfg.volume_alpha,
        severity=severity,
    )


def snapshot_quarantine_share(lagesbild, cfg, severity):
    return gaps.quarantine_share(
        _snapshot_files(lagesbild),
        threshold=cfg.quarantine_max_share,
        group_cols=("site", "week_start"),
        min_rows=cfg.share_min_rows,
        alpha=cfg.share_alpha,
        severity=severity,
    )


def unmapped_location_share(lagesbild, cfg, severity):
    return gaps.unmapped_share(
        _coverage(lagesbild),
        threshold=cfg.unmapped_max_share,
        min_rows=cfg.share_min_rows,
        alpha=cfg.share_alpha,
        severity=severity,
    )


def municipalities_reporting(lagesbild, cfg, severity):
    weekly = read_file(lagesbild.path("marts", "mart_prevalence_weekly.parquet"))
    return gaps.silent_municipalities(
        weekly,
        county_municipalities(lagesbild.county_code),
        period_weeks=cfg.silent_period_weeks,
        min_prior_weeks=cfg.silent_min_prior_weeks,
        alpha=cfg.silent_alpha,
        severity=severity,
    )


def population_current(lagesbild, cfg, severity):
    population = read_file(lagesbild.path("raw", "population", "population.parquet"))
    years = set(
        read_file(lagesbild.path("marts", "mart_prevalence_yearly.parquet"))["year"].dropna().astype(int)
    )
    demand = lagesbild.path("marts", "mart_demand_yearly.parquet")
    if demand.exists():
        years |= set(read_file(demand)["year"].dropna().astype(int))
    municipalities = county_municipalities(lagesbild.county_code)
    counties = sorted({code[:2] for code in municipalities}) if lagesbild.county_code == "00" else []
    regions = [*municipalities, *counties, lagesbild.county_code]  # national mode: the 21 counties too
    return gaps.stale_population(
        population, sorted(years), cfg.population_max_age_years, regions, severity=severity
    )


def _source_quarantine(source: str) -> GapFn:
    def fn(lagesbild, cfg, severity):
        ok = read_file(lagesbild.path("raw", source, f"{source}.parquet"))
        qpath = lagesbild.path("raw", "quarantine", source, f"{source}.parquet")
        quarantined = len(read_file(qpath)) if qpath.exists() else 0
        counts = pd.DataFrame(
            {"source": [source], "rows_quarantined": [quarantined], "rows_read": [len(ok) + quarantined]}
        )
        return gaps.quarantine_share(counts, threshold=cfg.quarantine_max_share, severity=severity)

    fn.__name__ = f"{source}_quarantine_share"
    fn.__doc__ = f"Quarantined rows of {source} over the configured share."
    return fn


#: (check name, asset, function, one-line description for the UI and docs)
GAP_CHECKS: list[tuple[str, dg.AssetKey, GapFn, str]] = [
    (
        "snapshot_weeks_complete",
        COVERAGE,
        snapshot_weeks_complete,
        "Every monitored site has a snapshot file in every materialised week",
    ),
    (
        "sites_still_delivering",
        COVERAGE,
        sites_still_delivering,
        "No site's last snapshot is older than the latest materialised week",
    ),
    (
        "ad_volume_steady",
        COVERAGE,
        ad_volume_steady,
        "No site-week below the configured share of its trailing mean (a broken capture)",
    ),
    (
        "snapshot_quarantine_share",
        COVERAGE,
        snapshot_quarantine_share,
        "Quarantined snapshot rows per site-week at or below the threshold",
    ),
    (
        "unmapped_location_share",
        COVERAGE,
        unmapped_location_share,
        "Rows with no municipality per site-week at or below the threshold",
    ),
    (
        "municipalities_reporting",
        PREVALENCE_WEEKLY,
        municipalities_reporting,
        "No county municipality with ads before has none in the latest period",
    ),
    (
        "population_current",
        PREVALENCE_YEARLY,
        population_current,
        "Every region has a population figure no older than configured for every data year",
    ),
    (
        "verdicts_quarantine_share",
        dg.AssetKey(["raw", "verdicts"]),
        _source_quarantine("verdicts"),
        "Quarantined verdict rows at or below the threshold",
    ),
    (
        "population_quarantine_share",
        dg.AssetKey(["raw", "population"]),
        _source_quarantine("population"),
        "Quarantined population rows at or below the threshold",
    ),
]


#: Nominal false-alarm rate of each blocking check on complete data. The measured rate on complete
#: simulated years (at most 1 % of weeks blocked) is tests/quality/test_gap_false_alarms.py.
NOMINAL_FALSE_ALARM: dict[str, Callable[[QualityConfig], str]] = {
    "snapshot_weeks_complete": lambda cfg: "0 (a missing file is a fact)",
    "sites_still_delivering": lambda cfg: "0 (a missing file is a fact)",
    "ad_volume_steady": lambda cfg: (
        f"{cfg.volume_alpha} per site-week with Poisson weeks, up to {gaps.VOLUME_OVERDISPERSED_RATE:.1%} "
        "per site-week measured with over-dispersed weeks (negative binomial tail fitted to 4-8 weeks)"
    ),
    "snapshot_quarantine_share": lambda cfg: f"{cfg.share_alpha} per site-week (binomial tail)",
    "unmapped_location_share": lambda cfg: f"{cfg.share_alpha} per site-week (binomial tail)",
    "municipalities_reporting": lambda cfg: f"{cfg.silent_alpha} per run (advertisers, Bonferroni)",
    "population_current": lambda cfg: "0 (a missing figure is a fact)",
    "verdicts_quarantine_share": lambda cfg: "0 (a plain share of one file)",
    "population_quarantine_share": lambda cfg: "0 (a plain share of one file)",
}


def gap_check(name: str, asset_key: dg.AssetKey, fn: GapFn, description: str, cfg: QualityConfig):
    """A gap check, blocking unless ``LAGESBILD_QUALITY_WARN_ONLY`` names it.

    The severity is decided when the check runs (a WARN failure never blocks), so a process that
    downgrades a check after the definitions were loaded (the offline population of another county,
    ``run_demo.accept_offline_population``) gets a warning, not a blocked publication.
    """
    warn_now = name in cfg.warn_only

    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=True,
        description=description
        + (
            " (a warning: LAGESBILD_QUALITY_WARN_ONLY)"
            if warn_now
            else f" (blocks publication; nominal false-alarm rate {NOMINAL_FALSE_ALARM[name](cfg)})"
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, lagesbild: LagesbildResource) -> dg.AssetCheckResult:
        run_cfg = QualityConfig.from_env()
        severity = gaps.WARNING if name in run_cfg.warn_only else gaps.CRITICAL
        try:
            result = fn(lagesbild, run_cfg, severity)
        except MissingInput as exc:
            result = gaps.GapResult(False, severity, f"Nothing to check: {exc}", {"path": str(exc.path)})
        context.log.info("%s: %s", name, result.description)
        return to_check_result(result)

    return _check


def build_gap_checks(cfg: QualityConfig | None = None) -> list[dg.AssetChecksDefinition]:
    cfg = cfg or QualityConfig.from_env()
    return [gap_check(name, key, fn, desc, cfg) for name, key, fn, desc in GAP_CHECKS]
