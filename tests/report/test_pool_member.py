"""A member of the small-area pool "Övriga länet" keeps its own (suppressed) rows and sees the pool's."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from report_helpers import META, build_marts, build_quality

from lagesbild.report import render_report
from lagesbild.report.data import Region
from lagesbild.report.summary import summary_facts

POOL = "05-pooled"
MEMBER = "0583"  # Motala stands in for a small municipality here


def _with_pool(hide_member: bool) -> dict[str, pd.DataFrame]:
    marts = build_marts()
    yearly = marts["mart_prevalence_yearly"].copy()
    yearly["pool_code"] = np.where(yearly["region_code"] == MEMBER, POOL, None)
    if hide_member:
        own = yearly["region_code"] == MEMBER
        for col in ("est_purchases_low", "est_purchases_central", "est_purchases_high"):
            yearly.loc[own, col] = np.nan
            yearly[col + "_suppressed"] = yearly.get(col + "_suppressed", False)
            yearly.loc[own, col + "_suppressed"] = True
        for col in ("est_purchases_per_10k", "share_of_county"):
            yearly.loc[own, col] = np.nan
            if col + "_suppressed" in yearly.columns:
                yearly.loc[own, col + "_suppressed"] = True
    pool = yearly[yearly["region_code"] == MEMBER].copy()
    pool["region_code"], pool["region_name"], pool["region_level"], pool["pool_code"] = (
        POOL,
        "Övriga länet",
        "pooled",
        POOL,
    )
    flags = [c for c in pool.columns if c.endswith("_suppressed")]
    pool[flags] = False
    pool["est_purchases_low"], pool["est_purchases_central"], pool["est_purchases_high"] = (
        321.0,
        777.0,
        1555.0,
    )
    pool["est_purchases_per_10k"], pool["share_of_county"], pool["population"] = 19.0, 0.31, 40_900
    marts["mart_prevalence_yearly"] = pd.concat([yearly, pool], ignore_index=True)
    return marts


def _text(page: str) -> str:
    page = re.sub(r"<(script|svg)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_member_page_shows_the_pool_beside_its_own_rows():
    marts = _with_pool(hide_member=True)
    page = _text(render_report(MEMBER, marts, build_quality(), dict(META)))
    assert "Motala kommun ingår i ”Övriga länet”" in page
    assert "777" in page  # the pool's central estimate, in the table
    assert "—" in page  # the member's own suppressed estimate stays a dash
    # the summary says the pool's level, since the member's own estimate is not published
    facts = summary_facts(marts, Region(MEMBER, "Motala", "municipality", "05", "Östergötlands län"))
    assert facts.pool_level is not None and facts.pool_level.central == "777"
    assert "ingår i ”Övriga länet”, länets små kommuner" in page


def test_a_page_outside_the_pool_has_no_pool_rows():
    marts = _with_pool(hide_member=True)
    page = _text(render_report("0580", marts, build_quality(), dict(META)))
    assert "ingår i ”Övriga länet”:" not in page
    assert "777" not in page
    facts = summary_facts(marts, Region("0580", "Linköping", "municipality", "05", "Östergötlands län"))
    assert facts.pool_level is None


def test_a_member_with_its_own_estimate_gets_no_pool_sentence_in_the_summary():
    marts = _with_pool(hide_member=False)
    facts = summary_facts(marts, Region(MEMBER, "Motala", "municipality", "05", "Östergötlands län"))
    assert facts.pool_level is None
    page = _text(render_report(MEMBER, marts, build_quality(), dict(META)))
    assert "Motala kommun ingår i ”Övriga länet”" in page  # the tables still show the pool


def test_the_pool_denominator_is_explained_in_swedish():
    from lagesbild.report.sections import _denominator_sv

    text = _denominator_sv(
        "sum of the pooled municipalities: fallback: men total 2019 x national share of men aged 18+ 2017 "
        "(national_age_sex_shares.csv)"
    )
    assert text.startswith("för ”Övriga länet” summan av de sammanslagna kommunernas värden")
    assert "sum of" not in text and "fallback" not in text
