"""DuckDB and Parquet helpers.

DuckDB allows one writer process and any other open handle blocks dbt, so connections are opened
per operation and always closed. Parquet files are written aside, re-read, then renamed into place,
so a killed writer never leaves a truncated file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: DuckDB's memory cap, in dbt (profiles.yml) and in every connection opened here. Uncapped, DuckDB
#: takes up to 80 % of RAM: exporting 10M rows alone took the Dagster process past 2 GB (docs/bench.md).
MEMORY_LIMIT_ENV = "LAGESBILD_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1000MB"


@contextlib.contextmanager
def connect(path: Path | str = ":memory:", read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection, memory capped (``LAGESBILD_DUCKDB_MEMORY_LIMIT``), closed when the block ends."""
    limit = os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
    con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": limit})
    try:
        yield con
    finally:
        con.close()


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


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def write_parquet_atomic(data: pd.DataFrame | pa.Table, target: Path | str) -> int:
    """Write ``data`` to ``target`` via a temporary file beside it; returns the row count."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    tmp = _tmp_name(target)
    try:
        pq.write_table(table, tmp)
        written = pq.ParquetFile(tmp).metadata.num_rows
        if written != table.num_rows:
            raise OSError(f"{tmp}: wrote {written} rows, expected {table.num_rows}")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return table.num_rows


def copy_query_to_parquet_atomic(con: duckdb.DuckDBPyConnection, query: str, target: Path | str) -> int:
    """``COPY (query) TO`` a temporary file, verify it reads back, then rename it into place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(target)
    try:
        con.execute(f"copy ({query}) to {sql_string(tmp.as_posix())} (format parquet)")
        rows = pq.ParquetFile(tmp).metadata.num_rows
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return rows


def read_parquet(path: Path | str) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()
