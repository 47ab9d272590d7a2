"""Where the alert rules read ``int_ad_observations`` from: the view ``observations`` in DuckDB.

At national scale the export holds 10M ad snapshots. The rules never load them into pandas: each rule
opens an in-memory DuckDB connection (:meth:`Observations.connect`), runs its SQL over the view
``observations`` and closes the connection, so only aggregates and the few flagged ads reach Python.
The view reads the Parquet export (one file, or a folder of hive-partitioned files
``week_start=.../*.parquet``) or, for tests and ad-hoc runs, an in-memory frame.

The view has the columns the rules use, plus ``source_file`` and ``source_row``: the position of the
row in the export, which decides ties between captures of an ad in the same week exactly as the row
order of the frame did when the rules ran in pandas.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lagesbild.settings import Settings
from lagesbild.warehouse import scratch_connection, sql_string
from lagesbild.weekly_export import read_manifest

#: The columns the rules read; a missing one is an error naming the source.
REQUIRED_COLUMNS = (
    "site",
    "ad_id",
    "week_start",
    "stated_age",
    "category",
    "municipality_code",
    "advertiser_key",
)

_VIEW = """
create temp view observations as
select
    site,
    ad_id,
    cast(week_start as date) as week_start,
    try_cast(stated_age as double) as stated_age,
    category,
    municipality_code,
    advertiser_key,
    source_file,
    source_row
from {scan}
"""

_FRAME_NAME = "observations_frame"

# DuckDB's memory cap per connection is ``Settings.alert_duckdb_memory``. The largest state is
# the site rule's distinct (site, ad, week) set, ~10M entries at national scale (~0.9 GB unbounded);
# above the cap DuckDB spills it to a private temporary folder beside the export.


class ObservationsError(ValueError):
    """The observations do not meet their contract."""


def validate_observations(columns: pd.DataFrame | Iterable[str], source: str = "int_ad_observations") -> None:
    """Fail with the missing column names (and where) rather than an error deep inside a rule."""
    have = list(columns.columns if isinstance(columns, pd.DataFrame) else columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in have]
    if missing:
        raise ObservationsError(f"{source}: missing column(s) {missing}; have {have}")


@dataclass(frozen=True, eq=False)
class Observations:
    """A validated source of observations, with its row count and latest week."""

    source: str
    rows: int
    latest_week: dt.date | None
    _scan: str
    _frame: pa.Table | None = None
    #: Where DuckDB may spill (the export's folder: the spilled rows are as restricted as the export).
    _spill_parent: Path | None = None

    @classmethod
    def from_parquet(cls, path: Path | str) -> Observations:
        """The Parquet export: a single file, or a folder of (hive-partitioned) Parquet files."""
        path = Path(path)
        if path.is_dir():
            if not any(path.rglob("*.parquet")):
                if read_manifest(path).get("weeks") == {}:  # a weekly export of an empty table
                    return cls.from_frame(pd.DataFrame(columns=list(REQUIRED_COLUMNS)), source=str(path))
                raise FileNotFoundError(f"{path}: the folder holds no Parquet files")
            files, hive = (path / "**" / "*.parquet").as_posix(), "true"
        elif path.exists():
            files, hive = path.as_posix(), "false"
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
        scan = (
            f"read_parquet({sql_string(files)}, hive_partitioning = {hive}, union_by_name = true, "
            "filename = 'source_file', file_row_number = true)"
        )
        with _connection(None) as con:
            columns = [row[0] for row in con.execute(f"describe select * from {scan}").fetchall()]
        validate_observations(columns, source=str(path))
        scan = f"(select *, file_row_number as source_row from {scan})"
        return cls._counted(str(path), scan, spill_parent=path.parent)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "int_ad_observations") -> Observations:
        """An in-memory frame, with the coercions the pandas rules applied (numeric age, week as date)."""
        validate_observations(frame, source=source)
        weeks = pd.to_datetime(frame["week_start"]).dt.normalize()
        if getattr(weeks.dt, "tz", None) is not None:
            weeks = weeks.dt.tz_localize(None)
        columns = {c: frame[c] for c in REQUIRED_COLUMNS} | {
            "week_start": weeks,
            "stated_age": pd.to_numeric(frame["stated_age"], errors="coerce").astype("Float64"),
            "source_file": pd.Series("", index=frame.index, dtype="str"),
            "source_row": pd.Series(np.arange(len(frame)), index=frame.index),
        }
        table = pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False)
        return cls._counted(source, _FRAME_NAME, table)

    @classmethod
    def _counted(
        cls, source: str, scan: str, frame: pa.Table | None = None, spill_parent: Path | None = None
    ) -> Observations:
        uncounted = cls(source, 0, None, scan, frame, spill_parent)
        with uncounted.connect() as con:
            rows, latest_week = con.execute("select count(*), max(week_start) from observations").fetchone()
        return cls(source, rows, latest_week, scan, frame, spill_parent)

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with the view ``observations``; closed on exit."""
        with _connection(self._spill_parent) as con:
            if self._frame is not None:
                con.register(_FRAME_NAME, self._frame)
            con.execute(_VIEW.format(scan=self._scan))
            yield con


def as_observations(obs: Observations | pd.DataFrame) -> Observations:
    return obs if isinstance(obs, Observations) else Observations.from_frame(obs)


def _connection(spill_parent: Path | None):
    """In-memory DuckDB, capped, spilling beside the export (the spill is as restricted as the export).

    Every result the rules use is ordered; weeks are dates, and a zoned timestamp is read in UTC.
    """
    limit = Settings.from_env().alert_duckdb_memory
    return scratch_connection(limit, prefix=".alerts_spill_", spill_parent=spill_parent)

