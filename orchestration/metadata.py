"""What the Dagster UI shows about the data: row counts, column schemas, a preview of disclosed rows.

Column descriptions come from the dbt YAML (the manifest ``make manifest`` builds, one source); column
types from the Parquet files or the warehouse the run wrote. Previews are only ever of *disclosed*
rows (after disclosure control), never of a mart before it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg

from lagesbild.settings import DBT_PROJECT_DIR

ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 8


@functools.cache
def dbt_column_docs() -> dict[str, dict[str, str]]:
    """Model/seed name -> {column: description} from the dbt manifest (the YAML); empty without one."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {})
    return {
        node["name"]: {name: (col.get("description") or "") for name, col in node.get("columns", {}).items()}
        for node in nodes.values()
        if node.get("resource_type") in ("model", "seed")
    }


def table_schema(columns: Iterable[tuple[str, str]], docs: Mapping[str, str] | None = None) -> dg.TableSchema:
    docs = docs or {}
    return dg.TableSchema(
        columns=[dg.TableColumn(name=name, type=str(kind), description=docs.get(name) or None) for name, kind in columns]
    )


def parquet_metadata(paths: Iterable[Path], docs: Mapping[str, str] | None = None) -> dict:
    """Row count (all files) and column schema (the first file's) of Parquet files, read from their footers."""
    import pyarrow.parquet as pq

    paths = [Path(p) for p in paths if Path(p).exists()]
    if not paths:
        return {}
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    schema = pq.read_schema(paths[0])
    columns = [(field.name, str(field.type)) for field in schema]
    return {ROW_COUNT: int(rows), COLUMN_SCHEMA: table_schema(columns, docs)}


def warehouse_metadata(warehouse: Path, models: Iterable[str]) -> dict[str, dict]:
    """Row count and column schema (warehouse types, dbt YAML descriptions) of each model after a build."""
    from lagesbild.warehouse import connect

    docs = dbt_column_docs()
    out: dict[str, dict] = {}
    names = sorted(set(models))
    if not names or not Path(warehouse).exists():
        return out
    with connect(warehouse, read_only=True) as con:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'main' order by table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(table, []).append((column, kind))
        for name in names:
            if name not in columns:
                continue
            (rows,) = con.execute(f'select count(*) from main."{name}"').fetchone()
            out[name] = {ROW_COUNT: int(rows), COLUMN_SCHEMA: table_schema(columns[name], docs.get(name))}
    return out


def markdown_preview(frame, rows: int = PREVIEW_ROWS, columns: int = PREVIEW_COLUMNS) -> str:
    """A small Markdown table: the first rows and columns of a frame (suppressed cells stay empty)."""
    shown = frame.iloc[:rows, :columns]
    header = [str(c) for c in shown.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in shown.iterrows():
        cells = ["" if _missing(v) else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    more = []
    if len(frame) > rows:
        more.append(f"{len(frame) - rows} more rows")
    if frame.shape[1] > columns:
        more.append(f"{frame.shape[1] - columns} more columns")
    return "\n".join(lines) + (f"\n\n({', '.join(more)})" if more else "")


def _missing(value) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))  # None, NaN, NaT, pd.NA
    except (TypeError, ValueError):  # an array-like cell
        return False


def attach(event, extra: Mapping | None):
    """The dagster-dbt event with ``extra`` metadata added (Output and AssetMaterialization alike)."""
    if not extra:
        return event
    return event.with_metadata({**(event.metadata or {}), **extra})
