"""What the publication says about its own quality: latest check results, blocking failures, a page.

``summarise`` turns the check results (plain dicts, one per check; ``orchestration.quality_events``
reads them from Dagster's event log) into the summary the manifest embeds as JSON;
``blocking_failures`` turns it into one line per failure that a person can act on;
``render_quality_report_html`` is the page municipal analysts read (Swedish, plain HTML, no
external assets). Nothing here knows Dagster.
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


def action(check_name: str) -> str:
    """What to do about a failing check, by its name."""
    for prefix, what in _ACTIONS.items():
        if check_name == prefix or (prefix.endswith("_") and check_name.startswith(prefix)):
            return what
    return "see the check's metadata in the Dagster UI"


def summarise(checks: list[dict], assets: Iterable[str], run_id: str | None = None) -> dict:
    """The summary of ``checks`` (dicts with name, asset, passed, severity, blocking_failure,
    description, metadata, evaluated_at, run_id) over ``assets`` (names like ``raw/ad_snapshots``).

    Returns ``{"generated_at", "run_id", "checks" (failures first), "assets_without_checks",
    "passed", "blocking_failures"}``. An asset with no evaluated check at all counts as not passed:
    nothing vouches for it.
    """
    checked = {c["asset"] for c in checks}
    missing = [a for a in assets if a not in checked]
    checks = sorted(checks, key=lambda c: (c["passed"], c["severity"] != "ERROR", c["asset"], c["name"]))
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
                    f"Snapshot missing for site {m['site']} in week {m['week']}: {action(c['name'])}"
                )
            continue
        lines.append(f"{c['asset']} · {c['name']}: {c['description']} → {action(c['name'])}")
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
