"""Two concurrent writers on one DuckDB file: with the `warehouse_writer` pool the second waits, without it fails.

Each writer is its own process (DuckDB allows one writer process), on one Dagster instance configured by the
repo's dagster.yaml (`concurrency: pools: default_limit: 1`, op granularity).
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from lagesbild.settings import PROJECT_ROOT
from lagesbild.warehouse import connect

WRITER = Path(__file__).with_name("warehouse_writer_job.py")


def _run_two_writers(tmp_path: Path, mode: str) -> tuple[list[dict], Path]:
    home = tmp_path / f"home_{mode}"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    # Create the SQLite schemas and the pool's slots once, so the two writers do not race to migrate a
    # fresh instance, nor to create the pool's slots from the default limit (two processes doing that at
    # once on SQLite can each allocate a slot, and the pool then admits both).
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        instance.event_log_storage.initialize_concurrency_limit_to_default("warehouse_writer")
        assert instance.event_log_storage.get_concurrency_info("warehouse_writer").slot_count == 1
    ready = tmp_path / f"ready_{mode}"
    ready.mkdir()
    db = tmp_path / f"warehouse_{mode}.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(PROJECT_ROOT)}
    outcomes = []
    with contextlib.ExitStack() as stack:
        procs = []
        for label in ("first", "second"):
            log = stack.enter_context(open(tmp_path / f"{mode}_{label}.log", "w"))
            command = [sys.executable, str(WRITER), str(db), label, mode, str(ready)]
            procs.append(
                subprocess.Popen(
                    command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log, text=True
                )
            )
        for proc in procs:
            out, _ = proc.communicate(timeout=150)
            assert out.strip(), f"writer crashed, see {tmp_path}/{mode}_*.log"
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
    return outcomes, db


def _writes(db: Path) -> list[tuple]:
    with connect(db, read_only=True) as con:
        return con.execute("select label, started, ended from writes order by started").fetchall()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_pool_makes_the_second_writer_wait_and_the_warehouse_stays_whole(tmp_path):
    outcomes, db = _run_two_writers(tmp_path, "pool")
    assert all(o["success"] for o in outcomes), outcomes
    writes = _writes(db)
    assert sorted(label for label, _, _ in writes) == ["first", "second"]
    (_, _, first_end), (_, second_start, _) = writes
    assert second_start >= first_end, "the second writer opened the file while the first still held it"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_without_the_pool_the_second_writer_fails_on_the_duckdb_lock(tmp_path):
    """The control: what the pool prevents (DuckDB refuses a second writer process)."""
    outcomes, db = _run_two_writers(tmp_path, "nopool")
    failed = [o for o in outcomes if not o["success"]]
    assert len(failed) == 1, outcomes
    assert "lock" in failed[0]["errors"][0].lower()
    assert len(_writes(db)) == 1  # the winner's write is intact
