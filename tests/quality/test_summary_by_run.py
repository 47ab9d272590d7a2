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


def test_an_inherited_result_does_not_vouch_for_an_asset_materialised_again_without_its_checks():
    """A weekly run exported the marts and was terminated before their checks; a verdict refresh (which
    does not build those marts) then published them under the previous run's check results. An
    inherited evaluation older than the asset's latest materialisation by a third run is a failure."""
    instance = dg.DagsterInstance.ephemeral()
    OUTCOMES[:] = [True]
    checked = dg.materialize([counted, counted_ok, other, other_ok], instance=instance)
    unchecked = dg.materialize([counted], instance=instance)  # its checks never ran (terminated)
    publishing = dg.materialize([other, other_ok], instance=instance)  # a slice without `counted`
    keys = [dg.AssetKey("counted"), dg.AssetKey("other")]

    summary = quality_summary_from_instance(instance, keys, run_id=publishing.run_id)
    by_name = {c["name"]: c for c in summary["checks"]}
    assert by_name["counted_ok"]["run_id"] == checked.run_id
    assert not by_name["counted_ok"]["passed"] and by_name["counted_ok"]["blocking_failure"]
    assert unchecked.run_id in by_name["counted_ok"]["description"]
    assert by_name["other_ok"]["passed"] and summary["blocking_failures"] == 1
    # the run that materialised it itself may still evaluate its checks later in the run: not judged
    assert quality_summary_from_instance(instance, keys, run_id=unchecked.run_id)["blocking_failures"] == 0
    # once a run checks it again, that run's result counts
    OUTCOMES[:] = [True]
    dg.materialize([counted, counted_ok], instance=instance)
    assert quality_summary_from_instance(instance, keys, run_id=publishing.run_id)["blocking_failures"] == 0
