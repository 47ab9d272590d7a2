"""Selecting one region's rows out of the disclosed marts.

The report reads the disclosed marts only (never the raw marts), so what it can show is exactly
what the published Parquet files show. A municipality without rows of its own in a mart may be
pooled into "Övriga länet" (``region_level = 'pooled'``); the report then says so and shows the pool.
A municipality that is a member of the pool (``pool_code`` on its own rows, decided in dbt from the
fixed 2019 population) keeps its own rows, suppressed where small, and its page shows the pool's rows
beside them.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd

from lagesbild.settings import REFERENCE_DIR
from lagesbild.sources.reference import municipalities_of_county

PREVALENCE_WEEKLY = "mart_prevalence_weekly"
PREVALENCE_YEARLY = "mart_prevalence_yearly"
DEMAND_YEARLY = "mart_demand_yearly"
FLOWS = "mart_flows"
HIDDEN_POPULATION = "mart_hidden_population"
COVERAGE_WEEKLY = "mart_coverage_weekly"

T = TypeVar("T")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str  # "county" or "municipality"
    county_code: str
    county_name: str

    @property
    def is_county(self) -> bool:
        return self.level == "county"

    @property
    def official(self) -> str:
        """The official name for headings and sentences: "Linköpings kommun", "Östergötlands län"."""
        from lagesbild.report.names import official_name

        return official_name(self.code, fallback=self.name)

    @property
    def county_official(self) -> str:
        from lagesbild.report.names import official_name

        return official_name(self.county_code, fallback=self.county_name)

    @property
    def heading(self) -> str:
        return self.official


def county_municipalities(county_code: str, reference_dir: Path = REFERENCE_DIR) -> pd.DataFrame:
    """The county's municipalities (code, name) from the national reference table, codes as text."""
    rows = municipalities_of_county(county_code, reference_dir / "municipalities_se.csv")
    return rows[["municipality_code", "municipality_name"]]


def regions_for(meta: dict, reference_dir: Path = REFERENCE_DIR) -> list[Region]:
    """The county first, then each of its municipalities in code order."""
    county_code, county_name = str(meta["county_code"]), str(meta["county_name"])
    regions = [Region(county_code, county_name, "county", county_code, county_name)]
    if county_code == "00":  # national mode: one page for the country (its map shows every municipality)
        return regions
    for row in county_municipalities(county_code, reference_dir).itertuples(index=False):
        regions.append(
            Region(
                row.municipality_code,
                row.municipality_name,
                "municipality",
                county_code,
                county_name,
            )
        )
    return regions


def mart(marts: dict[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """A disclosed mart, or ``None`` when the publication has none (the section then says so)."""
    frame = marts.get(name)
    if frame is None:
        frame = marts.get(name.removeprefix("mart_"))
    return frame


#: While reports are rendered: each mart's rows per region code, split once instead of filtered per
#: call (a county's pages ask for the same regions' rows hundreds of times). Keyed by ``id(frame)``,
#: holding the frame itself so the id stays valid; only active inside :func:`indexed_marts`.
_INDEX: contextvars.ContextVar[dict | None] = contextvars.ContextVar("report_mart_index", default=None)


@contextlib.contextmanager
def indexed_marts() -> Iterator[None]:
    """Within the block, rows per region are looked up in a per-mart index built on first use.

    The marts must not change inside the block (rendering only reads them). Nested blocks share the
    outer index.
    """
    if _INDEX.get() is not None:
        yield
        return
    token = _INDEX.set({})
    try:
        yield
    finally:
        _INDEX.reset(token)


def _groups(frame: pd.DataFrame, column: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame] | None:
    """``frame`` split by the text of ``column`` (rows in their original order) and ``frame`` without
    rows, or None outside a block."""
    index = _INDEX.get()
    if index is None:
        return None
    key = (id(frame), column)
    if key not in index:
        keys = frame[column].astype(str)
        parts = {str(k): frame.iloc[rows] for k, rows in frame.groupby(keys, sort=False).indices.items()}
        index[key] = (frame, parts, frame.iloc[0:0])
    return index[key][1:]


def memo(key: tuple, compute: Callable[[], T]) -> T:
    """``compute()``, computed once per :func:`indexed_marts` block for ``key`` (every time outside one).

    For what every page of a publication shares (the map's facts and shapes, a municipality's pool):
    the key must name everything the value depends on besides the marts, which do not change inside
    the block (a national publication renders each county's slice in a block of its own).
    """
    index = _INDEX.get()
    if index is None:
        return compute()
    key = ("memo", *key)
    if key not in index:
        index[key] = compute()
    return index[key]


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as dicts (what ``cell`` reads), built once per frame inside a block.

    Much cheaper than ``iterrows`` (no Series per row); values are Python scalars, missing ones
    ``None``/NaN/NA, as ``cells.cell`` expects.
    """
    index = _INDEX.get()
    if index is None:
        return frame.to_dict("records")
    key = ("records", id(frame))
    if key not in index:
        index[key] = (frame, frame.to_dict("records"))
    return index[key][1]


def _rows_where(frame: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    split = _groups(frame, column)
    if split is None:
        return frame[frame[column].astype(str) == value]
    groups, empty = split
    return groups.get(value, empty)


def region_rows(frame: pd.DataFrame | None, code: str) -> pd.DataFrame:
    if frame is None or "region_code" not in frame.columns:
        return pd.DataFrame()
    return _rows_where(frame, "region_code", code)


def pooled_rows(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or "region_level" not in frame.columns:
        return pd.DataFrame()
    return _rows_where(frame, "region_level", "pooled")


POOL_COLUMN = "pool_code"
POOL_NAME = "Övriga länet"


def pool_code_of(marts: dict[str, pd.DataFrame], code: str) -> str | None:
    """The pool ("Övriga länet") a municipality belongs to, from its rows in any mart, or None."""
    return memo(("pool_code_of", code), lambda: _pool_code_of(marts, code))


def _pool_code_of(marts: dict[str, pd.DataFrame], code: str) -> str | None:
    for frame in marts.values():
        if frame is None or POOL_COLUMN not in frame.columns or "region_code" not in frame.columns:
            continue
        pools = region_rows(frame, code)[POOL_COLUMN].dropna()
        if not pools.empty:
            return str(pools.iloc[0])
    return None


def pool_members(marts: dict[str, pd.DataFrame], pool_code: str) -> list[str]:
    """The municipality codes of a pool, in code order."""
    codes: set[str] = set()
    for frame in marts.values():
        if frame is None or POOL_COLUMN not in frame.columns or "region_level" not in frame.columns:
            continue
        rows = _rows_where(frame, "region_level", "municipality")
        codes |= set(rows.loc[rows[POOL_COLUMN] == pool_code, "region_code"].astype(str))
    return sorted(codes)


def pool_threshold() -> int | None:
    """dbt var ``pool_max_population`` (the one place of the pool's rule), or None when unreadable."""
    import yaml

    from lagesbild.settings import PROJECT_ROOT

    try:
        with open(PROJECT_ROOT / "dbt_project" / "dbt_project.yml", encoding="utf-8") as fh:
            return int(yaml.safe_load(fh)["vars"]["pool_max_population"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def as_date(value: object) -> dt.date:
    """A week start from a date, a timestamp or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def iso_week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"v. {week} {year}"


def load_disclosed_marts(folder: Path) -> dict[str, pd.DataFrame]:
    """Every ``<mart>.parquet`` in a disclosed-marts folder (or a publication's county folder)."""
    from lagesbild.warehouse import read_parquet

    folder = Path(folder)
    files = sorted(folder.glob("mart_*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: no mart_*.parquet files to build reports from")
    return {f.stem: read_parquet(f) for f in files}
