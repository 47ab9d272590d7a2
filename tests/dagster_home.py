"""A Dagster instance folder with the project's dagster.yaml, opened as Dagster's CLI, UI and daemon
open it: from DAGSTER_HOME (importable from every test folder: tests/ is on sys.path)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from lagesbild.settings import PROJECT_ROOT


def project_home(home: Path) -> Path:
    """``home`` with a copy of the project's dagster.yaml (the queue, the pool, the event log)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


@contextmanager
def opened(home: Path) -> Iterator[dg.DagsterInstance]:
    """The instance of ``home``, with DAGSTER_HOME pointing at it while it is open: dagster.yaml names
    the event log's folder through DAGSTER_HOME, as every Dagster process on a machine reads it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            yield instance
