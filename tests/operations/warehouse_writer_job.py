"""A stand-in dbt step for the concurrency test: one asset that holds the DuckDB file for a while.

Run as a separate process: ``python warehouse_writer_job.py DB LABEL pool|nopool READY_DIR``. With
``pool`` it is guarded as the dbt step is (the ``warehouse_writer`` pool and ``writer_lock``); with
``nopool`` it is not guarded at all. It waits
until every writer process announced itself in READY_DIR, so the processes really contend for the file,
then materialises on the instance in DAGSTER_HOME (the repo's dagster.yaml) and exits 0 on success.
"""

import contextlib
import json
import sys
import time
from pathlib import Path

import dagster as dg

from lagesbild.warehouse import connect, writer_lock

db, label, mode, ready_dir = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
HOLD_SECONDS = 1.5


@dg.asset(pool="warehouse_writer" if mode == "pool" else None)
def warehouse_table() -> None:
    guard = writer_lock(Path(db).parent) if mode == "pool" else contextlib.nullcontext()
    with guard, connect(db) as con:
        started = time.time()
        con.execute("create table if not exists writes (label varchar, started double, ended double)")
        time.sleep(HOLD_SECONDS)
        con.execute("insert into writes values (?, ?, ?)", [label, started, time.time()])


(ready_dir / label).touch()
deadline = time.time() + 60
while len(list(ready_dir.iterdir())) < 2 and time.time() < deadline:
    time.sleep(0.05)
result = dg.materialize([warehouse_table], instance=dg.DagsterInstance.get(), raise_on_error=False)
errors = [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]
print(json.dumps({"label": label, "success": result.success, "errors": errors}))
sys.exit(0 if result.success else 1)
