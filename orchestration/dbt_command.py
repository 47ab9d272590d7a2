"""``lagesbild-dbt``: the dbt command of this project (the Dagster dbt resource, ``make manifest``, the
benchmark and the tests all run dbt through it); dbt's own CLI, started in the warehouse folder, with a
fast ``--version``.

**Started in the warehouse folder.** dbt keeps its parse (``partial_parse.msgpack``). It re-parses the
whole project (about 10 CPU s) when the profile's connection values differ from those of the saved
parse, and the files (with every node they define) that read an environment variable whose value
changed. If the profile named the warehouse by the data dir's path, or the sources their files by
it, every data dir (another county's folder, a benchmark's work folder, each test's temporary folder)
would cost a parse at its first run. The profile names the warehouse by a relative path instead
(``LAGESBILD_DBT_WAREHOUSE``, set here), the sources name their files relative to it, and this
command runs dbt with ``<data dir>/warehouse`` as its working directory; the paths dbt resolves
against the working directory (project, profiles, logs, state) are made absolute first, so what a
caller passes means what it meant. Plain ``dbt`` (or this command without ``LAGESBILD_DATA_DIR``)
stops at the profile, which requires that variable ("Env var required but not provided").

**``--version``.** dagster-dbt asks its executable ``--version`` once per run to learn whether it
drives dbt-core or dbt Fusion. ``dbt --version`` imports all of dbt first (3-5 s on a 2-core machine).
This command answers from the installed dbt-core package's metadata, in the format dbt prints. It is
the resource's public ``dbt_executable`` setting, so nothing of dagster-dbt's internals is overridden.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

#: The warehouse file, relative to the working directory dbt runs in (see the module docstring), and the
#: variable the profile reads it from.
WAREHOUSE_FILE = "lagesbild.duckdb"
WAREHOUSE_ENV = {"LAGESBILD_DBT_WAREHOUSE": WAREHOUSE_FILE}
#: The county the models are built for (macros/county.sql).
COUNTY_ENV = "LAGESBILD_COUNTY"
#: dbt's path options that it resolves against the working directory, and their environment variables.
#: (``--target-path`` is resolved against the project, so it needs nothing.)
CWD_PATH_OPTIONS = {
    "--project-dir": "DBT_PROJECT_DIR",
    "--profiles-dir": "DBT_PROFILES_DIR",
    "--log-path": "DBT_LOG_PATH",
    "--state": "DBT_STATE",
    "--defer-state": "DBT_DEFER_STATE",
}


def warehouse_dir(environ: MutableMapping[str, str]) -> Path | None:
    """``<data dir>/warehouse`` (created if missing), the data dir from ``LAGESBILD_DATA_DIR``; dbt's
    sources read ``../raw`` from there (models/staging/_sources.yml). None when it is not set."""
    data_dir = environ.get("LAGESBILD_DATA_DIR")
    if not data_dir:
        return None
    folder = Path(data_dir).resolve() / "warehouse"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def enter_warehouse(
    argv: list[str], environ: MutableMapping[str, str], cwd: Path
) -> tuple[list[str], Path | None]:
    """The arguments and environment dbt gets when started in the warehouse folder instead of ``cwd``:
    every path dbt would resolve against ``cwd`` made absolute; the project dir is always given
    (dbt's default depends on the working directory). Returns the arguments and the folder to start in;
    without a data dir, the arguments unchanged and None (dbt then runs as given, and a command that
    needs the profile stops at it: ``dbt --help`` works, ``dbt build`` does not)."""
    folder = warehouse_dir(environ)
    if folder is None:
        return list(argv), None

    def absolute(value: str) -> str:
        return os.fspath((cwd / value).resolve())

    args: list[str] = []
    given: set[str] = set()
    pending: str | None = None
    for arg in argv:
        if pending is not None:
            args.append(absolute(arg))
            given.add(pending)
            pending = None
            continue
        name, eq, value = arg.partition("=")
        if name in CWD_PATH_OPTIONS:
            if eq:
                args.append(f"{name}={absolute(value)}")
                given.add(name)
            else:
                args.append(arg)
                pending = name
            continue
        args.append(arg)
    for option, variable in CWD_PATH_OPTIONS.items():
        if option not in given and environ.get(variable):
            environ[variable] = absolute(environ[variable])
    if "--project-dir" not in given and not environ.get("DBT_PROJECT_DIR"):
        # dbt's default (dbt.cli.resolvers.default_project_dir), for ``cwd``: the nearest folder up
        # holding dbt_project.yml, else the working directory.
        here = cwd.resolve()
        found = (folder for folder in (here, *here.parents) if (folder / "dbt_project.yml").exists())
        environ["DBT_PROJECT_DIR"] = os.fspath(next(found, here))
    if "--profiles-dir" not in given and not environ.get("DBT_PROFILES_DIR") and (cwd / "profiles.yml").exists():
        environ["DBT_PROFILES_DIR"] = os.fspath(cwd.resolve())  # dbt's default: the working directory
    environ.update(WAREHOUSE_ENV)
    # The county is always set, as the pipeline sets it. dbt saves a variable read with its default as
    # "default", so a parse saved without it (``make manifest``) would re-parse the files that read it
    # (macros/county.sql) at every run's start.
    environ.setdefault(COUNTY_ENV, _default_county())
    return args, folder


def _default_county() -> str:
    from lagesbild.settings import Settings

    return Settings.from_env({}).county_code


def main() -> int:
    if sys.argv[1:] == ["--version"]:
        print(f"Core:\n  - installed: {importlib.metadata.version('dbt-core')}")
        return 0
    args, folder = enter_warehouse(sys.argv[1:], os.environ, Path.cwd())
    if folder is not None:
        os.chdir(folder)
        sys.argv[1:] = args
    from dbt.cli.main import cli

    return cli()  # as dbt's own script: click exits with dbt's exit code


if __name__ == "__main__":
    sys.exit(main())
