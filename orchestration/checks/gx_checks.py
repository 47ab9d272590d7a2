"""GX suites as Dagster asset checks: one multi-check per suite, one check per severity.

``critical`` expectations form a blocking ERROR check (a failure stops everything downstream in the
run, so nothing is published); ``warning`` expectations a non-blocking WARN check. A suite that
could not be evaluated fails its check as *broken*, with the exception in the metadata.

Marts and the small raw datasets are validated row by row in pandas. The raw ad snapshots (ten
million rows at national scale) are validated by profile: DuckDB counts, per week and site, the rows
breaking each expectation of the row-level suite, and GX judges those counts
(``lagesbild.quality.profile``); a failure names the week, the site and the number of rows.
"""

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd

from lagesbild.marts import MARTS
from lagesbild.quality.gx_runner import SuiteResult, load_suite, run_suite
from lagesbild.quality.profile import run_profiled_suite
from orchestration.checks._io import MissingInput, partition_files, read_file
from orchestration.resources import LagesbildResource

#: The frame a suite validates row by row.
Reader = Callable[[dg.AssetCheckExecutionContext, LagesbildResource], pd.DataFrame]
#: The Parquet files a row-level suite validates by profile (see ``lagesbild.quality.profile``).
FilesReader = Callable[[dg.AssetCheckExecutionContext, LagesbildResource], list[Path]]

SEVERITY = {"critical": dg.AssetCheckSeverity.ERROR, "warning": dg.AssetCheckSeverity.WARN}


def check_name(suite: str, severity: str) -> str:
    return f"gx_{suite}_{severity}"


def _failure_lines(result: SuiteResult, severity: str) -> list[str]:
    lines = []
    for e in result.expectations:
        if e.severity != severity or e.success:
            continue
        where = f"({e.column})" if e.column else ""
        if e.status == "broken":
            lines.append(f"BROKEN {e.type}{where}: {e.exception_info}")
        else:
            seen = e.observed.get("unexpected_count", e.observed.get("observed_value"))
            lines.append(
                f"{e.type}{where}: {seen} unexpected{_where_text(e.observed)}"
                if "unexpected_count" in e.observed
                else f"{e.type}{where}: observed {seen}"
            )
    return lines


def _where_text(observed: dict, shown: int = 3) -> str:
    """`` in 2025-W06 (2025-02-03) annonsportal-a: 1 row, ...`` for a profiled expectation."""
    where = observed.get("where") or []
    if not where:
        return ""
    parts = [
        f"{w['week']} {w['site']}: {w['rows']} row{'s' if w['rows'] != 1 else ''}" for w in where[:shown]
    ]
    more = observed.get("site_weeks_failing", len(where)) - shown
    return " in " + ", ".join(parts) + (f" and {more} more site-week(s)" if more > 0 else "")


def suite_check_result(
    asset_key: dg.AssetKey, result: SuiteResult, severity: str, extra: dict | None = None
) -> dg.AssetCheckResult:
    """One check result for the expectations of ``severity`` in ``result``."""
    mine = [e for e in result.expectations if e.severity == severity]
    failed = [e for e in mine if e.status == "failed"]
    broken = [e for e in mine if e.status == "broken"]
    lines = _failure_lines(result, severity)
    if result.suite_exception:
        description = f"BROKEN: suite {result.suite_name} could not be evaluated: {result.suite_exception}"
    elif broken:
        description = (
            f"BROKEN: {len(broken)} expectation(s) raised inside GX (not a data finding); "
            + "; ".join(lines[:3])
        )
    elif failed:
        description = f"{len(failed)} of {len(mine)} {severity} expectation(s) failed: " + "; ".join(
            lines[:3]
        )
    else:
        description = f"All {len(mine)} {severity} expectations passed on {result.rows} rows."
    metadata = {
        "suite": result.suite_name,
        "status": "broken" if (broken or result.suite_exception) else ("failed" if failed else "passed"),
        "rows": result.rows,
        "expectations": len(mine),
        "failed": len(failed),
        "broken": len(broken),
        "failing_expectations": dg.MetadataValue.json(
            [
                {
                    "type": e.type,
                    "column": e.column,
                    "status": e.status,
                    "observed": e.observed,
                    "exception": e.exception_info,
                    "kwargs": e.kwargs,
                }
                for e in failed + broken
            ]
        ),
        **(extra or {}),
    }
    if result.suite_exception:
        metadata["exception"] = result.suite_exception
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name(result.suite_name, severity),
        passed=not (failed or broken or result.suite_exception),
        severity=SEVERITY[severity],
        description=description,
        metadata=metadata,
    )


def missing_input_results(asset_key, suite, severities, exc: MissingInput) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=check_name(suite, sev),
            passed=False,
            severity=SEVERITY[sev],
            description=f"Nothing to check: {exc}",
            metadata={"suite": suite, "status": "missing_input", "path": str(exc.path)},
        )
        for sev in severities
    ]


def gx_suite_check(
    suite: str, asset_key: dg.AssetKey, reader: Reader | None = None, *, files: FilesReader | None = None
) -> dg.AssetChecksDefinition:
    """A multi-asset check running ``expectations/<suite>.json`` on the frame ``reader`` returns, or,
    given ``files`` instead, on the rows of those Parquet files by profile (big partitioned data)."""
    if (reader is None) == (files is None):
        raise ValueError("gx_suite_check needs exactly one of reader and files")
    spec = load_suite(suite)
    severities = [
        s
        for s in ("critical", "warning")
        if any((e.get("meta") or {}).get("severity", "critical") == s for e in spec["expectations"])
    ]
    specs = [
        dg.AssetCheckSpec(
            check_name(suite, sev),
            asset=asset_key,
            blocking=(sev == "critical"),
            description=f"GX suite expectations/{suite}.json, {sev} expectations"
            + (" (blocks publication)" if sev == "critical" else ""),
        )
        for sev in severities
    ]

    @dg.multi_asset_check(specs=specs, name=f"gx_{suite}", can_subset=False)
    def _check(context, lagesbild: LagesbildResource):
        try:
            if files is not None:
                result = run_profiled_suite(suite, files(context, lagesbild))
            else:
                result = run_suite(suite, reader(context, lagesbild))
        except MissingInput as exc:
            yield from missing_input_results(asset_key, suite, severities, exc)
            return
        context.log.info("GX %s: %s", suite, json.dumps({s: result.passed(s) for s in severities}))
        for sev in severities:
            yield suite_check_result(asset_key, result, sev)

    return _check


def _mart_reader(mart: str) -> Reader:
    return lambda context, lagesbild: read_file(lagesbild.path("marts", f"{mart}.parquet"))


def _snapshots_files(context, lagesbild: LagesbildResource) -> list[Path]:
    """The Parquet files of the weeks the run materialised (one partition, a range, or all).

    The suite is validated by profile: DuckDB reads these files in place, so no frame of the history
    is ever built and memory does not grow with the number of weeks.
    """
    root = lagesbild.path("raw", "ad_snapshots")
    weeks = None
    try:
        if context.has_partition_key:
            weeks = (context.partition_key, context.partition_key)
        elif context.has_partition_key_range:
            weeks = (context.partition_key_range.start, context.partition_key_range.end)
    except Exception:  # noqa: BLE001, S110 - no partition information in this context: read every week
        weeks = None
    return partition_files(root, weeks=weeks)


def build_gx_checks() -> list[dg.AssetChecksDefinition]:
    checks = [
        gx_suite_check("raw_ad_snapshots", dg.AssetKey(["raw", "ad_snapshots"]), files=_snapshots_files),
        gx_suite_check(
            "raw_verdicts",
            dg.AssetKey(["raw", "verdicts"]),
            lambda c, r: read_file(r.path("raw", "verdicts", "verdicts.parquet")),
        ),
        gx_suite_check(
            "raw_population",
            dg.AssetKey(["raw", "population"]),
            lambda c, r: read_file(r.path("raw", "population", "population.parquet")),
        ),
    ]
    checks += [gx_suite_check(m, dg.AssetKey([m]), _mart_reader(m)) for m in MARTS]
    return checks
