"""Weekly partitions for the ad snapshots, and the pure helpers that turn a run's partitions into dbt's environment.

Weeks start on Monday in Europe/Stockholm (``day_offset=1``), the same weeks as SQL's
``date_trunc('week', ...)`` and ISO 8601. The first week and, for the demo, the last week come from the
environment, so a county board starts its history where its monitoring started.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import dagster as dg

from lagesbild.settings import Settings
from orchestration.dbt_command import COUNTY_ENV

TIMEZONE = "Europe/Stockholm"

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def weekly_partitions(first_week: str | None = None, last_week: str | None = None) -> dg.WeeklyPartitionsDefinition:
    """Weeks from ``first_week`` to ``last_week`` (Mondays, ISO text); unset, ``LAGESBILD_FIRST_WEEK``
    and ``LAGESBILD_LAST_WEEK`` (empty in production: up to the newest complete week)."""
    settings = Settings.from_env()
    first = first_week or settings.first_week.isoformat()
    last = last_week if last_week is not None else (settings.last_week.isoformat() if settings.last_week else "")
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


#: The environment variables dbt reads the run's county and week window from (macros/county.sql,
#: macros/weeks.sql). Not --vars: dbt re-parses the whole project whenever --vars change, but only the
#: files that read a changed environment variable, so a new week keeps partial parsing.
DBT_COUNTY_ENV = COUNTY_ENV
DBT_WEEKS_FROM_ENV = "LAGESBILD_DBT_WEEKS_FROM"
DBT_WEEKS_TO_ENV = "LAGESBILD_DBT_WEEKS_TO"


def dbt_env_for_weeks(week_range: tuple[str, str] | None, county_code: str) -> dict[str, str]:
    """Environment for a dbt run: the county always; the week window when the run covers a subset of
    weeks, else empty (all weeks: incremental models process every week, idempotent delete+insert).

    Every key is always present, so a value left in the calling process's environment never leaks in.
    """
    if not county_code or not county_code.isdigit():
        raise ValueError(f"county code must be digits (e.g. '05', '00' for national mode), got {county_code!r}")
    first = last = ""
    if week_range is not None:
        first, last = week_range
        for value in week_range:
            _require_monday(value, "week partition")
        if date.fromisoformat(first) > date.fromisoformat(last):
            raise ValueError(f"week range is reversed: {first} > {last}")
    return {DBT_COUNTY_ENV: county_code, DBT_WEEKS_FROM_ENV: first, DBT_WEEKS_TO_ENV: last}
