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
