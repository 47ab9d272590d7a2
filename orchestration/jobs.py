"""Jobs: the whole pipeline, and the three slices the schedules and the verdict sensor launch.

Each source has its own cadence, so each has its own job: the ad snapshots every week (schedule), the
verdict register when a new file lands (sensor), the population when Statistics Sweden publishes
(a monthly schedule). A slice is its source and everything downstream of it, with their checks, so a
weekly run never re-reads the verdict register or refetches the population. Selections are by asset key
only (a raw multi-asset brings its siblings along): they resolve against whatever dbt models exist
when the definitions load.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from lagesbild.settings import Settings
from orchestration.partitions import WEEKLY
from orchestration.resources import DATA_DIR_TAG

SNAPSHOTS_KEY = dg.AssetKey(["raw", "ad_snapshots"])
VERDICTS_KEY = dg.AssetKey(["raw", "verdicts"])
POPULATION_KEY = dg.AssetKey(["raw", "population"])


def _source(key: dg.AssetKey) -> dg.AssetSelection:
    """A raw asset and whatever its multi-asset materialises with it (rows, file list, quarantine)."""
    return dg.AssetSelection.assets(key).required_multi_asset_neighbors()


def job_executor() -> dg.ExecutorDefinition | None:
    """The executor of these jobs: in-process unless ``LAGESBILD_EXECUTOR=default``.

    On one machine the steps are short and mostly sequential (dbt is one step), while the default
    multiprocess executor starts a Python process per step that loads the whole code location again:
    measured on the demo, a launched 104-week run took 45 s in process and over 5 minutes with a process
    per step. Pools and retries work the same in process. A cluster deployment sets
    ``LAGESBILD_EXECUTOR=default`` so the jobs use the Definitions' executor (Kubernetes or Celery).
    """
    return dg.in_process_executor if Settings.from_env().executor == "in_process" else None


_EXECUTOR = job_executor()
#: One run at a time per data dir (dagster.yaml's run queue limits this tag per value): launched runs
#: wait QUEUED while another run of the same data dir runs. Runs that bypass the queue wait for the
#: data dir's run lock instead (``LagesbildResource``).
_TAGS = {DATA_DIR_TAG: str(Path(Settings.from_env().data_dir).resolve())}
_SNAPSHOTS = _source(SNAPSHOTS_KEY)
_VERDICTS = _source(VERDICTS_KEY)
_POPULATION = _source(POPULATION_KEY)

#: Everything from the raw sources to the publication and the restricted alerts, with their checks.
full_pipeline = dg.define_asset_job(
    "full_pipeline",
    executor_def=_EXECUTOR,
    tags=_TAGS,
    selection=dg.AssetSelection.all(),
    partitions_def=WEEKLY,
    description="Ingest the selected weeks, rebuild the marts incrementally, check, publish.",
)

#: One week of ad snapshots and everything downstream (what the Monday schedule runs).
weekly_job = dg.define_asset_job(
    "weekly_snapshots",
    executor_def=_EXECUTOR,
    tags=_TAGS,
    selection=_SNAPSHOTS.downstream(),
    partitions_def=WEEKLY,
    description=(
        "Ingest one week of ad snapshots and rebuild what depends on it (incremental dbt models for that "
        "week, yearly marts, checks, publication, alerts). Verdicts and population are not re-read."
    ),
)

#: The verdict register and everything downstream, never the snapshot asset (what the inbox sensor runs).
verdicts_job = dg.define_asset_job(
    "verdicts_refresh",
    executor_def=_EXECUTOR,
    tags=_TAGS,
    selection=_VERDICTS.downstream() - _SNAPSHOTS,
    description="Re-read the verdict register (new or changed file in the inbox) and rebuild what depends on it.",
)

#: Population and everything downstream, never the snapshot asset (the population schedule runs it).
population_job = dg.define_asset_job(
    "population_refresh",
    executor_def=_EXECUTOR,
    tags=_TAGS,
    selection=_POPULATION.downstream() - _SNAPSHOTS,
    description=(
        "Refetch the population from Statistics Sweden (yearly figures) and rebuild what depends on it."
    ),
)

jobs = [full_pipeline, weekly_job, verdicts_job, population_job]
