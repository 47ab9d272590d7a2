"""`make bench ROWS=1000000`: the pipeline against its baselines, in one run on the same input files.

Generates (or reuses) national inputs under ``data/bench/<rows>/inputs`` and then measures, each part
in its own process so that one part's memory never counts for another:

1. ``pipeline_full``     the full_pipeline job over every week: ingest, dbt build, checks, publication
2. ``pipeline_week``     the same job for the last week only, on top of the full history
3. ``dbt_week``          ``dbt build`` alone for that week (window in LAGESBILD_DBT_WEEKS_FROM/_TO)
4. ``dbt_full_refresh``  ``dbt build --full-refresh`` alone (every week)
5. ``baseline_duckdb``   baseline B: bench/baseline_duckdb.sql straight from the raw files
6. ``baseline_pandas``   the naive pandas implementation

Wall time, CPU time (user + system) and peak memory (the largest sampled sum of the RSS of the process
and its children, and the kernel's max RSS of the largest single process) are printed with the ratios
the targets are stated in, the marts of the three implementations are compared, and everything is
written to ``bench/results/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.common import InputPaths
from lagesbild.settings import PROJECT_ROOT

BENCH_DIR = Path(__file__).resolve().parent
GENERATOR = PROJECT_ROOT / "lagesbild" / "demo" / "national.py"
STAMP = ".bench_inputs.json"
#: The performance targets (docs/bench.md), as ratios measured in the same run.
STARTUP_ALLOWANCE_S = 10.0
#: A weekly run's share of a full rebuild, and a weekly dbt run's share of a full refresh (issue 21).
WEEK_SHARE, DBT_WEEK_SHARE = 0.15, 0.1
TARGETS = {
    "full_vs_b": "pipeline_full <= 2 x baseline_duckdb + 10 s",
    "week_vs_full": f"pipeline_week <= {WEEK_SHARE} x pipeline_full",
    "dbt_week_vs_full_refresh": f"dbt_week <= {DBT_WEEK_SHARE} x dbt_full_refresh",
    "peak_memory": "pipeline_full peak memory <= 2 GB",
    "faster_than_pandas": "pipeline_full < baseline_pandas",
    "marts_equal": "pipeline, B and pandas marts equal",
}


@dataclass
class Measurement:
    name: str
    command: list[str]
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_tree_rss_mb: float = 0.0
    max_rss_mb: float = 0.0
    exit_code: int | None = None
    log: str = ""
    outcome: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def peak_mb(self) -> float:
        return max(self.peak_tree_rss_mb, self.max_rss_mb)


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        for proc in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += proc.memory_info().rss
    except psutil.NoSuchProcess:
        pass
    return total


def measure(name: str, command: list[str], log_dir: Path, env: dict | None = None) -> Measurement:
    """Run ``command`` in a child process; wall time, CPU time and peak memory of it and its children.

    ``os.wait4`` gives the child's own rusage (CPU and the max RSS of the largest process in its tree);
    a sampler thread adds up the RSS of the whole tree every 0.1 s (dbt runs as a grandchild beside the
    Dagster process, so their memory is held at the same time).
    """
    log_path = log_dir / f"{name}.log"
    result = Measurement(name=name, command=command, log=str(log_path))
    peak = 0
    done = threading.Event()
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT)
        watched = psutil.Process(child.pid)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(watched))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        result.wall_s = round(time.perf_counter() - started, 3)
        done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
    result.exit_code = child.returncode
    result.cpu_s = round(usage.ru_utime + usage.ru_stime, 3)
    result.max_rss_mb = round(usage.ru_maxrss / 1024, 1)  # Linux: kilobytes
    result.peak_tree_rss_mb = round(peak / 2**20, 1)
    result.outcome = _last_json_line(log_path)
    return result


def _last_json_line(path: Path) -> dict:
    for line in reversed(path.read_text(encoding="utf-8", errors="replace").splitlines()[-50:]):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return {}
    return {}


# ------------------------------------------------------------------------------------------ inputs
def generator_fingerprint() -> str:
    return hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:16]


def inputs_key(rows: int, seed: int, years: int) -> dict:
    return {"rows": rows, "seed": seed, "years": years, "generator": generator_fingerprint()}


def write_stamp(folder: Path, key: dict, summary: dict) -> None:
    (folder / STAMP).write_text(json.dumps({**key, "summary": summary}, indent=1), encoding="utf-8")


def ensure_inputs(root: Path, rows: int, seed: int, years: int) -> tuple[Path, dict]:
    """National inputs for (rows, seed, years) under ``root/<rows>/inputs``, generated only when needed."""
    folder = root / str(rows) / "inputs"
    key = inputs_key(rows, seed, years)
    stamp = folder / STAMP
    if stamp.exists():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if {k: recorded.get(k) for k in key} == key:
            return folder, recorded.get("summary", {})
    from lagesbild.demo.national import generate_national

    if folder.exists():
        shutil.rmtree(folder)
    print(f"generating {rows:,} national rows (seed {seed}, {years} years) into {folder} ...", flush=True)
    summary = generate_national(folder, seed=seed, target_rows=rows, years=years)
    info = {
        "files": summary.files,
        "rows": summary.rows,
        "bytes": summary.bytes,
        "seconds": round(summary.seconds, 1),
    }
    write_stamp(folder, key, info)
    return folder, info


# ------------------------------------------------------------------------------------------ the run
def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def run_benchmark(args: argparse.Namespace) -> dict:
    inputs_dir, input_info = ensure_inputs(Path(args.data_root), args.rows, args.seed, args.years)
    base = Path(args.data_root) / str(args.rows)
    work, out_b, out_pandas = base / "work", base / "baseline_duckdb", base / "baseline_pandas"
    logs = base / "logs"
    skip = set(args.skip or [])
    # pipeline_week, dbt_week and dbt_full_refresh run on the warehouse pipeline_full builds: without
    # pipeline_full they reuse the one the last run left, never an empty one (a week on nothing).
    on_history = {"pipeline_week", "dbt_week", "dbt_full_refresh"} - skip
    keep_work = "pipeline_full" in skip
    if keep_work and on_history and not (work / "data" / "warehouse" / "lagesbild.duckdb").exists():
        raise SystemExit(
            f"{', '.join(sorted(on_history))} need pipeline_full's warehouse under {work}: run without "
            "--skip pipeline_full first"
        )
    for folder, part in ((work, "pipeline_full"), (out_b, "baseline_duckdb"), (out_pandas, "baseline_pandas"), (logs, None)):
        if part is not None and part in skip:
            continue
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    from bench.pipeline import input_weeks

    first_week, last_week = input_weeks(InputPaths(inputs_dir).snapshots)
    common = ["--inputs", str(inputs_dir), "--work", str(work), "--county", args.county]
    plan = [
        ("pipeline_full", _python("bench.pipeline", "run", *common)),
        ("pipeline_week", _python("bench.pipeline", "run", *common, "--week", last_week)),
        ("dbt_week", _python("bench.pipeline", "dbt", *common, "--week", last_week)),
        ("dbt_full_refresh", _python("bench.pipeline", "dbt", *common, "--full-refresh")),
        (
            "baseline_duckdb",
            _python("bench.baseline_duckdb", str(inputs_dir), str(out_b), "--county", args.county),
        ),
        (
            "baseline_pandas",
            _python("bench.baseline_pandas", str(inputs_dir), str(out_pandas), "--county", args.county),
        ),
    ]
    load_before = os.getloadavg()
    measurements: dict[str, Measurement] = {}
    for name, command in plan:
        if name in skip:
            continue
        print(f"  {name} ...", end=" ", flush=True)
        measurements[name] = m = measure(name, command, logs)
        print(
            f"{m.wall_s:.1f} s, {m.peak_mb:.0f} MB{'' if m.ok else '  FAILED (see ' + m.log + ')'}",
            flush=True,
        )
    equality = compare_all(work / "data" / "marts", out_b, out_pandas, measurements)
    return {
        "started_at": args.started_at,
        "rows_requested": args.rows,
        "county": args.county,
        "weeks": [first_week, last_week],
        "inputs": {"dir": str(inputs_dir), **input_info},
        "machine": machine_info(load_before),
        "measurements": {name: {**asdict(m), "peak_mb": m.peak_mb} for name, m in measurements.items()},
        "marts_equal": equality,
        "ratios": ratios(measurements),
        "targets": targets(measurements, equality),
    }


def compare_all(pipeline: Path, out_b: Path, out_pandas: Path, measurements: dict) -> dict:
    from bench.compare import compare_marts

    result = {}
    pairs = {
        "pipeline_vs_b": (pipeline, out_b, "pipeline_full", "baseline_duckdb"),
        "pipeline_vs_pandas": (pipeline, out_pandas, "pipeline_full", "baseline_pandas"),
        "b_vs_pandas": (out_b, out_pandas, "baseline_duckdb", "baseline_pandas"),
    }
    for name, (ref, other, ref_part, other_part) in pairs.items():
        if not all(p in measurements and measurements[p].ok for p in (ref_part, other_part)):
            result[name] = None
            continue
        try:
            problems = compare_marts(ref, other)
        except (OSError, ValueError) as err:  # a mart file missing or without a column
            problems = [str(err)]
        result[name] = {"equal": not problems, "differences": problems[:20]}
    return result


def _wall(measurements: dict, name: str) -> float | None:
    m = measurements.get(name)
    return m.wall_s if m is not None and m.ok else None


def ratios(measurements: dict) -> dict:
    def ratio(a: str, b: str) -> float | None:
        x, y = _wall(measurements, a), _wall(measurements, b)
        return round(x / y, 3) if x is not None and y else None

    return {
        "pipeline_full / baseline_duckdb": ratio("pipeline_full", "baseline_duckdb"),
        "pipeline_week / pipeline_full": ratio("pipeline_week", "pipeline_full"),
        "dbt_week / dbt_full_refresh": ratio("dbt_week", "dbt_full_refresh"),
        "pipeline_full / baseline_pandas": ratio("pipeline_full", "baseline_pandas"),
    }


def targets(measurements: dict, equality: dict) -> dict:
    full, b = _wall(measurements, "pipeline_full"), _wall(measurements, "baseline_duckdb")
    week, dbt_week = _wall(measurements, "pipeline_week"), _wall(measurements, "dbt_week")
    dbt_full, pandas_ = _wall(measurements, "dbt_full_refresh"), _wall(measurements, "baseline_pandas")
    peak = measurements["pipeline_full"].peak_mb if "pipeline_full" in measurements else None

    def met(condition) -> bool | None:
        return None if condition is None else bool(condition)

    equal = [v["equal"] for v in equality.values() if v is not None]
    return {
        "full_vs_b": met(full <= 2 * b + STARTUP_ALLOWANCE_S if full is not None and b is not None else None),
        "week_vs_full": met(week <= WEEK_SHARE * full if week is not None and full else None),
        "dbt_week_vs_full_refresh": met(
            dbt_week <= DBT_WEEK_SHARE * dbt_full if dbt_week is not None and dbt_full else None
        ),
        "peak_memory": met(peak <= 2048 if peak is not None else None),
        "faster_than_pandas": met(full < pandas_ if full is not None and pandas_ is not None else None),
        "marts_equal": met(all(equal) if len(equal) == 3 else None),
    }


def machine_info(load_before: tuple[float, float, float]) -> dict:
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
            ).stdout.strip()
            or None
        )
    except OSError:
        commit = None
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
    }


# ------------------------------------------------------------------------------------------ report
def format_report(report: dict) -> str:
    lines = [
        f"lagesbild benchmark: {report['inputs'].get('rows', report['rows_requested']):,} snapshot rows, "
        f"county {report['county']}, weeks {report['weeks'][0]}..{report['weeks'][1]}, "
        f"load {report['machine']['load_before']} -> {report['machine']['load_after']}",
        "",
        f"{'part':<18} {'wall s':>9} {'cpu s':>9} {'peak MB':>9}  status",
    ]
    for name, m in report["measurements"].items():
        status = "ok" if m["exit_code"] == 0 else f"FAILED ({m['log']})"
        lines.append(f"{name:<18} {m['wall_s']:>9.1f} {m['cpu_s']:>9.1f} {m['peak_mb']:>9.0f}  {status}")
    lines += ["", "ratios (wall time):"]
    lines += [f"  {k:<34} {'-' if v is None else f'{v:.3f}'}" for k, v in report["ratios"].items()]
    lines += ["", "targets:"]
    for key, value in report["targets"].items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[value]
        lines.append(f"  {TARGETS[key]:<46} {verdict}")
    lines += ["", "marts equal:"]
    for key, value in report["marts_equal"].items():
        if value is None:
            lines.append(f"  {key:<22} not compared")
        else:
            lines.append(
                f"  {key:<22} {'yes' if value['equal'] else 'NO: ' + '; '.join(value['differences'][:3])}"
            )
    steps = report["measurements"].get("pipeline_full", {}).get("outcome", {}).get("steps", {})
    if steps:
        top = sorted(steps.items(), key=lambda kv: -kv[1])[:8]
        lines += ["", "pipeline_full, slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="snapshot rows to generate (default 1,000,000)"
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--county", default="05", help="county the marts are built for (00 = national mode)")
    parser.add_argument("--data-root", default=str(PROJECT_ROOT / "data" / "bench"))
    parser.add_argument("--results", default=str(BENCH_DIR / "results"))
    parser.add_argument(
        "--skip",
        nargs="*",
        choices=[
            "pipeline_full",
            "pipeline_week",
            "dbt_week",
            "dbt_full_refresh",
            "baseline_duckdb",
            "baseline_pandas",
        ],
        help="parts not to run (the ratios that need them are left out)",
    )
    args = parser.parse_args(argv)
    args.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    report = run_benchmark(args)
    text = format_report(report)
    print("\n" + text)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    target = results / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}_{args.rows}.json"
    target.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    print(f"\nwritten {target}")
    failed = [n for n, m in report["measurements"].items() if m["exit_code"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
