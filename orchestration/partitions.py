"""Weekly partitions for the ad snapshots, and the pure helpers that turn a run's partitions into dbt vars.

Weeks start on Monday in Europe/Stockholm (``day_offset=1``), the same weeks as SQL's
``date_trunc('week', ...)`` and ISO 8601. The first week and, for the demo, the last week come from the
environment, so a county board starts its history where its monitoring started.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date, timedelta

import dagster as dg

TIMEZONE = "Europe/Stockholm"
DEFAULT_FIRST_WEEK = "2024-01-01"
#: The demo's last week (2025-W52). Unset ``LAGESBILD_LAST_WEEK=`` (empty) in production so the
#: partitions run up to the newest complete week.
DEFAULT_LAST_WEEK = "2025-12-22"

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def weekly_partitions(first_week: str | None = None, last_week: str | None = None) -> dg.WeeklyPartitionsDefinition:
    first = first_week or os.environ.get("LAGESBILD_FIRST_WEEK") or DEFAULT_FIRST_WEEK
    last = last_week if last_week is not None else os.environ.get("LAGESBILD_LAST_WEEK", DEFAULT_LAST_WEEK)
    _require_monday(first, "LAGESBILD_FIRST_WEEK")
    end_date = None
    if last:
        _require_monday(last, "LAGESBILD_LAST_WEEK")
        # end_date is exclusive: the partition starting on `last` is the final one.
        end_date = (date.fromisoformat(last) + timedelta(days=7)).isoformat()
    return dg.WeeklyPartitionsDefinition(
        start_date=first, end_date=end_date, day_offset=1, timezone=TIMEZONE, fmt="%Y-%m-%d"
    )


def _require_monday(value: str, name: str) -> None:
    day = date.fromisoformat(value)
    if day.weekday() != 0:
        raise ValueError(f"{name}={value} is a {day:%A}; weeks start on Monday (ISO 8601).")


WEEKLY = weekly_partitions()


def week_range_from_tags(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The (first, last) week starts a run covers, from its partition tags; None for an unpartitioned run."""
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return tags[RANGE_START_TAG], tags[RANGE_END_TAG]
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG], tags[PARTITION_TAG]
    return None


def dbt_vars_for_weeks(week_range: tuple[str, str] | None, county_code: str) -> dict[str, str]:
    """dbt vars for a run: the county always; the weeks only when the run covers a subset of weeks.

    Without weeks, incremental models process every week in the raw data (idempotent delete+insert).
    """
    dbt_vars = {"county_code": county_code}
    if week_range is not None:
        first, last = week_range
        for value in week_range:
            _require_monday(value, "week partition")
        if date.fromisoformat(first) > date.fromisoformat(last):
            raise ValueError(f"week range is reversed: {first} > {last}")
        dbt_vars.update(weeks_from=first, weeks_to=last)
    return dbt_vars


def dbt_vars_arg(dbt_vars: Mapping[str, str]) -> list[str]:
    return ["--vars", json.dumps(dict(dbt_vars), sort_keys=True)]
