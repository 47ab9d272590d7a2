"""A warehouse table exported to Parquet one file per week, rewriting only the weeks that changed.

A weekly run adds one week to a table of several years (10M rows at national scale). Exporting the
whole table every week cost more than the week's dbt work (docs/bench.md). Here each week is one
file, ``week_start=<date>/part-0.parquet`` (hive layout, the week only in the folder name), and a run
writes only the weeks whose rows differ from what the last export holds; every other file is carried
over as a hard link.

What "differ" means is a fingerprint per week computed by DuckDB in one pass: the row count and the
sum of the rows' 64-bit hashes (order-independent; a change that keeps both equal has a chance of
about 2^-64). A week also counts as changed when the exported columns changed or its file is gone.
Earlier weeks do change: a new week can merge two advertisers, and the model's post-hook then
rewrites their keys in every week (docs/architecture.md).

Readers see one whole export or the next, never a mix: each export is a new generation folder
(unchanged weeks hard-linked from the previous one, changed weeks written and verified against
their fingerprint's row count, the manifest last), and ``link`` is a symlink moved onto it in one
rename (``replace_symlink``). The previous generation is kept for readers still reading it; older
ones, and a generation left half-built by a killed run, are removed by the next export.

Inside each file the rows are in a defined order (``order by`` every exported column), the order the
single-file export had within a week, so the same rows give the same file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lagesbild.fsutil import fsync_dir, replace_symlink, write_atomic

#: The manifest in each generation: the exported columns and each week's fingerprint.
MANIFEST = "_weeks.json"
PART = "part-0.parquet"
FORMAT_VERSION = 1
#: Rows per Arrow batch streamed from DuckDB while the changed weeks are written.
BATCH_ROWS = 256_000


@dataclass(frozen=True)
class WeeklyExport:
    """What one export did: rows in the table, weeks written and weeks carried over unchanged."""

    rows: int
    weeks_written: int
    weeks_kept: int
    generation: Path


def generations_folder(link: Path) -> Path:
    """Where the generations behind ``link`` live: a hidden folder beside it."""
    return link.with_name(f".{link.name}.generations")


def week_folder(week: str) -> str:
    return f"week_start={week}"


def read_manifest(generation: Path | None) -> dict:
    """A generation's manifest, or an empty one when there is none (first export, unreadable file)."""
    if generation is None:
        return {}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") == FORMAT_VERSION:
            return manifest
    return {}


def fingerprints(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]) -> dict[str, dict]:
    """Rows and hash sum of every week of ``table`` (one DuckDB pass), keyed by ISO date."""
    rows = con.execute(
        f"select strftime(week_start, '%Y-%m-%d'), count(*), cast(sum(hash({', '.join(columns)})::hugeint) as varchar) "
        f"from {table} group by week_start"
    ).fetchall()
    return {week: {"rows": int(n), "fingerprint": fp} for week, n, fp in rows}


def _current_generation(link: Path) -> Path | None:
    """The generation ``link`` points to; None when there is none yet.

    A real folder at ``link`` (a data dir copied without its links, ``cp -rL``) becomes a generation:
    it is moved under the generations folder, and its weeks are carried over if its manifest says
    they are unchanged. Anything else at ``link`` is refused."""
    if link.is_symlink():
        target = link.resolve()
        return target if target.is_dir() else None
    if link.is_dir():
        adopted = generations_folder(link) / f"adopted-{uuid.uuid4().hex}"
        os.replace(link, adopted)
        return adopted
    if link.exists():
        raise FileExistsError(
            f"{link} exists and is not the export's link: move it away (the export is a symlink to "
            f"a generation under {generations_folder(link)})"
        )
    return None


def _carry_over(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def _write_weeks(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    weeks: Sequence[str],
    generation: Path,
    write_options: dict,
) -> dict[str, int]:
    """Write the given weeks' files into ``generation`` in one sorted pass; returns rows per week."""
    if not weeks:
        return {}
    listed = ", ".join(columns)
    reader = con.sql(
        f"select strftime(week_start, '%Y-%m-%d') as export_week, {listed} from {table} "
        f"where week_start in (select unnest(cast($weeks as date[]))) order by week_start, {listed}",
        params={"weeks": list(weeks)},
    ).to_arrow_reader(BATCH_ROWS)
    options = dict(write_options)
    row_group_size = options.pop("row_group_size", None)
    written: dict[str, int] = {}
    writer: pq.ParquetWriter | None = None
    current = None
    try:
        for batch in reader:
            week_column = batch.column(0).to_pylist()
            data = pa.Table.from_batches([batch]).drop_columns(["export_week"])
            start = 0
            while start < len(week_column):
                week = week_column[start]
                end = start
                while end < len(week_column) and week_column[end] == week:
                    end += 1
                if week != current:
                    if writer is not None:
                        writer.close()
                    folder = generation / week_folder(week)
                    folder.mkdir(parents=True)
                    writer = pq.ParquetWriter(folder / PART, data.schema, **options)
                    current = week
                writer.write_table(data.slice(start, end - start), row_group_size=row_group_size)
                written[week] = written.get(week, 0) + (end - start)
                start = end
    finally:
        if writer is not None:
            writer.close()
    return written


def export_by_week(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    link: Path | str,
    write_options: dict,
) -> WeeklyExport:
    """Export ``table`` (which has a ``week_start`` date column) to ``link``, one file per week.

    ``columns`` are the exported columns other than ``week_start``. Only the weeks whose rows
    changed since the last export are written; the rest are hard-linked from it. Returns what it did.
    """
    link = Path(link)
    columns = [c for c in columns if c != "week_start"]
    generations = generations_folder(link)
    generations.mkdir(parents=True, exist_ok=True)
    previous = _current_generation(link)
    before = read_manifest(previous)
    now = fingerprints(con, table, columns)
    same_columns = before.get("columns") == list(columns)

    def unchanged(week: str) -> bool:
        return (
            same_columns
            and before.get("weeks", {}).get(week) == now[week]
            and (previous / week_folder(week) / PART).is_file()
        )

    kept = sorted(week for week in now if unchanged(week))
    changed = sorted(set(now) - set(kept))
    generation = generations / f"{uuid.uuid4().hex}"
    generation.mkdir()
    try:
        for week in kept:
            _carry_over(previous / week_folder(week) / PART, generation / week_folder(week) / PART)
        written = _write_weeks(con, table, columns, changed, generation, write_options)
        expected = {week: now[week]["rows"] for week in changed}
        if written != expected:
            wrong = sorted(w for w in expected if written.get(w) != expected[w])
            raise OSError(f"{generation}: weeks {wrong[:5]} written with other row counts than the table holds")
        for week in changed:  # what was written reads back with its rows, and is on disk
            part = generation / week_folder(week) / PART
            if pq.ParquetFile(part).metadata.num_rows != expected[week]:
                raise OSError(f"{part}: reads back with other row counts than were written")
            with open(part, "rb") as written_file:
                os.fsync(written_file.fileno())
            fsync_dir(part.parent)
        manifest = {"format": FORMAT_VERSION, "table": table, "columns": list(columns), "weeks": now}
        write_atomic(generation / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        fsync_dir(generation)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    replace_symlink(link, os.path.relpath(generation, link.parent))
    for old in generations.iterdir():  # keep the new and the previous generation
        if old != generation and (previous is None or old.resolve() != previous):
            shutil.rmtree(old, ignore_errors=True)
    return WeeklyExport(
        rows=sum(w["rows"] for w in now.values()),
        weeks_written=len(changed),
        weeks_kept=len(kept),
        generation=generation,
    )
