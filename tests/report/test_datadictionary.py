"""Every published column carries a description from the dbt YAML; missing values are null."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from report_helpers import build_marts

from lagesbild.datadictionary import dbt_columns, undocumented, with_data_dictionary
from orchestration.assets.publication import MARTS


def _published() -> dict:
    marts = build_marts()
    marts["mart_prevalence_yearly"].loc[0, "est_purchases_per_10k"] = np.nan  # a NaN must become null
    files = {f"county/{name}.parquet": frame for name, frame in marts.items()}
    files |= {f"municipalities/0580/{name}.parquet": frame.head(2) for name, frame in marts.items()}
    return with_data_dictionary(files)


def test_every_published_column_has_a_description_unit_and_suppression_meaning():
    files = _published()
    tables = {}
    for relpath, data in files.items():
        if relpath.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
            tables[relpath.rsplit("/", 1)[-1].removesuffix(".parquet")] = table
            assert table.schema.metadata[b"lagesbild:description"], relpath
            for field in table.schema:
                meta = field.metadata or {}
                assert meta.get(b"description") and meta.get(b"unit") and meta.get(b"suppression"), (
                    relpath,
                    field.name,
                )
    assert undocumented(tables) == []
    flows = tables["mart_flows"].schema
    assert b"r\xc3\xb6jandekontroll" in flows.field("buyers").metadata[b"suppression"]
    assert (
        flows.field("buyers").metadata[b"description"].decode()
        == dbt_columns()["mart_flows"]["columns"]["buyers"]["description"]
    )


def test_every_column_of_every_dbt_mart_is_documented_in_the_yaml():
    """The one source: each mart the pipeline publishes documents its columns in dbt YAML."""
    specs = dbt_columns()
    for mart in MARTS:
        assert mart in specs, mart
        assert specs[mart]["description"], mart
        assert all(c["description"] for c in specs[mart]["columns"].values()), mart


def test_missing_values_are_null_not_nan():
    files = _published()
    table = pq.read_table(io.BytesIO(files["county/mart_prevalence_yearly.parquet"]))
    column = table.column("est_purchases_per_10k")
    assert column.null_count >= 1
    assert not any(isinstance(v, float) and v != v for v in column.to_pylist())


def test_each_data_folder_gets_a_swedish_dictionary_page_and_csv():
    files = _published()
    for folder in ("county", "municipalities/0580"):
        page = files[f"{folder}/datadictionary.html"].decode("utf-8")
        assert '<html lang="sv">' in page and "Saknade värden" in page and "mart_demand_yearly" in page
        rows = list(csv.DictReader(io.StringIO(files[f"{folder}/datadictionary.csv"].decode("utf-8"))))
        assert {"tabell", "kolumn", "enhet", "beskrivning", "röjandekontroll"} <= set(rows[0])
        assert all(r["beskrivning"] for r in rows)
    assert pd.read_parquet(io.BytesIO(files["county/mart_flows.parquet"])).shape[0] == len(
        build_marts()["mart_flows"]
    )
