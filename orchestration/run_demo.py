"""`make run`: generate the demo inputs, materialise every asset with its checks, and publish.

Runs the ``full_pipeline`` job over every weekly partition in one run (the snapshot asset has a
single-run backfill policy), on the Dagster instance in ``DAGSTER_HOME`` so the run shows in the UI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from lagesbild.settings import REFERENCE_DIR


def prepare_demo_inputs(data_dir: Path, seed: int = 2024) -> dict:
    """Generate the deterministic demo (snapshots, verdict register) and the offline population files."""
    from lagesbild.demo.county import generate_demo
    from lagesbild.sources.pxweb import build_offline_population

    inputs = data_dir / "demo" / "inputs"
    summary = generate_demo(inputs, seed=seed)
    population_files = build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", inputs / "population")
    return {"demo": summary, "population_files": [p.name for p in population_files]}


def run_pipeline(first_week: str | None = None, last_week: str | None = None, instance=None):
    """Execute the full pipeline over a week range (default: every partition) in this process."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, WEEKLY

    keys = WEEKLY.get_partition_keys()
    tags = {RANGE_START_TAG: first_week or keys[0], RANGE_END_TAG: last_week or keys[-1]}
    instance = instance or dg.DagsterInstance.get()
    job = defs.resolve_job_def("full_pipeline")
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


def describe_latest(data_dir: Path) -> str:
    from lagesbild.publication import LocalFolderTarget, latest

    info = latest(LocalFolderTarget(data_dir / "publications"))
    if info is None:
        return "No publication was made."
    manifest = json.loads((Path(info.path) / "manifest.json").read_text(encoding="utf-8"))
    files = manifest.get("files", [])
    lines = [f"Publication {manifest['id']} at {info.path}", f"  {len(files)} files:"]
    for entry in files if isinstance(files, list) else [{"path": k, **v} for k, v in files.items()]:
        rows = entry.get("rows")
        lines.append(f"    {entry['path']}" + (f"  ({rows} rows)" if rows is not None else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only-inputs", action="store_true", help="generate the demo inputs and stop")
    parser.add_argument("--first-week", help="first week start (Monday, YYYY-MM-DD); default: all weeks")
    parser.add_argument("--last-week", help="last week start (Monday, YYYY-MM-DD)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("LAGESBILD_DATA_DIR", "data")).resolve()
    started = time.monotonic()
    prepared = prepare_demo_inputs(data_dir)
    print(f"Demo inputs in {data_dir / 'demo' / 'inputs'}: {prepared['demo']}")
    if args.only_inputs:
        return 0
    result = run_pipeline(args.first_week, args.last_week)
    failures = [e for e in result.all_events if e.is_failure]
    for event in failures:
        print(f"FAILED {event.step_key}: {event.message}", file=sys.stderr)
    print(describe_latest(data_dir))
    print(f"Pipeline {'succeeded' if result.success else 'FAILED'} in {time.monotonic() - started:.1f} s")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
