"""Reference tables the sources need (shipped, public, in dbt_project/seeds/reference/)."""

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


def municipalities_of_county(county_code: str, path: Path = MUNICIPALITIES_CSV) -> pd.DataFrame:
    """The county's municipalities (code, name, county code and name), sorted by code."""
    code = str(county_code).strip().zfill(2)
    frame = load_municipalities(path)
    subset = frame[frame["county_code"] == code].sort_values("municipality_code").reset_index(drop=True)
    if subset.empty:
        raise ValueError(f"county code {code!r} has no municipalities in {path.name} (LAGESBILD_COUNTY)")
    return subset
