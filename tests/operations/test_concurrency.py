"""Two concurrent writers on one DuckDB file: guarded as the dbt step is, the second waits; unguarded, it fails.

Each writer is its own process (DuckDB allows one writer process), on one Dagster instance configured by the
repo's dagster.yaml (`concurrency: pools: default_limit: 1`, op granularity). The guard is the
`warehouse_writer` pool plus `lagesbild.warehouse.writer_lock`: with SQLite storage two processes that
reach the pool at the same instant can both be admitted (Dagster checks for a free slot and claims it in
two statements); the lock closes that window. Both are started at the same instant here, on purpose.
"""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from lagesbild.settings import PROJECT_ROOT
from lagesbild.warehouse import connect
from tests.dagster_home import opened, project_home

WRITER = Path(__file__).with_name("warehouse_writer_job.py")


def _run_two_writers(tmp_path: Path, mode: str) -> tuple[list[dict], Path]:
    home = project_home(tmp_path / f"home_{mode}")
    # Create the SQLite schemas and the pool's slots once, so the two writers do not race to migrate a
    # fresh instance, nor to create the pool's slots from the default limit (two processes doing that at
    # once on SQLite can each allocate a slot, and the pool then admits both).
    with opened(home) as instance:
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
def test_guarded_second_writer_waits_and_the_warehouse_stays_whole(tmp_path):
    outcomes, db = _run_two_writers(tmp_path, "pool")
    assert all(o["success"] for o in outcomes), outcomes
    writes = _writes(db)
    assert sorted(label for label, _, _ in writes) == ["first", "second"]
    (_, _, first_end), (_, second_start, _) = writes
    assert second_start >= first_end, "the second writer opened the file while the first still held it"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_unguarded_second_writer_fails_on_the_duckdb_lock(tmp_path):
    """The control: what the guard prevents (DuckDB refuses a second writer process)."""
    outcomes, db = _run_two_writers(tmp_path, "nopool")
    failed = [o for o in outcomes if not o["success"]]
    assert len(failed) == 1, outcomes
    assert "lock" in failed[0]["errors"][0].lower()
    assert len(_writes(db)) == 1  # the winner's write is intact


_HOLDER = """
import sys, time
from lagesbild.warehouse import writer_lock
with writer_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(folder: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder), str(seconds)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_writer_lock_waits_for_the_holder_and_is_freed_when_the_holder_is_killed(tmp_path):
    import time

    from lagesbild.warehouse import writer_lock

    holder = _holder(tmp_path, 1.0)
    started = time.monotonic()
    with writer_lock(tmp_path):
        waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited >= 0.5, f"entered after {waited:.2f} s while another process held the lock"

    killed = _holder(tmp_path, 60)
    killed.kill()  # a writer that dies holding the lock (OOM, SIGKILL) cannot leave it behind
    killed.wait(timeout=10)
    started = time.monotonic()
    with writer_lock(tmp_path):
        assert time.monotonic() - started < 5


def test_a_second_run_on_the_same_data_dir_waits_so_each_run_publishes_what_it_built(tmp_path, monkeypatch):
    """Two runs on one data dir (a sensor's verdict refresh beside the weekly run): run A's later step
    (disclosure, publication) read the working file that run B's earlier step (dbt's export) wrote after
    A's checks, and published it as A's. The run lock makes B wait for A from its start: each run's
    later step reads what its own earlier step wrote. Stand-in assets on the real resource, in process
    (as `make run` and the jobs run); each `materialize` is its own instance, like two processes."""
    import threading
    import time

    import orchestration.resources
    from lagesbild.fsutil import exclusive_lock
    from orchestration.resources import LagesbildResource

    a_wrote, b_wrote, b_waits = threading.Event(), threading.Event(), threading.Event()
    read: dict[str, str] = {}

    def observed_lock(path, **kwargs):  # says when a run starts waiting for the lock
        if kwargs.get("wait", True):
            b_waits.set()
        return exclusive_lock(path, **kwargs)

    monkeypatch.setattr(orchestration.resources, "exclusive_lock", observed_lock)

    @dg.asset
    def working_mart(context: dg.AssetExecutionContext, lagesbild: LagesbildResource) -> None:
        who = context.run.tags["who"]
        (lagesbild.path("marts")).mkdir(exist_ok=True)
        lagesbild.path("marts", "mart.txt").write_text(who, encoding="utf-8")
        (a_wrote if who == "A" else b_wrote).set()

    @dg.asset(deps=[working_mart])
    def published(context: dg.AssetExecutionContext, lagesbild: LagesbildResource) -> None:
        who = context.run.tags["who"]
        deadline = time.monotonic() + 30
        while who == "A" and not (b_wrote.is_set() or b_waits.is_set()) and time.monotonic() < deadline:
            time.sleep(0.01)  # B's export lands between A's checks and A's publication, or B waits
        read[who] = lagesbild.path("marts", "mart.txt").read_text(encoding="utf-8")

    def run(who: str) -> None:
        result = dg.materialize(
            [working_mart, published],
            resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
            tags={"who": who},
        )
        assert result.success

    first = threading.Thread(target=run, args=("A",))
    first.start()
    assert a_wrote.wait(timeout=60)
    second = threading.Thread(target=run, args=("B",))
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    assert read == {"A": "A", "B": "B"}, "a run published another run's working file"
    # the lock names its last holder, for whoever waits for it
    assert (tmp_path / ".run.lock").read_text(encoding="utf-8").startswith("run ")


def test_the_demo_inputs_are_not_rewritten_under_a_running_run(tmp_path, monkeypatch):
    """`make run` regenerates the demo inputs (deleting every capture first) before its run starts: a
    second `make run` did so while the first run of the same data dir was still ingesting them, which
    then read weeks without a snapshot. The regeneration waits for the data dir's run lock too."""
    import threading
    import time

    import lagesbild.demo.county
    import lagesbild.sources.pxweb
    import orchestration.resources
    from lagesbild.fsutil import exclusive_lock
    from orchestration.resources import hold_run_lock
    from orchestration.run_demo import prepare_demo_inputs

    written, waits = threading.Event(), threading.Event()

    def observed_lock(path, **kwargs):  # says when the regeneration starts waiting for the lock
        if kwargs.get("wait", True):
            waits.set()
        return exclusive_lock(path, **kwargs)

    monkeypatch.setattr(orchestration.resources, "exclusive_lock", observed_lock)
    monkeypatch.setattr(lagesbild.demo.county, "generate_demo", lambda *a, **k: written.set())
    monkeypatch.setattr(lagesbild.sources.pxweb, "build_offline_population", lambda *a, **k: [])
    running = hold_run_lock(tmp_path, "run A")  # a run of this data dir, still ingesting
    waits.clear()
    second = threading.Thread(target=prepare_demo_inputs, args=(tmp_path,), kwargs={"county_code": "05"})
    second.start()
    try:
        for _ in range(1000):  # until it writes (the old code) or waits for the lock
            if written.is_set() or waits.is_set():
                break
            time.sleep(0.01)
        assert not written.is_set(), "the inputs were rewritten under a running run"
    finally:
        running.close()
    second.join(timeout=10)
    assert written.is_set()
    assert (tmp_path / ".run.lock").read_text(encoding="utf-8").startswith("demo inputs")


def test_reports_and_publication_read_only_the_disclosed_files_their_own_run_wrote(tmp_path):
    """`disclosed/` is shared by the runs of a data dir. A publication re-executed from failure is a
    new run (the lock is not held from the failure to the re-execution), and on the old code it read
    whatever `disclosed/` held then (another run's marts) and found no reports of its own
    (`reports/pending/<new run id>`: FileNotFoundError). The disclosure step records its run and the
    sha256 of each file; reports and publication take them only from their own run's lineage."""
    from types import SimpleNamespace

    import pandas as pd

    from lagesbild.warehouse import write_parquet_atomic
    from orchestration.assets.publication import (
        MARTS,
        _pending_dir_of,
        read_disclosed,
        record_disclosed,
        run_lineage,
        write_stats,
    )
    from orchestration.resources import LagesbildResource

    lagesbild = LagesbildResource(data_dir=str(tmp_path))

    def disclose(run_id: str, value: int) -> None:
        for name in MARTS:
            write_parquet_atomic(pd.DataFrame({"x": [value]}), lagesbild.path("disclosed", f"{name}.parquet"))
        write_stats(lagesbild, {"run": value})
        record_disclosed(lagesbild, run_id)

    runs = {"root": SimpleNamespace(parent_run_id=None), "retry": SimpleNamespace(parent_run_id="root")}
    context = SimpleNamespace(
        run_id="again", run=SimpleNamespace(parent_run_id="retry"), instance=SimpleNamespace(get_run_by_id=runs.get)
    )
    lineage = run_lineage(context)  # a re-execution of a re-execution
    assert lineage == ["again", "retry", "root"]

    disclose("root", 1)
    (lagesbild.path("reports", "pending", "root")).mkdir(parents=True)
    (lagesbild.path("reports", "pending", "root", "pending.json")).write_text("{}", encoding="utf-8")
    marts, stats = read_disclosed(lagesbild, lineage)
    assert stats == {"run": 1} and all(int(frame["x"].iloc[0]) == 1 for frame in marts.values())
    assert _pending_dir_of(lagesbild, lineage).name == "root"

    disclose("other", 2)  # another run of the data dir, between the failure and the re-execution
    with pytest.raises(dg.Failure, match="last written by run other"):
        read_disclosed(lagesbild, lineage)
    disclose("root", 1)
    write_parquet_atomic(pd.DataFrame({"x": [3]}), lagesbild.path("disclosed", f"{MARTS[0]}.parquet"))
    with pytest.raises(dg.Failure, match=f"disclosed/{MARTS[0]}.parquet changed after run root"):
        read_disclosed(lagesbild, lineage)
    with pytest.raises(dg.Failure, match="no situation reports wait for run elsewhere"):
        _pending_dir_of(lagesbild, ["elsewhere"])
