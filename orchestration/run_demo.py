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


def prepare_demo_inputs(data_dir: Path, seed: int = 2024, county_code: str | None = None) -> dict:
    """Generate the deterministic demo (snapshots, verdict register) and the offline population files
    for the county (default: LAGESBILD_COUNTY, 05; '00' is the whole country)."""
    from lagesbild.demo.county import generate_demo
    from lagesbild.settings import Settings
    from lagesbild.sources.pxweb import build_offline_population
    from lagesbild.sources.reference import OFFLINE_POPULATION_LABEL, offline_population_reference

    county_code = county_code or Settings.from_env().county_code
    inputs = data_dir / "demo" / "inputs"
    summary = generate_demo(inputs, seed=seed, county_code=county_code)
    population_dir = inputs / "population"
    for stale in population_dir.glob("*.json"):  # another county's files must not linger
        stale.unlink()
    population_files = build_offline_population(
        offline_population_reference(county_code), population_dir, label=OFFLINE_POPULATION_LABEL
    )
    return {"demo": summary, "population_files": [p.name for p in population_files]}


def accept_offline_population(county_code: str) -> str | None:
    """The demo's population is the offline default: for every county but Östergötland it is from
    31 Dec 2019, older than the population_current gate allows. Downgrade that one gate to a warning
    for this process (LAGESBILD_QUALITY_WARN_ONLY), so the run publishes and its quality report and
    the marts' population_source say the figures are the 2019 offline default. Returns the notice."""
    if county_code == "05":
        return None
    current = [n for n in os.environ.get("LAGESBILD_QUALITY_WARN_ONLY", "").split(",") if n.strip()]
    if "population_current" not in current:
        os.environ["LAGESBILD_QUALITY_WARN_ONLY"] = ",".join([*current, "population_current"])
    return (
        f"County {county_code}: population is the offline default (Statistics Sweden, 31 Dec 2019, by sex); "
        "population_current reports it as a warning and population_source on the marts names it."
    )


def run_pipeline(
    first_week: str | None = None, last_week: str | None = None, instance=None, log_level: str = "INFO"
):
    """Execute the full pipeline over a week range (default: every partition) in this process."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, WEEKLY

    keys = WEEKLY.get_partition_keys()
    tags = {RANGE_START_TAG: first_week or keys[0], RANGE_END_TAG: last_week or keys[-1]}
    instance = instance or dg.DagsterInstance.get()
    job = defs.resolve_job_def("full_pipeline")
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    return job.execute_in_process(run_config=run_config, instance=instance, tags=tags, raise_on_error=False)


def describe_latest(data_dir: Path) -> str:
    from lagesbild.publication import LocalFolderTarget, latest

    info = latest(LocalFolderTarget(data_dir / "publications"))
    if info is None:
        return "No publication was made."
    manifest = json.loads((Path(info.path) / "manifest.json").read_text(encoding="utf-8"))
    files = manifest["files"]
    quality = manifest.get("quality", {})
    lines = [
        f"Publication {manifest['id']} (model {manifest.get('model_version')}) at {info.path}",
        f"  quality: {len(quality.get('checks', []))} checks, {quality.get('blocking_failures', 0)} blocking failures"
        " (quality/index.html)",
        f"  {len(files)} files, sha256 and schema of each in manifest.json:",
    ]
    for path, entry in sorted(files.items()):
        if path.startswith("county/"):
            lines.append(f"    {path}  ({entry.get('rows')} rows)")
    municipalities = sorted({p.split("/")[1] for p in files if p.startswith("municipalities/")})
    per_municipality = (
        sum(p.startswith(f"municipalities/{municipalities[0]}/") for p in files) if municipalities else 0
    )
    lines.append(
        f"    municipalities/<code>/  {per_municipality} marts each for {len(municipalities)} municipalities "
        f"({', '.join(municipalities)})"
    )
    reports = sorted(p for p in files if p.startswith("reports/"))
    lines.append(
        f"    reports/  {len(reports)} situation-picture reports ({reports[0]} ... {reports[-1]})"
        if reports
        else ""
    )
    return "\n".join(line for line in lines if line)


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
    notice = accept_offline_population(os.environ.get("LAGESBILD_COUNTY", "05"))
    if notice:
        print(notice)
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
