"""The ``restricted_alerts`` asset and its WARN checks.

Wiring only: the rules, the store and the notifier live in :mod:`lagesbild.alerts`. What Dagster
records (metadata, check results, the log line) is counts only; the details stay in
``<data_dir>/restricted/alerts/``.
"""

import dataclasses

import dagster as dg
import pandas as pd

from lagesbild.alerts.config import AlertConfig
from lagesbild.alerts.run import load_observations, observations_path, run_alerts
from lagesbild.alerts.store import AlertStore, AlertSummary
from orchestration.resources import LagesbildResource

ALERTS_KEY = dg.AssetKey(["restricted_alerts"])
UPSTREAM_KEY = dg.AssetKey(["int_ad_observations"])

UNDER_AGE_CHECK = "no_under_age_ads"
CHANGE_CHECK = "no_change_alerts"


@dg.asset(
    key=ALERTS_KEY,
    deps=[UPSTREAM_KEY],
    group_name="alerts",
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Restricted alerts for the county analyst (ads stating an age under 18; new-advertiser spikes, "
        "touring advertisers, site-share shifts). Written to restricted/alerts/ (0700), never published."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            UNDER_AGE_CHECK,
            asset=ALERTS_KEY,
            description="Warns when ads stating an age under 18 are new or still seen (count only).",
        ),
        dg.AssetCheckSpec(
            CHANGE_CHECK,
            asset=ALERTS_KEY,
            description="Warns when change alerts are new or concern the latest week (counts only).",
        ),
    ],
)
def restricted_alerts(
    context: dg.AssetExecutionContext, lagesbild: LagesbildResource
) -> dg.MaterializeResult:
    obs = load_observations(observations_path(lagesbild.root))
    run = run_alerts(
        obs,
        lagesbild.root,
        config=AlertConfig.from_env(),
        logger=context.log,
        county_code=lagesbild.county_code,
    )
    summary = run.store.summary
    # The ingest step raises under-age alerts before any gate (lagesbild.alerts.ingest), so an ad first
    # found by this run may already be in the store when this step runs: it still counts as new here.
    started = _run_started(context)
    if started is not None:
        summary = dataclasses.replace(summary, **_under_age_in_run(AlertStore(lagesbild.root), summary, started))
    metadata = _counts(summary) | {
        "observations": obs.rows,
        "webhook_delivered": bool(run.notification.webhook_attempted and not run.notification.webhook_error),
        # Alerts in the restricted store (a count; the rows themselves never leave that folder).
        "dagster/row_count": summary.under_age_total + summary.change_total,
    }
    return dg.MaterializeResult(metadata=metadata, check_results=_check_results(summary))


def _counts(summary: AlertSummary) -> dict:
    counts = {
        "under_age_to_review": summary.under_age_to_review,
        "under_age_new": summary.under_age_new,
        "under_age_active": summary.under_age_active,
        "under_age_total": summary.under_age_total,
        "change_to_review": summary.change_to_review,
        "change_new": summary.change_new,
        "change_latest_week": summary.change_latest_week,
        "change_total": summary.change_total,
    }
    counts |= {f"change_new_{kind}": n for kind, n in summary.change_new_by_kind.items()}
    return counts


def _warn(check_name: str, to_review: int, metadata: dict) -> dg.AssetCheckResult:
    """A WARN check of the alerts asset: fails while alerts wait for review; counts only."""
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=ALERTS_KEY,
        passed=to_review == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"to_review": to_review, **metadata},
        description="Counts only; details in the restricted alert folder for the county analyst.",
    )


def _run_started(context: dg.AssetExecutionContext) -> pd.Timestamp | None:
    record = context.instance.get_run_record_by_id(context.run_id)
    created = getattr(record, "create_timestamp", None) if record is not None else None
    return pd.Timestamp(created).tz_convert("UTC") if created is not None else None


def _under_age_in_run(store: AlertStore, summary: AlertSummary, started: pd.Timestamp) -> dict:
    """Under-age counts with every ad first raised since the run started (at ingest or here) as new."""
    alerts = store.load_under_age()
    if alerts.empty:
        return {}
    new = pd.to_datetime(alerts["first_alerted_at"], utc=True) >= started
    latest = pd.Timestamp(summary.latest_week).date() if summary.latest_week else None
    active = pd.to_datetime(alerts["last_week_seen"]).dt.date == latest
    return {
        "under_age_new": int(new.sum()),
        "under_age_active": int(active.sum()),
        "under_age_new_and_active": int((new & active).sum()),
    }


def _check_results(summary: AlertSummary) -> list[dg.AssetCheckResult]:
    latest_by_kind = {f"latest_week_{kind}": n for kind, n in summary.change_latest_week_by_kind.items()}
    return [
        _warn(
            UNDER_AGE_CHECK,
            summary.under_age_to_review,
            {
                "new": summary.under_age_new,
                "active_latest_week": summary.under_age_active,
                "total_in_store": summary.under_age_total,
            },
        ),
        _warn(
            CHANGE_CHECK,
            summary.change_to_review,
            {
                "new": summary.change_new,
                "latest_week": summary.change_latest_week,
                "total_in_store": summary.change_total,
                **latest_by_kind,
            },
        ),
    ]


#: The checks are ``check_specs`` of ``restricted_alerts`` (their results come from the same run's counts).
alert_assets = [restricted_alerts]
