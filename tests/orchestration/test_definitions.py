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
