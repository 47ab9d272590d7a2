"""A publication's quality results come from the run that publishes it, not the latest of any run."""

from __future__ import annotations

import dagster as dg

from orchestration.quality_events import quality_summary_from_instance

OUTCOMES: list[bool] = []


@dg.asset
def counted() -> int:
    return 1


@dg.asset_check(asset=counted)
def counted_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=OUTCOMES.pop(0), metadata={"n": len(OUTCOMES)})


@dg.asset
def other() -> int:
    return 2


@dg.asset_check(asset=other)
def other_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_summary_selects_the_evaluations_of_the_given_run():
    instance = dg.DagsterInstance.ephemeral()
    OUTCOMES[:] = [True, False]
    first = dg.materialize([counted, counted_ok, other, other_ok], instance=instance, raise_on_error=False)
    second = dg.materialize([counted, counted_ok], instance=instance, raise_on_error=False)  # later, fails
    keys = [dg.AssetKey("counted"), dg.AssetKey("other")]

    latest = quality_summary_from_instance(instance, keys)
    by_name = {c["name"]: c for c in latest["checks"]}
    assert by_name["counted_ok"]["run_id"] == second.run_id and not by_name["counted_ok"]["passed"]

    mine = quality_summary_from_instance(instance, keys, run_id=first.run_id)
    by_name = {c["name"]: c for c in mine["checks"]}
    assert mine["run_id"] == first.run_id
    assert by_name["counted_ok"]["run_id"] == first.run_id and by_name["counted_ok"]["passed"]
    assert mine["passed"] and mine["blocking_failures"] == 0

    # a run that did not evaluate a check inherits the latest evaluation of it from any run
    theirs = quality_summary_from_instance(instance, keys, run_id=second.run_id)
    by_name = {c["name"]: c for c in theirs["checks"]}
    assert by_name["counted_ok"]["run_id"] == second.run_id and not by_name["counted_ok"]["passed"]
    assert by_name["other_ok"]["run_id"] == first.run_id
