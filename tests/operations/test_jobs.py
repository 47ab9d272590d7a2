"""The jobs' slices, wired with the schedules and sensors, on stand-in assets with the real asset keys.

The slices select by asset key, so stand-ins with the pipeline's shape (three raw sources, a weekly mart, a
yearly mart on all three, a publication) show what each job materialises without needing dbt.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.jobs import SNAPSHOTS_KEY, VERDICTS_KEY, jobs
from orchestration.partitions import WEEKLY
from orchestration.resources import LagesbildResource
from orchestration.schedules import schedules, weekly_snapshots_schedule
from orchestration.sensors import sensors


# Like the real sources: rows, file list and quarantine come from one multi-asset that cannot be split.
@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "ad_snapshots"], partitions_def=WEEKLY),
        dg.AssetSpec(["raw", "snapshot_files"], partitions_def=WEEKLY),
    ],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def snapshots(context: dg.AssetExecutionContext):
    context.log.info(f"weeks {context.partition_key_range}")
    yield dg.MaterializeResult(asset_key=["raw", "ad_snapshots"])
    yield dg.MaterializeResult(asset_key=["raw", "snapshot_files"])


@dg.multi_asset(specs=[dg.AssetSpec(["raw", "verdicts"]), dg.AssetSpec(["raw", "quarantine_verdicts"])])
def verdicts():
    yield dg.MaterializeResult(asset_key=["raw", "verdicts"])
    yield dg.MaterializeResult(asset_key=["raw", "quarantine_verdicts"])


@dg.asset(key=["raw", "population"])
def population() -> None: ...


@dg.asset(deps=[SNAPSHOTS_KEY])
def mart_prevalence_weekly() -> None: ...


@dg.asset(deps=[mart_prevalence_weekly, population])
def mart_prevalence_yearly() -> None: ...


@dg.asset(deps=[VERDICTS_KEY, population])
def mart_demand_yearly() -> None: ...


@dg.asset(deps=[mart_prevalence_yearly, mart_demand_yearly])
def publication() -> None: ...


@dg.asset_check(asset=publication, blocking=True)
def publication_is_complete() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


STAND_INS = [
    snapshots,
    verdicts,
    population,
    mart_prevalence_weekly,
    mart_prevalence_yearly,
    mart_demand_yearly,
    publication,
]


def _defs(tmp_path) -> dg.Definitions:
    return dg.Definitions(
        assets=STAND_INS,
        asset_checks=[publication_is_complete],
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
    )


def _materialised(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_definitions_hold_the_jobs_schedules_and_sensors(tmp_path):
    defs = _defs(tmp_path)
    repo = defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {
        "full_pipeline",
        "weekly_snapshots",
        "verdicts_refresh",
        "population_refresh",
    }
    assert {s.name for s in repo.schedule_defs} == {
        "weekly_snapshots_schedule",
        "population_monthly_schedule",
    }
    assert {s.name for s in repo.sensor_defs} == {"verdict_inbox_sensor", "run_failure_alert_sensor"}
    assert repo.get_sensor_def("run_failure_alert_sensor").default_status == dg.DefaultSensorStatus.RUNNING


def test_launched_runs_queue_one_at_a_time_per_data_dir(tmp_path):
    """Every job carries its data dir as a tag, and the repo's dagster.yaml lets one run per value out
    of the queue: a sensor's or a backfill's run on the same data dir waits QUEUED (the run lock covers
    runs that bypass the queue, tests/operations/test_concurrency.py)."""
    from lagesbild.settings import Settings
    from orchestration.resources import DATA_DIR_TAG
    from tests.dagster_home import opened, project_home

    data_dir = str(Settings.from_env().data_dir.resolve())
    assert {job.name: job.tags.get(DATA_DIR_TAG) for job in jobs} == {job.name: data_dir for job in jobs}
    with opened(project_home(tmp_path / "home")) as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": DATA_DIR_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits


def test_monday_tick_runs_the_week_and_everything_downstream_but_no_other_source(tmp_path):
    defs = _defs(tmp_path)
    tick = datetime(2024, 4, 1, 6, tzinfo=ZoneInfo("Europe/Stockholm"))
    (request,) = weekly_snapshots_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)
    ).run_requests
    job = defs.resolve_job_def("weekly_snapshots")
    result = job.execute_in_process(
        partition_key=request.partition_key, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert _materialised(result) == {
        "raw/ad_snapshots",
        "raw/snapshot_files",
        "mart_prevalence_weekly",
        "mart_prevalence_yearly",
        "publication",
    }
    snapshot_events = [e for e in result.get_asset_materialization_events() if e.asset_key == SNAPSHOTS_KEY]
    assert [e.partition for e in snapshot_events] == ["2024-03-25"]
    checks = [e.check_name for e in result.get_asset_check_evaluations()]
    assert checks == ["publication_is_complete"]


def test_verdict_and_population_jobs_never_touch_the_snapshots(tmp_path):
    defs = _defs(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    expected = {
        "verdicts_refresh": {"raw/verdicts", "raw/quarantine_verdicts", "mart_demand_yearly", "publication"},
        "population_refresh": {
            "raw/population",
            "mart_prevalence_yearly",
            "mart_demand_yearly",
            "publication",
        },
    }
    for job_name, assets in expected.items():
        run = defs.resolve_job_def(job_name).execute_in_process(instance=instance)
        assert _materialised(run) == assets, job_name


def test_backfill_of_all_weeks_is_one_run_with_the_single_run_policy(tmp_path):
    """What `dagster job backfill`/the UI do for 104 weeks: one run over the partition range, not 104 runs."""
    defs = _defs(tmp_path)
    keys = WEEKLY.get_partition_keys()
    job = defs.resolve_job_def("full_pipeline")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )
    assert result.success
    weeks = {e.partition for e in result.get_asset_materialization_events() if e.asset_key == SNAPSHOTS_KEY}
    assert weeks == set(keys) and len(keys) == 104


def test_the_real_definitions_slice_by_source(dbt_manifest):
    """On the real graph: the weekly job never re-reads verdicts or population, the others never snapshots."""
    from orchestration.definitions import defs  # needs the manifest: imported inside the test

    def keys(job_name: str) -> set[str]:
        job = defs.resolve_job_def(job_name)
        return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}

    everything = keys("full_pipeline")
    weekly, verdict_keys, population_keys = (
        keys("weekly_snapshots"),
        keys("verdicts_refresh"),
        keys("population_refresh"),
    )
    assert {"raw/ad_snapshots", "raw/verdicts", "raw/population", "publication"} <= everything
    assert "raw/ad_snapshots" in weekly and "publication" in weekly and "mart_prevalence_weekly" in weekly
    assert not {"raw/verdicts", "raw/population"} & weekly
    assert "raw/verdicts" in verdict_keys and "publication" in verdict_keys
    assert not {"raw/ad_snapshots", "raw/population"} & verdict_keys
    assert "raw/population" in population_keys and "publication" in population_keys
    assert not {"raw/ad_snapshots", "raw/verdicts"} & population_keys
    assert defs.resolve_job_def("weekly_snapshots").partitions_def is not None
    warehouse_writers = [
        a.op.name for a in defs.assets if getattr(getattr(a, "op", None), "pool", None) == "warehouse_writer"
    ]
    assert warehouse_writers, "the dbt asset must be in the warehouse_writer pool"
