"""Compare the columnar snapshot ingest (lagesbild.sources.snapshots_fast) with the line-by-line one.

``python -m bench.fast_ingest INPUTS [--weeks N]`` ingests the first N weeks both ways (the columnar
reader as a run does: all N weeks in one pass, in batches), checks that the results are identical and
prints CPU seconds per 100k lines for each.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta

from lagesbild.sources import snapshots as slow
from lagesbild.sources.snapshots_fast import ingest_weeks_fast, same_result

__all__ = ["ingest_weeks_fast", "same_result", "main"]


def main(argv: list[str] | None = None) -> int:
    from bench.common import InputPaths
    from bench.pipeline import input_weeks
    from lagesbild.settings import DEMO_PSEUDONYM_KEY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs")
    parser.add_argument("--weeks", type=int, default=26)
    args = parser.parse_args(argv)
    folder = InputPaths(__import__("pathlib").Path(args.inputs)).snapshots
    first, _ = input_weeks(folder)
    weeks = [date.fromisoformat(first) + timedelta(weeks=i) for i in range(args.weeks)]
    archive, key = slow.FolderArchive(folder), DEMO_PSEUDONYM_KEY.encode()
    cpu = time.process_time()
    reference = [slow.ingest_week(archive, w, key) for w in weeks]
    cpu_slow = time.process_time() - cpu
    cpu = time.process_time()
    fast = [result for _, result in ingest_weeks_fast(archive, weeks, key)]
    cpu_fast = time.process_time() - cpu
    lines = sum(len(r.rows) + len(r.quarantine) for r in reference)
    problems = [
        f"{w}: {p}" for w, a, b in zip(weeks, reference, fast, strict=True) for p in same_result(a, b)
    ]
    print(
        {
            "weeks": len(weeks),
            "lines": lines,
            "cpu_s_per_100k_lines": {
                "ingest_week": round(cpu_slow / lines * 1e5, 2),
                "ingest_weeks_fast": round(cpu_fast / lines * 1e5, 2),
            },
            "speedup_cpu": round(cpu_slow / cpu_fast, 2),
            "identical": not problems,
        }
    )
    for line in problems[:10]:
        print(line)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
