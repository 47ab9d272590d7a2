"""Ingest a range of snapshot weeks, each written to its own Parquet partitions, in worker processes.

A week's ingest depends on nothing but that week's capture files and the key, so a backfill spreads the
weeks over ``LAGESBILD_WORKERS`` processes (default: the machine's cores, at most 4). Each worker
reads, pseudonymises and writes its week itself and hands back only counts: no week's rows pass through
the orchestrating process, whose memory stays flat however long the history is (docs/bench.md).

Workers are started with ``spawn`` (a fresh interpreter), never ``fork``: the Dagster process runs
threads, and forking a threaded process can deadlock.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from lagesbild.settings import Settings
from lagesbild.warehouse import write_parquet_atomic

#: The three partitioned outputs of a week, under the data dir's raw/ folder.
OUTPUTS = {
    "rows": ("ad_snapshots",),
    "files": ("snapshot_files",),
    "quarantine": ("quarantine", "ad_snapshots"),
}


@dataclass(frozen=True)
class WeekIngested:
    """What the orchestrator needs of a written week: counts and the ingest's metadata."""

    week: date
    rows: int
    quarantined: int
    files: int
    metadata: dict
    #: Lines stating an age under 18 (few; restricted): the asset turns them into alerts before any gate.
    under_age: object = field(default=None, compare=False)


def partition_path(raw_root: Path, output: str, week: date) -> Path:
    return Path(raw_root).joinpath(*OUTPUTS[output], f"week_start={week.isoformat()}", "part-0.parquet")


_ARCHIVES: dict[tuple, object] = {}


def _archive(settings: Settings):
    """One archive per process and source: it lists the capture files once, not once per week."""
    from lagesbild.sources import select

    source = (settings.snapshots_url, settings.snapshots_dir, settings.source_mode, settings.data_dir)
    if source not in _ARCHIVES:
        _ARCHIVES[source] = select.snapshot_archive(settings)
    return _ARCHIVES[source]


def ingest_and_write_week(settings: Settings, week: date, raw_root: Path) -> WeekIngested:
    """Ingest one week (columnar reader) and write its rows, file list and quarantine atomically."""
    from lagesbild.sources.snapshots_fast import ingest_week_fast

    result = ingest_week_fast(_archive(settings), week, settings.resolved_pseudonym_key())
    for output in OUTPUTS:
        write_parquet_atomic(getattr(result, output), partition_path(raw_root, output, week))
    return WeekIngested(
        week, len(result.rows), len(result.quarantine), len(result.files), result.metadata, result.under_age
    )


#: Weeks ingested in this process before deciding whether worker processes pay for themselves: the
#: first pays this process's imports, the second shows what a week costs.
PROBE_WEEKS = 2
#: CPU seconds worker processes must take off this process before they are started: a spawned worker
#: imports pandas, pyarrow and phonenumbers again (the demo's 104 small weeks, 5.5 CPU s in all, ran
#: 25 s in process and 41 s with two workers on the loaded bench machine; docs/bench.md, "Fixed costs").
WORKER_START_SECONDS = 5.0


def workers_pay(week_seconds: float, weeks_left: int, workers: int) -> bool:
    """Whether spreading ``weeks_left`` weeks of ``week_seconds`` CPU seconds each over ``workers``
    processes saves more time than starting them costs."""
    return workers > 1 and week_seconds * weeks_left * (1 - 1 / workers) > WORKER_START_SECONDS


def ingest_weeks(settings: Settings, weeks: list[date], raw_root: Path, workers: int | None = None) -> Iterator[WeekIngested]:
    """Ingest and write every week, yielding in week order; parallel when there are workers and the
    weeks are worth them (the first weeks run here and measure that)."""
    workers = settings.workers if workers is None else workers
    weeks = list(weeks)
    week_seconds, probed = 0.0, 0
    while weeks and (
        len(weeks) < 2 or probed < PROBE_WEEKS or not workers_pay(week_seconds, len(weeks), workers)
    ):
        started = time.process_time()  # CPU, not wall: a loaded machine must not talk us into workers
        done = ingest_and_write_week(settings, weeks.pop(0), raw_root)
        week_seconds, probed = time.process_time() - started, probed + 1
        yield done
    if not weeks:
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(weeks)), mp_context=multiprocessing.get_context("spawn"))
    upcoming = iter(weeks)
    try:
        # At most two weeks per worker in flight: results come back in order, and a failure (or the
        # caller stopping, e.g. on the quarantine threshold) cancels the weeks not yet started.
        pending = deque(pool.submit(ingest_and_write_week, settings, w, raw_root) for w in islice(upcoming, 2 * workers))
        while pending:
            done = pending.popleft().result()
            for week in islice(upcoming, 1):
                pending.append(pool.submit(ingest_and_write_week, settings, week, raw_root))
            yield done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
