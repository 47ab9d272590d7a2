"""Weeks ingested in worker processes are written exactly as in one process, in week order."""

from datetime import date, timedelta

import pandas as pd
import pytest

from lagesbild.settings import Settings
from lagesbild.sources.snapshot_weeks import OUTPUTS, ingest_weeks, partition_path


@pytest.fixture(scope="module")
def demo_settings(demo_inputs):
    return Settings(data_dir=demo_inputs, snapshots_dir=demo_inputs / "snapshots")


# Weeks with a gzip capture, a truncated gzip, malformed lines and duplicates are among the first 20.
WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(20)]


def test_parallel_ingest_writes_what_one_process_writes(demo_settings, tmp_path):
    serial = list(ingest_weeks(demo_settings, WEEKS, tmp_path / "one", workers=1))
    parallel = list(ingest_weeks(demo_settings, WEEKS, tmp_path / "two", workers=2))
    assert [w.week for w in parallel] == WEEKS
    assert parallel == serial
    assert sum(w.quarantined for w in serial) > 0 and sum(w.rows for w in serial) > 200
    for week in WEEKS:
        for output in OUTPUTS:
            one = pd.read_parquet(partition_path(tmp_path / "one", output, week))
            two = pd.read_parquet(partition_path(tmp_path / "two", output, week))
            pd.testing.assert_frame_equal(one, two)


def test_a_failing_week_stops_the_run_with_its_error(demo_settings, tmp_path):
    missing = Settings(data_dir=tmp_path, snapshots_dir=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list(ingest_weeks(missing, WEEKS[:4], tmp_path / "raw", workers=2))
