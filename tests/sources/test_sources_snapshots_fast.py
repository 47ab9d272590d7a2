"""The columnar snapshot ingest that production uses (``ingest_weeks_fast``, many weeks per batch) equals
the line-by-line ``ingest_week``, its test oracle: rows, file list, quarantine, under-age candidates and
metadata, week by week, however the weeks fall into batches."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lagesbild.demo.national import generate_national
from lagesbild.settings import DEMO_PSEUDONYM_KEY
from lagesbild.sources.snapshots import FolderArchive, ingest_week
from lagesbild.sources.snapshots_fast import ingest_week_fast, ingest_weeks_fast, same_result

KEY = DEMO_PSEUDONYM_KEY.encode()
# The county demo's first 20 weeks hold a gzip capture, a truncated gzip, malformed lines, letters for
# digits in phone numbers and duplicates: the weeks that need it take the slow path.
COUNTY_WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(20)]
# Every demo week and one on each side without captures.
ALL_COUNTY_WEEKS = [date(2023, 12, 25) + timedelta(weeks=i) for i in range(107)]


@pytest.fixture(scope="module")
def national_snapshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("national") / "inputs"
    generate_national(folder, seed=7, target_rows=5_000, years=1)
    return folder / "snapshots"


@pytest.fixture(scope="module")
def national_expected(national_snapshots):
    archive = FolderArchive(national_snapshots)
    return {week: ingest_week(archive, week, KEY) for week in _mondays(archive)}


@pytest.fixture(scope="module")
def county_expected(demo_inputs):
    archive = FolderArchive(demo_inputs / "snapshots")
    return {week: ingest_week(archive, week, KEY) for week in ALL_COUNTY_WEEKS}


def _mondays(archive) -> list[date]:
    refs = archive.list_files()
    first, last = (ref.captured_at.date() for ref in (refs[0], refs[-1]))
    monday = first - timedelta(days=first.weekday())
    return [monday + timedelta(weeks=i) for i in range((last - monday).days // 7 + 2)]


def _assert_batches_equal_the_oracle(archive, expected, batch_lines) -> None:
    weeks = list(expected)
    got = list(ingest_weeks_fast(archive, weeks, KEY, batch_lines=batch_lines))
    assert [week for week, _ in got] == weeks  # every week once, in order
    for week, result in got:
        assert same_result(expected[week], result) == [], (week, batch_lines)


@pytest.mark.parametrize("batch_lines", [150, 10**9])
def test_every_national_week_equals_ingest_week_in_any_batching(national_snapshots, national_expected, batch_lines):
    """About a week per batch (a batch never splits a week), the whole year in one batch."""
    expected = national_expected
    _assert_batches_equal_the_oracle(FolderArchive(national_snapshots), expected, batch_lines)
    assert sum(len(r.rows) > 0 for r in expected.values()) >= 50
    assert sum(len(r.quarantine) for r in expected.values()) > 0


@pytest.mark.parametrize("batch_lines", [300, 10**9])
def test_every_county_demo_week_equals_ingest_week_in_any_batching(demo_inputs, county_expected, batch_lines):
    """Messy weeks (slow path) between clean ones (batched), and weeks without captures at both ends."""
    expected = county_expected
    _assert_batches_equal_the_oracle(FolderArchive(demo_inputs / "snapshots"), expected, batch_lines)
    assert sum(len(r.quarantine) for r in expected.values()) > 0
    assert len(expected[ALL_COUNTY_WEEKS[0]].files) == 0 and len(expected[ALL_COUNTY_WEEKS[-1]].files) == 0


def test_fast_ingest_of_one_week_equals_ingest_week_on_the_messy_county_demo(demo_inputs):
    archive = FolderArchive(demo_inputs / "snapshots")
    quarantined = 0
    for week in COUNTY_WEEKS:
        expected = ingest_week(archive, week, KEY)
        quarantined += len(expected.quarantine)
        assert same_result(expected, ingest_week_fast(archive, week, KEY)) == [], week
    assert quarantined > 0


def test_same_result_names_a_difference(demo_inputs):
    """The oracle comparison is not vacuous: one changed cell is reported."""
    archive = FolderArchive(demo_inputs / "snapshots")
    expected = ingest_week(archive, COUNTY_WEEKS[0], KEY)
    fast = ingest_week_fast(archive, COUNTY_WEEKS[0], KEY)
    fast.rows.loc[fast.rows.index[0], "stated_age"] = 99
    assert same_result(expected, fast) == ["rows differ"]
