"""Load probe for the pull server: N concurrent `pull`s into N fresh folders, then N again (nothing changed).

Usage (server started as README says, `make serve`):
    LAGESBILD_PULL_TOKEN=$(cat /tmp/token) .venv/bin/python scripts/pull_load.py --server http://127.0.0.1:8765 -n 100

Prints errors and wall time per pull (p50, p95, max) for both rounds, and what the server sent.
Loopback only: it refuses any other host.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from lagesbild.pull.client import pull


def _round(server: str, token: str, dests: list[Path]) -> tuple[list[float], list[str], int]:
    barrier = threading.Barrier(len(dests))
    times: list[float] = []
    errors: list[str] = []
    downloaded = 0
    lock = threading.Lock()

    def one(dest: Path) -> None:
        nonlocal downloaded
        barrier.wait(timeout=60)
        t0 = time.perf_counter()
        try:
            result = pull(server, token, dest)
            with lock:
                downloaded += len(result.downloaded)
        except Exception as exc:  # noqa: BLE001 - counted and shown, that is the measurement
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
        finally:
            with lock:
                times.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(len(dests)) as pool:
        list(pool.map(one, dests))
    return times, errors, downloaded


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="http://127.0.0.1:8765")
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--token-env", default="LAGESBILD_PULL_TOKEN")
    args = parser.parse_args()
    if urlparse(args.server).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback servers only")
    token = os.environ[args.token_env]
    with tempfile.TemporaryDirectory(prefix="pull_load_") as tmp:
        dests = [Path(tmp) / f"m{i:03d}" for i in range(args.n)]
        for label in ("fresh folders", "again, nothing changed"):
            t0 = time.perf_counter()
            times, errors, downloaded = _round(args.server, token, dests)
            wall = time.perf_counter() - t0
            print(
                f"{label}: {args.n} concurrent pulls, {len(errors)} errors, {downloaded} files downloaded, "
                f"per pull p50 {statistics.median(times):.2f} s, p95 {_pct(times, 95):.2f} s, "
                f"max {max(times):.2f} s; all done in {wall:.2f} s"
            )
            for e in sorted(set(errors))[:5]:
                print(f"  error: {e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
