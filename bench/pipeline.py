"""The pipeline side of the benchmark: one full or one-week run of ``full_pipeline``, or dbt alone.

Each call is meant to run in its own process (the harness measures its wall time and peak memory):

    python -m bench.pipeline run  --inputs DIR --work DIR [--county 05] [--week YYYY-MM-DD]
    python -m bench.pipeline dbt  --inputs DIR --work DIR [--county 05] [--week YYYY-MM-DD | --full-refresh]

The pipeline reads the national inputs in place through the ordinary settings (LAGESBILD_SNAPSHOTS_DIR,
LAGESBILD_VERDICTS_PATH, LAGESBILD_POPULATION_DIR), writes under ``WORK/data`` and keeps its own Dagster
instance in ``WORK/dagster_home`` (the repo's dagster.yaml, SQLite storage: what ``make run`` uses).
The weekly partitions are set from the input's first and last capture week before orchestration is
imported. The last line printed is a JSON object with the outcome and the time per step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import InputPaths
from lagesbild.settings import DBT_PROJECT_DIR, PROJECT_ROOT

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def input_weeks(snapshots: Path) -> tuple[str, str]:
    """First and last week start (Monday, Stockholm time) of the capture files, from their names."""
    from lagesbild.sources.snapshots import FolderArchive

    refs = FolderArchive(snapshots).list_files()
    if not refs:
        raise FileNotFoundError(f"no snapshot files under {snapshots}")

    def monday(moment: datetime) -> str:
        local = moment.astimezone(STOCKHOLM).date()
        return (local - timedelta(days=local.weekday())).isoformat()

    return monday(refs[0].captured_at), monday(refs[-1].captured_at)


def population_dir(inputs: InputPaths) -> Path:
    """json-stat2 files built once from the synthetic population CSV (what the offline source reads)."""
    from lagesbild.sources.pxweb import build_offline_population

    target = inputs.root / "population_jsonstat"
    stamp = target / ".built"
    if not stamp.exists() or stamp.stat().st_mtime < inputs.population_csv.stat().st_mtime:
        build_offline_population(inputs.population_csv, target)
        stamp.touch()
    return target


def pipeline_env(inputs: InputPaths, work: Path, county: str) -> dict[str, str]:
    """The environment a bench run of the pipeline needs; paths absolute."""
    first, last = input_weeks(inputs.snapshots)
    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return {
        "LAGESBILD_DATA_DIR": str((work / "data").resolve()),
        "LAGESBILD_SNAPSHOTS_DIR": str(inputs.snapshots.resolve()),
        "LAGESBILD_VERDICTS_PATH": str(inputs.verdicts_csv.resolve()),
        # inputs the bench generated itself, maybe just now: nothing is being copied in
        "LAGESBILD_SNAPSHOT_SETTLE_SECONDS": "0",
        "LAGESBILD_VERDICT_SETTLE_SECONDS": "0",
        "LAGESBILD_POPULATION_DIR": str(population_dir(inputs).resolve()),
        "LAGESBILD_SOURCE_MODE": "demo",
        "LAGESBILD_COUNTY": county,
        "LAGESBILD_FIRST_WEEK": first,
        "LAGESBILD_LAST_WEEK": last,
        "DAGSTER_HOME": str(home.resolve()),
    }


def step_times(instance, run_id: str) -> dict[str, float]:
    """Seconds per step key, from the run's step start/success/failure events in the event log."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED") and event.step_key in started:
            seconds[event.step_key] = round(entry.timestamp - started[event.step_key], 3)
    return seconds


def run_pipeline_once(week: str | None) -> dict:
    """Run full_pipeline over every week (week=None) or one week, in this process."""
    import dagster as dg

    from orchestration.run_demo import run_pipeline

    started = time.perf_counter()
    instance = dg.DagsterInstance.get()
    result = run_pipeline(week, week, instance=instance)
    failures = [f"{e.step_key}: {e.message}"[:400] for e in result.all_events if e.is_failure]
    return {
        "success": bool(result.success),
        "seconds": round(time.perf_counter() - started, 3),
        "steps": step_times(instance, result.run_id),
        "failures": failures,
    }


def run_dbt(
    county: str, week: str | None, full_refresh: bool, work: Path, profiles_dir: Path | None = None
) -> dict:
    """``dbt build`` alone on the warehouse the pipeline built: one week incremental, or --full-refresh.

    The county and the week go through the environment, as the pipeline passes them
    (``orchestration.partitions.dbt_env_for_weeks``, not imported: it would import Dagster into a
    measurement of dbt alone), so dbt's partial parsing works across weeks.
    ``profiles_dir`` swaps the project's profile (e.g. to try another DuckDB memory limit)."""
    dbt_env = {
        "LAGESBILD_COUNTY": county,
        "LAGESBILD_DBT_WEEKS_FROM": week or "",
        "LAGESBILD_DBT_WEEKS_TO": week or "",
    }
    command = [
        str(Path(sys.executable).with_name("lagesbild-dbt")),
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(profiles_dir or DBT_PROJECT_DIR),
        "--target-path",
        str((work / "dbt_target").resolve()),
        "--log-path",
        str((work / "dbt_logs").resolve()),
        "--quiet",
    ]
    if full_refresh:
        command.append("--full-refresh")
    elif week:
        # as orchestration.assets.dbt.dbt_build_args: a run over some weeks skips the unit tests
        command += ["--exclude-resource-type", "unit_test"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, **dbt_env})
    return {
        "success": done.returncode == 0,
        "seconds": round(time.perf_counter() - started, 3),
        "env": dbt_env,
        "full_refresh": full_refresh,
        "failures": [] if done.returncode == 0 else [(done.stdout + done.stderr)[-2000:]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "dbt", "env"])
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--county", default="05")
    parser.add_argument("--week", help="one week start (Monday); default: every week")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--profiles-dir", type=Path, help="dbt profiles dir (default: the project's)")
    args = parser.parse_args(argv)
    inputs = InputPaths(args.inputs)
    inputs.check()
    env = pipeline_env(inputs, args.work, args.county)
    os.environ.update(env)  # before orchestration is imported: the partitions read it at import
    if args.mode == "env":
        outcome = env
    elif args.mode == "run":
        outcome = run_pipeline_once(args.week)
    else:
        outcome = run_dbt(args.county, args.week, args.full_refresh, args.work, args.profiles_dir)
    outcome["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(outcome))
    return 0 if outcome.get("success", True) else 1


if __name__ == "__main__":
    sys.exit(main())
