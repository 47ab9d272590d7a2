"""The Definitions load and hold the whole graph: sources -> dbt -> checks -> publication."""

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


def test_dbt_resource_knows_the_venv_dbt_version_without_starting_dbt(monkeypatch):
    import importlib.metadata
    import subprocess

    import dagster_dbt.core.resource as dbt_resource_module

    from orchestration.assets.dbt import dbt_resource

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt was started: {args}")

    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    monkeypatch.setattr(dbt_resource_module, "check_output", no_subprocess)
    resource = dbt_resource()
    assert str(resource._cli_version) == importlib.metadata.version("dbt-core")
    assert resource._cli_version.major == 1  # dagster-dbt takes the dbt-core (not Fusion) path
