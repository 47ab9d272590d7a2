"""The restricted_alerts asset materialised for real, with its WARN checks."""

from __future__ import annotations

import json
import logging

import dagster as dg
import pytest
from alerts_helpers import build_observations

from lagesbild.alerts.notify import UNDER_AGE_MARKER
from lagesbild.warehouse import write_parquet_atomic
from orchestration.assets.alerts import ALERTS_KEY, alert_assets, restricted_alerts
from orchestration.resources import LagesbildResource


@dg.asset(key=dg.AssetKey(["int_ad_observations"]))
def int_ad_observations() -> None:
    """Stands in for the dbt model: the test pre-writes its Parquet export."""


def _materialize(tmp_path, obs):
    write_parquet_atomic(obs, tmp_path / "intermediate" / "int_ad_observations.parquet")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [int_ad_observations, restricted_alerts],
        resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
        instance=instance,
    )
    assert result.success
    logs = [e.user_message for e in instance.all_logs(result.run_id) if e.user_message]
    return result, logs


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_asset_writes_the_store_and_warns_with_counts(tmp_path, secrets, caplog, monkeypatch):
    monkeypatch.delenv("LAGESBILD_ALERT_WEBHOOK_URL", raising=False)
    caplog.set_level(logging.DEBUG)
    result, logs = _materialize(tmp_path, build_observations())

    checks = _checks(result)
    assert set(checks) == {"no_under_age_ads", "no_change_alerts"}
    under, change = checks["no_under_age_ads"], checks["no_change_alerts"]
    assert under.passed is False and under.severity == dg.AssetCheckSeverity.WARN
    assert change.passed is False and change.severity == dg.AssetCheckSeverity.WARN
    assert under.metadata["to_review"].value == 3 and under.metadata["new"].value == 3
    assert change.metadata["new"].value == 1

    mat = result.asset_materializations_for_node("restricted_alerts")[0]
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["under_age_to_review"] == 3 and meta["change_new_touring_advertiser"] == 1
    assert all(isinstance(v, int | bool) for v in meta.values()), meta  # counts only

    # exactly one line says the run produced under-18 alerts, with the count and the restricted file
    marked = [m for m in logs if UNDER_AGE_MARKER in m]
    assert len(marked) == 1 and "3 ad(s)" in marked[0]
    assert str(tmp_path / "restricted" / "alerts" / "under_age_alerts.csv") in marked[0]

    everything = "\n".join(logs) + "\n".join(r.getMessage() for r in caplog.records)
    everything += json.dumps({k: str(v) for k, v in meta.items()})
    everything += "".join(
        json.dumps({k: str(v.value) for k, v in c.metadata.items()}) for c in checks.values()
    )
    leaked = [s for s in secrets if s in everything]
    assert not leaked

    assert (tmp_path / "restricted" / "alerts" / "under_age_alerts.parquet").exists()
    assert not (tmp_path / "publications").exists()


def test_second_materialisation_with_the_same_data_raises_nothing_new(tmp_path):
    obs = build_observations()
    _materialize(tmp_path, obs)
    result, logs = _materialize(tmp_path, obs)
    checks = _checks(result)
    # nothing new and no under-18 ad in the latest week: the under-age check passes, the store keeps 3
    assert checks["no_under_age_ads"].passed is True
    assert checks["no_under_age_ads"].metadata["total_in_store"].value == 3
    assert checks["no_change_alerts"].passed is True
    assert not any(UNDER_AGE_MARKER in m for m in logs)


def test_a_missing_export_fails_with_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="int_ad_observations.parquet"):
        dg.materialize(
            [int_ad_observations, restricted_alerts],
            resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
        )


def test_exports_for_definitions():
    assert alert_assets == [restricted_alerts]
    defs = dg.Definitions(
        assets=[*alert_assets],
        resources={"lagesbild": LagesbildResource(data_dir="data")},
    )
    graph = defs.resolve_asset_graph()
    assert ALERTS_KEY in graph.get_all_asset_keys()
    check_names = {k.name for k in graph.asset_check_keys}
    assert check_names == {"no_under_age_ads", "no_change_alerts"}
    assert dg.AssetKey(["int_ad_observations"]) in graph.get(ALERTS_KEY).parent_keys
