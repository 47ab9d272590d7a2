"""``lagesbild alerts ...``: where the restricted alerts are and how many, or a run outside Dagster.

The command line prints counts and the folder, never alert rows: the analyst opens the CSV files in
the restricted folder (terminal scrollback and shell logs are not a place for ad ids).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lagesbild.settings import Settings


def register(subparsers) -> None:
    alerts = subparsers.add_parser(
        "alerts", help="restricted alerts: counts, location, or a run outside Dagster"
    )
    sub = alerts.add_subparsers(dest="alerts_command", required=True)

    status = sub.add_parser("status", help="the restricted folder and the alert counts of the last run")
    status.add_argument(
        "--data-dir", type=Path, default=None, help="data dir (default: LAGESBILD_DATA_DIR or data)"
    )
    status.set_defaults(func=run_status)

    run = sub.add_parser("run", help="detect alerts from the int_ad_observations export under intermediate/ and notify")
    run.add_argument(
        "--data-dir", type=Path, default=None, help="data dir (default: LAGESBILD_DATA_DIR or data)"
    )
    run.set_defaults(func=run_detect)


def _data_dir(args: argparse.Namespace) -> Path:
    return (args.data_dir or Settings.from_env().data_dir).resolve()


def run_status(args: argparse.Namespace) -> int:
    from lagesbild.alerts.store import AlertStore

    store = AlertStore(_data_dir(args))
    print(f"restricted alert folder: {store.directory}")
    if not store.directory.exists():
        print("no alerts have been written yet")
        return 0
    summary = store.load_summary() or {}
    print(f"under-18 ads in store: {len(store.load_under_age())}")
    print(f"change alerts in store: {len(store.load_change())}")
    if summary:
        print(
            f"last run (data through week {summary['latest_week']}): "
            f"{summary['under_age_to_review']} under-18 ad(s) to review ({summary['under_age_new']} new), "
            f"{summary['change_to_review']} change alert(s) to review ({summary['change_new']} new)"
        )
    print(f"details: {store.directory / 'under_age_alerts.csv'}, {store.directory / 'change_alerts.csv'}")
    return 0


def run_detect(args: argparse.Namespace) -> int:
    from lagesbild.alerts.run import load_observations, observations_path, run_alerts

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    data_dir = _data_dir(args)
    settings = Settings.from_env()
    obs = load_observations(observations_path(data_dir))
    result = run_alerts(obs, data_dir, county_code=settings.county_code)
    return 1 if result.notification.webhook_error else 0
