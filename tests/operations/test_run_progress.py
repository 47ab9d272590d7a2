"""What `make run` prints, fed with the events a run stores: stages with counts, waits, failures."""

from __future__ import annotations

import io
from types import SimpleNamespace

import dagster as dg

from orchestration.run_demo import Reporter, failure_advice, summarize


def _event(kind: str, step: str | None, message: str = "", **data):
    dagster_event = SimpleNamespace(event_type_value=kind, step_key=step, message=message, **data)
    return SimpleNamespace(dagster_event=dagster_event, user_message=message, step_key=step)


def _log(step: str, message: str):
    return SimpleNamespace(dagster_event=None, user_message=message, step_key=step)


def _materialization(step: str, key: list[str], metadata: dict):
    mat = SimpleNamespace(asset_key=dg.AssetKey(key), metadata=metadata)
    return _event(
        "ASSET_MATERIALIZATION", step, step_materialization_data=SimpleNamespace(materialization=mat)
    )


def _check(step: str, name: str, asset: str, passed: bool, description: str = ""):
    evaluation = SimpleNamespace(
        passed=passed,
        check_name=name,
        asset_key=dg.AssetKey(asset.split("/")),
        description=description,
        severity=dg.AssetCheckSeverity.ERROR,
    )
    return _event("ASSET_CHECK_EVALUATION", step, event_specific_data=evaluation)


def _reporter(out: io.StringIO) -> Reporter:
    return Reporter(
        out, tty=False, weeks_total=3, dbt_models=2, dbt_tests=2, check_steps=frozenset({"gx_raw_x", "gap"})
    )


def test_one_line_per_stage_with_counts_and_checks_folded():
    out = io.StringIO()
    r = _reporter(out)
    r.handle(_event("STEP_START", "raw_ad_snapshots"))
    for week in ("2024-01-01", "2024-01-08", "2024-01-15"):
        r.handle(_log("raw_ad_snapshots", f"week {week}: 2 snapshot files, 10 rows, 0 quarantined"))
    r.handle(
        _materialization(
            "raw_ad_snapshots", ["raw", "ad_snapshots"], {"weeks": 3, "rows": 30, "quarantined": 1}
        )
    )
    r.handle(_event("STEP_SUCCESS", "raw_ad_snapshots"))
    r.handle(_event("STEP_START", "gx_raw_x"))
    r.handle(_check("gx_raw_x", "gx_raw_x_critical", "raw/x", True))
    r.handle(_event("STEP_SUCCESS", "gx_raw_x"))
    r.handle(_event("STEP_START", "lagesbild_dbt"))
    for model in ("stg_a", "mart_b"):
        r.handle(_materialization("lagesbild_dbt", [model], {"dagster/row_count": 5}))
    r.handle(_check("lagesbild_dbt", "not_null_a", "stg_a", True))
    r.handle(_check("lagesbild_dbt", "unique_b", "mart_b", True))
    r.handle(_event("STEP_SUCCESS", "lagesbild_dbt"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("raw_ad_snapshots") and "3/3 weeks, 30 rows, 1 quarantined" in lines[0]
    assert lines[1].startswith("checks raw (1)") and "1 passed, 0 failed" in lines[1]
    assert lines[2].startswith("lagesbild_dbt") and "2/2 models, 2/2 tests passed" in lines[2]
    assert all(line.rstrip().endswith(" s") for line in lines) and len(lines) == 3
    assert "\x1b[" not in out.getvalue()  # no colour codes


def test_a_step_waiting_for_the_warehouse_pool_says_so_once():
    out = io.StringIO()
    r = _reporter(out)
    blocked = dict(
        event_specific_data=SimpleNamespace(metadata={"pool": SimpleNamespace(value="warehouse_writer")})
    )
    r.handle(
        _event("ENGINE_EVENT", "lagesbild_dbt", "Step blocked by limit for pool warehouse_writer", **blocked)
    )
    r.handle(
        _event(
            "ENGINE_EVENT",
            "lagesbild_dbt",
            "Step still blocked by limit for pool warehouse_writer",
            **blocked,
        )
    )
    text = out.getvalue()
    assert (
        text.count("waits for pool 'warehouse_writer'") == 1
        and "another run is writing the warehouse" in text
    )


def test_a_failed_check_ends_with_the_check_what_to_do_and_what_did_not_run(tmp_path):
    out = io.StringIO()
    r = _reporter(out)
    r.handle(_event("STEP_START", "gap"))
    r.handle(
        _check(
            "gap",
            "unmapped_location_share",
            "mart_coverage_weekly",
            False,
            "Unmapped share over 15% for a 2024-W20",
        )
    )
    failure = SimpleNamespace(
        user_failure_data=None,
        error=SimpleNamespace(message="DagsterAssetCheckFailedError: 1 blocking", cause=None),
    )
    r.handle(_event("STEP_FAILURE", "gap", step_failure_data=failure))
    r.handle(
        _log(
            "publication",
            "Dependencies for step publication were not executed: ['disclosed_marts']. Not executing.",
        )
    )
    r.flush_checks()
    assert "0 passed, 1 failed (mart_coverage_weekly)" in out.getvalue()
    advice = "\n".join(failure_advice(r, tmp_path / "run.log", "abc"))
    assert "check unmapped_location_share on mart_coverage_weekly" in advice
    assert "what to do: add the new location spellings to the gazetteer" in advice
    assert "not run because of it: publication" in advice and "Nothing new was published" in advice
    assert "DagsterAssetCheckFailedError" not in advice


def test_publication_line_names_the_id_and_files():
    r = _reporter(io.StringIO())
    step = SimpleNamespace(
        key="publication",
        materialized={"publication": {"publication_id": "2026-01-01T0000Z-aaaaaaaa", "files": 86}},
        checks_passed=0,
        checks_failed=[],
    )
    assert summarize(step, r) == "2026-01-01T0000Z-aaaaaaaa, 86 files"
    # a publication of older data than the latest one is kept but not switched to: the line says so
    reason = "its data is older than the latest publication 2026-01-08T0000Z-bbbbbbbb's: weeks_through 2025-06-30 < 2025-12-22"
    step.materialized["publication"].update(latest=dg.MetadataValue.bool(False), not_latest=reason)
    assert summarize(step, r) == f"2026-01-01T0000Z-aaaaaaaa, 86 files; NOT made the latest: {reason}"


def test_a_terminal_gets_a_progress_bar_that_the_stage_line_replaces():
    out = io.StringIO()
    r = Reporter(out, tty=True, weeks_total=2, dbt_models=1, dbt_tests=0)
    r.handle(_event("STEP_START", "raw_ad_snapshots"))
    r.handle(_log("raw_ad_snapshots", "week 2024-01-01: 2 snapshot files, 10 rows, 0 quarantined"))
    assert "\r" in out.getvalue() and "[##########..........] 1/2" in out.getvalue()
    r.handle(
        _materialization(
            "raw_ad_snapshots", ["raw", "ad_snapshots"], {"weeks": 2, "rows": 20, "quarantined": 0}
        )
    )
    r.handle(_event("STEP_SUCCESS", "raw_ad_snapshots"))
    last = out.getvalue().split("\r")[-1]
    assert last.startswith("raw_ad_snapshots") and "2/2 weeks, 20 rows" in last and last.endswith(" s\n")
