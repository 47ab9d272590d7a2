"""Pure helpers: weekly partitions and partition -> dbt's environment."""

import os
from datetime import date

import pytest

from orchestration.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    dbt_env_for_weeks,
    week_range_from_tags,
    weekly_partitions,
)


def test_demo_partitions_are_the_104_iso_weeks_of_2024_and_2025():
    keys = weekly_partitions("2024-01-01", "2025-12-22").get_partition_keys()
    assert len(keys) == 104
    assert keys[0] == "2024-01-01" and keys[-1] == "2025-12-22"
    assert all(date.fromisoformat(k).weekday() == 0 for k in keys)
    # ISO week numbers line up with the partitions: 2024 has 52 ISO weeks, week 1 of 2025 starts 2024-12-30.
    assert date.fromisoformat(keys[51]).isocalendar()[:2] == (2024, 52)
    assert keys[52] == "2024-12-30" and date.fromisoformat(keys[52]).isocalendar()[:2] == (2025, 1)


def test_partitions_refuse_a_week_that_does_not_start_on_monday():
    with pytest.raises(ValueError, match="Sunday"):
        weekly_partitions("2023-12-31", "")


def test_partition_time_window_is_monday_to_monday_in_stockholm():
    window = weekly_partitions("2024-01-01", "").time_window_for_partition_key("2024-03-25")
    assert window.start.isoformat() == "2024-03-25T00:00:00+01:00"
    # The week of the switch to summer time ends at CEST midnight.
    assert window.end.isoformat() == "2024-04-01T00:00:00+02:00"


def test_week_range_from_tags():
    assert week_range_from_tags({RANGE_START_TAG: "2024-01-01", RANGE_END_TAG: "2024-02-05"}) == (
        "2024-01-01",
        "2024-02-05",
    )
    assert week_range_from_tags({"dagster/partition": "2024-01-08"}) == ("2024-01-08", "2024-01-08")
    assert week_range_from_tags({}) is None


def test_dbt_env_for_weeks():
    assert dbt_env_for_weeks(None, "05") == {
        "LAGESBILD_COUNTY": "05",
        "LAGESBILD_DBT_WEEKS_FROM": "",
        "LAGESBILD_DBT_WEEKS_TO": "",
    }
    assert dbt_env_for_weeks(("2024-01-01", "2024-01-08"), "01") == {
        "LAGESBILD_COUNTY": "01",
        "LAGESBILD_DBT_WEEKS_FROM": "2024-01-01",
        "LAGESBILD_DBT_WEEKS_TO": "2024-01-08",
    }
    with pytest.raises(ValueError, match="reversed"):
        dbt_env_for_weeks(("2024-01-08", "2024-01-01"), "05")
    with pytest.raises(ValueError, match="Tuesday"):
        dbt_env_for_weeks(("2024-01-02", "2024-01-08"), "05")
    with pytest.raises(ValueError, match="county code"):
        dbt_env_for_weeks(None, "05; drop table")


def test_dbt_build_passes_weeks_in_the_environment_not_vars():
    """No --vars (a change of --vars makes dbt re-parse the whole project); --full-refresh on request."""
    from orchestration.assets.dbt import FULL_REFRESH_TAG, dbt_build_args, dbt_build_env

    weekly_tags = {"dagster/partition": "2025-12-22"}
    assert dbt_build_args(weekly_tags) == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args({}) == ["build"]  # a run over all weeks runs the unit tests too
    env = dbt_build_env(weekly_tags, "05")
    assert env["LAGESBILD_DBT_WEEKS_FROM"] == env["LAGESBILD_DBT_WEEKS_TO"] == "2025-12-22"
    full_tags = {FULL_REFRESH_TAG: "true"}
    assert dbt_build_args(full_tags) == ["build", "--full-refresh"]
    assert dbt_build_env(full_tags, "05")["LAGESBILD_DBT_WEEKS_FROM"] == ""
    assert "--full-refresh" not in dbt_build_args({FULL_REFRESH_TAG: "false"})


def test_dbt_environment_is_restored(monkeypatch):
    from orchestration.assets.dbt import environment

    monkeypatch.setenv("LAGESBILD_COUNTY", "01")
    monkeypatch.delenv("LAGESBILD_DBT_WEEKS_FROM", raising=False)
    with environment({"LAGESBILD_COUNTY": "05", "LAGESBILD_DBT_WEEKS_FROM": "2025-12-22"}):
        assert os.environ["LAGESBILD_COUNTY"] == "05"
        assert os.environ["LAGESBILD_DBT_WEEKS_FROM"] == "2025-12-22"
    assert os.environ["LAGESBILD_COUNTY"] == "01"
    assert "LAGESBILD_DBT_WEEKS_FROM" not in os.environ
