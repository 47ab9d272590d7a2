"""The Definitions load and hold the whole graph: sources -> dbt -> checks -> publication."""

import sys

import dagster as dg


def test_definitions_load_with_one_lineage(dbt_manifest):
    from orchestration.definitions import defs

    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for expected in [
        "raw/ad_snapshots",
        "raw/verdicts",
        "raw/population",
        "stg_raw__ad_snapshots",
        "int_ad_observations",
        "mart_prevalence_yearly",
        "mart_demand_yearly",
        "disclosed_marts",
        "situation_reports",
        "publication",
        "restricted_alerts",
    ]:
        assert expected in keys, f"{expected} missing from the asset graph"
    # dbt sources map onto the Python raw assets: staging depends on them, so the UI shows one lineage.
    parents = graph.get(dg.AssetKey(["stg_raw__ad_snapshots"])).parent_keys
    assert dg.AssetKey(["raw", "ad_snapshots"]) in parents
    assert dg.AssetKey(["publication"]) in graph.get(dg.AssetKey(["situation_reports"])).child_keys
    # dbt tests and GX suites both appear as asset checks.
    check_names = {check.name for check in graph.asset_check_keys}
    assert any(name.startswith("gx_") or "gx" in name for name in check_names), check_names
    assert any(name.startswith(("not_null", "unique")) for name in check_names), check_names
    assert defs.resolve_job_def("full_pipeline") is not None


def test_the_dbt_command_gives_the_venv_dbt_version_without_loading_dbt_and_is_dbt_otherwise():
    import importlib.metadata
    import re
    import subprocess
    from pathlib import Path

    from orchestration.assets.dbt import dbt_resource

    executable = dbt_resource().dbt_executable
    assert Path(executable).name == "lagesbild-dbt" and Path(executable).parent == Path(sys.executable).parent
    probe = "import sys; sys.argv = ['lagesbild-dbt', '--version']; " + (
        "from orchestration.dbt_command import main; code = main(); "
        "assert not [m for m in sys.modules if m == 'dbt' or m.startswith('dbt.')], 'dbt was imported'; sys.exit(code)"
    )
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    # what dagster-dbt reads from it: the first x.y.z, major 1 = the dbt-core (not Fusion) path
    version = re.search(r"(\d+\.\d+\.\d+)", answer).group(1)
    assert version == importlib.metadata.version("dbt-core") and version.startswith("1.")
    # any other command is dbt's own CLI, with dbt's exit codes
    assert subprocess.run([executable, "--help"], capture_output=True, text=True).returncode == 0
    unknown = subprocess.run([executable, "no-such-command"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "No such command" in unknown.stderr


def test_lagesbild_dbt_runs_dbt_in_the_warehouse_folder_with_every_caller_path_kept(tmp_path):
    """dbt started in <data dir>/warehouse (so the profile, and dbt's partial parse, is the same for
    every data dir) still gets the paths a caller gave relative to its own working directory."""
    from orchestration.dbt_command import WAREHOUSE_FILE, enter_warehouse

    cwd, data = tmp_path / "here", tmp_path / "data"
    (cwd / "proj").mkdir(parents=True)
    environ = {"LAGESBILD_DATA_DIR": str(data), "DBT_LOG_PATH": "logs", "DBT_TARGET_PATH": "target/x"}
    argv = ["build", "--project-dir", "proj", "--state=prod", "--select", "path:models/marts", "--profiles-dir", "/abs"]
    args, folder = enter_warehouse(argv, environ, cwd)

    assert folder == (data / "warehouse").resolve() and folder.is_dir()
    assert args == [
        "build", "--project-dir", str(cwd / "proj"), f"--state={cwd / 'prod'}",
        "--select", "path:models/marts", "--profiles-dir", "/abs",
    ]  # fmt: skip
    assert environ["DBT_LOG_PATH"] == str(cwd / "logs")  # resolved against the working directory
    assert environ["DBT_TARGET_PATH"] == "target/x"  # resolved against the project by dbt: unchanged
    assert environ["LAGESBILD_DBT_WAREHOUSE"] == WAREHOUSE_FILE
    assert "DBT_PROJECT_DIR" not in environ  # given as a flag
    # the county is always set, as a run sets it, so a saved parse matches a run's (macros/county.sql)
    assert environ["LAGESBILD_COUNTY"] == "05"
    environ = {"LAGESBILD_DATA_DIR": str(data), "LAGESBILD_COUNTY": "14"}
    enter_warehouse(["build"], environ, cwd)
    assert environ["LAGESBILD_COUNTY"] == "14"

    # No project dir given: dbt's default (the nearest folder up with dbt_project.yml), made explicit.
    environ = {"LAGESBILD_DATA_DIR": str(data)}
    (cwd / "profiles.yml").write_text("x: 1\n")
    assert enter_warehouse(["parse"], environ, cwd) == (["parse"], folder)
    assert environ["DBT_PROJECT_DIR"] == environ["DBT_PROFILES_DIR"] == str(cwd.resolve())
    (cwd / "dbt_project.yml").write_text("name: x\n")
    (cwd / "models").mkdir()
    environ = {"LAGESBILD_DATA_DIR": str(data)}
    enter_warehouse(["run"], environ, cwd / "models")
    assert environ["DBT_PROJECT_DIR"] == str(cwd.resolve())

    # No data dir: dbt as given; the profile then stops a command that needs the warehouse.
    environ = {}
    assert enter_warehouse(["--help"], environ, cwd) == (["--help"], None)
    assert "LAGESBILD_DBT_WAREHOUSE" not in environ
