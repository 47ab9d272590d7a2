"""Disclosure control with the small-area pool "Övriga länet" (pool = sum of its member municipalities).

The property test builds the constraint system itself, from what the tables mean (county = its
municipalities, pool = its members, year = its weeks), not from ``build_constraints``, and solves it
with a rank test (not the SVD projection the code uses): no suppressed value may follow from the
published values through any combination of constraints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from disclosure_policies import synthetic_policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagesbild.disclosure import apply_policy, verify
from lagesbild.disclosure.constraints import Constraint, build_constraints, determined_cells

COUNTY = "05"
POOL = "05-pooled"

POLICY = synthetic_policy(derived=False)


def _tables(counts: np.ndarray, members: list[int]) -> dict[str, pd.DataFrame]:
    """counts[municipality, week]; ``members`` (indices) form the pool, when there are any."""
    n_muni, n_weeks = counts.shape
    rows = []
    for w in range(n_weeks):
        week = pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=w)
        for m in range(n_muni):
            pool = POOL if m in members else None
            rows.append((f"05{m:02d}", "municipality", pool, week, 2025, int(counts[m, w])))
        rows.append((COUNTY, "county", None, week, 2025, int(counts[:, w].sum())))
        if members:
            rows.append((POOL, "pooled", POOL, week, 2025, int(counts[members, w].sum())))
    weekly = pd.DataFrame(
        rows, columns=["region_code", "region_level", "pool_code", "week_start", "iso_year", "persons"]
    )
    yearly = (
        weekly.groupby(["region_code", "region_level", "iso_year"], as_index=False, dropna=False)
        .agg(persons=("persons", "sum"), pool_code=("pool_code", "first"))
        .rename(columns={"iso_year": "year"})
    )
    return {"weekly": weekly, "yearly": yearly}


def _system(out: dict[str, pd.DataFrame]) -> tuple[list[tuple], list[dict]]:
    """Cells and the constraints (as {cell: coefficient}) from the tables' meaning."""
    weekly, yearly = out["weekly"], out["yearly"]
    cells = [("weekly", i) for i in range(len(weekly))] + [("yearly", i) for i in range(len(yearly))]
    rows: list[dict] = []
    for name, df, key in (("weekly", weekly, "week_start"), ("yearly", yearly, "year")):
        for _, g in df.groupby(key):
            county = g.index[g["region_level"] == "county"]
            munis = g.index[g["region_level"] == "municipality"]
            row = {(name, int(county[0])): 1.0} | {(name, int(i)): -1.0 for i in munis}
            rows.append(row)
            for p in g.index[g["region_level"] == "pooled"]:
                members = g.index[(g["region_level"] == "municipality") & (g["pool_code"] == POOL)]
                rows.append({(name, int(p)): 1.0} | {(name, int(i)): -1.0 for i in members})
    for pos, code in enumerate(yearly["region_code"]):
        weeks = weekly.index[weekly["region_code"] == code]
        rows.append({("yearly", pos): 1.0} | {("weekly", int(i)): -1.0 for i in weeks})
    return cells, rows


def _recoverable(out: dict[str, pd.DataFrame]) -> list[tuple]:
    """Suppressed cells whose value the published cells determine (rank test over the hidden cells)."""
    cells, rows = _system(out)
    hidden = [c for c in cells if pd.isna(out[c[0]]["persons"].iat[c[1]])]
    if not hidden:
        return []
    index = {c: k for k, c in enumerate(hidden)}
    matrix = np.zeros((len(rows), len(hidden)))
    for r, row in enumerate(rows):
        for c, coef in row.items():
            if c in index:
                matrix[r, index[c]] = coef
    rank = np.linalg.matrix_rank(matrix)
    leaks = []
    for c, k in index.items():
        unit = np.zeros((1, len(hidden)))
        unit[0, k] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:  # e_k in the row space
            leaks.append(c)
    return leaks


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(2, 7).flatmap(
        lambda m: st.tuples(
            st.integers(1, 4).flatmap(
                lambda w: st.lists(
                    st.one_of(st.integers(0, 4), st.integers(5, 30)), min_size=m * w, max_size=m * w
                ).map(lambda xs: np.array(xs).reshape(m, -1))
            ),
            st.sets(st.integers(0, m - 1), max_size=m).map(sorted),
        )
    )
)
def test_no_suppressed_value_is_recoverable_with_a_pool(data):
    counts, members = data
    if len(members) == 1:
        members = []  # dbt never makes a pool of one (var pool_min_members)
    result = apply_policy(_tables(counts, members), POLICY, COUNTY)
    for df in result.marts.values():
        published = df["persons"].dropna()
        assert not ((published >= 1) & (published <= 4)).any()
        assert (df["persons"].isna() == df["persons_suppressed"]).all()
    assert _recoverable(result.marts) == []
    assert verify(result.marts, POLICY) == []


def test_the_pool_shows_what_its_small_members_cannot():
    # two small members (3 and 4 persons a week): alone suppressed, together 7, published
    counts = np.array([[3, 3], [4, 4], [30, 25], [20, 22]])
    result = apply_policy(_tables(counts, [0, 1]), POLICY, COUNTY)
    weekly = result.marts["weekly"].set_index(["region_code", "week_start"])["persons"]
    assert weekly.loc["0500"].isna().all() and weekly.loc["0501"].isna().all()
    assert weekly.loc[POOL].tolist() == [7, 7]
    assert _recoverable(result.marts) == []


def test_pool_rows_need_their_members_named():
    tables = _tables(np.array([[3], [8], [20]]), [0, 1])
    tables["weekly"] = tables["weekly"].drop(columns="pool_code")
    with pytest.raises(ValueError, match="pool_code"):
        build_constraints(tables, POLICY)


def test_verify_finds_a_member_given_away_by_the_pool():
    out = apply_policy(_tables(np.array([[3], [8], [20]]), [0, 1]), POLICY, COUNTY).marts
    weekly = out["weekly"]
    # publish the other member again: 3 = pool (11) - 8
    row = weekly.index[weekly["region_code"] == "0501"][0]
    weekly.loc[row, ["persons", "persons_suppressed"]] = [8, False]
    pool = weekly.index[weekly["region_code"] == POOL][0]
    weekly.loc[pool, ["persons", "persons_suppressed"]] = [11, False]
    leaks = [v for v in verify(out, POLICY) if v.rule == "recoverable"]
    assert any(v.mart == "weekly" and v.row == 0 for v in leaks)


def test_a_combination_of_constraints_is_solved():
    # a + b = k1, a + c = k2, b + c = k3: no constraint has a lone hidden cell, yet all three follow
    a, b, c = ("m", "x", 0), ("m", "x", 1), ("m", "x", 2)
    constraints = [
        Constraint("row", ("m", "x", 3), (a, b)),
        Constraint("row", ("m", "x", 4), (a, c)),
        Constraint("row", ("m", "x", 5), (b, c)),
    ]
    hidden = {a, b, c}
    found = determined_cells(constraints, lambda cell: cell in hidden)
    assert {cell for cell, _ in found.determined} == hidden
    # a chain that stays open: a + b = k1 and b + c = k2 determine nothing
    found = determined_cells(constraints[:1] + constraints[2:], lambda cell: cell in hidden)
    assert found.determined == []


def test_a_block_too_large_is_solved_per_county_without_the_country_constraints(monkeypatch):
    import lagesbild.disclosure.constraints as constraints_module

    a, b, c, d = (("m", "x", i) for i in range(4))
    triangle = [
        Constraint("region", ("m", "x", 10), (a, b)),
        Constraint("region", ("m", "x", 11), (a, c)),
        Constraint("region", ("m", "x", 12), (b, c)),
    ]
    country = Constraint("country", ("m", "x", 13), (a, d))
    hidden = {a, b, c, d}
    monkeypatch.setattr(constraints_module, "MAX_BLOCK_WORK", 30)  # the 4x4 block is "too large"
    found = determined_cells([*triangle, country], lambda cell: cell in hidden)
    assert {cell for cell, _ in found.determined} == {a, b, c}  # the county part, solved exactly
    assert found.unsolved == 0
    monkeypatch.setattr(constraints_module, "MAX_BLOCK_WORK", 10)  # even the county part is too large
    found = determined_cells([*triangle, country], lambda cell: cell in hidden)
    assert found.determined == [] and found.unsolved == 3


def test_the_solver_runs_blas_on_one_thread_and_gives_the_threads_back():
    # OpenBLAS's worker threads spin on the solver's small matrices (docs/bench.md): inside
    # determined_cells BLAS has one thread, and the caller's setting is restored afterwards.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    a, b = ("m", "x", 0), ("m", "x", 1)
    inside: list[set[int]] = []

    def hidden(cell) -> bool:
        inside.append(blas_threads())
        return cell in {a, b}

    with threadpool_limits(limits=2, user_api="blas"):  # as on a two-core machine
        before = blas_threads()
        found = determined_cells([Constraint("row", ("m", "x", 2), (a, b))], hidden)
        after = blas_threads()
    assert found.determined == []  # one equation, two unknowns
    assert before == after == {2}
    assert inside and all(threads == {1} for threads in inside)


def _several_pools(counts: list[int], pools: list[list[int]]) -> dict[str, pd.DataFrame]:
    """One week of 2025 (an open year): ``counts`` per municipality, ``pools`` as lists of members,
    each pool a row ``05-pooled-<k>`` (dbt makes one pool per county; this is the layout with more)."""
    week = pd.Timestamp("2025-01-06")
    pool_of = {m: f"{COUNTY}-pooled-{q + 1}" for q, members in enumerate(pools) for m in members}
    rows = [(f"05{m:02d}", "municipality", pool_of.get(m), n) for m, n in enumerate(counts)]
    rows.append((COUNTY, "county", None, sum(counts)))
    for q, members in enumerate(pools):
        code = f"{COUNTY}-pooled-{q + 1}"
        rows.append((code, "pooled", code, sum(counts[m] for m in members)))
    weekly = pd.DataFrame(
        [(code, level, pool, week, 2025, n) for code, level, pool, n in rows],
        columns=["region_code", "region_level", "pool_code", "week_start", "iso_year", "persons"],
    )
    yearly = weekly.drop(columns=["week_start"]).rename(columns={"iso_year": "year"})
    return {"weekly": weekly, "yearly": yearly}


@pytest.mark.parametrize(
    ("counts", "pools"),
    [
        ([2, 2, 5, 2, 5], [[0, 1], [2, 3]]),  # 0504 (5 persons) outside both pools
        ([5, 0, 2, 1], [[0, 1], [2, 3]]),  # every municipality in a pool
    ],
)
def test_a_week_and_its_year_to_date_found_by_the_solver_together_get_the_weeks_complement(counts, pools):
    # Pool 1 (4 persons) is the county minus the municipality outside the pools minus pool 2, a
    # relation no single constraint lists with two pools, so only the solver finds it; in the same
    # round it finds the week's cell and its year-to-date copy (the yearly mart repeats the week).
    # The year-to-date cell can never be a complement, and its block holds only yearly cells: it must
    # wait for the week's complement, which the year-to-date rule carries over, instead of raising
    # NoComplement (found by the pooled-marts sweep in ~9 % of marts with two or three pools).
    result = apply_policy(_several_pools(counts, pools), POLICY, COUNTY)
    for df in result.marts.values():
        published = df["persons"].dropna()
        assert not ((published >= 1) & (published < POLICY.min_persons)).any()
        assert (df["persons"].isna() == df["persons_suppressed"]).all()
    assert verify(result.marts, POLICY) == []
