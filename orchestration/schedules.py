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

from zoneinfo import ZoneInfo

import dagster as dg

from lagesbild.settings import Settings
from orchestration.jobs import population_job, weekly_job
from orchestration.partitions import TIMEZONE

WEEKLY_CRON = "0 6 * * 1"  # Monday 06:00
POPULATION_CRON = "0 5 1 * *"  # first day of the month, 05:00


def automation_enabled() -> bool:
    """Whether schedules and the inbox sensor start RUNNING (``LAGESBILD_AUTOMATION=on``)."""
    return Settings.from_env().automation


def _schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_enabled() else dg.DefaultScheduleStatus.STOPPED


#: Dagster's schedule for a partitioned job: it ticks at the partitions' cron (Monday 00:00) plus
#: six hours, and requests the newest partition that has ended by then (the week Monday-Sunday that
#: ended at midnight), with the partition key as run key so a tick never runs a week twice.
weekly_snapshots_schedule = dg.build_schedule_from_partitioned_job(
    weekly_job,
    name="weekly_snapshots_schedule",
    hour_of_day=6,
    minute_of_hour=0,
    default_status=_schedule_status(),
    tags={"lagesbild/trigger": "weekly_schedule"},
    description=(
        "Every Monday 06:00 Europe/Stockholm: ingest the week that just ended (Monday-Sunday) and rebuild "
        "everything downstream of it, checks and publication included."
    ),
)


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
