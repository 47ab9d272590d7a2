"""``lagesbild report``: render the situation pictures from a folder of disclosed marts.

For an analyst who wants the reports outside a Dagster run (e.g. after editing the wording).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from lagesbild.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="render situation-picture reports (HTML) from disclosed marts"
    )
    parser.add_argument(
        "--disclosed", type=Path, help="folder with disclosed mart_*.parquet (default <data dir>/disclosed)"
    )
    parser.add_argument(
        "--quality", type=Path, help='quality summary JSON {"checks": [...], "missing_weeks": [...]}'
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for <region_code>.html")
    parser.add_argument("--publication-id", default="utkast", help="publication id printed in the reports")
    parser.add_argument("--model-version", required=True, help="model version printed in the reports")
    parser.add_argument("--county-name", help="county name (default: from the municipality reference table)")
    parser.set_defaults(func=run)


def load_disclosed_marts(folder: Path) -> dict:
    """lagesbild.report.data.load_disclosed_marts, imported when used (pandas is slow to import)."""
    from lagesbild.report.data import load_disclosed_marts as load

    return load(folder)


def run(args: argparse.Namespace) -> int:
    from lagesbild.report.render import render_reports

    settings = Settings.from_env()
    marts = load_disclosed_marts(args.disclosed or settings.data_dir / "disclosed")
    quality = json.loads(args.quality.read_text("utf-8")) if args.quality else {}
    meta = {
        "publication_id": args.publication_id,
        "model_version": args.model_version,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "county_code": settings.county_code,
        "county_name": args.county_name or _county_name(settings),
    }
    for path in render_reports(marts, quality, meta, args.out):
        print(path)
    return 0


def _county_name(settings: Settings) -> str:
    from lagesbild.sources.reference import county_name

    name = county_name(settings.county_code)
    if name == settings.county_code:
        raise ValueError(f"county {settings.county_code!r}: no name in municipalities_se.csv")
    return name
