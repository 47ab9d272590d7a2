"""Situation-picture reports: one per municipality, self-contained, numbers equal to the disclosed
marts, and no suppressed value anywhere in text or chart data."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import AGE_COLS, GAP_WEEKS, META, build_marts, build_quality, build_raw_marts

from lagesbild.report import render_report, render_reports
from lagesbild.report.cells import SUPPRESSED_NOTE, cell, number
from lagesbild.report.data import county_municipalities
from lagesbild.report.names import names_table, official_name
from lagesbild.report.texts import HIDDEN_CI_METHOD, HIDDEN_STATUS, PURCHASES_INCL_HIDDEN_METHOD
from lagesbild.warehouse import read_parquet, write_parquet_atomic

ROOT = Path(__file__).resolve().parents[2]
NBSP = "\u00a0"
CHART_DATA = re.compile(
    r'<script type="application/json" class="chart-data" data-chart="([^"]+)">(.*?)</script>', re.S
)


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "render_reports_script", ROOT / "scripts" / "render_reports.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def chart_data(page: str) -> dict[str, dict]:
    return {name: json.loads(payload.replace("<\\/", "</")) for name, payload in CHART_DATA.findall(page)}


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reports")
    paths = render_reports(build_marts(), build_quality(), dict(META), out)
    return {p.stem: p.read_text("utf-8") for p in paths}


def test_every_municipality_of_the_county_gets_a_report(pages):
    expected = {"05", *county_municipalities("05")["municipality_code"]}
    assert set(pages) == expected
    assert len(expected) == 14  # Östergötland: the county and its 13 municipalities
    for code, page in pages.items():
        assert f"<h1>{official_name(code)}</h1>" in page
        assert META["publication_id"] in page and "modellversion 2026.1" in page
        assert "skapad 5 januari 2026" in page  # the generation date in Swedish, not the publication id


def test_every_heading_uses_the_official_name(pages):
    """A heading that names a municipality or the county uses its official name ("Linköpings kommun")."""
    table = names_table()
    short = dict(zip(table["municipality_code"], table["short_name"], strict=True))
    official = dict(zip(table["municipality_code"], table["official_name"], strict=True))
    checked = 0
    for page in pages.values():
        for level, heading in re.findall(r"<h([1-3])[^>]*>(.*?)</h\1>", page, re.S):
            text = re.sub(r"<[^>]+>", "", heading)
            for code in county_municipalities("05")["municipality_code"]:
                rest = text.replace(official[code], "")
                assert not re.search(rf"\b{re.escape(short[code])}\b", rest), f"h{level}: {text!r}"
            checked += 1
    assert checked > 14 * 8
    assert "<h1>Linköpings kommun</h1>" in pages["0580"] and "<h1>Östergötlands län</h1>" in pages["05"]


def test_a_municipality_without_rows_gets_a_report_that_says_so(pages):
    ydre = pages["0512"]
    assert "Det finns inga publicerade uppgifter om skattade sexköp för Ydre kommun" in ydre
    assert "Det finns inga publicerade uppgifter om annonser per vecka för Ydre kommun" in ydre
    # Its demand rows are pooled: the page says so and shows the pool, not invented zeros.
    assert "Ydre kommun redovisas inte separat" in ydre and "Övriga länet" in ydre
    assert "weekly_trend" not in chart_data(ydre)


def test_reports_reference_nothing_outside_themselves(pages):
    script = _load_script()
    for code, page in pages.items():
        assert script.external_references(page) == [], code
        assert "http" not in page, code
        assert "<script" not in page.replace('<script type="application/json" class="chart-data"', ""), code


def test_external_reference_scan_catches_what_it_should():
    script = _load_script()
    bad = (
        '<img src="https://example.org/x.png"><link href="//cdn.example.org/a.css">'
        '<style>@import "f.css"; body{background:url(img.png)}</style><a href="#ok">x</a>'
    )
    found = script.external_references(bad)
    assert any("example.org/x.png" in f for f in found)
    assert any("cdn.example.org" in f for f in found)
    assert any("@import" in f for f in found)
    assert any("img.png" in f for f in found)
    assert not any("#ok" in f for f in found)


def test_weekly_chart_data_equals_the_mart_and_gaps_are_gaps(pages):
    marts = build_marts()
    weekly = marts["mart_prevalence_weekly"]
    data = chart_data(pages["0580"])["weekly_trend"]
    own = weekly[weekly["region_code"] == "0580"]
    assert data["gap_weeks"] == [w.isoformat() for w in GAP_WEEKS]
    for col in ("ads_seen", "unique_ads", "active_advertisers"):
        expected = [
            {"week_start": r.week_start.isoformat(), "value": int(getattr(r, col))}
            for r in own.itertuples()
            if r.week_start not in GAP_WEEKS
        ]
        assert data["series"][col] == expected
        drawn = {p["week_start"] for p in data["series"][col]}
        assert not drawn & {w.isoformat() for w in GAP_WEEKS}  # a gap is not a zero
    # Motala's advertisers are all under the threshold: nothing is drawn, the weeks are listed.
    motala = chart_data(pages["0583"])["weekly_trend"]
    assert motala["series"]["active_advertisers"] == []
    assert len(motala["suppressed_weeks"]["active_advertisers"]) == len(own) - len(GAP_WEEKS)
    assert "Inga publicerade värden" in pages["0583"]


def test_yearly_chart_data_equals_the_mart(pages):
    yearly = build_marts()["mart_prevalence_yearly"]
    data = chart_data(pages["0581"])["yearly_estimates"]
    assert data["model_version"] == "2026.1"
    assert [p["region_code"] for p in data["panels"]] == ["0581", "05"]
    for panel in data["panels"]:
        rows = yearly[yearly["region_code"] == panel["region_code"]].sort_values("year")
        expected = [
            {
                "year": int(r.year),
                "est_purchases_low": r.est_purchases_low,
                "est_purchases_central": r.est_purchases_central,
                "est_purchases_high": r.est_purchases_high,
            }
            for r in rows.itertuples()
        ]
        assert panel["points"] == expected


def test_age_bands_fall_back_to_county_when_municipal_bands_are_suppressed(pages):
    demand = build_marts()["mart_demand_yearly"]
    linkoping = chart_data(pages["0580"])["age_bands"]
    assert linkoping["level"] == "county" and linkoping["level_region_code"] == "05"
    assert "För Linköpings kommun är antalen för små" in pages["0580"]
    county = demand[demand["region_code"] == "05"]
    for r in county.itertuples():
        got = linkoping["years"][str(r.year)]
        for col in AGE_COLS:
            flagged = bool(getattr(r, f"{col}_suppressed"))
            assert got[col] == (None if flagged else getattr(r, col)), (r.year, col)
    assert linkoping["years"]["2024"]["age_70_plus"] is None  # county band below 5: suppressed, not 0


def test_suppressed_cells_show_a_dash_with_the_footnote(pages):
    page = pages["0580"]
    # Linköping -> Norrköping has 3 buyers in the synthetic flows: suppressed.
    row = re.search(
        r"<tr><td>2024–2025</td><td>Linköping</td><td>Norrköping</td><td class=num>(.*?)</td></tr>", page
    )
    assert row and "—" in row.group(1) and SUPPRESSED_NOTE in row.group(1)
    assert "under gränsen för röjandekontroll: värdet visas inte" in page


def _plant(marts: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[float]]:
    """Put a distinctive value under every suppressed cell (the flag stays set)."""
    planted, values = {}, []
    counter = 0
    for name, frame in marts.items():
        frame = frame.copy()
        for flag in [c for c in frame.columns if c.endswith("_suppressed")]:
            base = flag.removesuffix("_suppressed")
            mask = frame[flag].astype(bool)
            if not mask.any():
                continue
            frame[base] = frame[base].astype("float64")
            for idx in frame.index[mask]:
                counter += 1
                value = 0.8137 + counter / 1e5 if base.startswith("share") else 70_001.0 + counter * 1009
                frame.loc[idx, base] = value
                values.append(value)
        planted[name] = frame
    return planted, values


def _text(page: str) -> str:
    """Everything a reader can see or copy: text nodes (incl. SVG labels and chart JSON), no markup.

    Tags are dropped because SVG path coordinates are long digit strings that could match by chance.
    """
    return re.sub(r"<[^>]*>", " ", page)


def _renderings(value: float) -> list[str]:
    if value < 1:
        return [number(value * 100, 1) + NBSP + "%", f"{value}"]
    return [number(value, 0), number(value, 1), str(int(value)), f"{int(value):,}".replace(",", " ")]


def _assert_no_planted_text(path: Path, page: str, values: list[float]) -> None:
    """No planted value shows in the page's visible text, in any of the ways the report writes a number."""
    visible = _text(page)
    for value in values:
        for text in _renderings(value):
            assert text not in visible, f"{path.name}: planted {value} appears as {text!r}"


def test_a_value_planted_under_a_suppressed_cell_never_appears(tmp_path):
    planted, values = _plant(build_marts())
    assert len(values) > 100  # the synthetic marts really do have suppressed cells in every mart
    paths = render_reports(planted, build_quality(), dict(META), tmp_path)
    for path in paths:
        page = path.read_text("utf-8")
        _assert_no_planted_text(path, page, values)
        for chart in chart_data(page).values():
            numbers = re.findall(r"-?\d+(?:\.\d+)?", json.dumps(chart))
            assert not {float(n) for n in numbers} & set(values), path.name


def test_numbers_equal_the_published_parquet(tmp_path):
    """Round-trip through Parquet as the publication stores it; the report shows what the files hold."""
    published = {}
    for name, frame in build_marts().items():
        write_parquet_atomic(frame, tmp_path / "disclosed" / f"{name}.parquet")
        published[name] = read_parquet(tmp_path / "disclosed" / f"{name}.parquet")
    page = render_report("05", published, build_quality(), dict(META))
    data = chart_data(page)
    yearly = published["mart_prevalence_yearly"]
    county = yearly[yearly["region_code"] == "05"].sort_values("year")
    assert [p["est_purchases_central"] for p in data["yearly_estimates"]["panels"][0]["points"]] == county[
        "est_purchases_central"
    ].tolist()
    for r in county.itertuples():
        interval = f"{number(r.est_purchases_central)} ({number(r.est_purchases_low)}–{number(r.est_purchases_high)})"
        assert interval in page
        assert number(r.est_purchases_per_10k, 1) in page
    weekly = published["mart_prevalence_weekly"]
    county_weeks = weekly[(weekly["region_code"] == "05") & weekly["coverage_complete"]]
    assert [p["value"] for p in data["weekly_trend"]["series"]["ads_seen"]] == county_weeks[
        "ads_seen"
    ].tolist()


def test_quality_results_and_missing_weeks_are_reported(pages):
    page = pages["0581"]
    assert "2 av 3 kontroller godkändes" in page
    assert (
        "1 kontroller godkändes inte" in page and "Varje vecka har minst en ögonblicksbild per sajt." in page
    )
    assert "snapshot_every_week" not in page  # technical names stay in quality/index.html
    assert "v. 11 2024" in page and "v. 12 2024" in page and "annonsportal-b" in page


def _hidden_section(page: str) -> str:
    return page[
        page.index('<section id="morkertal">') : page.index("</section>", page.index('id="morkertal"'))
    ]


def test_hidden_population_shows_estimate_or_status(pages):
    county = pages["05"].replace(NBSP, " ")
    assert "353 (320–386)" in county
    assert HIDDEN_STATUS["ok"] in county
    motala = _hidden_section(pages["0583"])
    assert HIDDEN_STATUS["suppressed_disclosure"] in motala


def test_low_overlap_row_shows_estimate_with_interval_and_method(pages):
    section = _hidden_section(pages["0580"]).replace(NBSP, " ")
    # Linköping 2023: n1 = 40, n2 = 30, m2 = 6 -> Chapman 180,6, interval from the 64 seen
    assert "181 (64–" in section
    assert HIDDEN_STATUS["low_overlap"] in section
    assert HIDDEN_CI_METHOD["low_overlap_seen_to_poisson_bound"] in section


def test_chao2_estimate_and_disagreement_are_shown(pages):
    section = _hidden_section(pages["0580"]).replace(NBSP, " ")
    # Linköping 2024: s_obs = 140, f1 = 70, f2 = 10 -> 140 + (51/52) 70² / 20 = 380,3
    assert "380 (140–532)" in section
    assert HIDDEN_CI_METHOD["chao1987_log_normal"] in section
    assert "Skattningarna stämmer inte överens" in section and "Linköping 2024" in section


def test_suppressed_disclosure_row_shows_no_number():
    marts = build_marts()
    hidden = marts["mart_hidden_population"]
    # a value that slipped past disclosure must still not be shown: the flag wins
    hidden.loc[hidden["region_code"] == "0583", ["chapman_n", "chao2_n"]] = [123.4, 567.8]
    page = render_report("0583", marts, build_quality(), dict(META))
    section = _hidden_section(page).replace(NBSP, " ")
    motala_rows = [r for r in section.split("<tr>") if "Motala" in r]
    assert motala_rows
    for row in motala_rows:
        assert HIDDEN_STATUS["suppressed_disclosure"] in row
        for value in ("123", "567", "568", ">34", "34 (", ">24", "24 ("):  # Chapman 34, Chao2 24,5
            assert value not in row, row


def test_purchases_incl_hidden_population_with_range_method_version_and_caveat(pages):
    page = pages["05"].replace(NBSP, " ")
    section = page[
        page.index('<section id="skattade-kop">') : page.index('<section id="skattade-kop">') + 20000
    ]
    # county 2024: central 1 512 x 1.6 = 2 419,2 (907,2–6 199,2)
    assert "2 419 (907–6 199)" in section
    assert "Inkl. mörkertal (95 % intervall)" in section and "scenariospann" in section
    assert PURCHASES_INCL_HIDDEN_METHOD["lognormal_propagation"] in section
    assert "modellversion 2026.1+hp-2026.2" in section
    assert "omkring 11 %" in section and "upp till 45 %" in section and "nedre gräns" in section
    summary = page[
        page.index('id="sammanfattning"') : page.index("</section>", page.index('id="sammanfattning"'))
    ]
    assert "2 419" in summary and "nedre gräns" in summary
    method = page[page.index('<section id="metod">') :]
    assert "omkring 11 %" in method and "upp till 45 %" in method


def test_purchases_incl_hidden_is_not_shown_when_the_central_estimate_is_suppressed():
    marts = build_marts()
    yearly = marts["mart_prevalence_yearly"]
    yearly["est_purchases_central_suppressed"] = yearly["region_code"] == "0580"
    page = render_report("0580", marts, build_quality(), dict(META)).replace(NBSP, " ")
    # Linköping 2024: 690,4 x 1.6 = 1 104,6
    assert "1 105" not in page and "1 104" not in page


def test_offline_default_population_is_flagged_in_table_and_method(pages):
    motala = pages["0583"]
    assert "Folkmängden är ett standardvärde" in motala
    assert "31 december 2019" in motala
    method = motala[motala.index('<section id="metod">') :]
    assert "Folkmängden är ett standardvärde" in method
    assert "folkmängd ur inbyggd standardkopia" in motala
    linkoping = pages["0580"]  # live population: no note
    assert "Folkmängden är ett standardvärde" not in linkoping


def test_method_and_biases_are_in_every_report(pages):
    for page in pages.values():
        for phrase in (
            "Domarna följer polisens prioriteringar",
            "En sajt är inte hela marknaden",
            "Annonser är inte personer",
            "Så har siffrorna tagits fram",
        ):
            assert phrase in page


def test_unknown_region_and_incomplete_metadata_are_clear_errors():
    with pytest.raises(ValueError, match="'0180' is neither county '05'"):
        render_report("0180", build_marts(), build_quality(), dict(META))
    with pytest.raises(ValueError, match="missing publication_id"):
        render_report("05", build_marts(), build_quality(), {**META, "publication_id": ""})


def test_cell_trusts_the_flag_over_the_value_and_formats_swedish():
    assert not cell({"x": 12, "x_suppressed": True}, "x").ok
    assert cell({"x": 12, "x_suppressed": False}, "x").value == 12
    assert cell({"x": pd.NA}, "x").status == "missing"
    assert cell({"x": math.nan, "x_suppressed": pd.NA}, "x").status == "missing"
    assert number(1512.4) == f"1{NBSP}512"
    assert number(20.94, 1) == "20,9"
    assert number(-3.0) == "−3"


def test_cli_renders_reports_from_a_folder_of_disclosed_parquet(tmp_path, monkeypatch):
    import argparse
    import json as _json

    from lagesbild.report import cli

    for name, frame in build_marts().items():
        write_parquet_atomic(frame, tmp_path / "disclosed" / f"{name}.parquet")
    (tmp_path / "quality.json").write_text(_json.dumps(build_quality()), "utf-8")
    monkeypatch.setenv("LAGESBILD_COUNTY", "05")
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "report",
            "--disclosed",
            str(tmp_path / "disclosed"),
            "--quality",
            str(tmp_path / "quality.json"),
            "--out",
            str(tmp_path / "out"),
            "--model-version",
            "2026.1",
        ]
    )
    assert args.func(args) == 0
    pages = sorted(p.name for p in (tmp_path / "out").glob("*.html"))
    assert len(pages) == 14 and pages[0] == "05.html"
    county = (tmp_path / "out" / "05.html").read_text("utf-8")
    assert "<h1>Östergötlands län</h1>" in county and "publikation utkast" in county
    with pytest.raises(FileNotFoundError, match="no mart_\\*.parquet"):
        cli.load_disclosed_marts(tmp_path / "out")


def test_quality_summary_as_lagesbild_quality_reports_it(tmp_path):
    """The summary from lagesbild.quality.summary has no missing_weeks key: the gap check's metadata
    carries them, and severities are Dagster's ERROR/WARN."""
    quality = {
        "checks": [
            {
                "name": "snapshot_weeks_complete",
                "asset": "raw/ad_snapshots",
                "passed": False,
                "severity": "WARN",
                "description": "Snapshot missing for annonsportal-b in week 2024-W11.",
                "metadata": {
                    "missing": [
                        {"site": "annonsportal-b", "week": "2024-W11", "week_start": "2024-03-11"},
                        {"site": "annonsportal-b", "week": "2024-W12", "week_start": "2024-03-18"},
                    ]
                },
            },
            {
                "name": "population_current",
                "asset": "raw/population",
                "passed": True,
                "severity": "ERROR",
                "description": "ok",
                "metadata": {"missing": [{"region": "0580", "year": 2025}]},
            },
        ],
        "passed": False,
    }
    page = render_report("0580", build_marts(), quality, dict(META))
    assert chart_data(page)["weekly_trend"]["gap_weeks"] == ["2024-03-11", "2024-03-18"]
    assert "v. 11 2024" in page and "v. 12 2024" in page
    assert "1 av 2 kontroller godkändes" in page
    assert "(varning)" in page  # the failed check, with its severity in Swedish


def test_with_the_real_disclosure_policy_no_suppressed_value_reaches_a_report(tmp_path):
    """End to end with lagesbild.disclosure (primary + secondary suppression from
    config/disclosure_policy.yml), then a distinctive value planted under every flag it set."""
    from lagesbild.disclosure import apply_policy, load_policy

    disclosed = apply_policy(build_raw_marts(), load_policy(), "05").marts
    planted, values = _plant(disclosed)
    assert len(values) > 100
    paths = render_reports(planted, build_quality(), dict(META), tmp_path)
    assert len(paths) == 14
    weekly = disclosed["mart_prevalence_weekly"]
    for path in paths:
        page = path.read_text("utf-8")
        _assert_no_planted_text(path, page, values)
        data = chart_data(page)
        if "weekly_trend" in data:
            own = weekly[weekly["region_code"] == path.stem]
            hidden = {r.week_start.isoformat() for r in own.itertuples() if r.active_advertisers_suppressed}
            drawn = {p["week_start"] for p in data["weekly_trend"]["series"]["active_advertisers"]}
            assert not hidden & drawn, path.name


def test_a_rate_that_would_give_a_suppressed_estimate_back_is_not_shown():
    """per 10 000 × population = the estimate: when the estimate is hidden, so is the rate."""
    marts = build_marts()
    yearly = marts["mart_prevalence_yearly"].copy()
    row = (yearly["region_code"] == "0581") & (yearly["year"] == 2024)
    for col in ("est_purchases_low", "est_purchases_central", "est_purchases_high"):
        yearly[f"{col}_suppressed"] = row
        yearly[col] = yearly[col].mask(row)
    marts["mart_prevalence_yearly"] = yearly
    page = render_report("0581", marts, build_quality(), dict(META))
    rate = yearly.loc[row, "est_purchases_per_10k"].item()
    row_html = re.search(r"<tr><td>2024</td><td>Norrköping</td><td class=num>50</td>(.*?)</tr>", page).group(
        1
    )
    assert number(rate, 1) not in row_html and "%" not in row_html
    assert row_html.count(SUPPRESSED_NOTE) == 4  # estimate, incl. hidden, per 10 000, share of county
    assert number(rate, 1) not in _text(page)
    points = chart_data(page)["yearly_estimates"]["panels"][0]["points"]
    assert points[0] == {
        "year": 2024,
        "est_purchases_low": None,
        "est_purchases_central": None,
        "est_purchases_high": None,
    }


def test_a_week_without_a_snapshot_in_the_coverage_mart_is_a_gap():
    marts = build_marts()
    weeks = [dt.date(2024, 1, 1) + dt.timedelta(weeks=i) for i in range(78)]
    marts["mart_coverage_weekly"] = pd.DataFrame(
        [
            {
                "site": site,
                "week_start": w,
                "snapshot_present": not (site == "annonsportal-a" and w == weeks[30]),
            }
            for site in ("annonsportal-a", "annonsportal-b")
            for w in weeks
        ]
    )
    page = render_report("0580", marts, {"checks": []}, dict(META))
    data = chart_data(page)["weekly_trend"]
    # The weekly mart's own coverage_complete = false weeks stay gaps; the coverage mart adds one.
    assert data["gap_weeks"] == sorted([w.isoformat() for w in GAP_WEEKS] + [weeks[30].isoformat()])
    assert weeks[30].isoformat() not in {p["week_start"] for p in data["series"]["ads_seen"]}
    assert f"v. {weeks[30].isocalendar()[1]} 2024" in page


def _national_marts() -> dict[str, pd.DataFrame]:
    """Sverige (country) and its 21 counties: a county's central estimate is 100 x its number."""
    from lagesbild.sources.reference import region_official_names

    counties = sorted(c for c in region_official_names("00") if len(c) == 2 and c != "00")
    total = sum(100.0 * int(c) for c in counties)
    rows = [
        {
            "region_code": "00",
            "region_name": "Sverige",
            "region_level": "country",
            "year": 2024,
            "weeks_covered": 52,
            "est_purchases_low": total * 0.43,
            "est_purchases_central": total,
            "est_purchases_high": total * 2,
            "est_purchases_per_10k": 9.9,
            "share_of_county": 1.0,
            "model_version": "2026.1",
        }
    ]
    for code in counties:
        central = 100.0 * int(code)
        rows.append(
            {
                "region_code": code,
                "region_name": code,
                "region_level": "county",
                "year": 2024,
                "weeks_covered": 52,
                "est_purchases_low": central * 0.43,
                "est_purchases_central": central,
                "est_purchases_high": central * 2,
                "est_purchases_per_10k": 5.0,
                "share_of_county": round(central / total, 4),
                "model_version": "2026.1",
            }
        )
    return {"mart_prevalence_yearly": pd.DataFrame(rows)}


def test_the_sweden_page_compares_all_21_counties_and_says_hela_landet():
    marts = _national_marts()
    meta = {**META, "county_code": "00", "county_name": "Sverige"}
    page = render_report("00", marts, build_quality(), meta)
    section = page[page.index('<section id="lanen">') : page.index("</section>", page.index('id="lanen"'))]
    names = re.findall(r"<tr><td>([^<]+ län)</td>", section)
    assert len(names) == 21 and len(set(names)) == 21
    assert {"Stockholms län", "Västra Götalands län", "Norrbottens län", "Gotlands län"} <= set(names)
    total = sum(
        100 * int(c) for c in ("01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14")
    ) + sum(100 * int(c) for c in ("17", "18", "19", "20", "21", "22", "23", "24", "25"))
    share = number(2500 / total * 100, 1)  # Norrbotten (25)
    assert share + "\u00a0%" in section
    assert "Andel av riket" in section and "Hela riket" in section
    header = page[page.index("<header>") : page.index("</header>")]
    assert "hela landet" in header and "hela länet" not in header


def test_a_county_page_in_national_mode_states_its_share_of_sweden():
    marts = build_marts()
    yearly = marts["mart_prevalence_yearly"]
    yearly.loc[yearly["region_code"] == "05", "share_of_county"] = 0.0412
    page = render_report("05", marts, build_quality(), {**META, "national_mode": True})
    assert "Andel av rikets köp" in page and "4,1\u00a0%" in page
    assert "Andel av riket" in page
    plain = render_report("05", build_marts(), build_quality(), dict(META))
    assert "Andel av rikets köp" not in plain
