"""Idempotency: a backfill of several weeks run twice gives identical marts, with no duplicated rows
(the full pipeline on the demo, four weeks across the ISO year boundary)."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

WEEKS = ("2024-12-16", "2025-01-06")  # four weeks across the ISO year boundary


def _load_defs_for(data_dir: Path, monkeypatch) -> None:
    """Point the pipeline at ``data_dir``: the resource reads LAGESBILD_DATA_DIR when each run starts."""
    monkeypatch.setenv("LAGESBILD_DATA_DIR", str(data_dir))
    from orchestration.definitions import defs

    assert defs.resources["lagesbild"].root == data_dir.resolve()


def _marts(data_dir: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for path in sorted((data_dir / "marts").glob("*.parquet")):
        frame = pd.read_parquet(path)
        frames[path.stem] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return frames


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_backfill_twice_gives_identical_marts(tmp_path, monkeypatch, dbt_manifest, demo_copy):
    _load_defs_for(tmp_path, monkeypatch)
    from orchestration.run_demo import run_pipeline

    demo_copy(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    first = run_pipeline(*WEEKS, instance=instance)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    marts_first = _marts(tmp_path)
    assert {"mart_prevalence_weekly", "mart_coverage_weekly"} <= marts_first.keys()
    weekly = marts_first["mart_prevalence_weekly"]
    assert sorted(pd.to_datetime(weekly["week_start"]).dt.date.astype(str).unique()) == [
        "2024-12-16",
        "2024-12-23",
        "2024-12-30",
        "2025-01-06",
    ]

    second = run_pipeline(*WEEKS, instance=instance)
    assert second.success, [e.message for e in second.all_events if e.is_failure]
    marts_second = _marts(tmp_path)
    assert marts_second.keys() == marts_first.keys()
    for name, frame in marts_first.items():
        pd.testing.assert_frame_equal(marts_second[name], frame, obj=name)
