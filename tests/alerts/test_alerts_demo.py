"""The county demo end to end through ingest, dbt and the alerts asset: exactly the planted alerts.

Ground truth comes from ``demo/inputs/ground_truth.json`` (three under-18 stretches, one re-posted
under a new id, so four ads; one touring advertiser in three weeks). The route is the production one
minus the Dagster wiring of the other assets: the library's weekly ingest writes raw/, dbt builds
``int_ad_observations`` (seeds + ``dbt run``), the lead's export copies it to Parquet, and the real
``restricted_alerts`` asset reads it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from lagesbild.alerts.notify import UNDER_AGE_MARKER
from lagesbild.settings import DBT_PROJECT_DIR, DEMO_PSEUDONYM_KEY
from lagesbild.warehouse import write_parquet_atomic
from orchestration.assets.alerts import restricted_alerts
from orchestration.resources import LagesbildResource

pytestmark = pytest.mark.slow


@dg.asset(key=dg.AssetKey(["int_ad_observations"]))
def int_ad_observations() -> None:
    """The dbt model, built by the fixture below."""


def _dbt(data_dir: Path, *args: str) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "LAGESBILD_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [
            str(dbt),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(data_dir / "dbt_target"),
            "--log-path",
            str(data_dir / "dbt_logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    county = pytest.importorskip("lagesbild.demo.county")
    snapshots = pytest.importorskip("lagesbild.sources.snapshots")
    dbt_assets = pytest.importorskip("orchestration.assets.dbt")
    data_dir = tmp_path_factory.mktemp("alerts_demo")
    inputs = data_dir / "demo" / "inputs"
    county.generate_demo(inputs)
    truth_path = inputs / "ground_truth.json"
    if not truth_path.exists():
        pytest.skip("the demo wrote no ground_truth.json")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))

    archive = snapshots.FolderArchive(inputs / "snapshots")
    first = dt.date.fromisoformat(truth["weeks"]["first_monday"])
    for i in range(truth["weeks"]["count"]):
        week = first + dt.timedelta(weeks=i)
        result = snapshots.ingest_week(archive, week, DEMO_PSEUDONYM_KEY.encode("utf-8"))
        part = f"week_start={week.isoformat()}"
        write_parquet_atomic(result.rows, data_dir / "raw" / "ad_snapshots" / part / "part-0.parquet")
        write_parquet_atomic(result.files, data_dir / "raw" / "snapshot_files" / part / "part-0.parquet")
        write_parquet_atomic(
            result.quarantine, data_dir / "raw" / "quarantine" / "ad_snapshots" / part / "part-0.parquet"
        )
    (data_dir / "warehouse").mkdir()
    _dbt(data_dir, "seed")
    _dbt(data_dir, "run", "--select", "+int_ad_observations")
    resource = LagesbildResource(data_dir=str(data_dir))
    dbt_assets.export_models(resource, ["int_ad_observations"])

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [int_ad_observations, restricted_alerts], resources={"lagesbild": resource}, instance=instance
    )
    logs = [e.user_message for e in instance.all_logs(result.run_id) if e.user_message]
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
    obs = pd.read_parquet(data_dir / "intermediate" / "int_ad_observations.parquet")
    tourer = obs.loc[obs["ad_id"].isin(truth["touring"]["ad_ids"]), "advertiser_key"].unique()
    assert list(change["key"].unique()) == list(tourer)


def test_dagster_shows_counts_only(demo):
    data_dir, truth, result, logs = demo
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    n_under = len(truth["under_18_ads"])
    assert checks["no_under_age_ads"].passed is False
    assert checks["no_under_age_ads"].severity == dg.AssetCheckSeverity.WARN
    assert checks["no_under_age_ads"].metadata["new"].value == n_under
    assert checks["no_change_alerts"].metadata["new"].value == len(truth["touring"]["weeks"])
    marked = [m for m in logs if UNDER_AGE_MARKER in m]
    assert len(marked) == 1 and f"{n_under} ad(s)" in marked[0]
    obs = pd.read_parquet(data_dir / "intermediate" / "int_ad_observations.parquet")
    flagged = obs[obs["ad_id"].isin([t["ad_id"] for t in truth["under_18_ads"]] + truth["touring"]["ad_ids"])]
    secrets = set(flagged["ad_id"]) | set(flagged["advertiser_key"]) | set(flagged["phone_key"].dropna())
    text = "\n".join(logs) + (data_dir / "restricted" / "alerts" / "notifications.log").read_text()
    text += json.dumps([{k: str(v.value) for k, v in c.metadata.items()} for c in checks.values()])
    assert not [s for s in secrets if s in text]
    assert not (data_dir / "publications").exists()
