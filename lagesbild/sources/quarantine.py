"""The quarantine record every source shares, the ingest result, and the threshold check.

Bad rows are never dropped silently: each one becomes a quarantine row with a short reason code
and a human detail (never the raw phone, case number or personal identity number), the counts go
into the asset metadata, and a run fails when the quarantined share passes its threshold.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

QUARANTINE_COLUMNS = ["source", "site", "file", "position", "reason", "detail", "week_start"]

#: pandas dtypes that give the Parquet types of docs/architecture.md (string, date32, timestamp[us, UTC]).
STR = "str"
DATE = pd.ArrowDtype(pa.date32())
TIMESTAMP = "datetime64[us, UTC]"
QUARANTINE_SCHEMA = {
    "source": STR,
    "site": STR,
    "file": STR,
    "position": "Int32",
    "reason": STR,
    "detail": STR,
    "week_start": DATE,
}


def typed_frame(records: list[dict], schema: dict) -> pd.DataFrame:
    """Records -> DataFrame with exactly ``schema``'s columns and dtypes, also when empty or all null.

    Without this an all-null column (e.g. ``site`` for verdicts) would land in Parquet as type
    ``null`` and break the union of partitions downstream.
    """
    return cast_to_schema(pd.DataFrame.from_records(records, columns=list(schema)), schema)


def cast_to_schema(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """``frame`` reduced to ``schema``'s columns, in order, each cast to its dtype (timestamps in UTC)."""
    frame = frame.reset_index(drop=True)[list(schema)]
    for column, dtype in schema.items():
        if dtype == TIMESTAMP:
            frame[column] = pd.to_datetime(frame[column], utc=True).astype(TIMESTAMP)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def quarantine_frame(records: list[dict]) -> pd.DataFrame:
    """A quarantine DataFrame with exactly QUARANTINE_COLUMNS (missing keys become null)."""
    return typed_frame(records, QUARANTINE_SCHEMA)


@dataclass
class IngestResult:
    rows: pd.DataFrame
    quarantine: pd.DataFrame
    files: pd.DataFrame | None = None
    metadata: dict = field(default_factory=dict)
    #: Snapshots only: every line stating an age under 18, read before any validation (restricted).
    under_age: pd.DataFrame | None = None


def summarise(rows_ok: int, quarantine: pd.DataFrame, **extra) -> dict:
    """Counts per reason, rows read/ok/quarantined and the quarantined share, for asset metadata."""
    rows_quarantined = len(quarantine)
    rows_read = rows_ok + rows_quarantined
    by_reason = dict(sorted(Counter(quarantine["reason"].tolist()).items())) if rows_quarantined else {}
    return {
        "rows_read": rows_read,
        "rows_ok": rows_ok,
        "rows_quarantined": rows_quarantined,
        "quarantine_share": (rows_quarantined / rows_read) if rows_read else 0.0,
        "quarantine_by_reason": by_reason,
        **extra,
    }


class QuarantineThresholdExceeded(RuntimeError):
    """More rows were quarantined than the configured share allows."""


def enforce_quarantine_threshold(meta: dict, max_share: float, source: str) -> None:
    """Fail with a one-line message a person can act on when the quarantined share is too high.

    ``meta`` is an ingest's metadata (``summarise``): the counts travel without the rows.
    """
    share = meta.get("quarantine_share", 0.0)
    if share <= max_share:
        return
    reasons = ", ".join(
        f"{reason} {count}"
        for reason, count in sorted(meta.get("quarantine_by_reason", {}).items(), key=lambda kv: -kv[1])[:3]
    )
    raise QuarantineThresholdExceeded(
        f"{source}: {meta.get('rows_quarantined', 0)} of {meta.get('rows_read', 0)} rows quarantined "
        f"({share:.1%}, allowed {max_share:.1%}); top reasons: {reasons or 'none'} — read "
        f"raw/quarantine/{source} for the rows, fix the input (or raise LAGESBILD_QUARANTINE_MAX_SHARE) "
        "and materialise again"
    )
