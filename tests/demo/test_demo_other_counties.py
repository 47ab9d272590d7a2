"""The demo for counties other than Östergötland, built from the national reference data: Västra
Götaland (14, Gothenburg with its city districts) and Stockholm (01), and the whole country (00)."""

from __future__ import annotations

import csv
import json

import pytest
from demo_readers import read_lines

from lagesbild.demo.county import generate_demo
from lagesbild.demo.places import fold, localities, shared_names
from lagesbild.settings import REFERENCE_DIR


def _municipalities(county: str) -> dict[str, str]:
    with (REFERENCE_DIR / "municipalities_se.csv").open(encoding="utf-8") as handle:
        return {
            r["municipality_code"]: r["municipality_name"]
            for r in csv.DictReader(handle)
            if county in (r["county_code"], "00")
        }


@pytest.fixture(scope="module", params=["14", "01", "00"])
def demo(request, tmp_path_factory):
    county = request.param
    out = tmp_path_factory.mktemp(f"demo{county}") / "inputs"
    generate_demo(out, county_code=county)
    frame, _ = read_lines(out)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    return county, out, frame, truth


def test_locations_are_the_countys_places(demo):
    county, _, frame, _ = demo
    names = _municipalities(county)
    places = {fold(n).lower() for code in names for n, _ in localities(county_code=county).get(code, [])}
    known = places | {fold(n).lower() for n in names.values()}
    written = frame["location"].dropna().astype(str)
    written = written[written.str.strip() != ""]
    in_county = written.map(lambda t: fold(t).lower() in known)
    assert in_county.mean() > 0.7, written[~in_county].value_counts().head(10)
    # city districts of the biggest town are named, not only municipality names
    big = demo[3]["calibration_targets"]["big_two"][0]
    districts = {
        fold(n).lower() for n, kind in localities(county_code=county).get(big, []) if kind == "regso_area"
    }
    assert districts and written.map(lambda t: fold(t).lower() in districts).sum() > 5, big


def test_special_advertisers_live_in_the_county(demo):
    county, _, _, truth = demo
    names = _municipalities(county)
    assert set(truth["touring"]["municipality_codes"]) <= set(names)
    assert truth["county_code"] == county and set(truth["calibration_targets"]["big_two"]) <= set(names)
    assert len(truth["under_18_ads"]) >= 3


def test_ambiguous_names_are_written_for_the_big_towns(demo):
    county, _, frame, truth = demo
    shared = shared_names(localities(county_code=county))
    big = truth["calibration_targets"]["big_two"]
    ambiguous = {name for code in big for name in shared.get(code, [])}
    assert ambiguous, "the county's gazetteer has no shared names for its big towns"
    assert frame["location"].isin(ambiguous).sum() > 0


def test_deterministic_per_county(demo, tmp_path):
    county, out, _, _ = demo
    again = tmp_path / "again"
    generate_demo(again, county_code=county)
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert first == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in first:
        if rel.suffix in (".gz", ".jsonl", ".csv", ".json"):
            assert (out / rel).read_bytes() == (again / rel).read_bytes(), rel
