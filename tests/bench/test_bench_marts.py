"""The benchmark's three implementations of the marts agree, and its measuring parts measure.

The equality tests run the real things on a small national input (8,000 rows in the last 12 weeks
of a year): baseline B (DuckDB SQL), the naive pandas baseline and, slowest, the Dagster pipeline end
to end. What is compared does not grow with weeks; the pipeline's cost does (Dagster records every
weekly partition). At 5,000 rows a small municipality went silent often enough for the blocking
`municipalities_reporting` check to stop the run, as it should.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bench.baseline_duckdb import render_script, run_baseline_duckdb
from bench.baseline_pandas import normalise_phones, osa_distance, region_mapping, run_baseline_pandas
from bench.common import MARTS, InputPaths, ModelSettings
from bench.compare import compare_marts
from bench.run import Measurement, measure, ratios, targets
from lagesbild.demo.national import generate_national
from lagesbild.settings import PROJECT_ROOT

SMALL_ROWS, SMALL_WEEKS, SMALL_SEED = 8_000, 12, 7


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("national") / "inputs"
    generate_national(folder, seed=SMALL_SEED, target_rows=SMALL_ROWS, years=1, weeks=SMALL_WEEKS)
    return folder


@pytest.fixture(scope="module")
def baseline_b(small_inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("b")
    run_baseline_duckdb(small_inputs, out, ModelSettings(county_code="05"))
    return out


@pytest.mark.slow
def test_baseline_b_equals_pandas(small_inputs, baseline_b, tmp_path):
    rows = run_baseline_pandas(small_inputs, tmp_path, ModelSettings(county_code="05"))
    assert set(rows) == set(MARTS)
    assert rows["mart_prevalence_weekly"] == 14 * SMALL_WEEKS  # 13 municipalities + the county
    assert compare_marts(baseline_b, tmp_path) == []
    weekly = pq.read_table(baseline_b / "mart_prevalence_weekly.parquet").to_pandas()
    county = weekly[weekly["region_code"] == "05"]
    assert county["ads_seen"].sum() > 0 and county["advertiser_days"].sum() > 0


@pytest.mark.slow
def test_national_mode_b_equals_pandas(small_inputs, tmp_path):
    settings = ModelSettings(county_code="00")
    run_baseline_duckdb(small_inputs, tmp_path / "b", settings)
    run_baseline_pandas(small_inputs, tmp_path / "p", settings)
    assert compare_marts(tmp_path / "b", tmp_path / "p") == []
    yearly = pq.read_table(tmp_path / "b" / "mart_prevalence_yearly.parquet").to_pandas()
    assert yearly["region_code"].nunique() == 312  # 290 municipalities, 21 counties, Sverige
    sweden = yearly[yearly["region_code"] == "00"].iloc[0]
    assert sweden["region_name"] == "Sverige" and sweden["region_level"] == "country"
    assert sweden["share_of_county"] == pytest.approx(1.0)
    municipalities = yearly[(yearly["region_level"] == "municipality") & (yearly["year"] == sweden["year"])]
    assert sweden["population"] == municipalities["population"].sum() > 0  # the generator's country row


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pipeline_marts_equal_both_baselines(dbt_manifest, small_inputs, baseline_b, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.pipeline",
            "run",
            "--inputs",
            str(small_inputs),
            "--work",
            str(tmp_path),
            "--county",
            "05",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    marts = tmp_path / "data" / "marts"
    assert compare_marts(marts, baseline_b) == []
    run_baseline_pandas(small_inputs, tmp_path / "pandas", ModelSettings(county_code="05"))
    assert compare_marts(marts, tmp_path / "pandas") == []


def test_compare_reports_a_changed_value(baseline_b, tmp_path):
    for mart in MARTS:
        (tmp_path / f"{mart}.parquet").write_bytes((baseline_b / f"{mart}.parquet").read_bytes())
    weekly = pq.read_table(baseline_b / "mart_prevalence_weekly.parquet").to_pandas()
    row = weekly.index[weekly["ads_seen"] > 0][0]
    weekly.loc[row, "ads_seen"] += 1
    weekly.to_parquet(tmp_path / "mart_prevalence_weekly.parquet", index=False)
    problems = compare_marts(baseline_b, tmp_path)
    assert len(problems) == 1 and "ads_seen" in problems[0] and "mart_prevalence_weekly" in problems[0]


def test_compare_reports_missing_rows(baseline_b, tmp_path):
    for mart in MARTS:
        table = pq.read_table(baseline_b / f"{mart}.parquet")
        pq.write_table(
            table.slice(0, max(0, table.num_rows - (1 if mart == "mart_flows" else 0))),
            tmp_path / f"{mart}.parquet",
        )
    problems = compare_marts(baseline_b, tmp_path)
    assert len(problems) == 1 and problems[0].startswith("mart_flows:")


def test_phone_forms_of_the_generator_normalise_to_one_number():
    written = pd.Series(
        [
            "070-123 45 67",
            "+46 70 123 45 67",
            "0701234567",
            "070 123 45 67",
            "0046701234567",
            "ring mig",
            None,
            "",
        ]
    )
    assert normalise_phones(written).tolist()[:5] == ["+46701234567"] * 5
    assert normalise_phones(written).isna().tolist()[5:] == [True, True, True]


def test_osa_distance_counts_a_transposition_as_one_edit():
    assert osa_distance("linkoping", "linkoping") == 0
    assert osa_distance("linkopping", "linkoping") == 1
    assert osa_distance("lnikoping", "linkoping") == 1
    assert osa_distance("motala", "mjolby") > 1


def test_national_mode_maps_every_municipality_to_its_county_and_sverige():
    municipalities = pd.read_csv(
        PROJECT_ROOT / "dbt_project/seeds/reference/municipalities_se.csv", dtype=str
    )
    national = region_mapping(municipalities, "00")
    county = region_mapping(municipalities, "05")
    # each municipality maps to itself, its county and Sverige (level country)
    assert len(national) == 3 * 290
    assert set(national.loc[national["region_level"] == "country", "region_name"]) == {"Sverige"}
    assert national.loc[national["region_level"] == "county", "region_code"].nunique() == 21
    assert len(county) == 2 * 13 and set(county.loc[county["region_level"] == "county", "region_code"]) == {
        "05"
    }


def test_baseline_script_refuses_quotes_in_paths(tmp_path):
    inputs = InputPaths(tmp_path / "it's")
    with pytest.raises(ValueError, match="quotes"):
        render_script(inputs, tmp_path, ModelSettings())


def test_baseline_needs_a_national_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="national input folder"):
        run_baseline_duckdb(tmp_path, tmp_path / "out")


def test_measure_sees_a_child_process_memory_and_exit_code(tmp_path):
    grab = "import sys, time; b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5); sys.exit(3)"
    m = measure("grab", [sys.executable, "-c", grab], tmp_path)
    assert m.exit_code == 3 and not m.ok
    assert m.peak_mb >= 150 and m.wall_s >= 0.5


def test_targets_and_ratios_from_measurements():
    def m(name, wall, peak=100.0):
        return Measurement(name=name, command=[], wall_s=wall, exit_code=0, max_rss_mb=peak)

    parts = {
        "pipeline_full": m("pipeline_full", 100, peak=3000),
        "baseline_duckdb": m("baseline_duckdb", 50),
        "pipeline_week": m("pipeline_week", 15),
        "dbt_week": m("dbt_week", 5),
        "dbt_full_refresh": m("dbt_full_refresh", 40),
        "baseline_pandas": m("baseline_pandas", 90),
    }
    equal = {
        k: {"equal": True, "differences": []} for k in ("pipeline_vs_b", "pipeline_vs_pandas", "b_vs_pandas")
    }
    result = targets(parts, equal)
    assert result == {
        "full_vs_b": True,
        "week_vs_full": True,
        "dbt_week_vs_full_refresh": False,
        "peak_memory": False,
        "faster_than_pandas": False,
        "marts_equal": True,
    }
    assert ratios(parts)["pipeline_full / baseline_duckdb"] == 2.0
    parts["pipeline_week"] = m("pipeline_week", 16)
    assert targets(parts, equal)["week_vs_full"] is False  # above 0.15 of the full rebuild
    parts["baseline_duckdb"].exit_code = 1
    assert targets(parts, equal)["full_vs_b"] is None
