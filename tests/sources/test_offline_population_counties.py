"""The offline default population for any county and for the whole country (2019 by sex)."""

from __future__ import annotations

import pytest

from lagesbild.sources.pxweb import build_offline_population, read_offline_population
from lagesbild.sources.reference import (
    OFFLINE_POPULATION_LABEL,
    municipalities_of_county,
    offline_population_reference,
)


@pytest.mark.parametrize(("county", "municipalities"), [("05", 13), ("14", 49), ("01", 26), ("25", 14)])
def test_every_municipality_and_the_county_have_2019_by_sex(county, municipalities):
    rows = offline_population_reference(county)
    codes = set(municipalities_of_county(county)["municipality_code"])
    assert len(codes) == municipalities
    y2019 = rows[rows["year"].astype(int) == 2019]
    for code in [*codes, county]:
        by_sex = y2019[y2019["municipality_code"] == code].set_index("sex")["population"]
        assert set(by_sex.index) == {"men", "women", "total"}, code
        assert by_sex["men"] + by_sex["women"] == by_sex["total"], code
    county_total = y2019[(y2019["municipality_code"] == county) & (y2019["sex"] == "total")][
        "population"
    ].item()
    parts = y2019[y2019["municipality_code"].isin(codes) & (y2019["sex"] == "total")]["population"].sum()
    assert county_total == parts
    assert rows["source"].str.len().gt(0).all()  # every row names its source


def test_national_mode_has_290_municipalities_21_counties_and_sweden():
    rows = offline_population_reference("00")
    totals = rows[(rows["year"].astype(int) == 2019) & (rows["sex"] == "total")].set_index(
        "municipality_code"
    )
    assert sum(len(c) == 4 for c in totals.index) == 290 and sum(len(c) == 2 for c in totals.index) == 22
    assert totals.loc["00", "population"] == 10_327_589  # Sweden on 31 Dec 2019


def test_ostergotland_keeps_its_newer_totals():
    rows = offline_population_reference("05")
    assert {2022, 2023, 2024} <= set(rows.loc[rows["municipality_code"] == "0580", "year"].astype(int))


def test_offline_files_for_another_county_are_stamped_offline(tmp_path):
    build_offline_population(offline_population_reference("14"), tmp_path, label=OFFLINE_POPULATION_LABEL)
    frame = read_offline_population(tmp_path)
    assert set(frame["region_code"]) >= {"14", "1480", "1490"}
    assert frame["updated"].str.startswith(f"offline:{OFFLINE_POPULATION_LABEL}@sha256:").all()
    assert frame["population"].notna().all()
