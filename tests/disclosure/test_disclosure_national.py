"""Disclosure in national mode: Sweden = its counties and each county = its municipalities, so a
hidden county (or municipality) is never the only hidden cell of either sum."""

from __future__ import annotations

import pandas as pd

from lagesbild.disclosure import apply_policy, load_policy, verify
from lagesbild.disclosure.constraints import build_constraints


def _demand(buyers: dict[str, int]) -> pd.DataFrame:
    """Convicted buyers per municipality; counties and Sweden are the sums (they are additive)."""
    rows = [(code, "municipality", n) for code, n in buyers.items()]
    for county in sorted({c[:2] for c in buyers}):
        rows.append((county, "county", sum(n for c, n in buyers.items() if c.startswith(county))))
    rows.append(("00", "country", sum(buyers.values())))
    frame = pd.DataFrame(rows, columns=["region_code", "region_level", "convicted_buyers"])
    return frame.assign(region_name=frame["region_code"], year=2025)


def test_constraints_follow_the_hierarchy():
    marts = {"mart_demand_yearly": _demand({"0580": 20, "0581": 12, "1480": 30, "1481": 3, "2480": 9})}
    regions = [c for c in build_constraints(marts, load_policy()) if c.kind in ("region", "country")]
    frame = marts["mart_demand_yearly"]
    shapes = {
        (frame["region_code"].iat[c.total[2]], tuple(sorted(frame["region_code"].iat[p[2]] for p in c.parts)))
        for c in regions
        if c.total[1] == "convicted_buyers"
    }
    assert ("14", ("1480", "1481")) in shapes and ("05", ("0580", "0581")) in shapes
    assert ("00", ("05", "14", "24")) in shapes


def test_a_small_county_is_not_recoverable_from_sweden():
    # County 24 has 3 buyers (suppressed); without a complement, Sweden minus 05 and 14 would give it back.
    marts = {"mart_demand_yearly": _demand({"0580": 20, "0581": 12, "1480": 30, "1481": 8, "2480": 3})}
    result = apply_policy(marts, load_policy(), "00")
    out = result.marts["mart_demand_yearly"].set_index("region_code")
    assert pd.isna(out.loc["24", "convicted_buyers"]) and pd.isna(out.loc["2480", "convicted_buyers"])
    hidden_counties = out.loc[["05", "14", "24"], "convicted_buyers"].isna().sum()
    assert hidden_counties >= 2  # a complement among the counties
    assert verify(result.marts, load_policy()) == []
