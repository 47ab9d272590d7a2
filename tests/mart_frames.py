"""A small weekly prevalence mart for tests of publication and pull (importable from every test folder:
tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import pandas as pd

WEEKLY_COLUMNS = [
    "region_code",
    "region_name",
    "region_level",
    "week_start",
    "iso_year",
    "active_advertisers",
    "advertiser_days",
]


def weekly_prevalence(weeks: int, advertisers: dict[str, int]) -> pd.DataFrame:
    """``weeks`` weeks from 2025-01-06 of the given municipalities (code -> active advertisers, 5
    advertiser-days each) and Östergötland's county row (their sum)."""
    rows = []
    for week in pd.date_range("2025-01-06", periods=weeks, freq="7D"):
        for code, n in advertisers.items():
            rows.append((code, code, "municipality", week, 2025, n, n * 5))
        total = sum(advertisers.values())
        rows.append(("05", "Östergötlands län", "county", week, 2025, total, total * 5))
    return pd.DataFrame(rows, columns=WEEKLY_COLUMNS)
