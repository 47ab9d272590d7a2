"""The dbt project as Dagster assets.

``DbtProject`` and ``@dbt_assets`` are built in cached factories, so importing this module needs no
manifest; the manifest is built at build/test time (``make manifest``), never with ``dbt parse`` at import.
After a successful ``dbt build`` the marts (and the one restricted intermediate) are exported to Parquet,
so checks, disclosure, reports and alerts read files, never the DuckDB file dbt may be writing.
"""

import contextlib
import functools
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from lagesbild.settings import DBT_PROJECT_DIR
from lagesbild.warehouse import PARQUET_WRITE_OPTIONS, connect, copy_query_to_parquet_atomic, writer_lock
from lagesbild.weekly_export import export_by_week
from orchestration.dbt_command import WAREHOUSE_ENV
from orchestration.partitions import dbt_env_for_weeks, week_range_from_tags
from orchestration.resources import LagesbildResource

#: A run tagged with this (any value but "false") rebuilds incremental models from scratch.
FULL_REFRESH_TAG = "lagesbild/full_refresh"
#: Models exported to Parquet after each build, and the folder under the data dir they go to.
RESTRICTED_EXPORTS = {"int_ad_observations": "intermediate"}
#: The columns of an export when not all (docs/architecture.md, "Intermediate exported for restricted
#: use"): the free-text location and the file name stay in the warehouse, and 10M rows export in a
#: fraction of the time.
EXPORT_COLUMNS = {
    "int_ad_observations": (
        "site",
        "ad_id",
        "week_start",
        "captured_at",
        "posted_at",
        "phone_key",
        "advertiser_key",
        "stated_age",
        "category",
        "municipality_code",
        "location_status",
    ),
}
#: Exported one file per week, rewriting only the weeks that changed (lagesbild/weekly_export.py):
#: a weekly run would otherwise rewrite every row of the history.
WEEKLY_EXPORTS = frozenset({"int_ad_observations"})
WAREHOUSE_POOL = "warehouse_writer"


class LagesbildDbtTranslator(DagsterDbtTranslator):
    """Groups models by layer and seeds as ``reference``. Sources keep dagster-dbt's default key
    (``raw/<table>`` for source ``raw``), which is the key of the raw Python asset that writes them."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            fqn = dbt_resource_props.get("fqn", [])
            return fqn[1] if len(fqn) > 2 else "models"
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        return super().get_group_name(dbt_resource_props)


@functools.cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def export_target(model_name: str) -> str | None:
    """Where a model's export goes under the data dir, or None if the model is not exported."""
    if model_name.startswith("mart_"):
        return "marts"
    return RESTRICTED_EXPORTS.get(model_name)


def export_models(lagesbild: LagesbildResource, model_names: list[str]) -> dict[str, int]:
    """Copy the given models from the warehouse to Parquet (written aside, verified, renamed)."""
    exported: dict[str, int] = {}
    warehouse = lagesbild.path("warehouse", "lagesbild.duckdb")
    with connect(warehouse, read_only=True) as con:
        for name in sorted(model_names):
            folder = export_target(name)
            if folder is None:
                continue
            if name in WEEKLY_EXPORTS:
                done = export_by_week(
                    con, f"main.{name}", EXPORT_COLUMNS[name], lagesbild.path(folder, name), PARQUET_WRITE_OPTIONS
                )
                # The single file earlier versions wrote: readers refuse both layouts side by side.
                lagesbild.path(folder, f"{name}.parquet").unlink(missing_ok=True)
                exported[name] = done.rows
                continue
            columns = ", ".join(EXPORT_COLUMNS.get(name, ("*",)))
            query = f"select {columns} from main.{name} order by all"  # a defined row order
            exported[name] = copy_query_to_parquet_atomic(
                con, query, lagesbild.path(folder, f"{name}.parquet")
            )
    return exported


#: Skipped in runs over a subset of weeks: unit tests check the SQL on fixed inputs, never the
#: data, and a new week changes no SQL. Full runs, --full-refresh and the test suite run them.
WEEKLY_EXCLUDE = ["--exclude-resource-type", "unit_test"]


def dbt_build_args(run_tags: Mapping[str, str]) -> list[str]:
    """The dbt command for a run: --full-refresh when the run asks for it; a run over some weeks
    skips the unit tests. No --vars: the county and the weeks go through the environment
    (``dbt_build_env``), so partial parsing survives a new week."""
    if run_tags.get(FULL_REFRESH_TAG, "false").lower() not in ("", "false", "0", "no"):
        return ["build", "--full-refresh"]
    if week_range_from_tags(run_tags) is not None:
        return ["build", *WEEKLY_EXCLUDE]
    return ["build"]


def dbt_build_env(run_tags: Mapping[str, str], county_code: str) -> dict[str, str]:
    """The environment variables dbt reads the run's county and week window from."""
    return dbt_env_for_weeks(week_range_from_tags(run_tags), county_code)


def dbt_target_path(lagesbild: LagesbildResource) -> Path:
    """dbt's target folder for this data dir, kept from run to run (runs on a warehouse are serial).

    dbt keeps its parse (``partial_parse.msgpack``) there. The first run here starts from the parse
    ``make manifest`` saved (dagster-dbt copies it; the profile does not depend on the data dir, see
    orchestration/dbt_command.py); later runs from their own, with what changed since re-parsed.
    """
    return lagesbild.path("dbt_target")


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block (dagster-dbt starts dbt with this process's
    environment), then restore what was there before."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@functools.cache
def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()
    if not project.manifest_path.exists():
        raise FileNotFoundError(
            f"dbt manifest not found at {project.manifest_path}: run `make manifest` "
            "(dbt parse at build time) before loading the definitions."
        )

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=LagesbildDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=False)
        ),
        name="lagesbild_dbt",
        pool=WAREHOUSE_POOL,
        # One run for a whole week range, so `dagster asset materialize --partition-range` is one run.
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def lagesbild_dbt(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, lagesbild: LagesbildResource
    ) -> Iterator[Any]:
        # profiles.yml reads the data dir from the environment; the resource owns the path.
        os.environ["LAGESBILD_DATA_DIR"] = str(lagesbild.root)
        args = dbt_build_args(context.run.tags)
        # The warehouse variable too: dagster-dbt loads the profile in this process as well (its adapter).
        env = {**dbt_build_env(context.run.tags, lagesbild.county_code), **WAREHOUSE_ENV}
        # The pool queues this step; the lock makes the single writer certain (see writer_lock).
        with writer_lock(lagesbild.path("warehouse")):
            context.log.info(f"dbt {' '.join(args)} with {env}")
            with environment(env):
                events: list = []
                try:
                    events.extend(
                        dbt.cli(args, context=context, target_path=dbt_target_path(lagesbild)).stream()
                    )
                finally:  # what dbt built is reported even when a test failed (dbt keeps the model)
                    yield from with_table_metadata(context, lagesbild, events)
            selected = [key.path[-1] for key in context.selected_asset_keys]
            exported = export_models(lagesbild, selected)
        context.log.info(f"exported to Parquet: {exported}")

    return lagesbild_dbt


def with_table_metadata(context, lagesbild: LagesbildResource, events: list) -> Iterator[Any]:
    """dbt's events, each model's with its row count and column schema (warehouse types, YAML docs).

    Read after dbt has exited: DuckDB has one writer and dbt holds the file while it builds, so the
    events are held until then (seconds) instead of querying a locked file per model.
    """
    from orchestration.metadata import attach, warehouse_metadata

    def model_of(event) -> str | None:
        if isinstance(event, dg.AssetMaterialization):
            return event.asset_key.path[-1]
        if isinstance(event, dg.Output):
            with contextlib.suppress(Exception):
                return context.asset_key_for_output(event.output_name).path[-1]
        return None

    names = [name for e in events if (name := model_of(e))]
    try:
        found = warehouse_metadata(lagesbild.path("warehouse", "lagesbild.duckdb"), names)
    except Exception as exc:  # noqa: BLE001 - metadata must never fail the build
        context.log.warning(f"row counts not read: {type(exc).__name__}: {exc}")
        found = {}
    for event in events:
        name = model_of(event)
        yield attach(event, found.get(name)) if name else event


def dbt_resource() -> DbtCliResource:
    # The venv's dbt (as `lagesbild-dbt`, orchestration/dbt_command.py), not whatever is first on PATH.
    executable = Path(sys.executable).with_name("lagesbild-dbt")
    return DbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=os.fspath(DBT_PROJECT_DIR),
        dbt_executable=os.fspath(executable),
    )
