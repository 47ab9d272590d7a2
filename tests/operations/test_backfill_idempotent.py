"""Idempotency: a backfill of weeks that are already built changes no mart and duplicates no row.

Runs on a copy of the shared demo run (all 104 weeks built once), re-running four weeks across the
ISO year boundary, so one extra run proves what two fresh runs used to: the marts after the backfill
are the marts before it, for every week of the history, not only the re-run ones.
"""

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

WEEKS = ("2024-12-16", "2025-01-06")  # four weeks across the ISO year boundary


def _marts(data_dir: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for path in sorted((data_dir / "marts").glob("*.parquet")):
        frame = pd.read_parquet(path)
        frames[path.stem] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return frames


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_backfill_of_built_weeks_changes_no_mart(tmp_path, monkeypatch, demo_run):
    data_dir = tmp_path / "data"
    shutil.copytree(demo_run.data_dir, data_dir, ignore=shutil.ignore_patterns("publications", "logs"))
    before = _marts(data_dir)
    assert {"mart_prevalence_weekly", "mart_coverage_weekly"} <= before.keys()
    weekly = before["mart_prevalence_weekly"]
    assert {"2024-12-16", "2024-12-23", "2024-12-30", "2025-01-06"} <= set(
        pd.to_datetime(weekly["week_start"]).dt.date.astype(str)
    )

    # The resource reads LAGESBILD_DATA_DIR when the run starts.
    monkeypatch.setenv("LAGESBILD_DATA_DIR", str(data_dir))
    from orchestration.definitions import defs
    from orchestration.run_demo import run_pipeline

    assert defs.resources["lagesbild"].root == data_dir.resolve()
    backfill = run_pipeline(*WEEKS, instance=dg.DagsterInstance.ephemeral())
    assert backfill.success, [e.message for e in backfill.all_events if e.is_failure]
    built = {e.asset_key.path[-1] for e in backfill.get_asset_materialization_events()}
    assert {"int_ad_observations", "mart_prevalence_weekly"} <= built  # the weeks were really rebuilt

    after = _marts(data_dir)
    assert after.keys() == before.keys()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    assert not after["mart_prevalence_weekly"].duplicated(["region_code", "week_start"]).any()
