"""The facts behind the written summary, taken from published cells only.

Each fact is a number already formatted from a cell that :func:`cells.cell` returns as ``ok``, so
a suppressed value (flag set, whatever the value) cannot reach a sentence, and no number is
computed here: the sentences in ``templates/summary.html.j2`` only say "higher" or "lower" when the
two years' published scenario ranges do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lagesbild.report.cells import cell, number
from lagesbild.report.data import (
    DEMAND_YEARLY,
    POOL_NAME,
    PREVALENCE_YEARLY,
    Region,
    mart,
    pool_code_of,
    pooled_rows,
    region_rows,
)
from lagesbild.report.names import NATIONAL_CODE, official_name

#: A year needs this many covered weeks to be the headline year or to be compared with.
MIN_WEEKS_HEADLINE = 40


@dataclass
class Level:
    year: int
    weeks: str
    central: str | None
    low: str | None
    high: str | None
    per10k: str | None
    # raw published values for the comparison (never shown as such)
    low_value: float | None = None
    high_value: float | None = None
    # incl. the advertisers the sites miss (95 % range), only from published cells
    incl_hidden: str | None = None
    incl_hidden_low: str | None = None
    incl_hidden_high: str | None = None


@dataclass
class Demand:
    status: str  # ok | suppressed | pooled | missing
    year: int | None = None
    buyers: str | None = None
    per100k: str | None = None


@dataclass
class SummaryFacts:
    official: str
    county_official: str
    is_county: bool
    level: Level | None
    prev: Level | None
    change: str | None  # higher | lower | within | few_weeks | not_published | None
    concentration: list[tuple[str, str]]
    some_not_shown: bool
    demand: Demand
    pooled: bool = False
    map: bool = False
    county_level: Level | None = None
    national: bool = False  # the county's level, as context on a page without its own
    #: the small-area pool's level on a member's page whose own estimate is not published
    pool_level: Level | None = None
    pool_name: str = POOL_NAME


def _fmt(row: pd.Series, col: str, decimals: int = 0) -> str | None:
    c = cell(row, col)
    if not c.ok or isinstance(c.value, bool | str):
        return None
    return number(c.value, decimals)


def _value(row: pd.Series, col: str) -> float | None:
    c = cell(row, col)
    return float(c.value) if c.ok and not isinstance(c.value, bool | str) else None


def _level(row: pd.Series) -> Level:
    return Level(
        year=int(row["year"]),
        weeks=_fmt(row, "weeks_covered") or "ett okänt antal",
        central=_fmt(row, "est_purchases_central"),
        low=_fmt(row, "est_purchases_low"),
        high=_fmt(row, "est_purchases_high"),
        per10k=_fmt(row, "est_purchases_per_10k", 1),
        low_value=_value(row, "est_purchases_low"),
        high_value=_value(row, "est_purchases_high"),
        incl_hidden=_fmt(row, "est_purchases_incl_hidden"),
        incl_hidden_low=_fmt(row, "est_purchases_incl_hidden_low"),
        incl_hidden_high=_fmt(row, "est_purchases_incl_hidden_high"),
    )


def _weeks(row: pd.Series) -> float:
    value = _value(row, "weeks_covered")
    return value if value is not None else 0.0


def headline_row(frame: pd.DataFrame) -> pd.Series:
    """The latest year with most of its weeks covered; a half year would read as a fall in demand."""
    frame = frame.sort_values("year")
    covered = frame[[_weeks(r) >= MIN_WEEKS_HEADLINE for _, r in frame.iterrows()]]
    return (covered if not covered.empty else frame).iloc[-1]


def compare(current: Level, prev_row: pd.Series | None) -> tuple[Level | None, str | None]:
    """Direction of change only when the two published ranges do not overlap."""
    if prev_row is None:
        return None, None
    prev = _level(prev_row)
    if current.low_value is None or current.high_value is None:
        return prev, "current_hidden"
    if _weeks(prev_row) < MIN_WEEKS_HEADLINE:
        return prev, "few_weeks"
    values = (current.low_value, current.high_value, prev.low_value, prev.high_value)
    if None in values or not (prev.central and prev.low and prev.high):
        return prev, "not_published"
    cur_low, cur_high, prev_low, prev_high = values
    if cur_low > prev_high:
        return prev, "higher"
    if cur_high < prev_low:
        return prev, "lower"
    return prev, "within"


def _concentration(yearly: pd.DataFrame | None, region: Region, year: int) -> tuple[list, bool]:
    if yearly is None or "share_of_county" not in yearly.columns:
        return [], False
    # The regions one level down: a county's municipalities, or Sweden's counties (national mode,
    # where share_of_county of a county row is its share of Sweden).
    level = "county" if region.code == NATIONAL_CODE else "municipality"
    rows = yearly[(yearly["year"] == year) & (yearly["region_level"].astype(str) == level)]
    if region.is_county:
        shares = []
        for _, row in rows.iterrows():
            value = _value(row, "share_of_county")
            if value is not None and value > 0:
                shares.append((value, official_name(str(row["region_code"]), str(row["region_name"])), row))
        shares.sort(key=lambda t: (-t[0], t[1]))
        top = [(name, number(v * 100, 1) + "\u00a0%") for v, name, _ in shares[:3]]
        return top, any(cell(r, "share_of_county").status == "suppressed" for _, r in rows.iterrows()) or (
            not pooled_rows(yearly).empty
        )
    own = rows[rows["region_code"].astype(str) == region.code]
    if own.empty:
        return [], False
    value = _value(own.iloc[0], "share_of_county")
    return ([(region.official, number(value * 100, 1) + "\u00a0%")] if value is not None else []), False


def _demand(marts: dict, region: Region, year: int | None) -> Demand:
    frame = mart(marts, DEMAND_YEARLY)
    own = region_rows(frame, region.code)
    if own.empty:
        if not region.is_county and not pooled_rows(frame).empty:
            return Demand("pooled")
        return Demand("missing")
    own = own.sort_values("year")
    same = own[own["year"] == year] if year is not None else own.iloc[0:0]
    row = same.iloc[0] if not same.empty else own.iloc[-1]
    buyers = cell(row, "convicted_buyers")
    if buyers.status == "suppressed":
        return Demand("suppressed", int(row["year"]))
    if not buyers.ok:
        return Demand("missing", int(row["year"]))
    return Demand("ok", int(row["year"]), number(buyers.value), _fmt(row, "buyers_per_100k_adult_men", 1))


def summary_facts(marts: dict, region: Region, with_map: bool = False) -> SummaryFacts:
    yearly = mart(marts, PREVALENCE_YEARLY)
    own = region_rows(yearly, region.code)
    pooled = own.empty and not region.is_county and not pooled_rows(yearly).empty
    level = prev = change = None
    concentration, some_not_shown = [], False
    year = None
    if not own.empty:
        row = headline_row(own)
        level = _level(row)
        year = level.year
        before = own[own["year"] == year - 1]
        prev, change = compare(level, before.iloc[0] if not before.empty else None)
        concentration, some_not_shown = _concentration(yearly, region, year)
    county_level = None
    if not region.is_county and (level is None or level.central is None):
        county = region_rows(yearly, region.county_code)
        county_level = _level(headline_row(county)) if not county.empty else None
    pool_level = None
    pool_code = None if region.is_county else pool_code_of(marts, region.code)
    if pool_code is not None and (level is None or level.central is None):
        pool = region_rows(yearly, pool_code)
        pool_level = _level(headline_row(pool)) if not pool.empty else None
    facts = SummaryFacts(
        pool_level=pool_level,
        official=region.official,
        county_official=region.county_official,
        is_county=region.is_county,
        level=level,
        prev=prev,
        change=change,
        concentration=concentration,
        some_not_shown=some_not_shown,
        demand=_demand(marts, region, year),
        pooled=pooled,
        map=with_map,
        county_level=county_level,
        national=region.code == "00",
    )
    return facts
