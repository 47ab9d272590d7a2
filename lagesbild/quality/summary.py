"""What the publication says about its own quality: latest check results, blocking failures, a page.

``quality_summary_from_instance`` reads the latest asset-check evaluations from a Dagster instance
(duck-typed: the Dagster API is imported lazily, lagesbild itself stays Dagster-free). The summary
is a plain dict so the manifest can embed it as JSON; ``blocking_failures`` turns it into one line
per failure that a person can act on; ``render_quality_report_html`` is the page municipal
analysts read (Swedish, plain HTML, no external assets).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

#: What to do about a failing check, by check name (prefix for GX suites).
_ACTIONS = {
    "snapshot_weeks_complete": "restore the capture or re-run the week",
    "sites_still_delivering": "check the site's capture tool; re-run the weeks once it delivers",
    "ad_volume_steady": "inspect the week's snapshot files for a broken capture and re-run the week",
    "snapshot_quarantine_share": "read raw/quarantine/ad_snapshots for the reasons, fix the export, re-run",
    "unmapped_location_share": "add the new location spellings to the gazetteer, then re-run dbt",
    "municipalities_reporting": "check the gazetteer and the capture for that municipality",
    "population_current": "load the newer population year (PxWeb) or raise LAGESBILD_QUALITY_POPULATION_MAX_AGE_YEARS",
    "verdicts_quarantine_share": "read raw/quarantine/verdicts for the reasons, fix the register, re-run",
    "population_quarantine_share": "read raw/quarantine/population for the reasons, re-fetch",
    "gx_": "fix the data or, if the check itself is broken, the suite in expectations/",
}


def _action(check_name: str) -> str:
    for prefix, action in _ACTIONS.items():
        if check_name == prefix or (prefix.endswith("_") and check_name.startswith(prefix)):
            return action
    return "see the check's metadata in the Dagster UI"


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


def _asset_str(asset_key) -> str:
    return asset_key.to_user_string() if hasattr(asset_key, "to_user_string") else "/".join(asset_key)


def _run_evaluations(instance, asset_keys, run_id):
    """(evaluation, timestamp, run_id) of the last evaluation per check on ``asset_keys`` in one run."""
    import dagster as dg  # lazy: keeps lagesbild importable without Dagster

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


def _any_run_evaluations(instance, asset_keys, check_keys, scan_limit):
    import dagster as dg  # lazy: keeps lagesbild importable without Dagster

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
    import dagster as dg  # lazy: keeps lagesbild importable without Dagster

    keys = [
        k if isinstance(k, dg.AssetKey) else dg.AssetKey([k] if isinstance(k, str) else list(k))
        for k in asset_keys
    ]
    checks = []
    found = _latest_evaluations(instance, set(keys), check_keys, scan_limit, run_id)
    for evaluation, timestamp, evaluated_in in found:
        severity = evaluation.severity.value if evaluation.severity else "ERROR"
        checks.append(
            {
                "name": evaluation.check_name,
                "asset": _asset_str(evaluation.asset_key),
                "passed": bool(evaluation.passed),
                "severity": severity,
                "blocking_failure": (not evaluation.passed) and severity == "ERROR",
                "description": evaluation.description or "",
                "metadata": {k: _plain(v) for k, v in (evaluation.metadata or {}).items()},
                "evaluated_at": dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds"),
                "run_id": evaluated_in,
            }
        )
    checked = {c["asset"] for c in checks}
    missing = [_asset_str(k) for k in keys if _asset_str(k) not in checked]
    checks.sort(key=lambda c: (c["passed"], c["severity"] != "ERROR", c["asset"], c["name"]))
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "checks": checks,
        "assets_without_checks": missing,
        "passed": all(c["passed"] for c in checks) and not missing,
        "blocking_failures": sum(c["blocking_failure"] for c in checks),
    }


def blocking_failures(summary: dict) -> list[str]:
    """One actionable line per failing blocking check (empty: nothing blocks publication).

    Missing-snapshot failures get one line per site and week, since each is a separate fix.
    """
    lines = []
    for c in summary.get("checks", []):
        if not c.get("blocking_failure"):
            continue
        missing = c.get("metadata", {}).get("missing") if c["name"] == "snapshot_weeks_complete" else None
        if isinstance(missing, list) and missing:
            for m in missing:
                lines.append(
                    f"Snapshot missing for site {m['site']} in week {m['week']}: {_action(c['name'])}"
                )
            continue
        lines.append(f"{c['asset']} · {c['name']}: {c['description']} → {_action(c['name'])}")
    lines += [
        f"No quality check has been evaluated on {a}: run its checks before publishing"
        for a in summary.get("assets_without_checks", [])
    ]
    return lines


def _status(c: dict) -> tuple[str, str]:
    if c["passed"]:
        return "ok", "Godkänd"
    if c["metadata"].get("status") == "broken" or str(c["description"]).startswith("BROKEN"):
        return "fel", "Kontrollen kunde inte köras"
    return ("fel", "Underkänd (stoppar publicering)") if c["severity"] == "ERROR" else ("varning", "Varning")


def render_quality_report_html(summary: dict) -> str:
    """A self-contained Swedish page: what was checked, what passed, what is missing and where.

    The wording and layout are in ``templates/quality_index.html.j2`` (Jinja2, autoescaped).
    """
    from lagesbild.report.names import swedish_date
    from lagesbild.report.templating import render

    checks = summary.get("checks", [])
    rows = []
    for c in checks:
        cls, label = _status(c)
        rows.append(
            {
                "asset": c["asset"],
                "name": c["name"],
                "cls": cls,
                "label": label,
                "description": c["description"],
                "meta": json.dumps(c.get("metadata", {}), ensure_ascii=False, indent=1, default=str),
            }
        )
    generated = summary.get("generated_at", "")
    try:
        generated_text = f"{swedish_date(generated)} ({generated})" if generated else ""
    except (TypeError, ValueError):
        generated_text = str(generated)
    return str(
        render(
            "quality_index.html.j2",
            package="lagesbild.quality",
            generated=generated_text,
            total=len(checks),
            failed=sum(not c["passed"] for c in checks),
            blocking=blocking_failures(summary),
            rows=rows,
        )
    )
