"""Shared session fixtures: what is expensive is made once per test run and only read by the tests.

- ``dbt_manifest``: one `dbt parse` (at test time, never at import).
- ``demo_template``: one generation of the county demo inputs (seed 2024) and the offline population
  files, laid out as ``<data_dir>/demo/inputs``. Tests that change inputs copy it (``copy_demo_inputs``).
- ``demo_run``: one full pipeline run over every week of the demo, shared by every test that only
  reads its results (the end-to-end tests, the alerts on the demo).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from lagesbild.fsutil import exclusive_lock
from lagesbild.settings import DBT_PROJECT_DIR

# Property tests (hypothesis): on a developer's machine each run draws new examples, which is how the
# disclosure checks' rare disagreements were found (each then pinned as an @example); in CI
# (``CI=true``, set by .ci/run) the examples are derived from each test's name, so a landing never
# depends on a draw. A failure prints the blob that reproduces it.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true") else "dev")

#: What a dbt parse reads: the manifest is stale when any of these is newer than it.
DBT_SOURCES = ("models", "macros", "seeds", "tests", "snapshots", "dbt_project.yml", "profiles.yml")


def _newest_dbt_source() -> float:
    newest = 0.0
    for name in DBT_SOURCES:
        path = DBT_PROJECT_DIR / name
        files = (
            [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file()) if path.exists() else []
        )
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory) -> Path:
    """The dbt manifest @dbt_assets loads: `dbt parse` at test time (never at import) unless the
    manifest is newer than every dbt source (``make test`` has just parsed). The parse runs under an
    exclusive lock, so parallel test workers never read a manifest another one is writing."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    with exclusive_lock(manifest.parent, folder=True):
        if not manifest.exists() or manifest.stat().st_mtime <= _newest_dbt_source():
            env = {**os.environ, "LAGESBILD_DATA_DIR": str(tmp_path_factory.mktemp("parse"))}
            dbt = Path(sys.executable).with_name("lagesbild-dbt")
            subprocess.run(
                [
                    str(dbt),
                    "parse",
                    "--quiet",
                    "--project-dir",
                    str(DBT_PROJECT_DIR),
                    "--profiles-dir",
                    str(DBT_PROJECT_DIR),
                ],
                check=True,
                env=env,
            )
    assert manifest.exists() and manifest.stat().st_mtime > _newest_dbt_source()
    return manifest


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A data dir holding only the generated demo inputs (``demo/inputs``). Read it, never write to it."""
    from orchestration.run_demo import prepare_demo_inputs

    data_dir = tmp_path_factory.mktemp("demo_template")
    prepare_demo_inputs(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def demo_inputs(demo_template) -> Path:
    """The county demo inputs folder (snapshots, verdict register, population, ground truth)."""
    return demo_template / "demo" / "inputs"


def copy_demo_inputs(template: Path, data_dir: Path) -> Path:
    shutil.copytree(template / "demo", data_dir / "demo")
    return data_dir / "demo" / "inputs"


@pytest.fixture
def demo_copy(demo_template):
    """``demo_copy(data_dir)`` gives ``data_dir`` its own copy of the demo inputs (for a test that
    changes them or runs the pipeline on them); returns the inputs folder."""
    return lambda data_dir: copy_demo_inputs(demo_template, Path(data_dir))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, dbt_manifest, demo_template):
    """The full pipeline over all 104 demo weeks, once per session."""
    import dagster as dg

    from orchestration.run_demo import run_pipeline

    data_dir = tmp_path_factory.mktemp("demo_data")
    copy_demo_inputs(demo_template, data_dir)
    previous = os.environ.get("LAGESBILD_DATA_DIR")
    os.environ["LAGESBILD_DATA_DIR"] = str(data_dir)  # the resource reads it when the run starts
    try:
        instance = dg.DagsterInstance.ephemeral()
        result = run_pipeline(instance=instance)
    finally:  # restored at once: the tests that follow must not inherit the demo's data dir
        if previous is None:
            os.environ.pop("LAGESBILD_DATA_DIR", None)
        else:
            os.environ["LAGESBILD_DATA_DIR"] = previous
    return DemoRun(data_dir, instance, result)


class DemoRun:
    def __init__(self, data_dir: Path, instance, result):
        self.data_dir = data_dir
        self.instance = instance
        self.result = result

    def mart(self, name: str, folder: str = "marts") -> pd.DataFrame:
        return pd.read_parquet(self.data_dir / folder / f"{name}.parquet")

    def publications(self) -> list[Path]:
        root = self.data_dir / "publications"
        return (
            sorted(
                p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
            )
            if root.exists()
            else []
        )

    def latest_manifest(self) -> dict:
        pointer = (self.data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
        return json.loads(
            (self.data_dir / "publications" / pointer / "manifest.json").read_text(encoding="utf-8")
        )


#: Session fixtures whose tests share one worker, so each is made once per test run (not once per
#: worker that happens to get one of its modules).
SHARED_FIXTURES = ("demo_run", "built_project")


def _xdist_group(item) -> str:
    names = getattr(item, "fixturenames", ())
    return next((f for f in SHARED_FIXTURES if f in names), item.nodeid.split("::")[0])


def pytest_itemcollected(item):
    """Groups for pytest-xdist (`--dist loadgroup`, see the Makefile): each test module runs on one
    worker, so its module fixtures are made once, and every test that reads the shared demo run (or
    the built dbt fixture project) is on the same worker, so it is made once per test run. Marked as each test is collected,
    before xdist reads the marks (in its own `pytest_collection_modifyitems`)."""
    item.add_marker(pytest.mark.xdist_group(_xdist_group(item)))


def pytest_collection_modifyitems(config, items):
    """Longest first, so no worker is left with a long group at the end while the other idles: the
    demo-run group, then every group holding a test marked slow (each runs the pipeline or dbt), then
    the rest, each in collection order (xdist hands out groups in the order of their first test)."""
    slow = {_xdist_group(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (_xdist_group(item) != "demo_run", _xdist_group(item) not in slow))
