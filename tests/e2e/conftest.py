"""One full demo run per session, shared by the end-to-end tests (it takes about a minute)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, dbt_manifest):
    """Prepare the demo in a temp data dir and run the full pipeline over all 104 weeks."""
    from orchestration.run_demo import prepare_demo_inputs, run_pipeline

    data_dir = tmp_path_factory.mktemp("demo_data")
    previous = os.environ.get("LAGESBILD_DATA_DIR")
    os.environ["LAGESBILD_DATA_DIR"] = str(data_dir)
    try:
        prepare_demo_inputs(data_dir)
        instance = dg.DagsterInstance.ephemeral()
        result = run_pipeline(instance=instance)
        yield DemoRun(data_dir, instance, result)
    finally:
        if previous is None:
            os.environ.pop("LAGESBILD_DATA_DIR", None)
        else:
            os.environ["LAGESBILD_DATA_DIR"] = previous


class DemoRun:
    def __init__(self, data_dir: Path, instance, result):
        self.data_dir = data_dir
        self.instance = instance
        self.result = result

    def mart(self, name: str, folder: str = "marts") -> pd.DataFrame:
        return pd.read_parquet(self.data_dir / folder / f"{name}.parquet")

    def publications(self) -> list[Path]:
        root = self.data_dir / "publications"
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")) if root.exists() else []

    def latest_manifest(self) -> dict:
        pointer = (self.data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
        return json.loads((self.data_dir / "publications" / pointer / "manifest.json").read_text(encoding="utf-8"))
