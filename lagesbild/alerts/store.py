"""The restricted alert store under ``<data_dir>/restricted/alerts/``.

Why a store and not a per-run file: the analyst must see each ad once, with the week it was last
seen kept up to date, so every run merges what it detected into what earlier runs found (on
site + ad_id for under-age alerts, on kind + key + week for change alerts). The folder is 0700 and
every file 0600; it sits beside, never inside, ``publications/`` (the only folder the pull server
serves), and the store refuses to write if a symlink would place it there.

Files: ``under_age_alerts.parquet``/``.csv``, ``change_alerts.parquet``/``.csv`` and
``summary.json`` (counts only), plus ``notifications.log`` written by the notifier.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lagesbild.alerts.detect import CHANGE_COLUMNS, CHANGE_KINDS, UNDER_AGE_COLUMNS
from lagesbild.fsutil import exclusive_lock, write_atomic
from lagesbild.warehouse import read_parquet, write_parquet_atomic

DIR_MODE = 0o700
FILE_MODE = 0o600
STORE_PARTS = ("restricted", "alerts")
PUBLIC_PARTS = ("publications",)

UNDER_AGE_KEYS = ["site", "ad_id"]
CHANGE_KEYS = ["kind", "key", "week_start"]
BOOKKEEPING = ["first_alerted_at", "last_updated_at"]

_TS = pa.timestamp("us", tz="UTC")
#: Arrow types of the alert columns that are not text (detect.py names the columns, in order).
_NON_TEXT = {
    "first_week_seen": pa.date32(),
    "last_week_seen": pa.date32(),
    "week_start": pa.date32(),
    "value": pa.float64(),
    "baseline": pa.float64(),
    "threshold": pa.float64(),
}


def _store_schema(columns: list[str]) -> pa.Schema:
    """The stored table of an alert kind: its detected ``columns``, then the bookkeeping timestamps."""
    return pa.schema([(c, _NON_TEXT.get(c, pa.string())) for c in columns] + [(c, _TS) for c in BOOKKEEPING])


UNDER_AGE_SCHEMA = _store_schema(UNDER_AGE_COLUMNS)
CHANGE_SCHEMA = _store_schema(CHANGE_COLUMNS)


class RestrictedStoreError(RuntimeError):
    """The restricted folder cannot be used safely (e.g. it resolves into the publication folder)."""


@dataclass(frozen=True)
class AlertSummary:
    """Counts only: what may leave the restricted folder (logs, Dagster metadata, notifications).

    "new" means first raised by this run; "active" (under-age) means the ad was still seen in the
    latest week of the data; "latest week" (change) means the alert is about that week.
    """

    latest_week: str | None
    under_age_detected: int
    under_age_new: int
    under_age_active: int
    under_age_new_and_active: int
    under_age_total: int
    change_detected: int
    change_new: int
    change_latest_week: int
    change_new_and_latest: int
    change_total: int
    change_new_by_kind: dict[str, int] = field(default_factory=dict)
    change_latest_week_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def under_age_to_review(self) -> int:
        """Ads the analyst must act on now: newly found, or still visible in the latest week."""
        return self.under_age_new + self.under_age_active - self.under_age_new_and_active

    @property
    def change_to_review(self) -> int:
        """Change alerts first raised by this run or about the latest week."""
        return self.change_new + self.change_latest_week - self.change_new_and_latest

    def as_dict(self) -> dict:
        return asdict(self) | {
            "under_age_to_review": self.under_age_to_review,
            "change_to_review": self.change_to_review,
        }


@dataclass(frozen=True)
class StoreResult:
    under_age: pd.DataFrame
    change: pd.DataFrame
    summary: AlertSummary
    directory: Path

    @property
    def under_age_csv(self) -> Path:
        return self.directory / "under_age_alerts.csv"


def store_dir(data_dir: Path | str) -> Path:
    return Path(data_dir).joinpath(*STORE_PARTS)


def _as_ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


def merge_under_age(
    existing: pd.DataFrame, detected: pd.DataFrame, now: pd.Timestamp
) -> tuple[pd.DataFrame, int]:
    """Merge this run's under-age alerts into the store; returns (store, number of new ads).

    The first week only moves earlier, the last week only later; municipality and advertiser key
    follow the most recent sighting. ``first_alerted_at`` is kept from the run that first raised it.
    """
    return _merge(existing, detected, UNDER_AGE_KEYS, now, _combine_under_age)


def merge_change(
    existing: pd.DataFrame, detected: pd.DataFrame, now: pd.Timestamp
) -> tuple[pd.DataFrame, int]:
    """Merge this run's change alerts; a recomputed alert replaces its values, keeps its first alert time."""
    return _merge(existing, detected, CHANGE_KEYS, now, _combine_change)


def _merge(existing, detected, keys, now, combine) -> tuple[pd.DataFrame, int]:
    existing = existing.copy()
    detected = detected.copy()
    for frame in (existing, detected):
        for col in keys:
            if col == "week_start":
                frame[col] = _as_ts(frame[col]) if len(frame) else pd.Series(dtype="datetime64[us]")
            else:
                frame[col] = frame[col].astype("str") if len(frame) else pd.Series(dtype="str")
    merged = existing.merge(detected, on=keys, how="outer", suffixes=("_old", ""), indicator=True)
    new = int((merged["_merge"] == "right_only").sum())
    out = combine(merged, now)
    if "week_start" in keys:
        out["week_start"] = pd.to_datetime(out["week_start"]).dt.date
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return out, new


def _combine_under_age(m: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    in_new = m["_merge"] != "left_only"
    old_first, new_first = _as_ts(m["first_week_seen_old"]), _as_ts(m["first_week_seen"])
    old_last, new_last = _as_ts(m["last_week_seen_old"]), _as_ts(m["last_week_seen"])
    take_new = in_new & ~(old_last > new_last)  # the newer sighting decides place and advertiser
    out = m[UNDER_AGE_KEYS].copy()
    out["first_week_seen"] = pd.concat([old_first, new_first], axis=1).min(axis=1).dt.date
    out["last_week_seen"] = pd.concat([old_last, new_last], axis=1).max(axis=1).dt.date
    for col in ("municipality_code", "advertiser_key"):
        # a sighting without a place or advertiser (the ingest-time alert knows neither) keeps the known one
        out[col] = m[col].where(take_new & m[col].notna(), m[f"{col}_old"])
    _stamp(out, m, in_new, now)
    return out[UNDER_AGE_COLUMNS + BOOKKEEPING]


def _combine_change(m: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    in_new = m["_merge"] != "left_only"
    out = m[["kind", "key", "week_start"]].copy()
    for col in CHANGE_COLUMNS[3:]:
        out[col] = m[col].where(in_new, m[f"{col}_old"])
    _stamp(out, m, in_new, now)
    return out[CHANGE_COLUMNS + BOOKKEEPING]


def _stamp(out: pd.DataFrame, m: pd.DataFrame, in_new: pd.Series, now: pd.Timestamp) -> None:
    now_series = pd.Series(now, index=m.index, dtype="datetime64[us, UTC]")
    first_old = pd.to_datetime(m.get("first_alerted_at", pd.Series(pd.NaT, index=m.index)), utc=True)
    last_old = pd.to_datetime(m.get("last_updated_at", pd.Series(pd.NaT, index=m.index)), utc=True)
    out["first_alerted_at"] = first_old.fillna(now_series)
    out["last_updated_at"] = now_series.where(in_new, last_old)


class AlertStore:
    """Reads and writes the restricted folder; the only code that touches it."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.directory = store_dir(self.data_dir)

    # -- folder -------------------------------------------------------------------------------
    def ensure(self) -> Path:
        """Create (or tighten) ``restricted/`` and ``restricted/alerts/`` to 0700, refusing a public place."""
        self._refuse_public()  # before any mkdir/chmod, which would follow a symlink
        current = self.data_dir
        for part in STORE_PARTS:
            current = current / part
            current.mkdir(mode=DIR_MODE, parents=current.parent == self.data_dir, exist_ok=True)
            if stat.S_IMODE(current.stat().st_mode) != DIR_MODE:
                os.chmod(current, DIR_MODE)
        self._refuse_public()
        return self.directory

    def _refuse_public(self) -> None:
        public = self.data_dir.joinpath(*PUBLIC_PARTS).resolve()
        resolved = self.directory.resolve()
        if resolved == public or resolved.is_relative_to(public) or public.is_relative_to(resolved):
            raise RestrictedStoreError(
                f"restricted alert folder {self.directory} resolves to {resolved}, which overlaps the "
                f"publication folder {public}: refusing to write alerts where they could be published"
            )

    def path(self, name: str) -> Path:
        return self.directory / name

    # -- read ---------------------------------------------------------------------------------
    def load_under_age(self) -> pd.DataFrame:
        return self._load("under_age_alerts.parquet", UNDER_AGE_SCHEMA)

    def load_change(self) -> pd.DataFrame:
        return self._load("change_alerts.parquet", CHANGE_SCHEMA)

    def load_summary(self) -> dict | None:
        path = self.path("summary.json")
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def _load(self, name: str, schema: pa.Schema) -> pd.DataFrame:
        path = self.path(name)
        if not path.exists():
            return schema.empty_table().to_pandas()
        return read_parquet(path)

    # -- write --------------------------------------------------------------------------------
    def update(
        self,
        under_age: pd.DataFrame,
        change: pd.DataFrame,
        latest_week: dt.date | None,
        now: pd.Timestamp | None = None,
    ) -> StoreResult:
        """Merge this run's alerts into the store and write Parquet, CSV and the counts-only summary.

        Read-merge-write runs under an exclusive lock on ``.lock`` in the folder, so two overlapping
        runs (a backfill beside the weekly schedule) cannot drop each other's alerts.
        """
        now = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
        now = (now.tz_localize("UTC") if now.tz is None else now.tz_convert("UTC")).floor("us")
        self.ensure()
        with self._locked():
            merged_u, _ = merge_under_age(self.load_under_age(), under_age, now)
            merged_c, _ = merge_change(self.load_change(), change, now)
            summary = summarise(under_age, change, merged_u, merged_c, latest_week, now)
            self._write_table(merged_u, UNDER_AGE_SCHEMA, "under_age_alerts")
            self._write_table(merged_c, CHANGE_SCHEMA, "change_alerts")
            self._write_text("summary.json", json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n")
        return StoreResult(merged_u, merged_c, summary, self.directory)

    def add_under_age(
        self, under_age: pd.DataFrame, latest_week: dt.date | None, now: pd.Timestamp | None = None
    ) -> StoreResult:
        """Merge under-age alerts only (the ingest-time path, before dbt): change alerts are kept as stored."""
        now = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
        now = (now.tz_localize("UTC") if now.tz is None else now.tz_convert("UTC")).floor("us")
        self.ensure()
        with self._locked():
            merged_u, _ = merge_under_age(self.load_under_age(), under_age, now)
            stored_c = self.load_change()
            summary = summarise(under_age, stored_c.iloc[0:0], merged_u, stored_c, latest_week, now)
            self._write_table(merged_u, UNDER_AGE_SCHEMA, "under_age_alerts")
            self._write_text("summary.json", json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n")
        return StoreResult(merged_u, stored_c, summary, self.directory)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with exclusive_lock(self.path(".lock"), mode=FILE_MODE):
            yield

    def _write_table(self, frame: pd.DataFrame, schema: pa.Schema, stem: str) -> None:
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        target = self.path(f"{stem}.parquet")
        write_parquet_atomic(table, target)  # written aside inside the 0700 folder, then renamed
        os.chmod(target, FILE_MODE)
        self._write_text(f"{stem}.csv", table.to_pandas().to_csv(index=False))

    def _write_text(self, name: str, text: str) -> None:
        """Write aside with mode 0600 from the first byte, then rename into place."""
        write_atomic(self.path(name), text, mode=FILE_MODE)

    def append_line(self, name: str, line: str) -> Path:
        """Append one line to a 0600 file in the store (the notifier's log)."""
        self.ensure()
        target = self.path(name)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line.rstrip("\n") + "\n")
        os.chmod(target, FILE_MODE)
        return target


def summarise(
    under_age: pd.DataFrame,
    change: pd.DataFrame,
    store_u: pd.DataFrame,
    store_c: pd.DataFrame,
    latest_week: dt.date | None,
    now: pd.Timestamp,
) -> AlertSummary:
    """Counts for this run against the merged store (``now`` marks what this run raised first)."""
    new_u = store_u["first_alerted_at"] == now
    new_c = store_c["first_alerted_at"] == now
    if latest_week is not None:
        lw = pd.Timestamp(latest_week)
        active_u = _as_ts(store_u["last_week_seen"]) == lw
        latest_c = _as_ts(store_c["week_start"]) == lw
    else:
        active_u = pd.Series(False, index=store_u.index)
        latest_c = pd.Series(False, index=store_c.index)
    kinds = store_c["kind"]
    return AlertSummary(
        latest_week=None if latest_week is None else pd.Timestamp(latest_week).date().isoformat(),
        under_age_detected=len(under_age),
        under_age_new=int(new_u.sum()),
        under_age_active=int(active_u.sum()),
        under_age_total=len(store_u),
        under_age_new_and_active=int((new_u & active_u).sum()),
        change_detected=len(change),
        change_new=int(new_c.sum()),
        change_latest_week=int(latest_c.sum()),
        change_total=len(store_c),
        change_new_and_latest=int((new_c & latest_c).sum()),
        change_new_by_kind={k: int((new_c & (kinds == k)).sum()) for k in CHANGE_KINDS},
        change_latest_week_by_kind={k: int((latest_c & (kinds == k)).sum()) for k in CHANGE_KINDS},
    )
