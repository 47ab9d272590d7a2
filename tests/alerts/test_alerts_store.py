"""The restricted store: dedup across runs, 0700/0600 modes, never inside publications/."""

from __future__ import annotations

import json
import os
import stat

import pandas as pd
import pytest
from alerts_helpers import TOURING_KEY, WEEKS, _row, build_observations

from lagesbild.alerts.detect import UNDER_AGE_COLUMNS, change_alerts, under_age_alerts
from lagesbild.alerts.store import AlertStore, RestrictedStoreError


def _run(store: AlertStore, obs: pd.DataFrame, now: str):
    latest = pd.to_datetime(obs["week_start"]).max().date()
    return store.update(under_age_alerts(obs), change_alerts(obs), latest, now=pd.Timestamp(now))


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_second_run_updates_last_week_without_duplicates(tmp_path):
    store = AlertStore(tmp_path)
    # run 1 sees weeks 1-4: the ad stating 16 is seen in weeks 3-4 only so far
    first = _run(store, build_observations(WEEKS[:4]), "2026-02-02T06:00Z")
    assert first.summary.under_age_new == 1 and first.summary.under_age_total == 1
    row = first.under_age.iloc[0]
    assert (row.ad_id, row.first_week_seen, row.last_week_seen) == ("A-MINOR-7731", WEEKS[2], WEEKS[3])

    # run 2 sees weeks 4-10 only (older weeks aged out of the export): same ad now also in week 5
    second = _run(store, build_observations(WEEKS[3:]), "2026-03-16T06:00Z")
    stored = store.load_under_age()
    assert sorted(stored["ad_id"]) == ["A-MINOR-7731", "A-MINOR-9904", "B-MINOR-5512"]
    ad = stored.set_index("ad_id").loc["A-MINOR-7731"]
    assert (ad.first_week_seen, ad.last_week_seen) == (WEEKS[2], WEEKS[4])  # first kept, last moved on
    assert ad.first_alerted_at == pd.Timestamp("2026-02-02T06:00Z")  # raised once, by run 1
    assert ad.last_updated_at == pd.Timestamp("2026-03-16T06:00Z")
    assert second.summary.under_age_new == 2 and second.summary.under_age_total == 3

    # run 3 over the same data raises nothing new and duplicates nothing
    third = _run(store, build_observations(WEEKS[3:]), "2026-03-17T06:00Z")
    assert third.summary.under_age_new == 0 and third.summary.change_new == 0
    assert len(store.load_under_age()) == 3
    change = store.load_change()
    assert list(zip(change["kind"], change["key"], strict=True)) == [("touring_advertiser", TOURING_KEY)]
    assert change.iloc[0].first_alerted_at == pd.Timestamp("2026-03-16T06:00Z")


def test_an_alert_whose_ad_left_the_export_is_kept(tmp_path):
    store = AlertStore(tmp_path)
    _run(store, build_observations(WEEKS[:5]), "2026-02-09T06:00Z")
    later = pd.DataFrame([_row("annonsportal-a", "A-1000", WEEKS[9], 0, "0580", "adv-00", "ph-00", 24)])
    result = _run(store, later, "2026-03-16T06:00Z")
    assert list(result.under_age["ad_id"]) == ["A-MINOR-7731"]
    assert result.summary.under_age_active == 0 and result.summary.under_age_to_review == 0


def test_folder_0700_files_0600_and_analyst_files(tmp_path):
    store = AlertStore(tmp_path)
    result = _run(store, build_observations(), "2026-03-16T06:00Z")
    assert _mode(tmp_path / "restricted") == 0o700
    assert _mode(store.directory) == 0o700
    names = sorted(p.name for p in store.directory.iterdir() if p.name != ".lock")
    assert names == [
        "change_alerts.csv",
        "change_alerts.parquet",
        "summary.json",
        "under_age_alerts.csv",
        "under_age_alerts.parquet",
    ]
    for path in store.directory.iterdir():
        assert _mode(path) == 0o600, path.name
    store.append_line("notifications.log", "hello")
    assert _mode(store.directory / "notifications.log") == 0o600

    csv = pd.read_csv(result.under_age_csv, dtype=str)
    assert sorted(csv["ad_id"]) == ["A-MINOR-7731", "A-MINOR-9904", "B-MINOR-5512"]
    assert list(csv.columns[:6]) == UNDER_AGE_COLUMNS
    summary = json.loads((store.directory / "summary.json").read_text())
    assert summary["under_age_total"] == 3 and summary["change_total"] == 1
    assert "A-MINOR" not in json.dumps(summary) and TOURING_KEY not in json.dumps(summary)
    assert not (tmp_path / "publications").exists()


def test_a_loose_existing_folder_is_tightened(tmp_path):
    (tmp_path / "restricted" / "alerts").mkdir(parents=True, mode=0o755)
    os.chmod(tmp_path / "restricted", 0o755)
    os.chmod(tmp_path / "restricted" / "alerts", 0o777)
    AlertStore(tmp_path).ensure()
    assert _mode(tmp_path / "restricted") == 0o700
    assert _mode(tmp_path / "restricted" / "alerts") == 0o700


def test_refuses_a_restricted_folder_that_resolves_into_publications(tmp_path):
    (tmp_path / "publications" / "p1").mkdir(parents=True, mode=0o755)
    os.chmod(tmp_path / "publications" / "p1", 0o755)
    (tmp_path / "restricted").mkdir()
    (tmp_path / "restricted" / "alerts").symlink_to(tmp_path / "publications" / "p1")
    with pytest.raises(RestrictedStoreError, match="overlaps the publication folder"):
        _run(AlertStore(tmp_path), build_observations(), "2026-03-16T06:00Z")
    assert list((tmp_path / "publications" / "p1").iterdir()) == []
    assert _mode(tmp_path / "publications" / "p1") == 0o755  # refused before touching it


def test_overlapping_runs_keep_each_others_alerts(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = AlertStore(tmp_path)

    def one(i: int):
        frame = pd.DataFrame([_row("s", f"AD-{i}", WEEKS[i % 3], 0, "0580", f"adv-{i}", f"p{i}", 16)])
        return _run(AlertStore(tmp_path), frame, f"2026-03-16T06:00:{i:02d}Z")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(16)))
    assert sorted(store.load_under_age()["ad_id"]) == sorted(f"AD-{i}" for i in range(16))
