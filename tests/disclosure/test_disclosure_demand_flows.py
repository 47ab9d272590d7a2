"""Disclosure across mart_demand_yearly and mart_flows: both count the same verdicts.

The flow table covers all verdict years at once (period_start_year..period_end_year), the demand
mart each year: a home municipality's flows add up to its convicted buyers summed over the years,
and its flow to itself is its buyers who bought at home, summed over the years. A suppressed year
(say the new year's first few verdicts) must not be that sum minus the other years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lagesbild.disclosure import apply_policy, load_policy, verify
from lagesbild.disclosure.constraints import Constraint, determined_value
from lagesbild.disclosure.verify import gives_back_zero

COUNTY = "05"
POLICY = load_policy()
MUNIS = ["0509", "0580", "0581", "0582"]
BANDS = ["age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_69", "age_70_plus"]


def _demand_row(code: str, level: str, year: int, mine: pd.DataFrame) -> dict:
    """The yearly demand mart's row of a region from its verdicts (year, home, purchase, age)."""
    bands = np.histogram(mine["age"], bins=[18, 25, 35, 45, 55, 70, 200])[0]
    return {
        "region_code": code,
        "region_name": code,
        "region_level": level,
        "year": year,
        "convicted_buyers": len(mine),
        "bought_in_home_municipality": int((mine["home"] == mine["purchase"]).sum()),
        "mean_age": float(mine["age"].mean()) if len(mine) else None,
        **dict(zip(BANDS, map(int, bands), strict=True)),
    }


def _marts(verdicts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """mart_demand_yearly and mart_flows as dbt builds them, from (year, home, purchase, age) rows."""
    years = sorted(verdicts["year"].unique())
    rows = []
    for year in years:
        v = verdicts[verdicts["year"] == year]
        for code, level in [*((m, "municipality") for m in MUNIS), (COUNTY, "county")]:
            mine = v if level == "county" else v[v["home"] == code]
            rows.append(_demand_row(code, level, year, mine))
    demand = pd.DataFrame(rows)
    flows = (
        verdicts.groupby(["home", "purchase"]).size().rename("buyers").reset_index()
        .rename(columns={"home": "home_region_code", "purchase": "purchase_region_code"})
        .assign(period_start_year=min(years), period_end_year=max(years))
    )
    flows["home_region_name"] = flows["home_region_code"]
    flows["purchase_region_name"] = flows["purchase_region_code"]
    return {"mart_demand_yearly": demand, "mart_flows": flows}


def _verdicts(seed: int, n_per_year: list[int], at_home: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, n in enumerate(n_per_year):
        home = rng.choice(MUNIS, size=n, p=[0.05, 0.6, 0.3, 0.05])
        other = rng.choice([*MUNIS, "unknown"], size=n)
        purchase = np.where(rng.random(n) < at_home, home, other)
        rows += [(2024 + i, h, p, int(a)) for h, p, a in zip(home, purchase, rng.integers(18, 75, n), strict=True)]
    return pd.DataFrame(rows, columns=["year", "home", "purchase", "age"])


def _leaks(out: dict[str, pd.DataFrame]) -> list[str]:
    """Suppressed demand cells that are a published flow sum minus the other published years."""
    demand, flows = out["mart_demand_yearly"], out["mart_flows"]
    leaks = []
    for code in MUNIS:
        years = demand[demand["region_code"] == code]
        for col, cells in (
            ("convicted_buyers", flows[flows["home_region_code"] == code]["buyers"]),
            (
                "bought_in_home_municipality",
                flows[(flows["home_region_code"] == code) & (flows["purchase_region_code"] == code)]["buyers"],
            ),
        ):
            # no flow at all: the absent pairs publish 0, a zero hidden beside them is no person count
            if cells.empty:
                continue
            if cells.notna().all() and years[col].isna().sum() == 1 and years[col + "_suppressed"].any():
                leaks.append(f"{code}.{col}")
    return leaks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# a full year and the new year's first three verdicts: Linköping's 2025 is the flows minus 2024
@example(seed=3, n_per_year=[120, 3], at_home=0.9)
# nobody bought at home in 0582 (5 buyers): its hidden share is the county's minus the others', 0,
# which the flow table's missing 0582 -> 0582 pair publishes anyway (verify agreed with apply_policy)
@example(seed=98, n_per_year=[98], at_home=0.0)
# 0509's one buyer of 2025 did not buy at home: its hidden 0 follows from the county minus 0580 and
# 0581, whose two years the flows to themselves tie together; the flow table says 0 anyway
@example(seed=262251570, n_per_year=[20, 22], at_home=0.5)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_per_year=st.lists(st.integers(0, 150), min_size=1, max_size=3),
    at_home=st.floats(0.0, 1.0),
)
def test_a_suppressed_year_is_not_the_flows_minus_the_other_years(seed, n_per_year, at_home):
    verdicts = _verdicts(seed, n_per_year, at_home)
    if verdicts.empty:
        return
    out = apply_policy(_marts(verdicts), POLICY, COUNTY).marts
    for name, col in (("mart_demand_yearly", "convicted_buyers"), ("mart_flows", "buyers")):
        assert not out[name][col].dropna().between(1, POLICY.min_persons - 1).any()
    assert _leaks(out) == []
    assert verify(out, POLICY) == []


def test_verify_finds_a_year_given_away_by_the_flows():
    raw = _marts(_verdicts(3, [120, 3], 0.9))
    out = apply_policy(raw, POLICY, COUNTY).marts
    demand = out["mart_demand_yearly"]
    # publish Linköping's 2024 again (hidden as a complement, if it was) and every one of its flows
    row = demand.index[(demand["region_code"] == "0580") & (demand["year"] == 2024)][0]
    demand.loc[row, ["convicted_buyers", "convicted_buyers_suppressed"]] = [
        raw["mart_demand_yearly"].loc[row, "convicted_buyers"], False]
    flows = out["mart_flows"]
    mine = flows["home_region_code"] == "0580"
    flows.loc[mine, "buyers"] = raw["mart_flows"].loc[mine, "buyers"]
    flows.loc[mine, "buyers_suppressed"] = False
    hidden_2025 = demand.index[(demand["region_code"] == "0580") & (demand["year"] == 2025)][0]
    assert demand.loc[hidden_2025, "convicted_buyers_suppressed"]
    leaks = [v for v in verify(out, POLICY) if v.rule == "recoverable"]
    assert any(v.mart == "mart_demand_yearly" and v.row == hidden_2025 for v in leaks)


def test_demand_counting_more_than_its_flows_does_not_stop_the_run():
    """Flows hold every verdict of the period, demand those with an offence year: demand can count
    fewer (treated as equal), never more. Marts that break it (not built from the same verdicts) are
    still protected by every other relation, not refused with an error in the weekly run."""
    marts = _marts(_verdicts(3, [120, 3], 0.9))
    flows = marts["mart_flows"]
    marts["mart_flows"] = flows[flows["home_region_code"] != "0582"].reset_index(drop=True)
    out = apply_policy(marts, POLICY, COUNTY).marts
    for name, col in (("mart_demand_yearly", "convicted_buyers"), ("mart_flows", "buyers")):
        assert not out[name][col].dropna().between(1, POLICY.min_persons - 1).any()
    assert verify(out, POLICY) == []
    fewer = _marts(_verdicts(3, [120, 3], 0.9))
    demand = fewer["mart_demand_yearly"]
    row = demand.index[(demand["region_code"] == "0580") & (demand["year"] == 2024)][0]
    demand.loc[row, "convicted_buyers"] -= 1  # a verdict without an offence date: in the flows only
    assert verify(apply_policy(fewer, POLICY, COUNTY).marts, POLICY) == []


def _mean_given_back(out: dict[str, pd.DataFrame]) -> list[str]:
    """Independent check: buyers x mean age adds up over municipalities (every buyer has a home here), so
    one hidden municipal mean beside published counts and means is the county's minus the others'."""
    found = []
    for year, g in out["mart_demand_yearly"].groupby("year"):
        county, parts = g[g["region_level"] == "county"].iloc[0], g[g["region_level"] == "municipality"]
        if pd.isna(county["mean_age"]) or parts["convicted_buyers"].isna().any():
            continue
        hidden = parts[parts["mean_age"].isna() & (parts["convicted_buyers"] > 0)]
        if len(hidden) == 1 and county["convicted_buyers"] == parts["convicted_buyers"].sum():
            found.append(f"{year} {hidden['region_code'].iat[0]}")
    return found


@pytest.mark.parametrize("seed", [91, *range(12)])
def test_a_hidden_mean_age_is_not_the_countys_minus_the_others(seed):
    """A municipality with 5-9 buyers publishes its count but not its mean age; with the county's mean
    and every other municipality's published, its mean was the county's buyers x mean minus the
    others' (seed 91: 45.6 given back exactly; 1 of 100 random registers of 4 municipalities)."""
    rng = np.random.default_rng(seed)
    raw = _marts(_verdicts(seed, [int(rng.integers(20, 120)), int(rng.integers(20, 120))], 0.7))
    policy = load_policy()
    out = apply_policy(raw, policy, COUNTY).marts
    assert _mean_given_back(out) == []
    assert verify(out, policy) == []
    if seed == 91:  # protected without the weighted relation, the mean is given back; verify sees it
        import copy

        from lagesbild.disclosure import DisclosurePolicy

        raw_policy = copy.deepcopy(policy.raw)
        del raw_policy["marts"]["mart_demand_yearly"]["weighted_over_regions"]
        leaky = apply_policy(raw, DisclosurePolicy.from_dict(raw_policy), COUNTY).marts
        assert _mean_given_back(leaky) == ["2025 0509"]
        assert any(v.column == "mean_age" and v.rule == "recoverable" for v in verify(leaky, policy))


@pytest.mark.parametrize("seed", range(8))
def test_a_share_of_fewer_than_10_buyers_is_not_the_quotient_of_two_published_counts(seed):
    """share_bought_in_home is hidden below 10 buyers, but bought_in_home_municipality and
    convicted_buyers were both published from 5: the share was their quotient (5/7). The numerator is
    hidden below 10 buyers as the age bands are (the policy's rule for shares)."""
    rng = np.random.default_rng(seed)
    raw = _marts(_verdicts(seed, [int(rng.integers(20, 120)), int(rng.integers(20, 120))], 0.7))
    policy = load_policy()
    demand = apply_policy(raw, policy, COUNTY).marts["mart_demand_yearly"]
    small = demand["convicted_buyers"].between(1, 9)
    assert demand.loc[small, "bought_in_home_municipality"].isna().all()
    assert verify({"mart_demand_yearly": demand}, policy) == []


def test_verify_accepts_a_hidden_zero_the_flows_publish_and_only_a_zero():
    """0582's 5 buyers bought nowhere at home (no 0582 -> 0582 flow): its hidden count is the county's
    minus the others', 0, what the flow table says anyway. Were the difference 3, it is a leak."""
    out = apply_policy(_marts(_verdicts(98, [98], 0.0)), POLICY, COUNTY).marts
    demand = out["mart_demand_yearly"]
    row = demand.index[demand["region_code"] == "0582"][0]
    assert demand.loc[row, "bought_in_home_municipality_suppressed"]
    assert verify(out, POLICY) == []
    county = demand.index[demand["region_code"] == COUNTY][0]
    demand.loc[county, "bought_in_home_municipality"] += 3
    leaks = [v for v in verify(out, POLICY) if v.rule == "recoverable"]
    assert [(v.mart, v.column, v.row) for v in leaks] == [("mart_demand_yearly", "bought_in_home_municipality", row)]


def test_a_hidden_zero_the_flows_say_must_be_what_the_other_relations_give_back():
    """A cell hidden at 0 that the flow table says is 0 and a combination of relations pins down is
    no breach when the combination gives 0; if the published cells give another value (marts that
    disagree), that value is a breach."""
    out = apply_policy(_marts(_verdicts(262251570, [20, 22], 0.5)), POLICY, COUNTY).marts
    demand = out["mart_demand_yearly"]
    row = demand.index[(demand["region_code"] == "0509") & (demand["year"] == 2025)][0]
    assert pd.isna(demand.at[row, "bought_in_home_municipality"])
    assert verify(out, POLICY) == []
    county = demand.index[(demand["region_code"] == COUNTY) & (demand["year"] == 2025)][0]
    demand.at[county, "bought_in_home_municipality"] += 2  # now the others give back 2, not 0
    found = [v for v in verify(out, POLICY) if v.rule == "recoverable"]
    assert [(v.mart, v.column, v.row) for v in found] == [("mart_demand_yearly", "bought_in_home_municipality", row)]


def _flows_over(verdicts: pd.DataFrame, periods: list[tuple[int, int]]) -> pd.DataFrame:
    """mart_flows with one flow table per period of years (several, overlapping periods: rolling windows)."""
    tables = []
    for first, last in periods:
        window = verdicts[verdicts["year"].between(first, last)]
        if not window.empty:  # a window without a verdict has no flow row, as dbt builds it
            tables.append(_marts(window)["mart_flows"].assign(period_start_year=first, period_end_year=last))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=FLOW_COLUMNS)


FLOW_COLUMNS = [
    "home_region_code", "purchase_region_code", "buyers", "period_start_year", "period_end_year",
    "home_region_name", "purchase_region_name",
]


def _rolling_windows() -> dict[str, pd.DataFrame]:
    """Flows of 2023-2024 and 2024-2025. Nobody from 0580 bought at home in 2023-2024 (no 0580 -> 0580
    pair there: its bought at home of both years are 0 to a reader), 12 did in 2025. 0580 has 7 buyers
    in 2024: their bought at home (0) is hidden under its derived rule, the other cells are published."""
    rows = []
    for year, home, purchase, n in [
        (2023, "0580", "0581", 30),
        (2024, "0580", "0581", 7),
        (2025, "0580", "0580", 12),
        (2025, "0580", "0581", 8),
        *((y, "0581", "0581", 20) for y in (2023, 2024, 2025)),
        *((y, "0581", "0580", 10) for y in (2023, 2024, 2025)),
        *((y, "0509", "0509", 10) for y in (2023, 2024, 2025)),
        *((y, "0582", "0582", 10) for y in (2023, 2024, 2025)),
    ]:
        rows += [(year, home, purchase, 40)] * n
    verdicts = pd.DataFrame(rows, columns=["year", "home", "purchase", "age"])
    return {**_marts(verdicts), "mart_flows": _flows_over(verdicts, [(2023, 2024), (2024, 2025)])}


def test_a_hidden_zero_alone_in_another_periods_flow_to_itself_is_no_breach():
    """0580's hidden 2024 bought at home is the only hidden cell of the 2024-2025 flow to itself
    (12 = 2024 + 12 of 2025): what it gives back is 0, what the 2023-2024 table says by leaving the pair
    out. apply_policy adds no complement for it (a public zero); verify reported it recoverable (a
    relation without a total was never taken for 0) and refused the publication."""
    out = apply_policy(_rolling_windows(), POLICY, COUNTY).marts
    demand = out["mart_demand_yearly"]
    row = demand.index[(demand["region_code"] == "0580") & (demand["year"] == 2024)][0]
    assert demand.at[row, "bought_in_home_municipality_suppressed"]
    assert verify(out, POLICY) == []
    # were the flow to itself 3 more (marts that disagree), the hidden cell would be 3: a breach
    flows = out["mart_flows"]
    to_itself = flows.index[
        (flows["home_region_code"] == "0580")
        & (flows["purchase_region_code"] == "0580")
        & (flows["period_start_year"] == 2024)
    ][0]
    assert not flows.at[to_itself, "buyers_suppressed"]
    flows.at[to_itself, "buyers"] += 3
    found = [(v.mart, v.column, v.row) for v in verify(out, POLICY) if v.rule == "recoverable"]
    assert found == [("mart_demand_yearly", "bought_in_home_municipality", row)]


def test_only_a_relation_known_to_be_zero_gives_a_lone_cell_back_as_zero():
    """A total minus its parts and a signed relation (line_sum) give the lone cell back as minus the
    others' signed sum over its coefficient; a line of the flow table sums to its margin, published
    nowhere, so its other cells adding up to 0 does not make the lone cell 0 (it is the margin)."""
    four, also_four, zero, one = ("m", "a", 0), ("m", "a", 1), ("m", "a", 2), ("m", "a", 3)
    value = {four: 4.0, also_four: 4.0, zero: 0.0, one: 1.0}.__getitem__
    lone = ("m", "a", 9)
    assert gives_back_zero(lone, Constraint("region", four, (lone, also_four)), value)  # 4 - 4
    assert not gives_back_zero(lone, Constraint("region", four, (lone, one)), value)  # 4 - 1
    # line_sum: lone + 4 - 4 = 0 gives 0; lone - 1 = 0 gives 1
    signed = Constraint("line_sum", None, (lone, four, also_four), (1.0, 1.0, -1.0))
    assert gives_back_zero(lone, signed, value)
    assert not gives_back_zero(lone, Constraint("line_sum", None, (lone, one), (1.0, -1.0)), value)
    # a row of the flow table: lone + 0 = its margin
    assert not gives_back_zero(lone, Constraint("cross_row", None, (lone, zero)), value)


def _register_with_rolling_windows(seed: int, national: bool) -> tuple[dict[str, pd.DataFrame], str]:
    """Wider than ``_marts``: 2-4 municipalities per county (two or three counties and Sweden when
    ``national``), home weights and a share bought at home drawn per municipality and year (0 in 40 % of
    them: no flow to itself), one to three purchase places per home (absent pairs), 1-3 years; the flows
    over rolling two-year windows (and, with three years, over all three too), demand per year."""
    rng = np.random.default_rng(seed)
    counties = ["05", "14", "24"][: rng.integers(2, 4)] if national else [COUNTY]
    munis = [f"{c}{80 + i:02d}" for c in counties for i in range(rng.integers(2, 5))]
    years = list(range(2023, 2023 + int(rng.integers(1, 4))))
    weights = rng.dirichlet(np.ones(len(munis)) * 0.7)
    at_home = {(m, y): 0.0 if rng.random() < 0.4 else rng.random() for m in munis for y in (2023, 2024, 2025)}
    places = {m: rng.choice([*munis, "unknown"], size=rng.integers(1, 4), replace=False) for m in munis}
    rows = []
    for year in years:
        for home in rng.choice(munis, size=int(rng.integers(0, 80)), p=weights):
            purchase = home if rng.random() < at_home[(home, year)] else rng.choice(places[home])
            rows.append((year, home, purchase, int(rng.integers(18, 75))))
    verdicts = pd.DataFrame(rows, columns=["year", "home", "purchase", "age"])
    regions = [(m, "municipality") for m in munis] + [(c, "county") for c in counties]
    regions += [("00", "country")] if national else []
    demand = []
    for year in years:
        v = verdicts[verdicts["year"] == year]
        for code, level in regions:
            mine = v if code == "00" else v[v["home"].str.startswith(code)]
            demand.append(_demand_row(code, level, year, mine))
    periods = [(years[i], years[i + 1]) for i in range(len(years) - 1)] or [(years[0], years[0])]
    if len(years) == 3 and rng.random() < 0.5:
        periods.append((years[0], years[-1]))
    marts = {"mart_demand_yearly": pd.DataFrame(demand), "mart_flows": _flows_over(verdicts, periods)}
    return marts, "00" if national else COUNTY


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# a hidden 0 bought at home (no flow to itself in 2023-2024) alone in the 2024-2025 flow to itself
@example(seed=47, national=False)
@example(seed=1002, national=True)  # the same in national mode
# one window, as dbt builds it: a hidden 0 that the flow table's lines, taken as summing to 0, gave as 47
@example(seed=485, national=False)
@example(seed=35697, national=False)  # a year without a verdict: a window without a flow row
@given(seed=st.integers(0, 2**32 - 1), national=st.booleans())
def test_flows_over_rolling_windows_publish_what_verify_accepts(seed, national):
    marts, code = _register_with_rolling_windows(seed, national)
    if marts["mart_flows"].empty:
        return
    out = apply_policy(marts, POLICY, code).marts
    for name, col in (("mart_demand_yearly", "convicted_buyers"), ("mart_flows", "buyers")):
        assert not out[name][col].dropna().between(1, POLICY.min_persons - 1).any()
    assert verify(out, POLICY) == []


def test_a_combination_gives_a_hidden_zero_back_without_the_flow_tables_margins():
    """One flow window of two years, as dbt builds it (seed 485): 0582's 2024 bought at home is a
    hidden 0 (9 buyers, no 0582 -> 0582 flow) that the county total, the age bands and the flows to
    themselves pin down, as 0. verify solved that block with the flow table's lines in it, taking each
    line's margin (assumed known, published nowhere) as 0: 47 came back and the publication was
    refused. Were the county's bought at home 2 higher (marts that disagree), the hidden cell is a breach."""
    marts, code = _register_with_rolling_windows(485, national=False)
    assert marts["mart_flows"][["period_start_year", "period_end_year"]].drop_duplicates().shape[0] == 1
    out = apply_policy(marts, POLICY, code).marts
    demand = out["mart_demand_yearly"]
    row = demand.index[(demand["region_code"] == "0582") & (demand["year"] == 2024)][0]
    assert demand.at[row, "bought_in_home_municipality_suppressed"]
    assert verify(out, POLICY) == []
    county = demand.index[(demand["region_code"] == COUNTY) & (demand["year"] == 2024)][0]
    demand.at[county, "bought_in_home_municipality"] += 2
    found = [(v.mart, v.column, v.row) for v in verify(out, POLICY) if v.rule == "recoverable"]
    assert found == [("mart_demand_yearly", "bought_in_home_municipality", row)]


def test_the_value_a_combination_gives_back_leaves_the_margins_out():
    """x + y = 7 - 7 and y - q = 0 (q published 0) give x = 0; a flow-table line (y, w) with w published
    10 sums to a margin nobody published: taken as 0 it made the system say y = -10 and x about 5.
    A cell that only such a line pins down has no value here (NaN: verify reports it)."""
    x, y, t, p, q, w = (("m", c, 0) for c in "xytpqw")
    published = {t: 7.0, p: 7.0, q: 0.0, w: 10.0}
    hidden = lambda c: c not in published  # noqa: E731
    region = Constraint("region", t, (x, y, p))
    line_sum = Constraint("line_sum", None, (y, q), (1.0, -1.0))
    line = Constraint("cross_row", None, (y, w))
    assert abs(determined_value(x, [region, line_sum, line], hidden, published.__getitem__)) < 1e-9
    assert np.isnan(determined_value(x, [Constraint("cross_column", None, (x, w))], hidden, published.__getitem__))
