"""int_location_resolution normalises each distinct location text once, not every ad line.

The model takes the distinct texts, normalises them and drops those that normalise to nothing.
DuckDB pushes that filter below the ``distinct`` unless something stops it, and then evaluates the
normaliser's regular expressions on every ad line: at 10M lines 12.9 CPU s instead of 1.9
(docs/bench.md, "CTEs DuckDB materialises"). The model is rendered with Jinja2 from the project's
files (as in test_incremental_linkage.py), run in DuckDB with profiling on many lines of few texts,
and no operator may evaluate the normaliser on more rows than there are distinct texts.
"""

from __future__ import annotations

import json

import duckdb
import jinja2
import yaml

from lagesbild.settings import DBT_PROJECT_DIR

LINES, TEXTS = 20_000, 25


def render_full_build() -> str:
    macros = "".join(
        (DBT_PROJECT_DIR / "macros" / name).read_text() for name in ("normalise_location.sql", "location_reference.sql")
    )
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals.update(
        config=lambda **kw: "",
        ref=lambda name: name,
        var=lambda name, default=None: variables.get(name, default),
        is_incremental=lambda: False,
    )
    model = (DBT_PROJECT_DIR / "models" / "intermediate" / "int_location_resolution.sql").read_text()
    return env.from_string(macros + model).render()


def operators(node: dict):
    yield node
    for child in node.get("children", []):
        yield from operators(child)


def test_the_normaliser_runs_once_per_distinct_text(tmp_path):
    con = duckdb.connect()
    con.execute(
        "create table stg_raw__ad_snapshots as select 'Linköping centrum ' || (i % ?) as location_raw "
        "from range(?) as t(i)",
        [TEXTS, LINES],
    )
    con.execute(
        "create table int_gazetteer as select * from (values ('linkoping', '0580', true), "
        "('norrkoping', '0581', true)) as t(name_normalised, municipality_code, fuzzy_eligible)"
    )
    con.execute("create table int_regions as select * from (values ('0580'), ('0581')) as t(municipality_code)")
    profile = tmp_path / "profile.json"
    con.execute(f"pragma enable_profiling = 'json'; pragma profiling_output = '{profile}'")
    resolved = con.execute(render_full_build()).fetchall()
    con.execute("pragma disable_profiling")

    assert len(resolved) == TEXTS
    plan = json.loads(profile.read_text())
    normalising = [
        op
        for root in plan["operator"]
        for op in operators(root)
        if "regexp_replace" in json.dumps(op.get("extra_info", {}))
    ]
    assert normalising, "the profile names no operator that normalises the texts"
    evaluated = [(op["type"], op["intermediate_rows"]) for op in normalising]
    assert all(rows <= TEXTS for _, rows in evaluated), evaluated


def test_a_decomposed_place_name_normalises_as_the_composed_one():
    """macOS may write 'ö' decomposed (NFD: 'o' and U+0308): the fold saw no 'ö' and "Linköping" became
    "linko ping", an unknown location, in an ad or in the gazetteer."""
    import unicodedata

    macro = (DBT_PROJECT_DIR / "macros" / "normalise_location.sql").read_text()
    sql = jinja2.Environment().from_string(macro + "{{ normalise_location('text') }}").render()
    names = ["Linköping", "Norrköping Hageby", "Åtvidaberg", "Ödeshög"]
    con = duckdb.connect()
    con.execute("create table t (text varchar)")
    con.executemany("insert into t values (?)", [[unicodedata.normalize(form, n)] for form in ("NFC", "NFD") for n in names])
    got = [row[0] for row in con.execute(f"select {sql} from t").fetchall()]
    assert got[len(names):] == got[: len(names)] == ["linkoping", "norrkoping hageby", "atvidaberg", "odeshog"]
