"""One site's snapshot of one week deleted -> a failed check naming both, no publication."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

pytestmark = pytest.mark.slow

FIRST, LAST = "2024-09-02", "2024-11-18"  # 12 weeks
VICTIM_WEEK = "2024-10-14"


def _snapshot_of(inputs: Path, site: str, week_start: str) -> Path:
    from datetime import date, timedelta

    start = date.fromisoformat(week_start)
    days = {(start + timedelta(days=i)).strftime("%Y%m%d") for i in range(7)}
    matches = [p for p in (inputs / "snapshots" / site).iterdir() if p.name.split("_")[-1][:8] in days]
    assert len(matches) == 1, matches
    return matches[0]


def test_missing_snapshot_fails_a_check_and_blocks_publication(tmp_path, dbt_manifest, monkeypatch, demo_copy):
    from orchestration.run_demo import run_pipeline

    monkeypatch.setenv("LAGESBILD_DATA_DIR", str(tmp_path))
    inputs = demo_copy(tmp_path)
    _snapshot_of(inputs, "annonsportal-b", VICTIM_WEEK).unlink()

    result = run_pipeline(FIRST, LAST, instance=dg.DagsterInstance.ephemeral())

    assert not result.success
    evaluations = [
        e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    failed = [ev for ev in evaluations if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR]
    assert failed, "a blocking check must fail"
    text = " ".join(f"{ev.check_name} {ev.description} {ev.metadata}" for ev in failed)
    assert "annonsportal-b" in text and VICTIM_WEEK in text, text
    publications = tmp_path / "publications"
    assert not publications.exists() or not any(
        p.is_dir() and not p.is_symlink() and not p.name.startswith(".") for p in publications.iterdir()
    ), os.listdir(publications)
