"""Where the demo's inputs live, and which inbox the verdict sensor watches.

The choice between demo folder and real endpoints is made in :mod:`lagesbild.sources.select`; this module
only adds the demo's location under the data dir, so the Dagster assets and sensors call one function each.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lagesbild.settings import Settings
from lagesbild.sources import select


def demo_inputs(settings: Settings) -> Path:
    return settings.data_dir / "demo" / "inputs"


def snapshot_archive(settings: Settings):
    settings.resolved_pseudonym_key()  # refuse early when a real source has no key
    return select.snapshot_archive(settings, demo_dir=demo_inputs(settings) / "snapshots")


def verdict_inbox(settings: Settings) -> Path:
    """The register file or inbox folder the verdict sensor watches."""
    if settings.verdicts_path:
        return Path(settings.verdicts_path)
    if settings.source_mode == "demo":
        return demo_inputs(settings) / "verdicts"
    raise RuntimeError("no verdict register: set LAGESBILD_VERDICTS_PATH to a CSV/XLSX file or an inbox folder")


def verdict_files(settings: Settings) -> list[Path]:
    return select.verdict_paths(settings, demo_dir=verdict_inbox(settings))


def population(settings: Settings, years: list[int]) -> pd.DataFrame:
    return select.population(settings, years, offline_dir=demo_inputs(settings) / "population")
