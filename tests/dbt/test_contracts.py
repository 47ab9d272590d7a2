"""Not-null is enforced by model contracts, not by a `not_null` test per column (docs/marts.md,
"Tests and contracts"): the intermediate and mart tables carry NOT NULL constraints in DuckDB, so a
null fails the model's build (and the table keeps its last good rows) instead of being found by a
test query after it was written.
"""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from dbt_helpers import VERDICTS, DbtRun, write_raw_fixture

from lagesbild.sources import verdicts
from lagesbild.sources.quarantine import typed_frame
from lagesbild.warehouse import write_parquet_atomic

pytestmark = pytest.mark.slow


def _models(run: DbtRun) -> list[dict]:
    manifest = json.loads((run.work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def _not_null_columns(node: dict) -> set[str]:
    return {
        name
        for name, column in node["columns"].items()
        if any(c["type"] == "not_null" for c in column.get("constraints", []))
    }


def test_not_null_constraints_are_in_the_warehouse_tables(built_project):
    """Every not-null constraint sits on a contracted table or incremental model (dbt ignores it on a
    view or without an enforced contract) and is a NOT NULL column of the built table, incremental
    models included; a contracted model has no `not_null` test left beside its constraint."""
    contracted = {}
    for node in _models(built_project):
        declared = _not_null_columns(node)
        if not declared:
            continue
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["config"]["materialized"] in ("table", "incremental"), node["name"]
        contracted[node["name"]] = declared
    assert {"int_ad_observations", "int_ad_advertisers", "mart_prevalence_weekly"} <= contracted.keys()

    nullable = built_project.query(
        "select table_name, column_name from information_schema.columns where is_nullable = 'NO'"
    )
    in_warehouse: dict[str, set[str]] = {}
    for table, column in nullable.itertuples(index=False):
        in_warehouse.setdefault(table, set()).add(column)
    for model, columns in contracted.items():
        assert in_warehouse.get(model, set()) == columns, model

    manifest = json.loads((built_project.work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    doubled = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("test_metadata", {}).get("name") == "not_null"
        and node.get("attached_node", "").split(".")[-1] in contracted
    ]
    assert doubled == []


def test_a_null_fails_the_model_build_and_keeps_the_last_good_table(built_project, tmp_path):
    """A verdict without case_key (int_verdicts.case_key is not null by contract): the model's build
    fails on DuckDB's NOT NULL constraint and int_verdicts keeps the rows of the last good build."""
    shutil.copytree(built_project.data_dir, tmp_path / "data")
    shutil.copytree(built_project.work_dir / "target", tmp_path / "dbt" / "target")
    run = DbtRun(tmp_path / "data", tmp_path / "dbt")
    write_raw_fixture(run.data_dir)  # the same fixture, then one verdict loses its key
    raw = run.data_dir / "raw" / "verdicts" / "verdicts.parquet"
    frame = pd.read_parquet(raw)
    frame.loc[0, "case_key"] = None
    write_parquet_atomic(typed_frame(frame.to_dict("records"), verdicts.ROW_SCHEMA), raw)
    before = run.query("select * from int_verdicts order by case_key")

    # The staging view is rebuilt too: the copied one still reads the original data dir. `run`, not
    # `build`: the staging view's own not_null test would otherwise stop the build before the model.
    result = run("run", "--select", "stg_raw__verdicts", "int_verdicts", check=False)

    assert result.returncode == 1, result.stdout[-3000:]
    assert "Failure in model int_verdicts" in result.stdout, result.stdout[-3000:]
    # DuckDB names the table being built (dbt's int_verdicts__dbt_tmp, swapped in only on success).
    assert re.search(r"NOT NULL constraint failed: int_verdicts(__dbt_tmp)?\.case_key", result.stdout)
    assert len(before) == len(VERDICTS)
    pd.testing.assert_frame_equal(run.query("select * from int_verdicts order by case_key"), before)
