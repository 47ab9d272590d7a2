"""Reading what the checks judge: Parquet under the data dir, never the DuckDB file dbt may hold."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from lagesbild.sources.reference import load_municipalities
from orchestration.resources import LagesbildResource

_WEEK_DIR = re.compile(r"^week_start=(\d{4}-\d{2}-\d{2})$")


class MissingInput(Exception):
    """A file the check needs does not exist: the upstream step did not write it."""

    def __init__(self, path: Path):
        super().__init__(f"{path} does not exist (was the upstream asset materialised?)")
        self.path = path


def read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise MissingInput(path)
    return ds.dataset(path, format="parquet").to_table().to_pandas()


def read_partitioned(
    root: Path, partition: str | None = None, weeks: tuple[str, str] | None = None
) -> pd.DataFrame:
    """A ``week_start=YYYY-MM-DD/part-*.parquet`` dataset: one week, an inclusive range of weeks, or all.

    The files already carry ``week_start`` as a column, so the Hive directory key is not re-added.
    """
    path = root / f"week_start={partition}" if partition else root
    return ds.dataset(partition_files(path, weeks), format="parquet").to_table().to_pandas()


def partition_files(root: Path, weeks: tuple[str, str] | None = None) -> list[Path]:
    """The Parquet files under ``root`` (hidden temporaries skipped), limited to an inclusive week range."""
    if not root.exists():
        raise MissingInput(root)
    files = [f for f in sorted(root.rglob("*.parquet")) if not f.name.startswith(".")]
    if weeks:
        first, last = weeks
        files = [f for f in files if first <= f.parent.name.removeprefix("week_start=") <= last]
    if not files:
        raise MissingInput(root / "part-0.parquet")
    return files


def materialised_weeks(lagesbild: LagesbildResource) -> list[dt.date]:
    """The weeks the raw snapshot asset was materialised for: one ``week_start=`` folder per partition.

    A partition run writes ``raw/snapshot_files`` even when a site delivered nothing, so a folder
    exists for every materialised week and the set of expected weeks needs no guess.
    """
    root = lagesbild.path("raw", "snapshot_files")
    if not root.exists():
        return []
    weeks = []
    for child in root.iterdir():
        m = _WEEK_DIR.match(child.name)
        if m and child.is_dir():
            weeks.append(dt.date.fromisoformat(m.group(1)))
    return sorted(weeks)


def county_municipalities(county_code: str) -> dict[str, str]:
    """Code -> name of the county's municipalities (all 290 for '00'), from the shipped reference table."""
    ref = load_municipalities()
    if county_code != "00":
        ref = ref[ref["county_code"] == county_code]
    return dict(zip(ref["municipality_code"], ref["municipality_name"], strict=True))
