"""The metadata the Dagster UI shows: row counts, column schemas (dbt YAML descriptions), disclosed previews."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from lagesbild.warehouse import connect, write_parquet_atomic
from orchestration.assets.publication import point_latest_link
from orchestration.metadata import (
    COLUMN_SCHEMA,
    ROW_COUNT,
    dbt_column_docs,
    markdown_preview,
    parquet_metadata,
    warehouse_metadata,
)


def test_parquet_metadata_counts_every_file_and_types_the_columns(tmp_path):
    for week, n in (("a", 3), ("b", 4)):
        write_parquet_atomic(pd.DataFrame({"ad_id": [f"x{i}" for i in range(n)], "rows": range(n)}), tmp_path / week / "p.parquet")
    meta = parquet_metadata(sorted(tmp_path.rglob("*.parquet")))
    assert meta[ROW_COUNT] == 7
    schema: dg.TableSchema = meta[COLUMN_SCHEMA]
    assert [c.name for c in schema.columns] == ["ad_id", "rows"]
    assert "string" in schema.columns[0].type and schema.columns[1].type == "int64"
    assert parquet_metadata([tmp_path / "missing.parquet"]) == {}


def test_warehouse_metadata_takes_types_from_the_warehouse_and_descriptions_from_the_dbt_yaml(tmp_path):
    docs = dbt_column_docs()
    assert docs, "run `make manifest`: the column docs come from the dbt manifest"
    described = {c: d for c, d in docs["mart_prevalence_yearly"].items() if d}
    assert described, "mart_prevalence_yearly.yml documents its columns"
    column, description = next(iter(described.items()))
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        con.execute(f'create table mart_prevalence_yearly as select 1::integer as "{column}", 2 as other union all select 3, 4')
    meta = warehouse_metadata(db, ["mart_prevalence_yearly", "not_built"])
    assert set(meta) == {"mart_prevalence_yearly"}
    assert meta["mart_prevalence_yearly"][ROW_COUNT] == 2
    columns = {c.name: c for c in meta["mart_prevalence_yearly"][COLUMN_SCHEMA].columns}
    assert columns[column].type == "INTEGER" and columns[column].description == description


def test_preview_shows_suppressed_cells_empty_and_says_what_is_left_out():
    frame = pd.DataFrame(
        {"region_code": ["05", "0580", "0581"], "buyers": pd.array([12, None, 7], dtype="Int64"), "share": [0.5, None, 0.25]}
    )
    text = markdown_preview(frame, rows=2, columns=2)
    lines = text.splitlines()
    assert lines[0] == "| region_code | buyers |"
    assert lines[2] == "| 05 | 12 |" and lines[3] == "| 0580 |  |"
    assert "1 more rows" in text and "1 more columns" in text


def test_latest_link_points_at_the_new_publication_and_is_switched(tmp_path):
    for pub in ("2026-01-01T0000Z-aaaaaaaa", "2026-01-02T0000Z-bbbbbbbb"):
        (tmp_path / pub).mkdir()
        (tmp_path / pub / "manifest.json").write_text(pub)
        link = point_latest_link(tmp_path, pub)
        assert (link / "manifest.json").read_text() == pub
    assert link.is_symlink() and not list(tmp_path.glob(".latest-link.*"))


def test_warehouse_views_read_the_raw_files_relative_to_the_warehouse_from_any_working_directory(tmp_path):
    """dbt's staging views read ``../raw/...`` (models/staging/_sources.yml), relative to the warehouse
    folder dbt runs in; the row counts are read from the Dagster process, whose working directory is
    elsewhere."""
    (tmp_path / "raw").mkdir()
    (tmp_path / "warehouse").mkdir()
    db = tmp_path / "warehouse" / "lagesbild.duckdb"
    with connect(db) as con:
        con.execute(f"copy (select range as ad_id from range(3)) to '{tmp_path}/raw/part-0.parquet' (format parquet)")
        con.execute("create view stg_raw__ads as select * from read_parquet('../raw/*.parquet')")
    assert meta_rows(warehouse_metadata(db, ["stg_raw__ads"])) == {"stg_raw__ads": 3}


def meta_rows(meta: dict) -> dict:
    return {name: values[ROW_COUNT] for name, values in meta.items()}
