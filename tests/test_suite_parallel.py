"""`make test` runs on every core with pytest-xdist (`--dist loadgroup`); the groups set in
tests/conftest.py must hold, or each worker repeats the module fixtures (and the demo run) it shares.

pytest 9.2 silently broke xdist's grouping (pyproject.toml pins pytest below it); this test catches
any such change: every test of a module must run on one worker.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_of_a_module_runs_on_one_worker():
    modules = ["tests/test_fsutil.py", "tests/test_retry_policy.py"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "-v",
            *modules,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    workers: dict[str, set[str]] = {}
    for worker, module in re.findall(r"\[(gw\d+)\] .*?PASSED (tests/[\w/]+\.py)::", result.stdout):
        workers.setdefault(module, set()).add(worker)
    assert set(workers) == set(modules), result.stdout[-3000:]
    assert all(len(seen) == 1 for seen in workers.values()), workers
