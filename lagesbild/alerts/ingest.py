"""Under-age alerts straight from the ingest, before any quality gate or dbt model.

An ad stating an age under 18 is the most important thing this project reports, so it cannot wait
for dbt and the Great Expectations suites to pass: a stated age of 13 is (rightly) an impossible value
for the raw suite, which blocks dbt. The snapshot ingest therefore hands every line that states an age
under 18 (``IngestResult.under_age``, read before validation) to :func:`alert_from_ingest`, which merges
them into the restricted store (``restricted/alerts/``, 0700/0600, never published) with the same keys as
the full alert run (site + ad id). Place and advertiser are unknown at this point (dbt resolves them);
the full run fills them in later without raising the ad again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lagesbild.alerts.config import AlertConfig
from lagesbild.alerts.detect import UNDER_AGE_COLUMNS
from lagesbild.alerts.notify import LineLogger, Notifier
from lagesbild.alerts.run import AlertRun
from lagesbild.alerts.store import AlertStore


def under_age_from_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """One alert row per (site, ad_id) among the ingest's under-age lines."""
    if lines is None or lines.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in UNDER_AGE_COLUMNS})
    weeks = pd.to_datetime(lines["week_start"].astype(str))
    grouped = (
        pd.DataFrame({"site": lines["site"].astype(str), "ad_id": lines["ad_id"].astype(str), "week": weeks})
        .groupby(["site", "ad_id"], sort=True)["week"]
        .agg(["min", "max"])
        .reset_index()
    )
    return pd.DataFrame(
        {
            "site": grouped["site"],
            "ad_id": grouped["ad_id"],
            "first_week_seen": grouped["min"].dt.date,
            "last_week_seen": grouped["max"].dt.date,
            "municipality_code": pd.Series(None, index=grouped.index, dtype="object"),
            "advertiser_key": pd.Series(None, index=grouped.index, dtype="object"),
        }
    )[UNDER_AGE_COLUMNS]


def alert_from_ingest(
    lines: list[pd.DataFrame] | pd.DataFrame,
    data_dir: Path | str,
    config: AlertConfig | None = None,
    logger: LineLogger | None = None,
    county_code: str | None = None,
    now: pd.Timestamp | None = None,
) -> AlertRun | None:
    """Merge the ingest's under-age lines into the restricted store and notify; None when there are none.

    Nothing is written (and nobody notified) when no line states an age under 18.
    """
    frames = [f for f in ([lines] if isinstance(lines, pd.DataFrame) else lines) if f is not None and len(f)]
    if not frames:
        return None
    alerts = under_age_from_lines(pd.concat(frames, ignore_index=True))
    latest = max(pd.to_datetime(f["week_start"].astype(str)).max() for f in frames).date()
    config = config or AlertConfig.from_env()
    store = AlertStore(data_dir)
    stored = store.add_under_age(alerts, latest, now=now)
    notifier = Notifier(config, store, logger=logger, county_code=county_code)
    return AlertRun(stored, notifier.notify(stored.summary))
