"""Where the snapshot ingest spends its time, and what a phone-normalisation cache saves.

``python -m bench.profile_ingest INPUTS [--weeks 26] [--profile]`` ingests the first N weeks of a
national folder with ``lagesbild.sources.snapshots.ingest_week`` twice in one process: as it is, and
with ``normalise_phone`` memoised per written form (functools.lru_cache, what the proposal in
docs/bench.md adds to snapshots.py). It prints CPU seconds per 100k lines for both and checks that the
rows are identical. ``--profile`` prints the cProfile top functions of the uncached run.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench.common import InputPaths
from bench.pipeline import input_weeks
from lagesbild.settings import DEMO_PSEUDONYM_KEY
from lagesbild.sources import snapshots


def ingest_weeks(archive, weeks) -> tuple[float, float, list]:
    """(CPU seconds, wall seconds, results) for ingesting ``weeks`` one after the other."""
    cpu, wall = time.process_time(), time.perf_counter()
    results = [snapshots.ingest_week(archive, week, DEMO_PSEUDONYM_KEY.encode()) for week in weeks]
    return time.process_time() - cpu, time.perf_counter() - wall, results


def compare(inputs: Path, n_weeks: int, profile: bool) -> dict:
    first, _ = input_weeks(InputPaths(inputs).snapshots)
    start = snapshots.date.fromisoformat(first)
    weeks = [start + timedelta(weeks=i) for i in range(n_weeks)]
    archive = snapshots.FolderArchive(InputPaths(inputs).snapshots)
    original = snapshots.normalise_phone
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    cpu_plain, wall_plain, plain = ingest_weeks(archive, weeks)
    if profiler:
        profiler.disable()
    cached_fn = functools.lru_cache(maxsize=1 << 20)(original)
    snapshots.normalise_phone = cached_fn
    try:
        cpu_cached, wall_cached, cached = ingest_weeks(archive, weeks)
    finally:
        snapshots.normalise_phone = original
    lines = sum(len(r.rows) + len(r.quarantine) for r in plain)
    same = all(a.rows.equals(b.rows) and a.quarantine.equals(b.quarantine) for a, b in zip(plain, cached, strict=True))
    info = cached_fn.cache_info()
    report = {
        "weeks": n_weeks,
        "lines": lines,
        "cpu_s_per_100k_lines": {
            "as_is": round(cpu_plain / lines * 1e5, 2),
            "phone_cache": round(cpu_cached / lines * 1e5, 2),
        },
        "wall_s": {"as_is": round(wall_plain, 2), "phone_cache": round(wall_cached, 2)},
        "speedup_cpu": round(cpu_plain / cpu_cached, 2),
        "cache_hit_rate": round(info.hits / max(1, info.hits + info.misses), 3),
        "identical_rows": same,
    }
    if profiler:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(15)
        report["profile"] = buffer.getvalue()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    report = compare(args.inputs, args.weeks, args.profile)
    profile = report.pop("profile", None)
    print(report)
    if profile:
        print(profile)
    return 0 if report["identical_rows"] else 1


if __name__ == "__main__":
    sys.exit(main())
