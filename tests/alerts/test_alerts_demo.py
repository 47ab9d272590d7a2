"""The county demo end to end through the full pipeline: exactly the planted alerts.

Ground truth comes from ``demo/inputs/ground_truth.json`` (three under-18 stretches, one re-posted
under a new id, so four ads; one touring advertiser in three weeks). The run is the session's full
pipeline run over every demo week (``demo_run``): ingest, dbt, the export of ``int_ad_observations``
and the real ``restricted_alerts`` asset.
"""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import pytest

from lagesbild.alerts.notify import UNDER_AGE_MARKER
from lagesbild.alerts.run import observations_path
from orchestration.assets.alerts import ALERTS_KEY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_run):
    data_dir, result = demo_run.data_dir, demo_run.result
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    truth = json.loads((data_dir / "demo" / "inputs" / "ground_truth.json").read_text(encoding="utf-8"))
    logs = [  # what the run logged (the ingest raises under-age alerts before any gate)
        e.user_message for e in demo_run.instance.all_logs(result.run_id) if e.user_message
    ]
    return data_dir, truth, result, logs


def test_under_age_alerts_are_exactly_the_planted_ads(demo):
    data_dir, truth, result, _ = demo
    assert result.success
    alerts = pd.read_parquet(data_dir / "restricted" / "alerts" / "under_age_alerts.parquet")
    expected = {
        (t["site"], t["ad_id"]): (min(t["weeks"]), max(t["weeks"]), t["municipality_code"])
        for t in truth["under_18_ads"]
    }
    got = {
        (r.site, r.ad_id): (r.first_week_seen.isoformat(), r.last_week_seen.isoformat(), r.municipality_code)
        for r in alerts.itertuples()
    }
    assert got == expected
    assert alerts["advertiser_key"].notna().all()


def test_change_alerts_are_exactly_the_touring_advertiser(demo):
    data_dir, truth, _, _ = demo
    change = pd.read_parquet(data_dir / "restricted" / "alerts" / "change_alerts.parquet")
    assert set(change["kind"]) == {"touring_advertiser"}  # no spike or share shift in the steady demo
    assert sorted(w.isoformat() for w in change["week_start"]) == sorted(truth["touring"]["weeks"])
    assert set(change["detail"]) == {",".join(sorted(truth["touring"]["municipality_codes"]))}
    obs = pd.read_parquet(observations_path(data_dir))
    tourer = obs.loc[obs["ad_id"].isin(truth["touring"]["ad_ids"]), "advertiser_key"].unique()
    assert list(change["key"].unique()) == list(tourer)


def test_dagster_shows_counts_only(demo):
    data_dir, truth, result, logs = demo
    checks = {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == ALERTS_KEY}
    n_under = len(truth["under_18_ads"])
    assert checks["no_under_age_ads"].passed is False
    assert checks["no_under_age_ads"].severity == dg.AssetCheckSeverity.WARN
    assert checks["no_under_age_ads"].metadata["new"].value == n_under
    assert checks["no_change_alerts"].metadata["new"].value == len(truth["touring"]["weeks"])
    marked = [m for m in logs if UNDER_AGE_MARKER in m]
    assert len(marked) == 1 and f"{n_under} ad(s)" in marked[0]
    obs = pd.read_parquet(observations_path(data_dir))
    flagged = obs[obs["ad_id"].isin([t["ad_id"] for t in truth["under_18_ads"]] + truth["touring"]["ad_ids"])]
    secrets = set(flagged["ad_id"]) | set(flagged["advertiser_key"]) | set(flagged["phone_key"].dropna())
    text = "\n".join(logs) + (data_dir / "restricted" / "alerts" / "notifications.log").read_text()
    text += json.dumps([{k: str(v.value) for k, v in c.metadata.items()} for c in checks.values()])
    assert not [s for s in secrets if s in text]
    published = _published_files(data_dir)
    assert published and not [p for p in published if "alert" in p or p.startswith("restricted")]


def _published_files(data_dir) -> list[str]:
    """Every file of the latest publication (the restricted alerts must not be among them)."""
    pointer = (data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
    manifest = json.loads((data_dir / "publications" / pointer / "manifest.json").read_text(encoding="utf-8"))
    return list(manifest["files"])
