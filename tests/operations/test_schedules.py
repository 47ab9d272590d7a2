"""The Monday schedule picks the newest complete week (CET, CEST, ISO year boundary); population is monthly."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.partitions import weekly_partitions
from orchestration.schedules import (
    POPULATION_CRON,
    WEEKLY_CRON,
    newest_complete_week,
    population_monthly_schedule,
    weekly_run_request,
    weekly_snapshots_schedule,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEMO_WEEKS = weekly_partitions("2024-01-01", "2025-12-22")


def _tick(local: datetime) -> dg.ScheduleEvaluationContext:
    return dg.build_schedule_context(scheduled_execution_time=local)


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
    request = weekly_snapshots_schedule(_tick(tick))
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == expected_week
    assert request.run_key == f"week-{expected_week}"
    assert request.tags["lagesbild/iso_week"] == iso_week
    # The requested week is a real partition whose window ended before the tick, in Stockholm time.
    window = DEMO_WEEKS.time_window_for_partition_key(expected_week)
    assert window.end <= tick < window.end + timedelta(days=7)


def test_weekly_schedule_skips_outside_the_partitions():
    after_demo = weekly_snapshots_schedule(_tick(datetime(2026, 1, 5, 6, tzinfo=STOCKHOLM)))
    assert isinstance(after_demo, dg.SkipReason)
    assert "2025-12-29" in after_demo.skip_message and "LAGESBILD_LAST_WEEK" in after_demo.skip_message
    before_start = weekly_snapshots_schedule(_tick(datetime(2024, 1, 1, 6, tzinfo=STOCKHOLM)))
    assert isinstance(before_start, dg.SkipReason)


def test_open_ended_partitions_follow_the_clock():
    """In production LAGESBILD_LAST_WEEK is empty: every Monday has a new partition to run."""
    open_ended = weekly_partitions("2024-01-01", "")
    request = weekly_run_request(datetime(2027, 3, 1, 6, tzinfo=STOCKHOLM), open_ended)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2027-02-22"


def test_a_tick_just_after_midnight_on_monday_still_picks_the_previous_week():
    # 00:00:01 CET on Monday 8 January 2024 is still Sunday 23:00 UTC.
    tick = datetime(2024, 1, 7, 23, 0, 1, tzinfo=UTC)
    assert newest_complete_week(tick) == "2024-01-01"
    with pytest.raises(ValueError, match="timezone-aware"):
        newest_complete_week(datetime(2024, 1, 8, 6))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_newest_complete_week_is_the_monday_of_the_previous_local_week(at):
    week = date.fromisoformat(newest_complete_week(at))
    local_day = at.astimezone(STOCKHOLM).date()
    assert week.weekday() == 0
    assert 7 <= (local_day - week).days <= 13
    # Agrees with the partitions' own time windows (Monday 00:00 Stockholm, CET or CEST).
    window = weekly_partitions("1999-12-27", "").time_window_for_partition_key(week.isoformat())
    assert window.end <= at < window.end + timedelta(days=7)


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
