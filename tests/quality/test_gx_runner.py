"""The GX runner really fails failing expectations, and reports broken ones as broken, with the exception."""

import datetime as dt
import json
import re

import demo_frames as demo
import pandas as pd
import pytest

from lagesbild.marts import MARTS
from lagesbild.quality.gx_runner import load_suite, run_suite
from lagesbild.settings import EXPECTATIONS_DIR

SUITES = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


def _suite(*expectations):
    return {"name": "t", "expectations": list(expectations)}


def _exp(type_, severity="critical", **kwargs):
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity}}


def test_failing_expectation_fails_with_observed_counts():
    df = pd.DataFrame({"age": [20, 14, 101, None]})
    result = run_suite(
        _suite(
            _exp("expect_column_values_to_be_between", column="age", min_value=15, max_value=100),
            _exp("expect_table_row_count_to_be_between", "warning", min_value=1),
        ),
        df,
    )
    (ages, count) = result.expectations
    assert ages.status == "failed" and ages.severity == "critical" and ages.column == "age"
    assert ages.observed["unexpected_count"] == 2
    assert ages.observed["unexpected_sample"] == [14.0, 101.0]
    assert count.status == "passed" and count.observed["observed_value"] == 4
    assert not result.passed("critical") and result.passed("warning") and not result.broken()


def test_missing_column_is_broken_not_bad_data():
    result = run_suite(
        _suite(_exp("expect_column_values_to_not_be_null", column="nope")), pd.DataFrame({"a": [1]})
    )
    (e,) = result.expectations
    assert e.status == "broken" and not e.success
    assert 'column "nope"' in e.exception_info
    assert result.broken() and not result.passed()


def test_bad_kwargs_are_broken_and_the_rest_still_runs():
    df = pd.DataFrame({"a": [1, 2]})
    result = run_suite(
        _suite(
            _exp("expect_column_values_to_be_between", column="a", min_value="x", mostly=5),
            _exp("expect_column_values_to_not_be_null", column="a"),
            _exp("expect_no_such_expectation", column="a"),
        ),
        df,
    )
    bad, ok, unknown = result.expectations
    assert bad.status == "broken" and "mostly" in bad.exception_info
    assert ok.status == "passed"
    assert unknown.status == "broken" and unknown.exception_info


def test_unreadable_suite_is_a_suite_exception(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    result = run_suite(tmp_path / "x.json", pd.DataFrame({"a": [1]}))
    assert result.suite_exception and not result.passed() and result.broken()
    assert "JSONDecodeError" in run_suite(tmp_path / "x.json", pd.DataFrame()).suite_exception
    assert "FileNotFoundError" in run_suite("no_such_suite", pd.DataFrame()).suite_exception


def test_date_columns_take_full_iso_bounds():
    df = pd.DataFrame({"d": [dt.date(2025, 1, 6), dt.date(2031, 1, 6)]})
    result = run_suite(
        _suite(
            _exp(
                "expect_column_values_to_be_between",
                column="d",
                min_value="2000-01-01T00:00:00",
                max_value="2030-01-01T00:00:00",
            )
        ),
        df,
    )
    (e,) = result.expectations
    assert e.status == "failed" and e.observed["unexpected_count"] == 1


def test_phone_regex_in_suites_catches_numbers_not_keys():
    suite = load_suite("raw_ad_snapshots")
    regex = next(
        e["kwargs"]["regex"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_not_match_regex" and e["kwargs"]["column"] == "location_raw"
    )
    for phone in ["070-123 45 67", "0701234567", "+46 70 123 45 67", "ring 0046701234567", "013-12 34 56"]:
        assert re.search(regex, phone), phone
    for fine in [
        "Linköping",
        "0580",
        "Norrköping Hageby 60223",
        demo._key("x"),
        "annonsportal-a_20250106T0600.jsonl",
    ]:
        assert not re.search(regex, fine), fine


def test_phone_number_in_a_column_fails_and_is_masked():
    ads = demo.ad_snapshots(demo.snapshot_files(1))
    ads.loc[3, "location_raw"] = "Linköping ring 070-123 45 67"
    result = run_suite("raw_ad_snapshots", ads)
    failed = result.by_status("failed")
    assert [(e.type, e.column) for e in failed] == [
        ("expect_column_values_to_not_match_regex", "location_raw")
    ]
    assert "070" not in json.dumps(result.to_dict()["expectations"][0]["observed"])
    assert "070-123" not in json.dumps([e.observed for e in result.expectations])


@pytest.mark.parametrize("suite", SUITES)
def test_every_suite_is_valid_and_severities_are_set(suite):
    spec = load_suite(suite)
    assert spec["name"] == suite and spec["expectations"]
    assert {e["meta"]["severity"] for e in spec["expectations"]} <= {"critical", "warning"}
    assert any(e["type"] == "expect_table_row_count_to_be_between" for e in spec["expectations"])


def test_suite_set_covers_raw_and_marts():
    """Every raw source and every mart (each dbt model under models/marts/) has its GX suite."""
    assert len(MARTS) >= 6 and "mart_prevalence_weekly" in MARTS
    assert set(SUITES) == {"raw_ad_snapshots", "raw_verdicts", "raw_population", *MARTS}


def test_estimate_order_is_enforced():
    weekly = demo.prevalence_weekly(2)
    weekly.loc[0, "est_purchases_low"] = weekly.loc[0, "est_purchases_central"] + 1
    result = run_suite("mart_prevalence_weekly", weekly)
    assert [(e.type, e.column) for e in result.by_status("failed")] == [
        ("expect_column_pair_values_a_to_be_greater_than_b", "est_purchases_central,est_purchases_low")
    ]
    assert not result.by_status("broken")


def test_arrow_backed_dates_and_timestamps_take_iso_bounds():
    """Parquet written from pandas reads back as ``date32[pyarrow]``; GX must still compare it."""
    import pyarrow as pa

    df = pd.DataFrame(
        {
            "ts": pd.array(
                [pd.Timestamp("2025-01-01T10:00Z")], dtype=pd.ArrowDtype(pa.timestamp("us", tz="UTC"))
            ),
            "d": pd.array([dt.date(2031, 1, 1)], dtype=pd.ArrowDtype(pa.date32())),
        }
    )
    result = run_suite(
        _suite(
            _exp("expect_column_values_to_be_between", column="ts", min_value="2000-01-01T00:00:00+00:00"),
            _exp("expect_column_values_to_be_between", column="d", max_value="2030-01-01T00:00:00"),
        ),
        df,
    )
    assert [e.status for e in result.expectations] == ["passed", "failed"]
