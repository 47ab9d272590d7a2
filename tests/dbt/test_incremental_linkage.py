"""The incremental advertiser linkage equals a full rebuild after any sequence of weekly runs.

The two linkage models (``int_ad_phone_keys``, ``int_ad_advertisers``) and their hooks are rendered
from the project's files with Jinja2 and run in DuckDB the way dbt-duckdb runs an incremental
delete+insert model (pre-hooks, delete the target rows whose unique key the new rows carry, insert,
post-hooks). Hypothesis draws small histories — new weeks, and weeks ingested again with lines
dropped, added or changed, down to an empty week — and after every run the incrementally kept table
must equal the one a full rebuild computes from the same raw rows. Fast: no dbt process, a few
milliseconds per run.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagesbild.settings import DBT_PROJECT_DIR

MODELS = DBT_PROJECT_DIR / "models" / "intermediate"
MACROS = DBT_PROJECT_DIR / "macros"
WEEKS = [date(2025, 1, 6) + timedelta(weeks=i) for i in range(4)]
COLUMNS = "site, ad_id, advertiser_key, is_phone_linked, component_label, first_week, last_week"


class Relation(str):
    @property
    def identifier(self) -> str:
        return str(self)


def _macros() -> str:
    """The project's linkage macros and week_window_filter (week_window_bound is given from Python)."""
    weeks = (MACROS / "weeks.sql").read_text()
    window_filter = re.search(r"{% macro week_window_filter.*?{%- endmacro %}", weeks, re.S).group(0)
    return (MACROS / "advertiser_linkage.sql").read_text() + window_filter


class Column:
    def __init__(self, name: str):
        self.name = name


class Adapter:
    """dbt's ``adapter.get_columns_in_relation`` over a DuckDB connection."""

    def __init__(self, con=None):
        self.con = con

    def get_columns_in_relation(self, relation) -> list[Column]:
        rows = self.con.execute(
            "select column_name from information_schema.columns where table_name = ?", [str(relation)]
        ).fetchall()
        return [Column(name) for (name,) in rows]


def render(
    text: str, *, incremental: bool, window: tuple[date, date] | None, this: str, con=None
) -> tuple[str, dict]:
    """Render a model (or hook) as dbt would for one run; returns the SQL and the model's config."""
    config: dict = {}

    def bound(name: str):
        return None if window is None else window[0 if name == "from" else 1].isoformat()

    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals.update(
        config=lambda **kw: config.update(kw) or "",
        ref=lambda name: name,
        this=Relation(this),
        is_incremental=lambda: incremental,
        week_window_bound=bound,
        adapter=Adapter(con),
    )
    return env.from_string(_macros() + text).render(), config


def run_model(con, name: str, *, full: bool, window: tuple[date, date] | None) -> None:
    """One dbt run of an incremental model: a new table on a full run, else hooks + delete+insert."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchone()[0]
    incremental = exists and not full
    sql, config = render(
        (MODELS / f"{name}.sql").read_text(), incremental=incremental, window=window, this=name, con=con
    )

    def hooks(kind: str) -> None:
        for hook in config.get(kind, []):
            statement, _ = render(hook, incremental=incremental, window=window, this=name, con=con)
            if statement.strip():
                con.execute(statement)

    if not incremental:
        con.execute(f"create or replace table {name} as {sql}")
        hooks("post_hook")
        return
    hooks("pre_hook")
    con.execute(f"create or replace temp table {name}__new as {sql}")
    if config.get("on_schema_change") in ("append_new_columns", "sync_all_columns"):  # add the columns the table lacks
        have = {c.name for c in Adapter(con).get_columns_in_relation(name)}
        for column, kind in con.execute(f"select column_name, data_type from information_schema.columns where table_name = '{name}__new'").fetchall():
            if column not in have:
                con.execute(f"alter table {name} add column {column} {kind}")
    keys = config["unique_key"] if isinstance(config["unique_key"], list) else [config["unique_key"]]
    match = " and ".join(f"{name}.{k} = {name}__new.{k}" for k in keys)
    con.execute(f"delete from {name} where exists (select 1 from {name}__new where {match})")
    con.execute(f"insert into {name} by name select * from {name}__new")
    hooks("post_hook")


def load_raw(con, raw: dict[date, list[tuple[str, str, str | None]]]) -> None:
    rows = [(w, site, ad, key) for w, lines in raw.items() for site, ad, key in lines]
    con.execute("create or replace table stg_raw__ad_snapshots (week_start date, site varchar, ad_id varchar, phone_key varchar)")
    if rows:
        values = ", ".join(
            f"(date '{w}', '{site}', '{ad}', {'null' if key is None else repr(key)})" for w, site, ad, key in rows
        )
        con.execute(f"insert into stg_raw__ad_snapshots values {values}")


def linkage(con, *, full: bool, window) -> list[tuple]:
    for name in ("int_ad_phone_keys", "int_ad_advertisers"):
        run_model(con, name, full=full, window=window)
    return con.execute(f"select {COLUMNS} from int_ad_advertisers order by site, ad_id").fetchall()


def connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"threads": 1})  # tables of a few rows: no thread pool to start


def full_rebuild(raw) -> list[tuple]:
    con = connect()
    load_raw(con, raw)
    return linkage(con, full=True, window=None)


lines = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from([f"ad{i}" for i in range(6)]),
        st.one_of(st.none(), st.sampled_from([f"k{i}" for i in range(6)])),
    ),
    max_size=8,
)
runs = st.lists(st.tuples(st.integers(0, len(WEEKS) - 1), lines), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=runs)
def test_weekly_runs_equal_a_full_rebuild(runs):
    """Each run (re-)ingests one week, new or seen before, and runs the linkage for that week only."""
    con = connect()
    raw: dict[date, list] = {}
    for index, (week_index, week_lines) in enumerate(runs):
        week = WEEKS[week_index]
        raw[week] = week_lines  # a re-ingest replaces the week's lines: it may shrink, grow or change
        load_raw(con, raw)
        kept = linkage(con, full=index == 0, window=None if index == 0 else (week, week))
        assert kept == full_rebuild(raw), f"after run {index + 1} (week {week})"


def test_a_week_merges_two_advertisers_and_its_shrunk_reingest_splits_them():
    """The cases spelled out: a new week merges two components; the week re-ingested without the
    linking line splits them again; an ad whose only lines went is dropped."""
    con = connect()
    raw = {WEEKS[0]: [("a", "ad1", "k1"), ("b", "ad2", "k2")]}
    load_raw(con, raw)
    first = linkage(con, full=True, window=None)
    assert first[0][2] != first[1][2]
    raw[WEEKS[1]] = [("a", "ad3", "k1"), ("a", "ad3", "k2"), ("b", "ad4", None)]
    load_raw(con, raw)
    merged = linkage(con, full=False, window=(WEEKS[1], WEEKS[1]))
    assert len({row[2] for row in merged if row[1] != "ad4"}) == 1 and merged == full_rebuild(raw)
    raw[WEEKS[1]] = [("a", "ad3", "k2")]
    load_raw(con, raw)
    split = linkage(con, full=False, window=(WEEKS[1], WEEKS[1]))
    assert [row[1] for row in split] == ["ad1", "ad3", "ad2"]  # ad4 had only the dropped line
    assert split == full_rebuild(raw)
    keys = {row[1]: row[2] for row in split}
    assert keys["ad1"] != keys["ad2"] and keys["ad3"] == keys["ad2"]


@pytest.mark.parametrize("incremental", [False, True])
def test_the_model_renders_for_dbt_without_a_window(incremental):
    con = connect()
    con.execute("create table t (site varchar, ad_id varchar, component_label varchar)")
    sql, config = render(
        (MODELS / "int_ad_advertisers.sql").read_text(), incremental=incremental, window=None, this="t", con=con
    )
    assert config["unique_key"] == ["site", "ad_id"] and "with recursive" in sql
    assert ("touched_keys" in sql) == incremental


def test_a_table_from_before_the_incremental_linkage_is_recomputed_once():
    """A warehouse whose int_ad_advertisers lacks the linkage columns gets them and every ad's row."""
    con = connect()
    raw = {WEEKS[0]: [("a", "ad1", "k1"), ("b", "ad2", "k1")], WEEKS[1]: [("a", "ad3", "k2")]}
    load_raw(con, raw)
    linkage(con, full=True, window=None)
    con.execute("alter table int_ad_advertisers drop column component_label")
    con.execute("alter table int_ad_advertisers drop column first_week")
    con.execute("alter table int_ad_advertisers drop column last_week")
    assert linkage(con, full=False, window=(WEEKS[1], WEEKS[1])) == full_rebuild(raw)
