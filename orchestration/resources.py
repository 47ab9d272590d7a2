"""Dagster resources. ``LagesbildResource`` owns every path the pipeline reads or writes."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from lagesbild.fsutil import exclusive_lock
from lagesbild.settings import Settings, SettingsError

#: The run lock's file in the data dir (``LagesbildResource.setup_for_execution``).
RUN_LOCK = ".run.lock"
#: The run tag the jobs carry (the data dir), limited to one run per value by dagster.yaml's run queue.
DATA_DIR_TAG = "lagesbild/data_dir"


class LagesbildResource(dg.ConfigurableResource):
    """Where the data lives and which county this deployment serves.

    Everything else (keys, endpoints, thresholds) comes from ``LAGESBILD_*`` environment variables via
    :class:`lagesbild.settings.Settings`; ``data_dir`` overrides the environment when set.

    One run at a time per data dir: the runs share the working files (``marts/``, ``disclosed/``, the
    raw partitions), so a run holds the data dir's run lock from its start to its end (see
    ``setup_for_execution``). A second run on the same data dir waits for the first to finish.
    """

    #: Unset: ``LAGESBILD_DATA_DIR`` (default ``data``) read when a run starts, not when the code loads.
    data_dir: str | None = None
    _run_lock: contextlib.ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Check the whole configuration when a run starts, before its first step: a wrong setting
        fails the run in seconds with one message naming the variable, and is never retried.

        Then take the data dir's run lock for the whole run (in-process execution, where the
        resource is set up once per run): a publication must hold the marts its own run built and
        checked, and a concurrent run on the same data dir (a sensor's verdict refresh beside the
        weekly run, a backfill beside the schedule) rewrote ``marts/`` and ``disclosed/`` between one
        run's checks and its publication. Launched runs also queue per data dir (dagster.yaml, tag
        ``lagesbild/data_dir``); this lock covers runs that bypass the queue (``make run``,
        ``dagster job execute``, materialisations from the asset graph, tests)."""
        if context.dagster_run is None:
            return  # a sensor or schedule tick: they report their own SkipReason
        try:
            self.settings.check()
        except SettingsError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        if Settings.from_env().executor == "in_process":
            self._run_lock = hold_run_lock(self.root, f"run {context.dagster_run.run_id}", context.log)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    @property
    def settings(self) -> Settings:
        return replace(Settings.from_env(), data_dir=self.root, county_code=self.county_code)

    @property
    def county_code(self) -> str:
        """``LAGESBILD_COUNTY`` (default ``05``), read when a run starts."""
        return Settings.from_env().county_code

    @property
    def root(self) -> Path:
        return Path(self.data_dir or Settings.from_env().data_dir).resolve()

    def path(self, *parts: str) -> Path:
        """A path under the data dir; the only way assets and checks build paths."""
        return self.root.joinpath(*parts)


def hold_run_lock(root: Path, holder: str, log=None) -> contextlib.ExitStack:
    """Take the exclusive run lock of data dir ``root`` (``fsutil.exclusive_lock`` on
    ``<root>/.run.lock``, released by the kernel however its holder ends) and write ``holder`` (e.g.
    ``run <id>``) into it; wait, saying for whom, while another holds it. Close the returned stack to
    release it."""
    path = root / RUN_LOCK
    stack = contextlib.ExitStack()
    try:
        try:
            stack.enter_context(exclusive_lock(path, wait=False))
        except BlockingIOError:
            other = path.read_text(encoding="utf-8", errors="replace").strip() or "another run"
            if log is not None:
                log.info(f"waiting for {other} to finish: one run at a time on data dir {root}")
            stack.enter_context(exclusive_lock(path))
        with open(path, "r+", encoding="utf-8") as fh:  # the same file: the lock stays on it
            fh.truncate()
            fh.write(f"{holder} (pid {os.getpid()})\n")
    except BaseException:
        stack.close()
        raise
    return stack
