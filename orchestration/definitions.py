"""The one Definitions of lagesbild. It only assembles: every part lives in its own module."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.alerts import alert_assets
from orchestration.assets.dbt import build_dbt_assets, dbt_resource
from orchestration.assets.publication import publication_assets
from orchestration.assets.sources import source_assets
from orchestration.checks import all_asset_checks
from orchestration.jobs import job_executor, jobs
from orchestration.resources import LagesbildResource
from orchestration.schedules import schedules
from orchestration.sensors import sensors

defs = dg.Definitions(
    assets=[*source_assets, build_dbt_assets(), *publication_assets, *alert_assets],
    asset_checks=all_asset_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    # Materialisations launched from the asset graph run in process too (LAGESBILD_EXECUTOR).
    executor=job_executor(),
    resources={
        # Data dir and county from LAGESBILD_DATA_DIR / LAGESBILD_COUNTY when each run starts.
        "lagesbild": LagesbildResource(),
        "dbt": dbt_resource(),
    },
)
