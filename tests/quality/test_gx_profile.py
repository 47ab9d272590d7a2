"""The raw ad-snapshot suite validated by profile: same counts as GX row by row, failures named by week
and site, severities kept, broken rules broken, and the Dagster check gates publication on it."""

from __future__ import annotations

import json
import re

import dagster as dg
import demo_frames as demo
import duckdb
import pandas as pd
import pytest

from lagesbild.quality.gx_runner import load_suite, run_suite
from lagesbild.quality.profile import run_profiled_suite
from lagesbild.warehouse import read_parquet, write_parquet_atomic
from orchestration.resources import LagesbildResource

SUITE = "raw_ad_snapshots"
PHONE_RX = next(
    e["kwargs"]["regex"]
    for e in load_suite(SUITE)["expectations"]
    if e["type"] == "expect_column_values_to_not_match_regex"
)


def _write_weeks(root, ads: pd.DataFrame) -> list:
    files = []
    for w, week in ads.groupby("week_start"):
        path = root / f"week_start={pd.Timestamp(w).date().isoformat()}" / "part-0.parquet"
        write_parquet_atomic(week.reset_index(drop=True), path)
        files.append(path)
    return files


def _damaged(n_weeks: int = 3) -> pd.DataFrame:
    """Demo rows with one of every kind of breakage, several in week 2 for annonsportal-a."""
    ads = demo.ad_snapshots(demo.snapshot_files(n_weeks))
    week2 = ads.index[(ads.week_start == demo.weeks()[1]) & (ads.site == "annonsportal-a")]
    ads.loc[week2[0], "stated_age"] = 12
    ads.loc[week2[1], "location_raw"] = "Linköping ring 070-123 45 67"
    ads.loc[week2[2], "location_raw"] = (
        "Norrköping 070\u00a0123\u00a045\u00a067"  # no-break spaces: RE2 misses it
    )
    ads.loc[week2[3], "location_raw"] = "Söderköping ö0701234567"  # Python's \b is Unicode: not a match
    ads.loc[week2[4], "phone_status"] = "bogus"
    ads.loc[week2[5], "phone_key"] = "0701234567"
    ads.loc[week2[6], "posted_at"] = ads.loc[week2[6], "captured_at"] + pd.Timedelta(hours=1)  # warning
    ads.loc[week2[7], "category"] = None
    ads.loc[week2[8], "ad_id"] = None
    dup = ads.loc[[week2[9]]].copy()
    ads = pd.concat([ads, dup], ignore_index=True)  # the same (snapshot_file, line_no) twice
    ads.loc[ads.index[0], "site"] = "Annonsportal A!"  # warning: odd site name, in week 1
    return ads


def _counts(result) -> list[tuple]:
    return [
        (e.type, e.column, e.severity, e.status, e.observed.get("unexpected_count"))
        for e in result.expectations
    ]


def test_profile_counts_equal_gx_row_by_row(tmp_path):
    ads = _damaged()
    files = _write_weeks(tmp_path, ads)
    by_rows = run_suite(SUITE, pd.concat([read_parquet(f) for f in files], ignore_index=True))
    by_profile = run_profiled_suite(SUITE, files)
    assert _counts(by_profile) == _counts(by_rows)
    assert by_profile.rows == by_rows.rows == len(ads)
    failed = {(e.column, e.observed["unexpected_count"]) for e in by_profile.by_status("failed")}
    assert failed == {
        ("stated_age", 1),
        ("location_raw", 2),  # the no-break-space number counts, the "ö0701234567" one does not
        ("phone_status", 1),
        ("phone_key", 1),
        ("ad_id", 1),
        ("snapshot_file,line_no", 2),  # GX counts both rows of a duplicated key
        ("captured_at,posted_at", 1),
        ("site", 1),
    }


def test_failures_name_week_site_and_rows_and_mask_numbers(tmp_path):
    result = run_profiled_suite(SUITE, _write_weeks(tmp_path, _damaged()))
    (age,) = [e for e in result.by_status("failed") if e.column == "stated_age"]
    assert age.severity == "critical"
    assert age.observed["where"] == [
        {"week": "2025-W03 (2025-01-13)", "week_start": "2025-01-13", "site": "annonsportal-a", "rows": 1}
    ]
    assert age.observed["observed_min"] == 12
    (site,) = [e for e in result.by_status("failed") if e.column == "site"]
    assert site.severity == "warning" and site.observed["where"][0]["week_start"] == "2025-01-06"
    assert not result.passed("critical") and not result.passed("warning") and not result.broken()
    assert "070" not in json.dumps([e.observed for e in result.expectations])


def test_healthy_weeks_pass_and_count_rows(tmp_path):
    ads = demo.ad_snapshots(demo.snapshot_files(4))
    result = run_profiled_suite(SUITE, _write_weeks(tmp_path, ads))
    assert result.passed() and result.rows == len(ads) == 320
    assert len(result.expectations) == len(load_suite(SUITE)["expectations"])


def test_unprofilable_rules_are_broken_not_passed(tmp_path):
    files = _write_weeks(tmp_path, demo.ad_snapshots(demo.snapshot_files(1)))
    suite = {
        "name": "t",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "site", "mostly": 0.9}},
            {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "stated_age", "min_value": 1}},
            {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "line_no", "regex": "1"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "site"}},
        ],
    }
    result = run_profiled_suite(suite, files)
    missing, mostly, mean, numeric, ok = result.expectations
    assert missing.status == "broken" and 'column "nope"' in missing.exception_info
    assert mostly.status == "broken" and "mostly" in mostly.exception_info
    assert mean.status == "broken" and "cannot run as a profile" in mean.exception_info
    assert numeric.status == "broken" and "text column" in numeric.exception_info
    assert ok.status == "passed" and result.broken() and not result.passed()


def test_empty_files_fail_the_row_count(tmp_path):
    path = tmp_path / "week_start=2025-01-06" / "part-0.parquet"
    write_parquet_atomic(demo.ad_snapshots(demo.snapshot_files(1)).iloc[0:0], path)
    result = run_profiled_suite(SUITE, [path])
    (count,) = result.by_status("failed")
    assert count.type == "expect_table_row_count_to_be_between" and count.observed["observed_value"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "070-123 45 67",
        "0701234567",
        "+46 70 123 45 67",
        "ring 0046701234567",
        "013-12 34 56",
        "Linköping",
        "0580",
        "Norrköping Hageby 60223",
        "annonsportal-a_20250106T0600.jsonl",
        "a0701234567",
        demo._key("x"),
    ],
)
def test_re2_agrees_with_python_re_on_ascii_and_the_profile_on_everything(text):
    """RE2 is trusted only where it agrees with Python's ``re``; the profile's answer always does."""
    with duckdb.connect() as con:
        re2 = con.execute("select regexp_matches(?, ?)", [text, PHONE_RX]).fetchone()[0]
    if text.isascii():
        assert re2 == bool(re.search(PHONE_RX, text))


@pytest.mark.parametrize(
    "text, is_phone",
    [
        ("070\u00a0123\u00a045\u00a067", True),
        ("ö0701234567", False),
        ("070\x0b1234567", True),
        ("Göteborg", False),
    ],
)
def test_profile_follows_python_re_where_re2_differs(tmp_path, text, is_phone):
    ads = demo.ad_snapshots(demo.snapshot_files(1))
    ads.loc[0, "location_raw"] = text
    result = run_profiled_suite(SUITE, _write_weeks(tmp_path, ads))
    (loc,) = [e for e in result.expectations if e.column == "location_raw"]
    assert loc.status == ("failed" if is_phone else "passed")


# --- the Dagster check ---------------------------------------------------------------------------


def _check_run(tmp_path, partition_key=None):
    from orchestration.checks.gx_checks import build_gx_checks

    weekly = dg.WeeklyPartitionsDefinition(start_date="2025-01-06", timezone="Europe/Stockholm", day_offset=1)
    key = dg.AssetKey(["raw", "ad_snapshots"])

    @dg.asset(key=key, partitions_def=weekly)
    def raw_ad_snapshots():
        return None

    @dg.asset(key=["publication"], deps=[key], partitions_def=weekly)
    def publication():
        return None

    result = dg.materialize(
        [raw_ad_snapshots, publication, build_gx_checks()[0]],
        partition_key=partition_key,
        resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
        raise_on_error=False,
    )
    published = dg.AssetKey(["publication"]) in {
        e.asset_key for e in result.get_asset_materialization_events()
    }
    return {e.check_name: e for e in result.get_asset_check_evaluations()}, published


def _plant(tmp_path, week: str, damage) -> None:
    path = tmp_path / "raw" / "ad_snapshots" / f"week_start={week}" / "part-0.parquet"
    write_parquet_atomic(damage(read_parquet(path)), path)


def test_planted_bad_rows_fail_the_critical_check_naming_week_and_site(tmp_path):
    demo.write_demo(tmp_path)

    def damage(ads):
        b = ads.index[ads.site == "annonsportal-b"]
        ads.loc[b[0], "stated_age"] = 12
        ads.loc[b[1], "location_raw"] = "Motala, ring 0701234567"
        return pd.concat([ads, ads.loc[[b[2]]]], ignore_index=True)  # a duplicated line

    _plant(tmp_path, "2025-02-03", damage)
    checks, published = _check_run(tmp_path, "2025-02-03")
    critical = checks["gx_raw_ad_snapshots_critical"]
    assert not critical.passed and critical.severity == dg.AssetCheckSeverity.ERROR and not published
    assert critical.description.startswith("3 of 20 critical expectation(s) failed")
    assert (
        "expect_column_values_to_be_between(stated_age): 1 unexpected in 2025-W06 (2025-02-03) annonsportal-b: 1 row"
        in critical.description
    )
    failing = critical.metadata["failing_expectations"].value
    assert [(f["column"], f["observed"]["unexpected_count"], f["observed"]["where"]) for f in failing] == [
        (
            col,
            n,
            [
                {
                    "week": "2025-W06 (2025-02-03)",
                    "week_start": "2025-02-03",
                    "site": "annonsportal-b",
                    "rows": n,
                }
            ],
        )
        for col, n in [("stated_age", 1), ("snapshot_file,line_no", 2), ("location_raw", 1)]
    ]
    assert "0701234567" not in json.dumps(failing)
    assert checks["gx_raw_ad_snapshots_warning"].passed
    # Another week of the same history is untouched: its run passes and publishes.
    checks, published = _check_run(tmp_path, "2025-01-13")
    assert checks["gx_raw_ad_snapshots_critical"].passed and published
    assert checks["gx_raw_ad_snapshots_critical"].metadata["rows"].value == 80


def test_warning_only_violation_does_not_block(tmp_path):
    demo.write_demo(tmp_path)

    def damage(ads):
        ads.loc[4, "posted_at"] = ads.loc[4, "captured_at"] + pd.Timedelta(days=1)
        return ads

    _plant(tmp_path, "2025-01-20", damage)
    checks, published = _check_run(tmp_path, "2025-01-20")
    warning = checks["gx_raw_ad_snapshots_warning"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert "2025-W04 (2025-01-20) annonsportal-a: 1 row" in warning.description
    assert checks["gx_raw_ad_snapshots_critical"].passed and published


def test_a_week_missing_a_column_fails_not_null_there(tmp_path):
    """Statistics prove a rule only when every file has the column; a drifted week is counted."""
    ads = demo.ad_snapshots(demo.snapshot_files(2))
    files = _write_weeks(tmp_path, ads)
    second = read_parquet(files[1]).drop(columns=["ad_id"])
    write_parquet_atomic(second, files[1])
    result = run_profiled_suite(SUITE, files)
    (ad_id,) = result.by_status("failed")
    assert ad_id.column == "ad_id" and ad_id.observed["unexpected_count"] == 80
    assert {w["week_start"] for w in ad_id.observed["where"]} == {"2025-01-13"}


def test_healthy_files_need_a_row_scan_only_for_pair_and_key_rules(tmp_path):
    from lagesbild.quality.profile import compile_rules, compute_profile, schema_of

    files = _write_weeks(tmp_path, demo.ad_snapshots(demo.snapshot_files(2)))
    schema = schema_of(files)
    rules = compile_rules(load_suite(SUITE), schema)
    profile = compute_profile(files, rules, schema)
    scanned = {r.type for r in rules if r.violation and not r.clean}
    assert scanned == {
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_compound_columns_to_be_unique",
    }
    assert profile["rows"].tolist() == [40, 40, 40, 40]
    assert (profile[[r.name for r in rules if r.violation]] == 0).all().all()
