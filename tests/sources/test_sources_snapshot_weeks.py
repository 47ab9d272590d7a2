"""A run's weeks are ingested in one pass and each week's partitions hold exactly ``ingest_week``'s result."""

from datetime import date, timedelta

import pandas as pd
import pytest

from lagesbild.settings import DEMO_PSEUDONYM_KEY, Settings
from lagesbild.sources import snapshot_weeks
from lagesbild.sources.snapshot_weeks import OUTPUTS, ingest_weeks, partition_path
from lagesbild.sources.snapshots import FolderArchive, ingest_week
from lagesbild.warehouse import parquet_bytes

KEY = DEMO_PSEUDONYM_KEY.encode()


@pytest.fixture(scope="module")
def demo_settings(demo_inputs):
    # inputs generated for this session, just now: not a copy in progress
    return Settings(data_dir=demo_inputs, snapshots_dir=demo_inputs / "snapshots", pseudonym_key=DEMO_PSEUDONYM_KEY,
                    snapshot_settle_seconds=0)


# Weeks with a gzip capture, a truncated gzip, malformed lines and duplicates are among the first 20.
WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(20)]


def test_each_week_is_written_as_ingest_week_reads_it(demo_settings, demo_inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot_weeks, "WEEKS_IN_FLIGHT", 3)  # weeks wait for their writes mid-run too
    weeks = list(ingest_weeks(demo_settings, WEEKS, tmp_path))
    assert [w.week for w in weeks] == WEEKS
    assert sum(w.quarantined for w in weeks) > 0 and sum(w.rows for w in weeks) > 200
    archive = FolderArchive(demo_inputs / "snapshots")
    for done in weeks:
        expected = ingest_week(archive, done.week, KEY)
        assert (done.rows, done.quarantined, done.files) == (
            len(expected.rows), len(expected.quarantine), len(expected.files)
        )
        assert done.metadata == expected.metadata
        for output in OUTPUTS:
            written = partition_path(tmp_path, output, done.week).read_bytes()
            assert written == parquet_bytes(getattr(expected, output), canonical=False), (done.week, output)
            pd.testing.assert_frame_equal(
                pd.read_parquet(partition_path(tmp_path, output, done.week)), getattr(expected, output)
            )


def test_a_missing_archive_stops_the_run_with_its_error(tmp_path):
    missing = Settings(data_dir=tmp_path, snapshots_dir=tmp_path / "nowhere", pseudonym_key=DEMO_PSEUDONYM_KEY)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list(ingest_weeks(missing, WEEKS[:4], tmp_path / "raw"))


def test_a_failing_write_stops_the_run_and_leaves_no_partial_file(demo_settings, tmp_path):
    raw = tmp_path / "raw"
    blocked = partition_path(raw, "files", WEEKS[2]).parent
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the week's folder belongs")
    with pytest.raises(OSError):
        list(ingest_weeks(demo_settings, WEEKS[:6], raw))
    assert not [p for p in raw.rglob("*") if p.name.endswith(".tmp")]
