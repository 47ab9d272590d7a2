"""The project's event log (dagster.yaml): Dagster's SQLite event log, each shard opened once per
process instead of once per statement, with the same files another process reads."""

from __future__ import annotations

import os
import time

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry
from sqlalchemy import event
from sqlalchemy.engine import Engine

from orchestration import instance_storage
from orchestration.instance_storage import KeptOpenSqliteEventLogStorage
from tests.dagster_home import opened, project_home


def _entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None, level="INFO", user_message=message, run_id=run_id, timestamp=time.time(),
        step_key=None, job_name=None, dagster_event=None,
    )


@pytest.fixture
def connects():
    """Every SQLite connection any engine opens in this process."""
    opened_files: list[str] = []

    def count(dbapi_connection, record):
        opened_files.append(dbapi_connection.execute("pragma database_list").fetchone()[2])

    event.listen(Engine, "connect", count)
    yield opened_files
    event.remove(Engine, "connect", count)


@dg.asset(partitions_def=dg.StaticPartitionsDefinition([f"w{i:02d}" for i in range(12)]))
def weekly(context) -> None:
    context.log.info("week %s", context.partition_key)


@dg.asset_check(asset=weekly)
def weekly_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _two_runs(instance: dg.DagsterInstance, connects: list[str]) -> tuple[dict[str, int], int]:
    """Two runs of a weekly asset and its check: events stored per run, and the connections opened
    to the runs' shards."""
    before = len(connects)
    results = [dg.materialize([weekly, weekly_has_rows], instance=instance, partition_key=key)
               for key in ("w00", "w01")]
    assert all(r.success for r in results)
    stored = {r.run_id: len(instance.all_logs(r.run_id)) for r in results}
    run_shards = [f for f in connects[before:] if any(run_id in f for run_id in stored)]
    return stored, len(run_shards)


def test_a_run_opens_its_shard_once_and_a_second_reader_sees_every_event(tmp_path, connects):
    with opened(project_home(tmp_path / "home")) as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        stored, opens = _two_runs(instance, connects)
        materialized = instance.fetch_materializations(dg.AssetKey("weekly"), limit=10).records
    (tmp_path / "stock").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "stock")) as stock:  # Dagster's own SQLite log
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        stock_stored, stock_opens = _two_runs(stock, connects)
    assert sorted(stored.values()) == sorted(stock_stored.values())
    assert all(n >= 15 for n in stored.values()), stored
    # Dagster's log opens a run's file for every statement; ours once, after Dagster's own opens that
    # create the shard's tables and stamp its schema (5 in Dagster 1.13).
    assert stock_opens >= sum(stock_stored.values()), (stock_opens, stock_stored)
    assert opens <= 2 * 6, opens
    assert {r.partition_key for r in materialized} == {"w00", "w01"}
    # A second process's view (a new storage object, as the UI opens it) reads the same files.
    with opened(tmp_path / "home") as reader:
        assert {run_id: len(reader.all_logs(run_id)) for run_id in stored} == stored
        assert reader.get_latest_materialization_event(dg.AssetKey("weekly")) is not None


def test_a_process_keeps_at_most_its_last_shards_open_and_reopens_an_older_one(tmp_path, monkeypatch):
    monkeypatch.setattr(instance_storage, "OPEN_SHARDS", 3)
    with opened(project_home(tmp_path / "home")) as instance:
        storage = instance.event_log_storage
        runs = [f"run-{i:02d}" for i in range(5)]
        for run_id in runs:
            storage.store_event(_entry(run_id, f"hello {run_id}"))
        assert [shard for _, shard in storage._engines] == runs[-3:]
        storage.store_event(_entry(runs[0], "again"))  # closed since, opened again
        assert [e.user_message for e in storage.get_logs_for_run(runs[0])] == ["hello run-00", "again"]
        assert [shard for _, shard in storage._engines] == [*runs[-2:], runs[0]]


def test_wipe_closes_the_connections_before_the_files_go(tmp_path):
    with opened(project_home(tmp_path / "home")) as instance:
        storage = instance.event_log_storage
        storage.store_event(_entry("run-a", "before"))
        storage.wipe()
        assert storage.get_logs_for_run("run-a") == []
        storage.store_event(_entry("run-a", "after"))  # a new file, not the deleted one still open
        assert [e.user_message for e in storage.get_logs_for_run("run-a")] == ["after"]
        assert (tmp_path / "home" / "history" / "runs" / "run-a.db").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_opens_its_own_connection(tmp_path):
    with opened(project_home(tmp_path / "home")) as instance:
        storage = instance.event_log_storage
        storage.store_event(_entry("run-f", "parent"))
        pid = os.fork()
        if pid == 0:  # the child: write through the inherited storage object, on its own connection
            try:
                storage.store_event(_entry("run-f", "child"))
                os._exit(0 if (os.getpid(), "run-f") in storage._engines else 3)
            except BaseException:
                os._exit(4)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        storage.store_event(_entry("run-f", "parent again"))
        messages = [e.user_message for e in storage.get_logs_for_run("run-f")]
        assert messages == ["parent", "child", "parent again"]


def test_a_watcher_of_a_run_sees_each_event_while_the_writer_keeps_its_connection_open(tmp_path):
    """The UI follows a running run by watching its shard's file (Dagster's SQLite watchdog on
    ``<run id>.db``); a write left in the write-ahead log until the writer closes would reach it only
    when the run ends."""
    home = project_home(tmp_path / "home")
    with opened(home) as writer, opened(home) as reader:
        storage = writer.event_log_storage
        storage.store_event(_entry("run-w", "first"))
        seen: list[str] = []

        def follow(entry, cursor):
            seen.append(entry.user_message)

        reader.event_log_storage.watch("run-w", None, follow)
        try:
            for message in ("second", "third"):
                storage.store_event(_entry("run-w", message))
                deadline = time.monotonic() + 10
                while message not in seen and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert message in seen, f"the watcher did not see {message!r} while the writer runs: {seen}"
        finally:
            reader.event_log_storage.end_watch("run-w", follow)
