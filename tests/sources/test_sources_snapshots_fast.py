"""The columnar snapshot ingest that production uses (``ingest_week_fast``) equals the line-by-line
``ingest_week``, its test oracle: rows, file list, quarantine and metadata, week by week."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lagesbild.demo.national import generate_national
from lagesbild.settings import DEMO_PSEUDONYM_KEY
from lagesbild.sources.snapshots import FolderArchive, ingest_week
from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

KEY = DEMO_PSEUDONYM_KEY.encode()
# The county demo's first 20 weeks hold a gzip capture, a truncated gzip, malformed lines, letters for
# digits in phone numbers and duplicates: the weeks that need it take the slow path.
COUNTY_WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(20)]


@pytest.fixture(scope="module")
def national_snapshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("national") / "inputs"
    generate_national(folder, seed=7, target_rows=5_000, years=1)
    return folder / "snapshots"


def test_fast_ingest_equals_ingest_week_on_national_weeks(national_snapshots):
    archive = FolderArchive(national_snapshots)
    first = min(ref.captured_at for ref in archive.list_files()).date()
    monday = first - timedelta(days=first.weekday())
    weeks_with_rows = 0
    for week in [monday + timedelta(weeks=i) for i in range(7)]:
        expected = ingest_week(archive, week, KEY)
        weeks_with_rows += len(expected.rows) > 0
        assert same_result(expected, ingest_week_fast(archive, week, KEY)) == [], week
    assert weeks_with_rows >= 6


def test_fast_ingest_equals_ingest_week_on_the_messy_county_demo(demo_inputs):
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
