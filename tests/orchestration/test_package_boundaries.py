"""``lagesbild`` is the domain package: importing every one of its modules loads neither Dagster nor
``orchestration`` (the Dagster side imports lagesbild, never the other way round)."""

from __future__ import annotations

import json
import subprocess
import sys

from lagesbild.settings import PROJECT_ROOT

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import lagesbild
names = sorted(
    m.name for m in pkgutil.walk_packages(lagesbild.__path__, "lagesbild.")
    if not m.name.endswith("__main__")
)
for name in names:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"dagster", "dagster_dbt", "orchestration"})
print(json.dumps({"modules": names, "loaded": loaded}))
"""


def test_importing_every_lagesbild_module_loads_no_dagster():
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["modules"]) > 40 and "lagesbild.quality.summary" in result["modules"]
    assert result["loaded"] == []
