"""Idempotency: a backfill of weeks that are already built changes no mart, duplicates no row and
publishes the same bytes.

Runs on a copy of the shared demo run (all 104 weeks built once, its publication included),
re-running four weeks across the ISO year boundary, so one extra run proves what two fresh runs used
to: the marts after the backfill are the marts before it, for every week of the history, not only the
re-run ones; the backfill's publication holds every Parquet file of the demo run's byte for byte; and
a municipality that pulled the first pulls the second without downloading a Parquet file again.
"""

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from lagesbild.publication import LocalFolderTarget
from lagesbild.pull.tokens import TokenStore
from tests.pull.pull_server import serving

pytestmark = pytest.mark.slow

WEEKS = ("2024-12-16", "2025-01-06")  # four weeks across the ISO year boundary


def _marts(data_dir: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for path in sorted((data_dir / "marts").glob("*.parquet")):
        frame = pd.read_parquet(path)
        frames[path.stem] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return frames


def _manifest(data_dir: Path, pub: str) -> dict:
    return json.loads((data_dir / "publications" / pub / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def backfill(tmp_path_factory, demo_run):
    """(data dir, marts before, the run's result, the demo run's publication id) after the backfill."""
    data_dir = tmp_path_factory.mktemp("backfill") / "data"
    shutil.copytree(demo_run.data_dir, data_dir, ignore=shutil.ignore_patterns("logs"), symlinks=True)
    first = LocalFolderTarget(data_dir / "publications").get_latest()
    before = _marts(data_dir)
    with pytest.MonkeyPatch.context() as mp:
        # The resource reads LAGESBILD_DATA_DIR when the run starts.
        mp.setenv("LAGESBILD_DATA_DIR", str(data_dir))
        from orchestration.definitions import defs
        from orchestration.run_demo import run_pipeline

        assert defs.resources["lagesbild"].root == data_dir.resolve()
        result = run_pipeline(*WEEKS, instance=dg.DagsterInstance.ephemeral())
    return data_dir, before, result, first


@pytest.mark.timeout(1800)
def test_backfill_of_built_weeks_changes_no_mart(backfill):
    data_dir, before, result, _ = backfill
    assert {"mart_prevalence_weekly", "mart_coverage_weekly"} <= before.keys()
    weekly = before["mart_prevalence_weekly"]
    assert {"2024-12-16", "2024-12-23", "2024-12-30", "2025-01-06"} <= set(
        pd.to_datetime(weekly["week_start"]).dt.date.astype(str)
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    built = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {"int_ad_observations", "mart_prevalence_weekly"} <= built  # the weeks were really rebuilt

    after = _marts(data_dir)
    assert after.keys() == before.keys()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    assert not after["mart_prevalence_weekly"].duplicated(["region_code", "week_start"]).any()


def test_the_backfill_carries_every_disclosure_part_over(backfill):
    """The marts did not change, so disclosure decides nothing again: each part (a year of the
    prevalence marts, the verdict register's, the hidden population, the coverage) is carried over as
    the demo run decided and verified it (lagesbild/disclosure/parts.py)."""
    _, _, result, _ = backfill
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "disclosed_marts"]
    metadata = event.materialization.metadata
    assert metadata["parts decided"].value == []
    assert set(metadata["parts carried over"].value) == {
        "mart_coverage_weekly",
        "mart_demand_yearly",
        "mart_hidden_population",
        "mart_prevalence_weekly-2024",
        "mart_prevalence_weekly-2025",
    }


def test_the_backfill_publishes_the_same_parquet_bytes(backfill):
    data_dir, _, result, first = backfill
    target = LocalFolderTarget(data_dir / "publications")
    second = target.get_latest()
    assert second != first and set(target.list_publications()) >= {first, second}
    assert _manifest(data_dir, second)["quality"]["run_id"] == result.run_id
    files = [_manifest(data_dir, pub)["files"] for pub in (first, second)]
    parquet = sorted(p for p in files[0] if p.endswith(".parquet"))
    assert parquet and parquet == sorted(p for p in files[1] if p.endswith(".parquet"))
    differ = [p for p in parquet if files[0][p]["sha256"] != files[1][p]["sha256"]]
    assert not differ, f"same marts, different bytes: {differ}"


def test_a_second_pull_of_the_same_data_downloads_no_parquet(backfill, tmp_path):
    from lagesbild.pull.client import pull

    data_dir, _, _, first = backfill
    target = LocalFolderTarget(data_dir / "publications")
    second = target.get_latest()
    tokens = tmp_path / "tokens.json"
    _, token = TokenStore(tokens).create("0580", label="test")
    try:
        with serving(data_dir / "publications", tokens) as port:
            url, dest = f"http://127.0.0.1:{port}", tmp_path / "linkoping"
            target.set_latest(first)
            assert any(p.endswith(".parquet") for p in pull(url, token, dest).downloaded)
            target.set_latest(second)
            again = pull(url, token, dest)
            assert again.publication_id == second
            assert not [p for p in again.downloaded if p.endswith(".parquet")], again.downloaded
    finally:
        target.set_latest(second)
