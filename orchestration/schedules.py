"""Schedules: the new week every Monday morning, the population on Statistics Sweden's cadence.

Both run in Europe/Stockholm. The weekly tick at 06:00 on Monday materialises the week that ended at
midnight (the newest complete week, Monday to Sunday), so a capture tool that exports Sunday night's
snapshots a little late still lands in its week. Statistics Sweden publishes the population of 31
December once a year (February/March, sometimes corrected later), so the population is refetched
monthly: 12 small requests a year instead of 52, and a new year is picked up within a month.

Both schedules start STOPPED on a local machine (turn them on in the UI, Automation tab; the state is
kept in the instance) unless ``LAGESBILD_AUTOMATION=on``, which a production deployment sets so that a
fresh instance runs every Monday without anyone.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.jobs import population_job, weekly_job
from orchestration.partitions import TIMEZONE, WEEKLY

WEEKLY_CRON = "0 6 * * 1"  # Monday 06:00
POPULATION_CRON = "0 5 1 * *"  # first day of the month, 05:00


def automation_enabled() -> bool:
    """Whether schedules and the inbox sensor start RUNNING (``LAGESBILD_AUTOMATION=on``)."""
    return os.environ.get("LAGESBILD_AUTOMATION", "").strip().lower() in {"on", "1", "true", "yes", "running"}


def _schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_enabled() else dg.DefaultScheduleStatus.STOPPED


def newest_complete_week(at: datetime, timezone: str = TIMEZONE) -> str:
    """The Monday (YYYY-MM-DD) of the last week that ended at or before ``at`` in ``timezone``.

    Weeks run Monday 00:00 to the next Monday 00:00 local time, whatever the UTC offset (CET or CEST).
    """
    if at.tzinfo is None:
        raise ValueError("newest_complete_week needs a timezone-aware datetime")
    local_day = at.astimezone(ZoneInfo(timezone)).date()
    this_monday = local_day - timedelta(days=local_day.weekday())
    return (this_monday - timedelta(days=7)).isoformat()


def weekly_run_request(at: datetime, partitions: dg.TimeWindowPartitionsDefinition = WEEKLY):
    """A RunRequest for the newest complete week at ``at``, or a SkipReason outside the partitions."""
    key = newest_complete_week(at, partitions.timezone)
    known = partitions.get_partition_keys(current_time=at)
    if key not in known:
        first, last = (known[0], known[-1]) if known else ("-", "-")
        return dg.SkipReason(
            f"Week {key} is not a partition (partitions {first} .. {last}; "
            "LAGESBILD_FIRST_WEEK/LAGESBILD_LAST_WEEK bound them)."
        )
    iso_year, iso_week, _ = date.fromisoformat(key).isocalendar()
    return dg.RunRequest(
        run_key=f"week-{key}",
        partition_key=key,
        tags={"lagesbild/iso_week": f"{iso_year}-W{iso_week:02d}", "lagesbild/trigger": "weekly_schedule"},
    )


@dg.schedule(
    name="weekly_snapshots_schedule",
    job=weekly_job,
    cron_schedule=WEEKLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=_schedule_status(),
    description=(
        "Every Monday 06:00 Europe/Stockholm: ingest the week that just ended (Monday-Sunday) and rebuild "
        "everything downstream of it, checks and publication included."
    ),
)
def weekly_snapshots_schedule(context: dg.ScheduleEvaluationContext):
    return weekly_run_request(context.scheduled_execution_time)


@dg.schedule(
    name="population_monthly_schedule",
    job=population_job,
    cron_schedule=POPULATION_CRON,
    execution_timezone=TIMEZONE,
    default_status=_schedule_status(),
    description=(
        "First of each month 05:00 Europe/Stockholm: refetch the population (Statistics Sweden publishes "
        "the 31 December figures once a year) and rebuild what depends on it."
    ),
)
def population_monthly_schedule(context: dg.ScheduleEvaluationContext):
    month = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m")
    return dg.RunRequest(run_key=f"population-{month}", tags={"lagesbild/trigger": "population_schedule"})


schedules = [weekly_snapshots_schedule, population_monthly_schedule]
