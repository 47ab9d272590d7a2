"""Shared fixtures. The dbt manifest is built once per session (at test time, never at import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lagesbild.settings import DBT_PROJECT_DIR


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory) -> Path:
    """Run `dbt parse` once so @dbt_assets can load; returns the manifest path."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    env = {**os.environ, "LAGESBILD_DATA_DIR": str(tmp_path_factory.mktemp("parse"))}
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        check=True,
        env=env,
    )
    assert manifest.exists()
    return manifest
