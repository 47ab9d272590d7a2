"""Compare two folders of marts (pipeline, baseline B, pandas) value by value.

Rows are matched on each mart's key (bench.common.MART_KEYS); numbers are equal within a relative
1e-9 (sums of doubles differ in the last bits between engines); dates, strings and booleans exactly;
null must meet null. Only the columns of the reference folder are compared, in its order, except
the provenance labels in ``PROVENANCE_COLUMNS``: text naming where a figure came from (the population
table, its year, "offline default"), which the baselines compute the numbers from but do not restate.

Not compared yet: the small-area pool ("Övriga länet", rows at ``region_level = 'pooled'`` and the
``pool_code`` column, added 2026-12-02). The baselines do not reproduce the pool; until they do, the
comparison leaves those rows and that column out.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from bench.common import MART_KEYS, MARTS

#: Labels, not values: the baselines use the same population rows but do not carry these texts.
PROVENANCE_COLUMNS = ("population_source",)
#: The small-area pool, which the baselines do not build yet (see the module docstring).
POOL_COLUMNS = ("pool_code",)
POOLED_LEVEL = "pooled"


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date() if (value.hour, value.minute, value.second) == (0, 0, 0) else value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _records(path: Path, columns: list[str] | None, keys: list[str]) -> tuple[list[str], list[tuple]]:
    table = pq.read_table(path)
    columns = columns or table.column_names
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: columns {missing} are missing")
    frame = table.select(columns).to_pandas(types_mapper=None)
    if "region_level" in frame.columns:
        frame = frame[frame["region_level"] != POOLED_LEVEL]
    frame = frame.astype(object).where(frame.notna(), None)
    rows = [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]
    order = [columns.index(k) for k in keys]
    rows.sort(key=lambda r: tuple(str(r[i]) for i in order))
    return columns, rows


def compare_marts(reference: Path, other: Path, marts=MARTS, max_report: int = 5) -> list[str]:
    """Differences between ``other`` and ``reference`` (empty list = equal), one line each."""
    problems: list[str] = []
    for mart in marts:
        keys = MART_KEYS[mart]
        reference_columns = pq.read_schema(Path(reference) / f"{mart}.parquet").names
        compared = [c for c in reference_columns if c not in (*PROVENANCE_COLUMNS, *POOL_COLUMNS)]
        columns, expected = _records(Path(reference) / f"{mart}.parquet", compared, keys)
        _, actual = _records(Path(other) / f"{mart}.parquet", columns, keys)
        if len(expected) != len(actual):
            problems.append(f"{mart}: {len(actual)} rows, reference has {len(expected)}")
            continue
        shown = 0
        for exp, act in zip(expected, actual, strict=True):
            for column, a, b in zip(columns, exp, act, strict=True):
                if not _same(a, b):
                    key = {k: exp[columns.index(k)] for k in keys}
                    problems.append(f"{mart} {key} {column}: {b!r}, reference {a!r}")
                    shown += 1
                    break
            if shown >= max_report:
                problems.append(f"{mart}: more differences not shown")
                break
    return problems
