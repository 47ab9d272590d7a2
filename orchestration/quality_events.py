"""Check results read from Dagster's event log, for the publication's quality summary.

The Dagster side of :mod:`lagesbild.quality.summary`: this module finds the latest asset-check
evaluations in a Dagster instance and turns each into a plain dict; ``summarise`` (no Dagster) does
the rest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import dagster as dg

from lagesbild.quality.summary import summarise


def _plain(value):
    """Dagster metadata values -> JSON-able values."""
    inner = getattr(value, "value", value)
    if hasattr(inner, "data"):  # JsonMetadataValue
        inner = inner.data
    try:
        json.dumps(inner)
        return inner
    except TypeError:
        return str(inner)


def _asset_str(asset_key: dg.AssetKey) -> str:
    return asset_key.to_user_string()


def _run_evaluations(instance, asset_keys, run_id):
    """(evaluation, timestamp, run_id) of the last evaluation per check on ``asset_keys`` in one run."""
    latest = {}
    cursor = None
    while True:
        conn = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
        )
        for record in conn.records:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            if evaluation.asset_key in asset_keys:
                latest[(evaluation.asset_key, evaluation.check_name)] = (
                    evaluation,
                    record.event_log_entry.timestamp,
                    run_id,
                )
        if not conn.has_more:
            break
        cursor = conn.cursor
    return list(latest.values())


def _latest_evaluations(instance, asset_keys, check_keys, scan_limit, run_id=None):
    """(evaluation, timestamp, run_id) of the latest evaluation per check on ``asset_keys``; with
    ``run_id``, that run's own evaluation of every check it evaluated, the latest of any run for
    the others (a run that refreshes one source inherits the last word on the rest)."""
    if run_id is None:
        yield from _any_run_evaluations(instance, asset_keys, check_keys, scan_limit)
        return
    own = _run_evaluations(instance, asset_keys, run_id)
    seen = {(ev.asset_key, ev.check_name) for ev, _, _ in own}
    yield from own
    for ev, timestamp, other_run in _any_run_evaluations(instance, asset_keys, check_keys, scan_limit):
        if (ev.asset_key, ev.check_name) not in seen:
            yield ev, timestamp, other_run


def _rematerialised_since(instance, evaluation, evaluated_at: float, evaluated_in: str, run_id: str | None):
    """The run that materialised the check's asset after ``evaluation`` (inherited from another run)
    without evaluating the check itself, or None. Such a run (terminated or crashed between the dbt
    export and its checks, or a materialisation without checks) left a file no evaluation vouches for;
    a later run of another slice (a verdict refresh) would publish it under the older run's results.
    Not applied to the publishing run's own materialisations: its checks may still be to come."""
    if run_id is None or evaluated_in == run_id:
        return None
    latest = instance.get_latest_materialization_event(evaluation.asset_key)
    if latest is None or latest.run_id in (evaluated_in, run_id) or latest.timestamp <= evaluated_at:
        return None
    return latest.run_id


def _any_run_evaluations(instance, asset_keys, check_keys, scan_limit):
    if check_keys is not None:
        records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
        for record in records.values():
            if record.evaluation is not None and record.evaluation.asset_key in asset_keys:
                yield record.evaluation, record.event.timestamp, record.run_id
        return
    # No check keys given: scan the newest check evaluations (Dagster offers no per-asset query).
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
        limit=scan_limit,
        ascending=False,
    )
    seen = set()
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        key = (evaluation.asset_key, evaluation.check_name)
        if evaluation.asset_key in asset_keys and key not in seen:
            seen.add(key)
            yield evaluation, record.timestamp, record.event_log_entry.run_id


def quality_summary_from_instance(
    instance,
    asset_keys: Iterable,
    check_keys: Iterable | None = None,
    scan_limit: int = 5000,
    run_id: str | None = None,
) -> dict:
    """The latest evaluation of every check on ``asset_keys``.

    With ``run_id`` (the run that publishes), every check that run evaluated is reported from that
    run, whatever other runs evaluated since: two concurrent runs each publish their own results.

    Pass ``check_keys`` (``orchestration.checks.all_check_keys()`` plus any others) for an exact,
    cheap lookup; without them the newest ``scan_limit`` check evaluations are scanned. Returns
    ``{"generated_at", "checks": [{name, asset, passed, severity, blocking_failure, description,
    metadata, evaluated_at, run_id}], "assets_without_checks", "passed", "blocking_failures"}``.
    An asset with no evaluated check at all counts as not passed: nothing vouches for it.
    """
    keys = [
        k if isinstance(k, dg.AssetKey) else dg.AssetKey([k] if isinstance(k, str) else list(k))
        for k in asset_keys
    ]
    checks = []
    found = _latest_evaluations(instance, set(keys), check_keys, scan_limit, run_id)
    for evaluation, timestamp, evaluated_in in found:
        severity = evaluation.severity.value if evaluation.severity else "ERROR"
        passed, description = bool(evaluation.passed), evaluation.description or ""
        if (since := _rematerialised_since(instance, evaluation, timestamp, evaluated_in, run_id)) is not None:
            passed = False
            description = (
                f"not evaluated on the current {_asset_str(evaluation.asset_key)}: run {since} materialised "
                f"it after this check ran (run {evaluated_in}) and did not evaluate it; run its checks"
            )
        checks.append(
            {
                "name": evaluation.check_name,
                "asset": _asset_str(evaluation.asset_key),
                "passed": passed,
                "severity": severity,
                "blocking_failure": (not passed) and severity == "ERROR",
                "description": description,
                "metadata": {k: _plain(v) for k, v in (evaluation.metadata or {}).items()},
                "evaluated_at": dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds"),
                "run_id": evaluated_in,
            }
        )
    return summarise(checks, [_asset_str(k) for k in keys], run_id)
