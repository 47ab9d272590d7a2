"""The data dictionary that travels with the published data, generated from the dbt YAML (one source).

Every published Parquet file gets, per column, its description, unit and what suppression means in
the Arrow field metadata (keys ``description``, ``unit``, ``suppression``), and the table's
description in the schema metadata (``lagesbild:description``). Each publication also carries a
Swedish ``datadictionary.html`` and ``datadictionary.csv`` beside the files a municipality can
read. A column or model description in Swedish can be given in the YAML as ``meta: {description_sv: ...}``
(or under ``config: {meta: ...}``); without it the dbt description is used as written.

Missing values are one kind: Arrow nulls (NaN in a float column is written as null).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from lagesbild.settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
SUPPRESSED_SUFFIX = "_suppressed"
CSV_COLUMNS = ["tabell", "kolumn", "datatyp", "enhet", "beskrivning", "röjandekontroll", "saknat_värde"]
NULL_MEANING = "tomt (null): uppgift saknas eller är dold"

#: Units, by what the description or the column name says (first match wins).
_UNITS = [
    (re.compile(r"suppressed$"), "sant/falskt"),
    (re.compile(r"per 10[ ,.]?000", re.I), "per 10 000 invånare"),
    (re.compile(r"per 100[ ,.]?000", re.I), "per 100 000 vuxna män"),
    (re.compile(r"\b0\s*[-–]\s*1\b|share", re.I), "andel (0–1)"),
    (re.compile(r"\(years?\)|age", re.I), "år (ålder)"),
    (re.compile(r"persons|buyers|advertisers", re.I), "antal personer"),
    (re.compile(r"week_start|date", re.I), "datum"),
    (re.compile(r"year", re.I), "år"),
    (re.compile(r"_code$"), "kod (text)"),
    (re.compile(r"_name$|_level$|version|source|status|site|method", re.I), "text"),
]


@functools.cache
def dbt_columns(marts_dir: Path = MARTS_DIR) -> dict[str, dict]:
    """{mart: {"description": str, "description_sv": str|None,
    "columns": {column: {"description": str, "description_sv": str|None}}}}."""
    out: dict[str, dict] = {}
    for path in sorted(Path(marts_dir).glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models") or []:
            columns = {}
            for col in model.get("columns") or []:
                meta = (col.get("meta") or {}) | ((col.get("config") or {}).get("meta") or {})
                columns[col["name"]] = {
                    "description": " ".join(str(col.get("description") or "").split()),
                    "description_sv": meta.get("description_sv"),
                    "unit": meta.get("unit_sv"),
                }
            model_meta = (model.get("meta") or {}) | ((model.get("config") or {}).get("meta") or {})
            out[model["name"]] = {
                "description": " ".join(str(model.get("description") or "").split()),
                "description_sv": model_meta.get("description_sv"),
                "columns": columns,
            }
    return out


def model_description(mart: str) -> str:
    """The table's description as published: the Swedish one when the YAML has it, else the dbt one."""
    spec = dbt_columns().get(mart, {})
    return spec.get("description_sv") or spec.get("description") or ""


def _unit(column: str, description: str, arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "sant/falskt"
    for pattern, unit in _UNITS:
        if pattern.search(column) or pattern.search(description):
            return unit
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    return "antal"


def describe(mart: str, column: str, columns: list[str], arrow_type: pa.DataType) -> dict[str, str]:
    """Description, unit and suppression meaning of one published column (description empty = undocumented)."""
    spec = dbt_columns().get(mart, {"columns": {}})["columns"]
    if column.endswith(SUPPRESSED_SUFFIX) and column.removesuffix(SUPPRESSED_SUFFIX) in columns:
        base = column.removesuffix(SUPPRESSED_SUFFIX)
        return {
            "description": (
                f"Sant när värdet i {base} är dolt av röjandekontrollen (för få personer, eller så att det "
                f"annars kunde räknas fram ur andra värden); {base} är då tomt (null)."
            ),
            "unit": "sant/falskt",
            "suppression": "flaggan själv döljs aldrig",
        }
    entry = spec.get(column) or {}
    description = entry.get("description_sv") or entry.get("description") or ""
    suppression = (
        f"tomt (null) när {column}{SUPPRESSED_SUFFIX} är sant: under gränsen för röjandekontroll"
        if f"{column}{SUPPRESSED_SUFFIX}" in columns
        else "döljs inte"
    )
    if column == "region_level" and description:
        description += " 'pooled' = små kommuner sammanslagna som ”Övriga länet”."
    return {
        "description": description,
        "unit": entry.get("unit") or _unit(column, entry.get("description") or "", arrow_type),
        "suppression": suppression,
    }


@functools.cache
def _field_metadata(
    mart: str, column: str, columns: tuple[str, ...], arrow_type: pa.DataType
) -> dict[bytes, bytes]:
    """``describe`` as Arrow field metadata, once per mart and column: a publication writes the same
    marts for every municipality (county 14: 343 files)."""
    return {
        k.encode("utf-8"): v.encode("utf-8")
        for k, v in describe(mart, column, list(columns), arrow_type).items()
    }


def annotated_table(frame, mart: str) -> pa.Table:
    """The frame as an Arrow table with nulls for NaN and the dictionary in its schema metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN in float columns -> null
    arrays, fields = [], []
    for field, array in zip(table.schema, table.columns, strict=True):
        if pa.types.is_floating(field.type):
            array = pa.chunked_array(
                [
                    pa.compute.if_else(pa.compute.is_nan(c), pa.scalar(None, field.type), c)
                    for c in array.chunks
                ],
                type=field.type,
            )
        fields.append(
            field.with_metadata(_field_metadata(mart, field.name, tuple(table.column_names), field.type))
        )
        arrays.append(array)
    meta = dict(table.schema.metadata or {})
    meta[b"lagesbild:mart"] = mart.encode("utf-8")
    meta[b"lagesbild:description"] = model_description(mart).encode("utf-8")
    meta[b"lagesbild:missing"] = NULL_MEANING.encode("utf-8")
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def _table_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def dictionary_rows(tables: dict[str, pa.Table]) -> list[dict[str, str]]:
    rows = []
    for mart, table in sorted(tables.items()):
        for field in table.schema:
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            rows.append(
                {
                    "tabell": mart,
                    "kolumn": field.name,
                    "datatyp": str(field.type),
                    "enhet": meta.get("unit", ""),
                    "beskrivning": meta.get("description", ""),
                    "röjandekontroll": meta.get("suppression", ""),
                    "saknat_värde": NULL_MEANING,
                }
            )
    return rows


def dictionary_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def dictionary_html(rows: list[dict[str, str]], tables: dict[str, pa.Table]) -> bytes:
    from lagesbild.report.templating import render

    descriptions = {m: model_description(m) for m in tables}
    page = render(
        "datadictionary.html.j2",
        rows=rows,
        descriptions=descriptions,
        null_meaning=NULL_MEANING,
        pool=pool_facts(tables),
    )
    return str(page).encode("utf-8")


def pool_facts(tables: dict[str, pa.Table]) -> dict | None:
    """The small-area pool "Övriga länet" of the published files: its members and the threshold."""
    from lagesbild.report.data import pool_threshold
    from lagesbild.report.names import official_name

    members: set[str] = set()
    for table in tables.values():
        if "pool_code" not in table.column_names or "region_level" not in table.column_names:
            continue
        frame = table.select(["region_code", "region_level", "pool_code"]).to_pandas()
        rows = frame[(frame["region_level"] == "municipality") & frame["pool_code"].notna()]
        members |= set(rows["region_code"].astype(str))
    if not members:
        return None
    return {
        "members": [official_name(c, fallback=c) for c in sorted(members)],
        "threshold": pool_threshold(),
    }


def with_data_dictionary(files: dict) -> dict:
    """``files`` with every Parquet DataFrame annotated and a datadictionary.html/.csv in each data folder."""
    out = dict(files)
    tables: dict[str, pa.Table] = {}
    folders: set[str] = set()
    for relpath, item in files.items():
        if relpath.endswith(".parquet") and hasattr(item, "to_parquet"):
            mart = relpath.rsplit("/", 1)[-1].removesuffix(".parquet")
            table = annotated_table(item, mart)
            out[relpath] = _table_bytes(table)
            tables.setdefault(mart, table)
            folders.add(relpath.rsplit("/", 1)[0] if "/" in relpath else "")
    if not tables:
        return out
    rows = dictionary_rows(tables)
    html, table_csv = dictionary_html(rows, tables), dictionary_csv(rows)
    for folder in sorted(folders):
        prefix = f"{folder}/" if folder else ""
        out[f"{prefix}datadictionary.html"] = html
        out[f"{prefix}datadictionary.csv"] = table_csv
    return out


def undocumented(tables: dict[str, pa.Table]) -> list[str]:
    """``mart.column`` for every published column without a description (should be empty)."""
    return [f"{r['tabell']}.{r['kolumn']}" for r in dictionary_rows(tables) if not r["beskrivning"].strip()]
