"""The Monday schedule picks the newest complete week (CET, CEST, ISO year boundary); population is monthly."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.partitions import weekly_partitions
from orchestration.schedules import (
    POPULATION_CRON,
    WEEKLY_CRON,
    population_monthly_schedule,
    weekly_snapshots_schedule,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEMO_WEEKS = weekly_partitions("2024-01-01", "2025-12-22")


def _tick(local: datetime) -> dg.ScheduleEvaluationContext:
    return dg.build_schedule_context(scheduled_execution_time=local)


def _weekly(local: datetime, schedule: dg.ScheduleDefinition = weekly_snapshots_schedule):
    return schedule.evaluate_tick(_tick(local))


@pytest.mark.parametrize(
    ("tick", "expected_week", "iso_week"),
    [
        # Winter time (CET, UTC+1): Monday 06:00 is 05:00 UTC.
        (datetime(2024, 3, 25, 6, tzinfo=STOCKHOLM), "2024-03-18", "2024-W12"),
        # The week of the switch to summer time (31 March 2024) ends at CEST midnight; tick at 06:00 CEST.
        (datetime(2024, 4, 1, 6, tzinfo=STOCKHOLM), "2024-03-25", "2024-W13"),
        # Summer time (CEST, UTC+2), given in UTC: 04:00 UTC is 06:00 in Stockholm.
        (datetime(2024, 7, 8, 4, tzinfo=UTC), "2024-07-01", "2024-W27"),
        # The week of the switch back to winter time (27 October 2024).
        (datetime(2024, 10, 28, 5, tzinfo=UTC), "2024-10-21", "2024-W43"),
        # ISO year boundary: ISO 2025-W01 starts on Monday 30 December 2024.
        (datetime(2024, 12, 30, 6, tzinfo=STOCKHOLM), "2024-12-23", "2024-W52"),
        (datetime(2025, 1, 6, 6, tzinfo=STOCKHOLM), "2024-12-30", "2025-W01"),
        # 2024 has 52 ISO weeks, 2020 had 53; the demo's last week is 2025-W52.
        (datetime(2025, 12, 29, 6, tzinfo=STOCKHOLM), "2025-12-22", "2025-W52"),
    ],
)
def test_weekly_schedule_requests_the_week_that_just_ended(tick, expected_week, iso_week):
    (request,) = _weekly(tick).run_requests
    assert request.partition_key == expected_week
    assert request.run_key == expected_week  # one run per week, however often the tick is evaluated
    assert request.tags["lagesbild/trigger"] == "weekly_schedule"
    iso_year, week, _ = date.fromisoformat(expected_week).isocalendar()
    assert f"{iso_year}-W{week:02d}" == iso_week
    # The requested week is a real partition whose window ended before the tick, in Stockholm time.
    window = DEMO_WEEKS.time_window_for_partition_key(expected_week)
    assert window.end <= tick < window.end + timedelta(days=7)


def test_weekly_schedule_outside_the_partitions_runs_nothing_new():
    before_start = _weekly(datetime(2024, 1, 1, 6, tzinfo=STOCKHOLM))
    assert not before_start.run_requests and before_start.skip_message
    # After the last week of a bounded range it asks for that week again, under the run key its own
    # tick already used, so the scheduler launches nothing.
    (after_demo,) = _weekly(datetime(2026, 1, 5, 6, tzinfo=STOCKHOLM)).run_requests
    assert after_demo.run_key == after_demo.partition_key == "2025-12-22"


def test_open_ended_partitions_follow_the_clock():
    """In production LAGESBILD_LAST_WEEK is empty: every Monday has a new partition to run."""
    open_ended = weekly_partitions("2024-01-01", "")

    @dg.asset(partitions_def=open_ended)
    def week_asset() -> None: ...

    job = dg.define_asset_job("open_ended", selection=[week_asset], partitions_def=open_ended)
    schedule = dg.build_schedule_from_partitioned_job(job, hour_of_day=6)
    (request,) = _weekly(datetime(2027, 3, 1, 6, tzinfo=STOCKHOLM), schedule).run_requests
    assert request.partition_key == "2027-02-22"


@settings(max_examples=30, deadline=None)
@given(st.dates(min_value=date(2024, 1, 8), max_value=date(2025, 12, 29)))
def test_every_monday_tick_requests_the_previous_local_week(day):
    monday = day - timedelta(days=day.weekday())
    tick = datetime(monday.year, monday.month, monday.day, 6, tzinfo=STOCKHOLM)
    (request,) = _weekly(tick).run_requests
    assert request.partition_key == (monday - timedelta(days=7)).isoformat()


def test_schedules_run_monday_morning_and_monthly_in_stockholm():
    assert weekly_snapshots_schedule.cron_schedule == WEEKLY_CRON == "0 6 * * 1"
    assert weekly_snapshots_schedule.execution_timezone == "Europe/Stockholm"
    assert weekly_snapshots_schedule.job_name == "weekly_snapshots"
    assert population_monthly_schedule.cron_schedule == POPULATION_CRON
    assert population_monthly_schedule.execution_timezone == "Europe/Stockholm"
    assert population_monthly_schedule.job_name == "population_refresh"


def test_population_schedule_runs_once_per_month():
    first = population_monthly_schedule(_tick(datetime(2026, 3, 1, 5, tzinfo=STOCKHOLM)))
    again = population_monthly_schedule(_tick(datetime(2026, 3, 1, 5, 0, 30, tzinfo=STOCKHOLM)))
    april = population_monthly_schedule(_tick(datetime(2026, 4, 1, 5, tzinfo=STOCKHOLM)))
    assert first.run_key == again.run_key == "population-2026-03"
    assert april.run_key == "population-2026-04"
    assert first.partition_key is None
