"""Weeks ingested in worker processes are written exactly as in one process, in week order."""

from datetime import date, timedelta

import pandas as pd
import pytest

from lagesbild.settings import Settings
from lagesbild.sources import snapshot_weeks
from lagesbild.sources.snapshot_weeks import OUTPUTS, ingest_weeks, partition_path, workers_pay


@pytest.fixture(scope="module")
def demo_settings(demo_inputs):
    return Settings(data_dir=demo_inputs, snapshots_dir=demo_inputs / "snapshots")


# Weeks with a gzip capture, a truncated gzip, malformed lines and duplicates are among the first 20.
WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(20)]


def test_parallel_ingest_writes_what_one_process_writes(demo_settings, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot_weeks, "WORKER_START_SECONDS", -1.0)  # workers always pay: use them
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


def test_workers_start_only_when_they_save_more_than_their_start():
    assert not workers_pay(0.05, 102, 2)  # the demo: 104 weeks of ~18 rows stay in this process
    assert workers_pay(0.15, 258, 2)  # 1M rows: 260 weeks of ~4,000 rows
    assert not workers_pay(60.0, 10, 1)  # one worker never pays


def test_small_weeks_stay_in_this_process(demo_settings, tmp_path, monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started for weeks that cost milliseconds")

    monkeypatch.setattr(snapshot_weeks, "ProcessPoolExecutor", no_pool)
    weeks = list(ingest_weeks(demo_settings, WEEKS, tmp_path / "raw", workers=2))
    assert [w.week for w in weeks] == WEEKS and sum(w.rows for w in weeks) > 200
