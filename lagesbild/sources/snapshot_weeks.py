"""Ingest a run's snapshot weeks in one pass and write each week to its own Parquet partitions.

``ingest_weeks`` reads every week of the run through ``snapshots_fast.ingest_weeks_fast`` (the lines of
many weeks validated, typed and pseudonymised together, in batches of a bounded number of lines) and
writes each week's three partitions atomically as soon as its batch is done. The orchestrating process
holds one batch and the partitions being written, never the history (docs/bench.md, "Ingest in one
pass").

The Parquet writes (three files per week, each flushed to disk before its rename) run on a few threads:
they wait on the disk, not on the interpreter, so a backfill of hundreds of weeks does not wait for each
fsync in turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lagesbild.settings import Settings
from lagesbild.warehouse import write_parquet_atomic

#: The three partitioned outputs of a week, under the data dir's raw/ folder.
OUTPUTS = {
    "rows": ("ad_snapshots",),
    "files": ("snapshot_files",),
    "quarantine": ("quarantine", "ad_snapshots"),
}
#: Threads writing partitions, and weeks whose writes may be under way at once.
WRITER_THREADS = 4
WEEKS_IN_FLIGHT = 16


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


def ingest_weeks(settings: Settings, weeks: list[date], raw_root: Path) -> Iterator[WeekIngested]:
    """Ingest every week and write its partitions; yields in week order, each week once it is on disk."""
    from lagesbild.sources import select
    from lagesbild.sources.snapshots_fast import ingest_weeks_fast

    archive = select.snapshot_archive(settings)
    pending: deque[tuple[WeekIngested, list]] = deque()
    pool = ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="partition-writer")
    try:
        for week, result in ingest_weeks_fast(archive, weeks, settings.resolved_pseudonym_key()):
            writes = [
                pool.submit(write_parquet_atomic, getattr(result, output), partition_path(raw_root, output, week))
                for output in OUTPUTS
            ]
            done = WeekIngested(
                week, len(result.rows), len(result.quarantine), len(result.files), result.metadata, result.under_age
            )
            pending.append((done, writes))
            if len(pending) >= WEEKS_IN_FLIGHT:
                yield _written(*pending.popleft())
        while pending:
            yield _written(*pending.popleft())
    finally:
        # a failure (or the caller stopping) leaves no write running; unfinished ones leave no file
        pool.shutdown(wait=True, cancel_futures=True)


def _written(week: WeekIngested, writes: list) -> WeekIngested:
    for write in writes:
        write.result()  # raises the write's error
    return week
