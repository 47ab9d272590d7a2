"""One alert run: open the observations, detect, merge into the restricted store, notify.

Shared by the Dagster asset and the ``lagesbild alerts run`` command so both behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

from lagesbild.alerts.config import AlertConfig
from lagesbild.alerts.detect import change_alerts, under_age_alerts
from lagesbild.alerts.notify import LineLogger, NotificationResult, Notifier
from lagesbild.alerts.observations import Observations, ObservationsError, as_observations
from lagesbild.alerts.store import AlertStore, StoreResult

INTERMEDIATE = "intermediate"
#: The export as the dbt asset writes it: a link to a folder of ``week_start=.../*.parquet``, one file
#: per week (lagesbild/weekly_export.py) ...
PARTITIONED_FOLDER = "int_ad_observations"
#: ... or one Parquet file (what earlier versions wrote; tests and ad-hoc exports still can).
SINGLE_FILE = "int_ad_observations.parquet"


@dataclass(frozen=True)
class AlertRun:
    store: StoreResult
    notification: NotificationResult


def observations_path(data_dir: Path | str) -> Path:
    """The export the rules read: the partitioned folder when there is one, else the single file.

    Both at once is refused: one of them is stale, and alerts from stale data would mislead.
    """
    intermediate = Path(data_dir) / INTERMEDIATE
    single, partitioned = intermediate / SINGLE_FILE, intermediate / PARTITIONED_FOLDER
    if partitioned.is_dir():
        if single.exists():
            raise ObservationsError(
                f"{single} and {partitioned} both exist: the int_ad_observations export is either one "
                "file or one partitioned folder; remove the stale one"
            )
        return partitioned
    return single


def load_observations(path: Path | str) -> Observations:
    """Open the exported intermediate (validated, counted); a missing file or column is a clear error naming the path.

    Nothing is read into memory here: the rules query the Parquet through DuckDB.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: the int_ad_observations export is missing; run dbt (the dbt asset exports it "
            "after `dbt build`) before the restricted_alerts asset"
        )
    return Observations.from_parquet(path)


def run_alerts(
    obs: Observations | pd.DataFrame,
    data_dir: Path | str,
    config: AlertConfig | None = None,
    logger: LineLogger | None = None,
    client: httpx.Client | None = None,
    county_code: str | None = None,
    now: pd.Timestamp | None = None,
    **notifier_kwargs,
) -> AlertRun:
    config = config or AlertConfig.from_env()
    obs = as_observations(obs)
    store = AlertStore(data_dir)
    under_age = under_age_alerts(obs, config)
    change = change_alerts(obs, config)
    stored = store.update(under_age, change, obs.latest_week, now=now)
    notifier = Notifier(
        config, store, logger=logger, client=client, county_code=county_code, **notifier_kwargs
    )
    return AlertRun(stored, notifier.notify(stored.summary))
