"""The written summary states only published numbers and never a change inside the ranges;
the TopoJSON decoder follows the specification."""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagesbild.report import map as rate_map
from lagesbild.report.cells import cell, number
from lagesbild.report.data import Region
from lagesbild.report.summary import summary_facts
from lagesbild.report.templating import render

COUNTY = Region("05", "Östergötlands län", "county", "05", "Östergötlands län")
LINKOPING = Region("0580", "Linköping", "municipality", "05", "Östergötlands län")
YDRE = Region("0512", "Ydre", "municipality", "05", "Östergötlands län")  # no rows of its own
CHANGE_WORDS = re.compile(r"\b(högre|lägre|ökat|minskat|ökning|minskning)\b")
NUMBER = re.compile(r"\d+(?:[\u00a0 ]\d{3})*(?:,\d+)?")

value = st.floats(min_value=0, max_value=50_000, allow_nan=False).map(lambda v: round(v, 1))


@st.composite
def yearly_rows(draw, code: str, name: str, level: str) -> list[dict]:
    rows = []
    for year in (2024, 2025):
        low, central, high = sorted([draw(value), draw(value), draw(value)])
        row = {
            "region_code": code,
            "region_name": name,
            "region_level": level,
            "year": year,
            "weeks_covered": draw(st.integers(0, 52)),
            "est_purchases_low": low,
            "est_purchases_central": central,
            "est_purchases_high": high,
            "est_purchases_per_10k": draw(value),
            "share_of_county": 1.0 if level == "county" else draw(st.floats(0, 1)).__round__(4),
        }
        incl_low, incl, incl_high = sorted([draw(value), draw(value), draw(value)])
        row.update(
            est_purchases_incl_hidden=incl,
            est_purchases_incl_hidden_low=incl_low,
            est_purchases_incl_hidden_high=incl_high,
        )
        for col in (
            "est_purchases_low",
            "est_purchases_central",
            "est_purchases_high",
            "est_purchases_per_10k",
            "est_purchases_incl_hidden",
            "est_purchases_incl_hidden_low",
            "est_purchases_incl_hidden_high",
        ):
            if draw(st.booleans()) and draw(st.booleans()):
                row[f"{col}_suppressed"] = True  # the value stays: the summary must trust the flag
            else:
                row[f"{col}_suppressed"] = False
        rows.append(row)
    return rows


@st.composite
def marts(draw) -> dict[str, pd.DataFrame]:
    yearly = (
        draw(yearly_rows("05", "Östergötlands län", "county"))
        + draw(yearly_rows("0580", "Linköping", "municipality"))
        + draw(yearly_rows("0581", "Norrköping", "municipality"))
    )
    demand = []
    for code, name, level in (("05", "Östergötlands län", "county"), ("0580", "Linköping", "municipality")):
        n = draw(st.integers(0, 200))
        demand.append(
            {
                "region_code": code,
                "region_name": name,
                "region_level": level,
                "year": 2024,
                "convicted_buyers": n,
                "convicted_buyers_suppressed": n < 5,
                "buyers_per_100k_adult_men": draw(value),
                "buyers_per_100k_adult_men_suppressed": n < 5,
            }
        )
    return {"mart_prevalence_yearly": pd.DataFrame(yearly), "mart_demand_yearly": pd.DataFrame(demand)}


def _published_numbers(frames: dict[str, pd.DataFrame]) -> tuple[set[str], set[str]]:
    """Every rendering of every published cell, and of every suppressed value (which must not appear)."""
    shown, hidden = {"10 000", "100 000", "10\u00a0000", "100\u00a0000"}, set()
    for frame in frames.values():
        for _, row in frame.iterrows():
            shown.add(str(int(row["year"])))
            for col in frame.columns:
                if col.endswith("_suppressed") or col in {"region_code", "region_name", "region_level"}:
                    continue
                c = cell(row, col)
                raw = row[col]
                texts = {number(raw, d) for d in (0, 1)} | {number(raw * 100, 1)}
                (shown if c.ok else hidden).update(texts)
    return shown, hidden - shown


def _text(html: str) -> str:
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", html))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marts())
def test_the_summary_states_only_published_numbers_and_no_change_inside_the_ranges(frames):
    shown, hidden = _published_numbers(frames)
    for region in (COUNTY, LINKOPING, YDRE):
        facts = summary_facts(frames, region)
        text = _text(render("summary.html.j2", s=facts, cards=[]))
        for token in NUMBER.findall(text):
            assert token in shown, f"{region.code}: {token!r} is not a published cell in: {text}"
            assert token not in hidden, f"{region.code}: suppressed value {token!r} in: {text}"
        if CHANGE_WORDS.search(text):
            own = frames["mart_prevalence_yearly"]
            own = own[own["region_code"] == region.code].set_index("year")
            cur, prev = own.loc[facts.level.year], own.loc[facts.level.year - 1]
            apart = cur["est_purchases_low"] > prev["est_purchases_high"] or (
                cur["est_purchases_high"] < prev["est_purchases_low"]
            )
            assert apart, f"{region.code}: a change is claimed while the ranges overlap: {text}"
            assert not any(
                cur[f"{c}_suppressed"] or prev[f"{c}_suppressed"]
                for c in ("est_purchases_low", "est_purchases_high")
            )


def test_a_change_is_stated_only_when_the_ranges_do_not_overlap():
    def frames(prev: tuple, cur: tuple) -> dict:
        rows = [
            {
                "region_code": "05",
                "region_name": "Östergötlands län",
                "region_level": "county",
                "year": year,
                "weeks_covered": 52,
                "est_purchases_low": lo,
                "est_purchases_central": c,
                "est_purchases_high": hi,
            }
            for year, (lo, c, hi) in ((2024, prev), (2025, cur))
        ]
        return {"mart_prevalence_yearly": pd.DataFrame(rows)}

    assert summary_facts(frames((100, 200, 300), (400, 500, 600)), COUNTY).change == "higher"
    assert summary_facts(frames((400, 500, 600), (100, 200, 300)), COUNTY).change == "lower"
    overlapping = summary_facts(frames((100, 200, 300), (250, 350, 450)), COUNTY)
    assert overlapping.change == "within"
    text = _text(render("summary.html.j2", s=overlapping, cards=[]))
    assert "ligger skillnaden inom osäkerheten" in text and not CHANGE_WORDS.search(text)


def test_topojson_arcs_are_delta_decoded_and_reversed_by_ones_complement():
    topology = {
        "transform": {"scale": [0.5, 2.0], "translate": [10.0, 50.0]},
        "arcs": [[[0, 0], [2, 0], [0, 1]], [[2, 1], [-2, 0], [0, -1]]],
    }
    arcs = rate_map.decode_arcs(topology)
    assert arcs[0] == [(10.0, 50.0), (11.0, 50.0), (11.0, 52.0)]
    assert arcs[1] == [(11.0, 52.0), (10.0, 52.0), (10.0, 50.0)]
    ring = rate_map.ring(arcs, [0, 1])
    assert ring == [(10.0, 50.0), (11.0, 50.0), (11.0, 52.0), (10.0, 52.0), (10.0, 50.0)]
    assert rate_map.ring(arcs, [~1]) == arcs[1][::-1]  # ~i = arc i reversed


def test_the_reference_boundaries_decode_to_sweden():
    shapes = rate_map.municipality_shapes()
    assert len({s.code for s in shapes}) == 290
    linkoping = next(s for s in shapes if s.code == "0580")
    lon = [p[0] for r in linkoping.rings for p in r]
    lat = [p[1] for r in linkoping.rings for p in r]
    assert 15.0 < min(lon) < max(lon) < 16.5 and 58.0 < min(lat) < max(lat) < 58.8  # Linköping
    assert all(r[0] == r[-1] for s in shapes for r in s.rings)  # every ring closes


def test_national_summary_names_counties_by_their_share_of_sweden():
    """On the Sverige page the concentration sentence ranks counties (their share of Sweden), never
    municipalities, whose share_of_county is a share of their own county."""
    sweden = Region("00", "Sverige", "county", "00", "Sverige")

    def row(code, name, level, central, share):
        return {
            "region_code": code,
            "region_name": name,
            "region_level": level,
            "year": 2025,
            "weeks_covered": 52,
            "est_purchases_low": central / 2,
            "est_purchases_central": central,
            "est_purchases_high": central * 2,
            "share_of_county": share,
        }

    yearly = pd.DataFrame(
        [
            row("00", "Sverige", "country", 1000.0, 1.0),
            row("01", "Stockholms län", "county", 600.0, 0.6),
            row("14", "Västra Götalands län", "county", 400.0, 0.4),
            row("1480", "Göteborg", "municipality", 380.0, 0.95),
        ]
    )
    facts = summary_facts({"mart_prevalence_yearly": yearly}, sweden)
    names = [name for name, _ in facts.concentration]
    assert names == ["Stockholms län", "Västra Götalands län"]
