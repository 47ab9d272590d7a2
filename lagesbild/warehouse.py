"""DuckDB and Parquet helpers.

DuckDB allows one writer process and any other open handle blocks dbt, so connections are opened
per operation and always closed. Parquet files are written aside, re-read, then renamed into place,
so a killed writer never leaves a truncated file under the final name.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lagesbild.fsutil import atomic_path, exclusive_lock
from lagesbild.settings import Settings


@contextlib.contextmanager
def connect(path: Path | str = ":memory:", read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection, memory capped, closed when the block ends.

    The cap is ``LAGESBILD_DUCKDB_MEMORY_LIMIT`` (also dbt's, in profiles.yml). Uncapped, DuckDB takes
    up to 80 % of RAM: exporting 10M rows alone took the Dagster process past 2 GB (docs/bench.md).

    Relative file paths resolve against the database file's folder, as they do for dbt, which runs in
    that folder: the warehouse's views read the raw Parquet files as ``../raw/...``
    (models/staging/_sources.yml), whatever the reading process's working directory.
    """
    config = {"memory_limit": Settings.from_env().duckdb_memory_limit}
    if str(path) != ":memory:":
        config["file_search_path"] = str(Path(path).resolve().parent)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writer_lock(folder: Path | str) -> Iterator[None]:
    """Exclusive lock for the one process that writes the DuckDB file(s) in ``folder``.

    ``flock`` on the folder itself: blocks until the holder is done, released by the kernel when the
    holder exits however it exits (killed, out of memory), so it cannot be left behind. The Dagster
    pool ``warehouse_writer`` queues the writing step across runs and shows it waiting in the UI; this
    lock is what makes the single-writer rule hold when two processes reach the pool at the same
    instant (with SQLite storage Dagster checks for a free slot and then claims it in two statements,
    and two processes can both be admitted)."""
    with exclusive_lock(folder, folder=True):
        yield


@contextlib.contextmanager
def scratch_connection(
    memory_limit: str, prefix: str, spill_parent: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB for queries over Parquet: capped at ``memory_limit``, spilling to a private
    (0700) folder under ``spill_parent`` (the system temp dir by default) that goes with the connection,
    results in no particular order unless the query orders them, timestamps read in UTC."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir=spill_parent) as spill, connect() as con:
        con.execute("set memory_limit = ?", [memory_limit])
        con.execute("set temp_directory = ?", [spill])
        con.execute("set preserve_insertion_order = false")
        con.execute("set TimeZone = 'UTC'")
        yield con


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled), for paths and values in DuckDB SQL."""
    return "'" + str(text).replace("'", "''") + "'"


#: The Parquet writer settings of every file this project writes, fixed (not left to library
#: defaults that may change) so that identical content gives identical bytes.
PARQUET_WRITE_OPTIONS = {
    "compression": "snappy",
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1024 * 1024,
}


def _sort_key(series: pd.Series) -> pd.Series:
    """Columns pandas cannot order (mixed objects, lists, dicts) are ordered by their text."""
    return series.astype(str) if series.dtype == object else series


def canonical_order(df: pd.DataFrame) -> np.ndarray:
    """Row positions of ``df`` in its defined order: sorted by every column, left to right
    (missing values last, stable), so the same rows in any order come out the same."""
    if df.empty or len(df.columns) == 0:
        return np.arange(len(df))
    positions = df.reset_index(drop=True)
    ordered = positions.sort_values(by=list(df.columns), kind="mergesort", na_position="last", key=_sort_key)
    return ordered.index.to_numpy()


def canonical_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` in the defined row order of ``canonical_order``, index dropped."""
    return df.iloc[canonical_order(df)].reset_index(drop=True)


def _as_table(data: pd.DataFrame | pa.Table, canonical: bool) -> pa.Table:
    if isinstance(data, pa.Table):
        return canonical_table(data) if canonical else data
    return pa.Table.from_pandas(canonical_rows(data) if canonical else data, preserve_index=False)


def canonical_table(table: pa.Table) -> pa.Table:
    """An Arrow table in the defined row order of ``canonical_rows``."""
    return pa.Table.from_pandas(canonical_rows(table.to_pandas()), schema=table.schema, preserve_index=False)


def parquet_bytes(data: pd.DataFrame | pa.Table, canonical: bool = True) -> bytes:
    """``data`` as Parquet bytes: defined row order (unless ``canonical=False``), fixed writer settings."""
    buf = pa.BufferOutputStream()
    pq.write_table(_as_table(data, canonical), buf, **PARQUET_WRITE_OPTIONS)
    return buf.getvalue().to_pybytes()


def write_parquet_atomic(data: pd.DataFrame | pa.Table, target: Path | str, canonical: bool = False) -> int:
    """Write ``data`` to ``target`` via a temporary file beside it; returns the row count.

    Writer settings are fixed (``PARQUET_WRITE_OPTIONS``); ``canonical=True`` also puts the rows in
    the defined order of ``canonical_rows``, so the same rows always give the same bytes."""
    table = _as_table(data, canonical)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, **PARQUET_WRITE_OPTIONS)
        written = pq.ParquetFile(tmp).metadata.num_rows
        if written != table.num_rows:
            raise OSError(f"{tmp}: wrote {written} rows, expected {table.num_rows}")
    return table.num_rows


def copy_query_to_parquet_atomic(con: duckdb.DuckDBPyConnection, query: str, target: Path | str) -> int:
    """``COPY (query) TO`` a temporary file, verify it reads back, then rename it into place."""
    with atomic_path(target) as tmp:
        con.execute(f"copy ({query}) to {sql_string(tmp.as_posix())} (format parquet)")
        rows = pq.ParquetFile(tmp).metadata.num_rows
    return rows


def read_parquet(path: Path | str) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()
