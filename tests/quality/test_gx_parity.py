"""The GX->SQL translator (lagesbild.quality.profile) agrees with real GX on every suite in expectations/.

Each suite runs on a small synthetic sample (tests/quality/demo_frames.py) into which one breaking
row per rule is planted, by the rule's type and kwargs. The same rows go through GX row by row
(``run_suite``) and through the SQL profile (``run_profiled_suite``); pass/fail and the unexpected
count of every expectation must be equal. GX is imported and run once for the module (module
fixture), so this stays in the fast suite.
"""

from __future__ import annotations

import datetime as dt

import demo_frames as demo
import pandas as pd
import pytest

from lagesbild.quality.gx_runner import load_suite, run_suite
from lagesbild.quality.profile import GROUP_BY, SUPPORTED, run_profiled_suite
from lagesbild.settings import EXPECTATIONS_DIR
from lagesbild.warehouse import read_parquet, write_parquet_atomic

SUITES = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))
PHONE = "ring 070-123 45 67"


def _sample(suite: str) -> pd.DataFrame:
    files = demo.snapshot_files(3)
    return {
        "raw_ad_snapshots": lambda: demo.ad_snapshots(files),
        "raw_verdicts": demo.verdicts,
        "raw_population": demo.population,
        "mart_coverage_weekly": lambda: demo.coverage(files),
        "mart_prevalence_weekly": lambda: demo.prevalence_weekly(3),
        "mart_prevalence_yearly": demo.prevalence_yearly,
        "mart_demand_yearly": demo.demand_yearly,
        "mart_flows": demo.flows,
        "mart_hidden_population": lambda: pd.concat([demo.hidden_population()] * 4, ignore_index=True),
    }[suite]()


def _beyond(series: pd.Series, bound, above: bool):
    """A value of ``series``' type just past ``bound`` (an ISO bound on a date or time column too)."""
    step = 1 if above else -1
    if isinstance(bound, str):
        moment = pd.Timestamp(bound) + pd.Timedelta(days=2 * step)
        sample = series.dropna().iloc[0] if series.notna().any() else None
        if isinstance(sample, dt.date) and not isinstance(sample, dt.datetime):
            return moment.date()
        if isinstance(sample, pd.Timestamp) and sample.tzinfo is not None and moment.tzinfo is None:
            return moment.tz_localize(sample.tzinfo)
        return moment
    return bound + step


def _less(value):
    if isinstance(value, dt.date | pd.Timestamp):
        return value - dt.timedelta(days=1)
    return value - 1


def _plant(df: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """One breaking row per rule, each in its own row where the sample has enough."""
    df = df.copy()
    for i, exp in enumerate(spec["expectations"]):
        k, t = exp["kwargs"], exp["type"]
        row = df.index[(3 * i + 1) % len(df)]
        col = k.get("column")
        if col is not None and col not in df:
            continue
        if t == "expect_column_values_to_not_be_null":
            df[col] = df[col].astype(object) if df[col].dtype.kind in "biu" else df[col]
            df.loc[row, col] = None
        elif t == "expect_column_values_to_be_in_set":
            members = [v for v in k["value_set"] if v is not None]
            if all(isinstance(v, str) for v in members):
                df.loc[row, col] = "bogus"
            elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in members):
                df.loc[row, col] = max(members) + 1
        elif t == "expect_column_values_to_be_between":
            high = k.get("max_value")
            if high is not None:
                df.loc[row, col] = _beyond(df[col], high, above=True)
            else:
                df.loc[row, col] = _beyond(df[col], k["min_value"], above=False)
        elif t == "expect_column_values_to_match_regex":
            df.loc[row, col] = "~~ no match ~~"
        elif t == "expect_column_values_to_not_match_regex":
            df.loc[row, col] = f"{df.loc[row, col]} {PHONE}"
        elif t == "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = k["column_A"], k["column_B"]
            if pd.notna(df.loc[row, b]):
                df.loc[row, a] = df.loc[row, b] if not k.get("or_equal") else _less(df.loc[row, b])
        elif t == "expect_compound_columns_to_be_unique":
            df = pd.concat([df, df.loc[[row]]], ignore_index=True)
    return df


def _files(root, df: pd.DataFrame) -> list:
    """Parquet files by (week_start, site), as the profile reads them; constant keys where the
    suite's data has none (the profile groups by them, GX ignores them)."""
    df = df.copy()
    if "week_start" not in df:
        df["week_start"] = demo.FIRST_WEEK
    if "site" not in df:
        df["site"] = "sample"
    files = []
    for n, (_, part) in enumerate(df.groupby(list(GROUP_BY), dropna=False, sort=False)):
        files.append(root / f"part-{n}.parquet")
        write_parquet_atomic(part.reset_index(drop=True), files[-1])
    return files


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per suite: (expectations, GX row by row, SQL profile), on the same planted rows."""
    out = {}
    for suite in SUITES:
        spec = load_suite(suite)
        files = _files(tmp_path_factory.mktemp(suite), _plant(_sample(suite), spec))
        rows = pd.concat([read_parquet(f) for f in files], ignore_index=True)
        out[suite] = (spec["expectations"], run_suite(spec, rows), run_profiled_suite(spec, files))
    return out


def _profilable(exp: dict) -> bool:
    return exp["type"] in SUPPORTED and "mostly" not in exp["kwargs"]


@pytest.mark.parametrize("suite", SUITES)
def test_translator_equals_gx_per_expectation(runs, suite):
    expectations, by_gx, by_sql = runs[suite]
    assert not by_gx.suite_exception and not by_sql.suite_exception
    assert by_sql.rows == by_gx.rows
    assert len(by_gx.expectations) == len(by_sql.expectations) == len(expectations)
    compared = 0
    for exp, gx, sql in zip(expectations, by_gx.expectations, by_sql.expectations, strict=True):
        assert gx.status != "broken", (exp, gx.exception_info)
        if not _profilable(exp):  # the profile refuses what it cannot honour, never passes it
            assert sql.status == "broken", exp
            continue
        label = (exp["type"], gx.column)
        assert sql.status == gx.status, (label, gx.observed, sql.observed, sql.exception_info)
        assert sql.observed.get("unexpected_count") == gx.observed.get("unexpected_count"), label
        compared += 1
    assert compared >= len(expectations) - 2


def test_the_sample_breaks_every_suite_somewhere(runs):
    """The parity is not vacuous: every suite has failing expectations, and most rule types fail."""
    failed_types = set()
    for suite, (_, by_gx, _) in runs.items():
        assert by_gx.by_status("failed"), suite
        failed_types |= {e.type for e in by_gx.by_status("failed")}
    assert failed_types >= set(SUPPORTED) - {"expect_table_row_count_to_be_between"}
