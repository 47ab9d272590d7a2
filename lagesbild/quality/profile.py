"""Run a row-level GX suite over a big partitioned Parquet dataset as a per-(week, site) profile.

Why: GX on pandas validated the ten million raw ad-snapshot rows of a full rebuild in ~90 s and
1.5 GB, even in chunks of weeks. Every expectation of ``expectations/raw_ad_snapshots.json``
asks "how many rows break this rule", and DuckDB answers that straight from the Parquet files, per
(``week_start``, ``site``), in seconds and bounded memory. GX then judges that small profile frame
(one row per site-week), so GX stays the gate, and a failure says what broke and where (week, site,
how many rows).

One definition: the row-level suite in ``expectations/`` stays the only place the rules are written,
in GX's own vocabulary. :func:`compile_rules` translates each row-level expectation into a SQL
predicate "this row breaks it" with GX's semantics (value rules ignore nulls; GX's ``ignore_row_if``
defaults; a duplicated key counts all its rows, like ``duplicated(keep=False)``), and
:func:`profile_suite` derives the GX suite over the profile from the same list: one
``violations = 0`` expectation per rule, with the rule's severity. Nothing is written twice by hand.
A test runs the row-level suite with GX, row by row, on planted rows and compares the counts.

Cost: a rule that cannot fail needs no row scan. Null and range rules are first decided from the
Parquet footers' statistics (null counts, min/max: exact when they prove the rule holds); value
rules on a text column (value sets, regexes) once per distinct value, from one grouping-sets scan.
Only the rules left (in a healthy run: posted-before-captured and the unique key) are counted in the
row scan grouped by week and site; a rule that fails always gets that scan, so the counts are exact.
The unique key is found by a 64-bit hash aggregate, then exactly on the repeated hashes.

Regexes: DuckDB's RE2 and Python's ``re`` (what GX's pandas engine uses) agree on printable ASCII,
but not elsewhere: in Python ``\\s`` also matches a no-break space and ``\\v``, ``\\b`` and ``\\d``
are Unicode-aware, and ``$`` also matches before a final newline. A phone number written with
no-break spaces would pass RE2 unseen. So RE2 decides only values of printable ASCII (plus tab, CR,
form feed) and Python's ``re`` every other distinct value (place names with å, ä, ö: a few hundred).

Supported expectation types are those in :data:`SUPPORTED`; an expectation of another type, with
kwargs the profile cannot honour (e.g. ``mostly``), or on a column the files lack is *broken* (never a
pass), as GX reports an expectation it cannot evaluate.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from lagesbild.quality.gaps import week_label
from lagesbild.quality.gx_runner import (
    ExpectationOutcome,
    SuiteResult,
    _column,
    _mask,
    _severity,
    load_suite,
    run_suite,
)
from lagesbild.settings import EXPECTATIONS_DIR
from lagesbild.warehouse import scratch_connection, sql_string

#: The columns a profile row is keyed by.
GROUP_BY = ("week_start", "site")
#: Row-level expectation type -> kwargs the profile honours (anything else makes the rule broken).
SUPPORTED = {
    "expect_table_row_count_to_be_between": {"min_value", "max_value"},
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_values_to_match_regex": {"column", "regex"},
    "expect_column_values_to_not_match_regex": {"column", "regex"},
    "expect_column_pair_values_a_to_be_greater_than_b": {"column_A", "column_B", "or_equal", "ignore_row_if"},
    "expect_compound_columns_to_be_unique": {"column_list", "ignore_row_if"},
}
_IGNORED_KWARGS = {"catch_exceptions", "result_format"}
_PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
_UNIQUE = "expect_compound_columns_to_be_unique"
_BETWEEN = "expect_column_values_to_be_between"
_ROW_COUNT = "expect_table_row_count_to_be_between"
#: GX's ``ignore_row_if`` per rule type, default first: value -> how the columns' ``is null`` combine
#: into "skip this row" (None: no row is skipped).
_IGNORE_ROW_IF = {
    _PAIR: {"both_values_are_missing": "and", "either_value_is_missing": "or", "neither": None},
    _UNIQUE: {"all_values_are_missing": "and", "any_value_is_missing": "or", "never": None},
}
#: A between rule's bounds: kwarg -> (its strictness kwarg, the Parquet statistic that decides it,
#: the SQL comparison by which a value breaks a non-strict bound; a strict one adds "=").
_BOUNDS = {"min_value": ("strict_min", "min", "<"), "max_value": ("strict_max", "max", ">")}
_BREAKS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
#: Text on which RE2 and Python ``re`` give the same answer (see the module docstring).
_RE2_SAFE_TEXT = r"[\x{20}-\x{7e}\t\r\f]*"
#: The most site-weeks a failing rule lists (the counts always cover all of them).
MAX_WHERE = 50
DUCKDB_MEMORY_LIMIT = "256MB"  # DuckDB spills beyond it; faster than a big hash table here
_TEXT = {"VARCHAR", "STRING", "TEXT"}
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}  # GX counts NaN as missing; Parquet statistics do not count NaNs


@dataclass
class Rule:
    """One row-level expectation, translated: ``violation`` is a SQL condition true for a breaking row."""

    index: int
    type: str
    kwargs: dict
    severity: str
    name: str  # the profile column counting its violations
    violation: str | None = None  # None for the row count (judged on the profile's ``rows``)
    regex: str | None = None  # Python pattern decided exactly on non-ASCII values
    regex_violates_on_match: bool = True
    unique_columns: tuple[str, ...] = ()
    skip: str = "false"  # SQL: a row that ``ignore_row_if`` leaves out of the rule (unique key rules)
    range_column: str | None = None  # a between rule also profiles min and max
    value_test: str | None = None  # SQL on ``value``: this distinct value of the text column breaks it
    clean: bool = False  # proven without a row scan (file statistics, distinct values) to have no violation
    error: str | None = None  # why the rule cannot be evaluated: it is broken

    @property
    def column(self) -> str | None:
        return _column(self.kwargs)


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _iso_moment(text: str) -> dt.datetime | None:
    """``text`` as a datetime when it is one in ISO form (GX compares such range bounds as datetimes)."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _literal(value, bound: bool = False) -> str:
    """A SQL literal for a suite value: numbers, booleans, strings; a ``bound`` in ISO form is a
    timestamp (GX compares range bounds given as ISO text as datetimes, set members as they are)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        quoted = sql_string(value)
        parsed = _iso_moment(value) if bound else None
        if parsed is None:
            return quoted
        return f"timestamptz {quoted}" if parsed.tzinfo else f"timestamp {quoted}"
    raise ValueError(f"cannot use {value!r} ({type(value).__name__}) as a bound or set member")


def _bounds(kwargs: dict) -> list[tuple[str, object, str]]:
    """A between rule's given bounds as (Parquet statistic, bound, SQL comparison a breaking value meets)."""
    return [
        (stat, kwargs[key], op + ("=" if kwargs.get(strict) else ""))
        for key, (strict, stat, op) in _BOUNDS.items()
        if kwargs.get(key) is not None
    ]


def _skip_row(rule: Rule, columns: list[str]) -> str:
    """SQL true for a row GX's ``ignore_row_if`` leaves out of ``rule`` (a pair or unique-key rule)."""
    modes = _IGNORE_ROW_IF[rule.type]
    mode = rule.kwargs.get("ignore_row_if", next(iter(modes)))
    if mode not in modes:
        raise ValueError(f'Unrecognized value of ignore_row_if ("{mode}").')
    if modes[mode] is None:
        return "false"
    return "(" + f" {modes[mode]} ".join(f"{c} is null" for c in columns) + ")"


def _translate(rule: Rule, schema: dict[str, str]) -> None:
    """Fill ``rule.violation`` (and friends) from its type and kwargs, or set ``rule.error``."""
    k = rule.kwargs
    columns = [k[c] for c in ("column", "column_A", "column_B") if c in k] + list(k.get("column_list") or [])
    missing = [c for c in columns if c not in schema]
    if missing:
        raise ValueError(f'column "{missing[0]}" does not exist in the Parquet files')
    col = _ident(k["column"]) if "column" in k else None
    t = rule.type
    if t in (_ROW_COUNT, _BETWEEN) and k.get("min_value") is None and k.get("max_value") is None:
        raise ValueError("min_value and max_value cannot both be None")
    if t == "expect_column_values_to_not_be_null":
        rule.violation = f"{col} is null" + (f" or isnan({col})" if schema[k["column"]].upper() in _FLOAT else "")
    elif t == "expect_column_values_to_be_in_set":
        values = [v for v in (k.get("value_set") or []) if v is not None]
        members = ", ".join(_literal(v) for v in values)
        rule.violation = f"{col} is not null" + (f" and {col} not in ({members})" if values else "")
        if schema[k["column"]].upper() in _TEXT:
            rule.value_test = f"value not in ({members})" if values else "true"
    elif t == _BETWEEN:
        parts = [f"{col} {op} {_literal(bound, bound=True)}" for _, bound, op in _bounds(k)]
        rule.violation = f"{col} is not null and ({' or '.join(parts)})"
        rule.range_column = k["column"]
    elif t in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        if schema[k["column"]].upper() not in _TEXT:
            raise ValueError(f'regex rules need a text column; "{k["column"]}" is {schema[k["column"]]}')
        re.compile(k["regex"])  # a pattern Python rejects is broken here too
        rule.regex = k["regex"]
        rule.regex_violates_on_match = t.endswith("not_match_regex")
        matches = f"regexp_matches(value, {_literal(rule.regex)})"
        rule.value_test = matches if rule.regex_violates_on_match else f"not {matches}"
        rule.violation = f"{col} in (select value from bad_values where rule = '{rule.name}')"
    elif t == _PAIR:
        a, b = _ident(k["column_A"]), _ident(k["column_B"])
        broken = f"coalesce(not ({a} {'>=' if k.get('or_equal') else '>'} {b}), true)"
        rule.violation = f"not {_skip_row(rule, [a, b])} and {broken}"
    elif t == _UNIQUE:
        rule.unique_columns = tuple(k["column_list"])
        rule.skip = _skip_row(rule, [_ident(c) for c in rule.unique_columns])
        rule.violation = f"{rule.name}_dup.{_ident('_dup')} is not null"


def compile_rules(suite: dict, schema: dict[str, str]) -> list[Rule]:
    """The suite's expectations as profile rules; ``schema`` maps the files' columns to DuckDB types."""
    rules = []
    for i, exp in enumerate(suite["expectations"]):
        exp_type = str(exp.get("type") or exp.get("expectation_type"))
        kwargs = dict(exp.get("kwargs") or {})
        slug = re.sub(r"[^a-z0-9]+", "_", str(_column(kwargs) or "table").lower()).strip("_")
        rule = Rule(i, exp_type, kwargs, _severity(exp), f"r{i:02d}_{slug}")
        unsupported = set(kwargs) - SUPPORTED.get(exp_type, set()) - _IGNORED_KWARGS
        if exp_type not in SUPPORTED:
            rule.error = f"{exp_type} cannot run as a profile (supported: {', '.join(sorted(SUPPORTED))})"
        elif unsupported:
            rule.error = f"{exp_type}: kwargs {sorted(unsupported)} cannot run as a profile"
        else:
            try:
                _translate(rule, schema)
            except (KeyError, ValueError, TypeError, re.error) as exc:
                rule.error = f"{type(exc).__name__}: {exc}"
        rules.append(rule)
    return rules


def _source(files: Sequence[Path]) -> str:
    paths = ", ".join(_literal(str(f)) for f in files)
    return f"read_parquet([{paths}], union_by_name = true)"


def _unique_cte(rule: Rule) -> str:
    """The keys occurring more than once (GX: ``duplicated(keep=False)``, NULLs equal, like pandas).

    First by a 64-bit hash of the key (a narrow aggregate over every row, so memory stays small),
    then exactly, on the few rows whose hash is repeated (a collision is never counted).
    """
    cols = [_ident(c) for c in rule.unique_columns]
    key_hash, keys = f"hash({', '.join(cols)})", ", ".join(f"{c} as k{i}" for i, c in enumerate(cols))
    repeated = "group by all\n    having count(*) > 1\n)"
    return (
        f"{rule.name}_hashes as (\n    select {key_hash} as key_hash\n    from src\n"
        f"    where not {rule.skip}\n    {repeated},\n"
        f"{rule.name}_keys as (\n    select {keys}, true as {_ident('_dup')}\n    from src\n"
        f"    where not {rule.skip} and {key_hash} in (select key_hash from {rule.name}_hashes)\n    {repeated}"
    )


def profile_sql(rules: list[Rule]) -> str:
    """One query: per (week_start, site) the row count, each rule's violations and between-ranges."""
    live = [r for r in rules if r.violation and not r.error]
    uniques = [r for r in live if r.unique_columns and not r.clean]
    ctes = [_unique_cte(r) for r in uniques]
    joins = []
    for r in uniques:
        on = " and ".join(
            f"src.{_ident(c)} is not distinct from {r.name}_dup.k{i}" for i, c in enumerate(r.unique_columns)
        )
        joins.append(f"left join {r.name}_keys as {r.name}_dup on {on}")
    flags = [f"{'false' if r.clean else f'coalesce({r.violation}, false)'} as {_ident(r.name)}" for r in live]
    ranged = sorted({r.range_column for r in live if r.range_column and not r.clean})
    ctes.append(
        "flagged as (\n    select\n        "
        + ",\n        ".join([*(f"src.{_ident(c)}" for c in dict.fromkeys([*GROUP_BY, *ranged])), *flags])
        + "\n    from src\n    "
        + "\n    ".join(joins)
        + "\n)"
    )
    measures = ["count(*) as rows"]
    measures += [f"count_if({_ident(r.name)}) as {_ident(r.name)}" for r in live]
    for c in ranged:
        measures += [f"min({_ident(c)}) as {_ident('min_' + c)}", f"max({_ident(c)}) as {_ident('max_' + c)}"]
    group = ", ".join(_ident(c) for c in GROUP_BY)
    return (
        "with "
        + ",\n".join(ctes)
        + f"\nselect {group},\n    "
        + ",\n    ".join(measures)
        + f"\nfrom flagged\ngroup by {group}\norder by {group}"
    )


def _judge_distinct_values(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> None:
    """Fill table ``bad_values(rule, value)`` for the rules on one text column's values; mark clean
    the ones no value breaks, so the row scan never reads their column.

    One scan collects the distinct values of every such column (the text columns hold a few hundred in
    ten million rows; phone keys about one per ten rows) and each rule is decided once per distinct
    value. A regex is decided by RE2 on printable ASCII and by Python's ``re`` on anything else.
    """
    con.execute("create temp table bad_values (rule varchar, value varchar)")
    value_rules = [r for r in rules if r.value_test and not r.error]
    if not value_rules:
        return
    columns = list(dict.fromkeys(r.kwargs["column"] for r in value_rules))
    idents = [_ident(c) for c in columns]
    per_column = "\n            union all\n            ".join(
        f"select {_literal(c)} as col, {i} as value from distinct_values where grouping_{n} = 0 and {i} is not null"
        for n, (c, i) in enumerate(zip(columns, idents, strict=True))
    )
    per_rule = "\n        union all\n        ".join(
        f"select '{r.name}' as rule, value, re2_safe, "
        f"case when {'re2_safe' if r.regex else 'true'} then {r.value_test} end as violates\n"
        f"        from column_values where col = {_literal(r.kwargs['column'])}"
        for r in value_rules
    )
    grouping = ", ".join(f"grouping({i}) as grouping_{n}" for n, i in enumerate(idents))
    con.execute(f"""
        create temp table judged_values as
        with distinct_values as materialized (
            select {", ".join(idents)}, {grouping}
            from src
            group by grouping sets ({", ".join(f"({i})" for i in idents)})
        ),
        column_values as materialized (
            select col, value, regexp_full_match(value, '{_RE2_SAFE_TEXT}') as re2_safe
            from (
            {per_column}
            )
        )
        {per_rule}
    """)
    con.execute("insert into bad_values select rule, value from judged_values where violates")
    by_name = {r.name: r for r in value_rules}
    exact = [  # what RE2 may misjudge, decided as GX decides it
        (name, value)
        for name, value in con.sql("select rule, value from judged_values where violates is null").fetchall()
        if bool(re.search(by_name[name].regex, value)) == by_name[name].regex_violates_on_match
    ]
    if exact:
        con.executemany("insert into bad_values values (?, ?)", exact)
    broken_by_some = {name for (name,) in con.sql("select distinct rule from bad_values").fetchall()}
    for rule in value_rules:
        rule.clean = rule.name not in broken_by_some


def column_statistics(files: Sequence[Path]) -> dict[str, dict]:
    """Per column over all row groups of ``files``: ``nulls``, ``min``, ``max`` from the Parquet footers.

    A column missing from a file, or without statistics in a row group, gets ``None`` (unknown).
    """
    stats: dict[str, dict] = {}
    unknown: set[str] = set()
    seen_in: dict[str, int] = {}
    for f in files:
        meta = pq.ParquetFile(f).metadata
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for j in range(group.num_columns):
                chunk = group.column(j)
                name = chunk.path_in_schema
                seen_in[name] = seen_in.get(name, 0) + (g == 0)
                st = chunk.statistics
                if (
                    st is None
                    or not st.has_null_count
                    or (not st.has_min_max and st.null_count < chunk.num_values)
                ):
                    unknown.add(name)
                    continue
                acc = stats.setdefault(name, {"nulls": 0, "min": None, "max": None})
                acc["nulls"] += st.null_count
                if st.has_min_max:
                    try:
                        acc["min"] = st.min if acc["min"] is None else min(acc["min"], st.min)
                        acc["max"] = st.max if acc["max"] is None else max(acc["max"], st.max)
                    except TypeError:
                        unknown.add(name)
    for name in unknown | {n for n, k in seen_in.items() if k < len(files)}:
        stats[name] = {"nulls": None, "min": None, "max": None}
    return stats


def _comparable(value, bound):
    """``value`` (from Parquet statistics) and a suite bound as two comparable Python values, or None."""
    if isinstance(bound, str):
        bound = _iso_moment(bound)
        if bound is None:
            return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and isinstance(bound, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if isinstance(value, dt.datetime) != isinstance(bound, dt.datetime):
        return None
    if isinstance(value, dt.datetime) and (value.tzinfo is None) != (bound.tzinfo is None):
        return None
    if isinstance(value, bool) or isinstance(bound, bool):
        return None
    return value, bound


def _clean_by_statistics(rule: Rule, stats: dict[str, dict], schema: dict[str, str]) -> bool:
    """True when the files' statistics prove no row breaks ``rule`` (nulls, ranges); else unknown."""
    col = rule.kwargs.get("column")
    st = stats.get(col) if col else None
    if st is None or st["nulls"] is None:
        return False
    if rule.type == "expect_column_values_to_not_be_null":
        return st["nulls"] == 0 and schema[col].upper() not in _FLOAT
    if rule.type == _BETWEEN:
        if st["min"] is None:  # nothing but nulls: nothing to break a range
            return True
        for stat, bound, op in _bounds(rule.kwargs):
            pair = _comparable(st[stat], bound)
            try:
                if pair is None or _BREAKS[op](*pair):
                    return False
            except TypeError:
                return False
        return True
    return False


def schema_of(files: Sequence[Path]) -> dict[str, str]:
    with duckdb.connect() as con:
        rows = con.sql(f"describe select * from {_source(files)}").fetchall()
    return {name: str(duck_type) for name, duck_type, *_ in rows}


def compute_profile(files: Sequence[Path], rules: list[Rule], schema: dict[str, str]) -> pd.DataFrame:
    """The per-(week_start, site) profile of ``files``.

    Rules the Parquet statistics or the distinct values prove clean count zero without a row scan;
    the others are counted in one scan, grouped by week and site.
    """
    stats = column_statistics(files)
    for rule in rules:
        if not rule.error and not rule.value_test:
            rule.clean = _clean_by_statistics(rule, stats, schema)
    with scratch_connection(DUCKDB_MEMORY_LIMIT, prefix="lagesbild-profile-") as con:
        con.execute(f"create temp view src as select * from {_source(files)}")
        _judge_distinct_values(con, rules)
        return con.sql(profile_sql(rules)).df()


def profile_suite(rules: list[Rule], name: str) -> tuple[dict, list[Rule]]:
    """The GX suite over the profile, and the rule behind each of its expectations (same order)."""
    expectations, behind = [], []
    for r in rules:
        if r.error:
            continue
        if r.type == _ROW_COUNT:
            bounds = {b: r.kwargs[b] for b in ("min_value", "max_value") if r.kwargs.get(b) is not None}
            exp = {"type": "expect_column_sum_to_be_between", "kwargs": {"column": "rows", **bounds}}
        else:
            exp = {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": r.name, "min_value": 0, "max_value": 0},
            }
        exp["meta"] = {"severity": r.severity, "row_level": r.type}
        expectations.append(exp)
        behind.append(r)
    return {"name": f"{name}__profile", "expectations": expectations}, behind


def _plain(value):
    """A JSON-able, publishable scalar: ISO text for dates and times, Python numbers, masked text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    return _mask(value)


def _where(profile: pd.DataFrame, column: str) -> list[dict]:
    bad = profile[profile[column] > 0]
    return [
        {
            "week": week_label(w) if pd.notna(w) else "unknown week",
            "week_start": pd.Timestamp(w).date().isoformat() if pd.notna(w) else None,
            "site": _mask(s) if pd.notna(s) else None,
            "rows": int(n),
        }
        for w, s, n in bad[[*GROUP_BY, column]].head(MAX_WHERE).itertuples(index=False)
    ]


def _observed(rule: Rule, profile: pd.DataFrame, total: int) -> dict:
    if rule.violation is None:
        return {"observed_value": total}
    unexpected = int(profile[rule.name].sum())
    observed = {
        "element_count": total,
        "unexpected_count": unexpected,
        "unexpected_percent": round(100 * unexpected / total, 3) if total else 0.0,
        "site_weeks_failing": int((profile[rule.name] > 0).sum()),
    }
    if rule.range_column and f"min_{rule.range_column}" in profile and total:
        low, high = profile[f"min_{rule.range_column}"].min(), profile[f"max_{rule.range_column}"].max()
        observed["observed_min"] = _plain(low)
        observed["observed_max"] = _plain(high)
    if unexpected:
        observed["where"] = _where(profile, rule.name)
    return observed


def _broken(exp_type: str, kwargs: dict, severity: str, why: str | None) -> ExpectationOutcome:
    return ExpectationOutcome(exp_type, _column(kwargs), kwargs, severity, "broken", {}, why)


def run_profiled_suite(
    suite: str | Path | dict, files: Sequence[Path], expectations_dir: Path = EXPECTATIONS_DIR
) -> SuiteResult:
    """Validate the rows of ``files`` against a row-level ``suite``, by profile; GX judges the profile.

    Returns the same :class:`SuiteResult` as :func:`run_suite` on all rows would: one outcome per
    row-level expectation (type, column, kwargs, severity), ``rows`` = rows read. A failing outcome's
    ``observed`` also carries ``where``: the site-weeks with breaking rows and how many. Never raises
    for a problem in the suite or the files: it comes back broken, with the reason.
    """
    try:
        spec = suite if isinstance(suite, dict) else load_suite(suite, expectations_dir)
    except (OSError, ValueError) as exc:
        return SuiteResult(str(suite), 0, [], suite_exception=f"{type(exc).__name__}: {exc}")
    name = spec.get("name", "suite")
    try:
        schema = schema_of(files)
        rules = compile_rules(spec, schema)
        profile = compute_profile(files, rules, schema)
    except duckdb.Error as exc:
        outcomes = [
            _broken(str(e.get("type")), dict(e.get("kwargs") or {}), _severity(e), "profile not computed")
            for e in spec["expectations"]
        ]
        return SuiteResult(name, 0, outcomes, suite_exception=f"{type(exc).__name__}: {exc}")
    total = int(profile["rows"].sum())
    gx_spec, behind = profile_suite(rules, name)
    judged = run_suite(gx_spec, profile)
    by_index = {r.index: o for r, o in zip(behind, judged.expectations, strict=True)}
    outcomes = []
    for rule in rules:
        outcome = _broken(rule.type, rule.kwargs, rule.severity, rule.error)
        verdict = by_index.get(rule.index)
        if verdict is not None:
            outcome.status = verdict.status
            outcome.exception_info = verdict.exception_info
            outcome.observed = _observed(rule, profile, total)
        outcomes.append(outcome)
    return SuiteResult(name, total, outcomes, suite_exception=judged.suite_exception)
