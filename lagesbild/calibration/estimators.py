"""The mart's hidden-population estimators, rendered from the dbt macros and run in DuckDB.

One place for the arithmetic: ``dbt_project/macros/hidden_population.sql``. dbt renders it into
``mart_hidden_population``; this module renders the same macros with plain Jinja2 (they use no dbt
context) and evaluates them over a frame of counts, so the harness scores the SQL the mart runs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MACROS = DBT_PROJECT / "macros" / "hidden_population.sql"


@lru_cache(maxsize=1)
def min_overlap() -> int:
    """var chapman_min_overlap of dbt_project.yml: the threshold the mart uses."""
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"]["chapman_min_overlap"])


@lru_cache(maxsize=1)
def min_doubletons() -> int:
    """var chao2_min_doubletons of dbt_project.yml: the Chao2 small-count threshold the mart uses."""
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"]["chao2_min_doubletons"])


@lru_cache(maxsize=1)
def _module():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(MACROS.read_text(encoding="utf-8")).module


def macro(name: str, *args: str) -> str:
    """The SQL expression that macro ``name`` renders for the given column expressions."""
    return str(getattr(_module(), name)(*args))


def estimate_sql(table: str = "counts") -> str:
    """One query computing both estimators and their intervals for every row of ``table``.

    ``table`` needs n1, n2, m2 (two sites) and s_obs, f1, f2, t (weekly occasions).
    """
    c = ("n1", "n2", "m2")
    o = ("s_obs", "f1", "f2", "t")
    k, d = str(min_overlap()), str(min_doubletons())
    return f"""
        select
            *,
            case when m2 > 0 then {macro("chapman_n", *c)} end as chapman_n,
            {macro("chapman_ci_low", *c, k)} as ci_low,
            {macro("chapman_ci_high", *c, k)} as ci_high,
            {macro("chapman_ci_method", *c, k)} as ci_method,
            {macro("chapman_status", *c, k)} as estimate_status,
            case when {macro("chao2_estimable", "s_obs", "t")} then {macro("chao2_n", *o)} end as chao2_n,
            {macro("chao2_ci_low", *o, d)} as chao2_ci_low,
            {macro("chao2_ci_high", *o)} as chao2_ci_high,
            {macro("chao2_ci_method", *o, d)} as chao2_ci_method,
            {macro("chao2_status", "s_obs", "f2", "t", d)} as chao2_status
        from {table}
    """


def estimate(counts: pd.DataFrame) -> pd.DataFrame:
    """Both estimators over ``counts`` (one row per replicate), by the mart's SQL, in one query."""
    con = duckdb.connect()
    try:
        con.register("counts", counts)
        return con.execute(estimate_sql("counts")).df()
    finally:
        con.close()
