"""Every published column carries a description from the dbt YAML; missing values are null."""

from __future__ import annotations

import csv
import html
import io
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from report_helpers import build_marts

from lagesbild.datadictionary import MARTS_DIR, dbt_columns, undocumented, with_data_dictionary
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
        == dbt_columns()["mart_flows"]["columns"]["buyers"]["description_sv"]
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


def test_every_column_and_table_of_every_mart_has_a_swedish_description():
    """Municipal officials read the dictionary: every mart YAML gives each column and table a description_sv."""
    specs = dbt_columns()
    marts = {p.stem for p in MARTS_DIR.glob("mart_*.yml")}
    assert marts and marts <= set(specs) and set(MARTS) <= marts
    missing = [
        f"{mart}.{column}"
        for mart in sorted(marts)
        for column, entry in specs[mart]["columns"].items()
        if not str(entry["description_sv"] or "").strip()
    ]
    assert missing == []
    assert all(str(specs[m]["description_sv"] or "").strip() for m in marts)


_ROW = re.compile(
    r"<tr><td><code>(?P<column>[^<]+)</code></td><td>[^<]*</td><td>(?P<description>.*?)</td><td>", re.S
)


def test_the_dictionary_page_shows_no_english_description():
    files = _published()
    specs = dbt_columns()
    for folder in ("county", "municipalities/0580"):
        page = files[f"{folder}/datadictionary.html"].decode("utf-8")
        shown_rows = 0
        for section in page.split('<h2 id="')[1:]:
            mart = section.split('"', 1)[0]
            english_table = specs[mart]["description"]
            assert html.escape(english_table) not in section and english_table not in section, mart
            for match in _ROW.finditer(section):
                shown_rows += 1
                column, shown = match["column"], html.unescape(match["description"])
                english = (specs[mart]["columns"].get(column) or {}).get("description", "")
                assert shown.strip(), (mart, column)
                assert not english or not shown.startswith(english), (mart, column, shown)
        assert shown_rows == sum(len(t.schema) for t in _tables(files, folder))


def _tables(files: dict, folder: str) -> list:
    return [
        pq.read_table(io.BytesIO(data))
        for relpath, data in files.items()
        if relpath.startswith(f"{folder}/") and relpath.endswith(".parquet")
    ]
