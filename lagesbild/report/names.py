"""Official Swedish names and dates for what officials read.

The dbt seed ``municipality_names_se.csv`` (the national reference data, provenance per row and in
``dbt_project/seeds/reference/SOURCES.md``) gives each municipality's official name as used in running text and
headings, with the genitive ("Linköpings kommun"), and each county's ("Östergötlands län"). The
short name ("Linköping") stays for tables and charts.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd

from lagesbild.sources.reference import NATIONAL_CODE, official_names, region_official_names

NATIONAL_NAME = "Sverige"
UNKNOWN_HOME = "okänd hemkommun"
UNKNOWN_PLACE = "okänd kommun"

MONTHS = [
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
]  # fmt: skip


@functools.cache
def names_table() -> pd.DataFrame:
    table = official_names()
    expected = {"municipality_code", "short_name", "official_name", "county_code", "county_name"}
    if not expected <= set(table.columns):
        raise ValueError(
            f"municipality_names_se.csv: expected columns {sorted(expected)}, got {list(table.columns)}"
        )
    return table


@functools.cache
def _official() -> dict[str, str]:
    return region_official_names(NATIONAL_CODE)


def official_name(code: str, fallback: str | None = None) -> str:
    """ "Linköpings kommun" for 0580, "Östergötlands län" for 05, "Sverige" for 00.

    A code that is not in the table (a pooled group such as "Övriga länet") keeps ``fallback``.
    """
    name = _official().get(str(code))
    if name is None:
        if fallback is None:
            raise KeyError(f"no official name for region code {code!r}")
        return fallback
    return name


@functools.cache
def _short() -> dict[str, str]:
    table = names_table()
    return dict(zip(table["municipality_code"].astype(str), table["short_name"].astype(str), strict=True))


def short_name(code: str, fallback: str | None = None) -> str:
    """ "Linköping" for 0580 (tables, charts and map labels: thousands of calls per run, one lookup)."""
    hit = _short().get(str(code))
    if hit is None:
        return fallback if fallback is not None else official_name(code)
    return hit


def swedish_date(value: object) -> str:
    """ "1 december 2026" from a date, a datetime or an ISO string (a timestamp's UTC date)."""
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        value = value.tz_convert("UTC").date() if value.tzinfo else value.date()
    elif isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    if not isinstance(value, dt.date):
        raise TypeError(f"not a date: {value!r}")
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
