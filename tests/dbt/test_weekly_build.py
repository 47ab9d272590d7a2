"""A weekly `dbt build` the way the pipeline runs it (county and week window in the environment, no
--vars) must give what a full refresh gives, stay partially parsed, test only the week on the big
models, and re-resolve locations when the reference changes (see docs/marts.md, "Weekly runs").
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from lagesbild.marts import MARTS

pytestmark = pytest.mark.slow

W6 = date(2024, 2, 5)
WEEK_ENV = {
    "LAGESBILD_COUNTY": "05",
    "LAGESBILD_DBT_WEEKS_FROM": W6.isoformat(),
    "LAGESBILD_DBT_WEEKS_TO": W6.isoformat(),
}
ALL_WEEKS_ENV = {"LAGESBILD_COUNTY": "05", "LAGESBILD_DBT_WEEKS_FROM": "", "LAGESBILD_DBT_WEEKS_TO": ""}
COMPARED = [*MARTS, "int_ad_observations", "int_ad_advertisers", "int_location_resolution"]


def _tables(run) -> dict[str, pd.DataFrame]:
    return run.sorted_tables(COMPARED)


def _assert_same(expected: dict[str, pd.DataFrame], actual: dict[str, pd.DataFrame]) -> None:
    for name, df in expected.items():
        pd.testing.assert_frame_equal(df, actual[name], obj=name)


def _compiled_tests(run, model: str) -> list[str]:
    """Compiled SQL of the data tests on ``model`` from the last invocation."""
    folder = Path(run.work_dir) / "target" / "compiled" / "lagesbild" / "models"
    files = sorted(folder.rglob(f"{model}.yml/*.sql"))
    assert files, f"no compiled tests for {model} under {folder}"
    return [f.read_text(encoding="utf-8") for f in files]


@pytest.fixture
def weekly_copy(built_project, tmp_path):
    """A private copy of the built project (data dir, warehouse, dbt target with its partial parse)."""
    from dbt_helpers import DbtRun

    shutil.copytree(built_project.data_dir, tmp_path / "data")
    shutil.copytree(built_project.work_dir / "target", tmp_path / "dbt" / "target")
    return DbtRun(tmp_path / "data", tmp_path / "dbt")


def _add_week_six(run) -> None:
    """W6: a2 shows k1 (merges the advertisers of a1/b1 and a2 of earlier weeks), and a new ad with a
    location text never seen before that only fuzzy matching resolves ("Linköpping")."""
    import dbt_helpers

    dbt_helpers.ADS["a7"] = ("site-a", "a7", "2024-02-05T09:00:00+00:00", "Linköpping centrum", "k10")
    dbt_helpers.CAPTURES.append(("site-a", "20240206T1000", W6, [("a2", "k1"), "a7"]))
    try:
        dbt_helpers.write_raw_fixture(run.data_dir)
    finally:
        dbt_helpers.CAPTURES.pop()
        del dbt_helpers.ADS["a7"]


def test_week_build_through_environment_equals_full_refresh(weekly_copy):
    """Re-running a built week changes nothing; a new week that merges advertisers of earlier weeks,
    built alone the way the pipeline does, gives what a full refresh gives."""
    run = weekly_copy
    before = _tables(run)
    w2 = {**WEEK_ENV, "LAGESBILD_DBT_WEEKS_FROM": "2024-01-08", "LAGESBILD_DBT_WEEKS_TO": "2024-01-08"}
    # The copy sits in another data dir: the saved parse still serves (lagesbild-dbt runs dbt in the
    # data dir's warehouse folder, so the profile does not name the data dir).
    # models only: data tests cannot change a table (the week's own build below runs them)
    again = run("run", env=w2)
    assert "Unable to do partial parsing" not in again.stdout, again.stdout[-3000:]
    _assert_same(before, _tables(run))
    assert not before["int_ad_observations"].duplicated(["site", "ad_id", "snapshot_file"]).any()
    _add_week_six(run)

    week = run("build", "--exclude-resource-type", "unit_test", env=WEEK_ENV)  # as the pipeline
    assert "Unable to do partial parsing" not in week.stdout, week.stdout[-3000:]
    # The data tests of the big models read only the week; the others read the whole table.
    for sql in _compiled_tests(run, "int_ad_observations"):
        assert f"week_start >= cast('{W6.isoformat()}' as date)" in sql
    assert all("week_start >=" not in sql for sql in _compiled_tests(run, "int_ad_advertisers"))
    weekly = _tables(run)
    locations = weekly["int_location_resolution"].set_index("location_raw")
    assert locations.loc["Linköpping centrum", ["municipality_code", "match_method"]].tolist() == ["0580", "fuzzy"]
    assert locations["reference_fingerprint"].nunique() == 1
    merged = run.query(
        "select count(distinct advertiser_key) from int_ad_observations "
        "where ad_id in ('a1', 'a2', 'b1') and week_start = '2024-01-01'"
    )
    assert merged.iloc[0, 0] == 1  # the earlier weeks carry the advertiser the new week merged
    assert len(weekly["int_ad_observations"]) == len(before["int_ad_observations"]) + 2
    county = run.query(
        "select active_advertisers from mart_prevalence_weekly where region_code = '05' and week_start = '2024-01-01'"
    )
    assert county.iloc[0, 0] == 5  # k1 and k2 are one advertiser now

    full = run("build", "--full-refresh", env=ALL_WEEKS_ENV)
    assert "Unable to do partial parsing" not in full.stdout, full.stdout[-3000:]
    assert all("week_start >=" not in sql for sql in _compiled_tests(run, "int_ad_observations"))
    _assert_same(_tables(run), weekly)


def test_changed_reference_resolves_every_location_again(weekly_copy):
    """Another county (and so another reference fingerprint) in an incremental run resolves every
    location text again, with the same result as a full refresh for that county."""
    run = weekly_copy
    before = run.query("select location_raw, location_status from int_location_resolution")
    assert dict(before.itertuples(index=False))["Jönköping"] == "out_of_county"

    county_06 = {**ALL_WEEKS_ENV, "LAGESBILD_COUNTY": "06"}
    other = run("build", env=county_06)
    # Another county re-parses only the files that read it (macros/county.sql), not the project.
    assert "Unable to do partial parsing" not in other.stdout, other.stdout[-3000:]
    incremental = _tables(run)
    resolved = incremental["int_location_resolution"].set_index("location_raw")
    assert resolved.loc["Jönköping", "location_status"] == "mapped"
    assert resolved.loc["Linkoping", "location_status"] == "out_of_county"
    assert resolved["reference_fingerprint"].nunique() == 1

    run("run", "--full-refresh", env=county_06)  # the oracle: its tables only
    _assert_same(_tables(run), incremental)
