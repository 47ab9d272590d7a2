"""``lagesbild-dbt``: the dbt command the Dagster dbt resource runs; dbt's own CLI, with a fast ``--version``.

dagster-dbt asks its executable ``--version`` once per run to learn whether it drives dbt-core or
dbt Fusion. ``dbt --version`` imports all of dbt first (3-5 s on a 2-core machine, in every weekly
run). This command answers that question from the installed dbt-core package's metadata, which is
the version of the dbt-core this same environment runs, in the format dbt prints; every other
invocation is dbt's own CLI (``dbt.cli.main``), unchanged. It is the resource's public
``dbt_executable`` setting, so nothing of dagster-dbt's internals is overridden.
"""

from __future__ import annotations

import importlib.metadata
import sys


def main() -> int:
    if sys.argv[1:] == ["--version"]:
        print(f"Core:\n  - installed: {importlib.metadata.version('dbt-core')}")
        return 0
    from dbt.cli.main import cli

    return cli()  # as dbt's own script: click exits with dbt's exit code


if __name__ == "__main__":
    sys.exit(main())
