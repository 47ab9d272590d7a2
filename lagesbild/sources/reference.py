"""The municipality reference table (shipped, public, in dbt_project/seeds/reference/), read in one
place for the sources, the checks, the reports and the publication (dbt reads the same file as a seed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lagesbild.settings import REFERENCE_DIR

MUNICIPALITIES_CSV = REFERENCE_DIR / "municipalities_se.csv"


def load_municipalities(path: Path = MUNICIPALITIES_CSV) -> pd.DataFrame:
    """All 290 municipalities; codes stay strings with their leading zero ("0580", "05")."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = {"municipality_code", "municipality_name", "county_code", "county_name"}
    if not expected <= set(frame.columns):
        raise ValueError(f"{path}: expected columns {sorted(expected)}, got {list(frame.columns)}")
    bad = frame[~frame["municipality_code"].str.fullmatch(r"\d{4}")]
    if len(bad):
        raise ValueError(f"{path}: municipality_code must be 4 digits (row {bad.index[0] + 2})")
    return frame


def county_name(county_code: str, path: Path = MUNICIPALITIES_CSV) -> str:
    """The county's official name ("Östergötlands län"); the code itself when the table has none."""
    frame = load_municipalities(path)
    names = frame.loc[frame["county_code"] == county_code, "county_name"].unique()
    if len(names) > 1:
        raise ValueError(f"{path}: county {county_code!r} has more than one name: {sorted(names)}")
    return str(names[0]) if len(names) else county_code


def municipalities_of_county(county_code: str, path: Path = MUNICIPALITIES_CSV) -> pd.DataFrame:
    """The county's municipalities (code, name, county code and name), sorted by code."""
    code = str(county_code).strip().zfill(2)
    frame = load_municipalities(path)
    subset = frame[frame["county_code"] == code].sort_values("municipality_code").reset_index(drop=True)
    if subset.empty:
        raise ValueError(f"county code {code!r} has no municipalities in {path.name} (LAGESBILD_COUNTY)")
    return subset


OSTERGOTLAND_POPULATION_CSV = REFERENCE_DIR / "population_ostergotland.csv"
POPULATION_2019_CSV = REFERENCE_DIR / "population_by_sex_2019_se.csv"
MUNICIPALITY_NAMES_CSV = REFERENCE_DIR / "municipality_names_se.csv"
NATIONAL_CODE = "00"
#: How the offline default names itself in raw/population's `updated` stamp (and so on the marts).
OFFLINE_POPULATION_LABEL = "population_by_sex_2019_se.csv+population_ostergotland.csv"
_SUMMED_NOTE = "sum of the municipalities' 31 Dec 2019 figures above (exact for 2019: no noise added before 2025)"


def official_names(path: Path = MUNICIPALITY_NAMES_CSV) -> pd.DataFrame:
    """All 290 municipalities with short and official name and the official county name."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def region_official_names(county_code: str) -> dict[str, str]:
    """Region code -> official name for headings ("Linköpings kommun", "Östergötlands län", "Sverige")."""
    frame = official_names()
    names = dict(zip(frame["municipality_code"], frame["official_name"], strict=True))
    names |= dict(zip(frame["county_code"], frame["county_name"], strict=False))
    names[NATIONAL_CODE] = "Sverige"
    return names


def offline_population_reference(county_code: str) -> pd.DataFrame:
    """The offline default population of a county (or '00', the whole country), in the shape of
    population_ostergotland.csv (municipality_code, year, sex, age_group, population, source).

    Every municipality and county gets men, women and total on 31 Dec 2019 from
    population_by_sex_2019_se.csv; a county's (and Sweden's) figure is the sum of its
    municipalities, said so in ``source``. Where population_ostergotland.csv has figures (newer
    totals for Östergötland, 2022-2024), those rows are used for its regions instead of the 2019
    ones of the same region, year and sex. Rows keep their source, so every output can name it.
    """
    code = str(county_code).strip().zfill(2)
    municipalities = load_municipalities()
    if code != NATIONAL_CODE:
        municipalities_of_county(code)  # raises for an unknown county code
    wide = pd.read_csv(POPULATION_2019_CSV, dtype={"municipality_code": str, "source": str})
    wide = wide.merge(municipalities[["municipality_code", "county_code"]], on="municipality_code", how="left")
    if wide["county_code"].isna().any():
        raise ValueError(f"{POPULATION_2019_CSV.name}: municipality code not in municipalities_se.csv")
    if code != NATIONAL_CODE:
        wide = wide[wide["county_code"] == code]
    long = wide.melt(
        id_vars=["municipality_code", "county_code", "year", "source"],
        value_vars=["men", "women", "total"],
        var_name="sex",
        value_name="population",
    )
    summed = []
    for region, part in [*long.groupby("county_code")] + ([(NATIONAL_CODE, long)] if code == NATIONAL_CODE else []):
        totals = part.groupby(["year", "sex"], as_index=False)["population"].sum()
        summed.append(totals.assign(municipality_code=region, source=_SUMMED_NOTE))
    rows = pd.concat([long.drop(columns="county_code"), *summed], ignore_index=True).assign(age_group="total")
    newer = pd.read_csv(OSTERGOTLAND_POPULATION_CSV, dtype={"municipality_code": str, "source": str})
    newer = newer[newer["municipality_code"].isin(set(rows["municipality_code"]))]
    key = ["municipality_code", "year", "sex", "age_group"]
    rows = pd.concat([newer, rows], ignore_index=True).drop_duplicates(key, keep="first")
    rows["population"] = rows["population"].astype("int64")
    rows = rows.sort_values(key, key=lambda s: s.astype(str)).reset_index(drop=True)
    return rows[[*key[:3], "age_group", "population", "source"]][
        ["municipality_code", "year", "sex", "age_group", "population", "source"]
    ]
