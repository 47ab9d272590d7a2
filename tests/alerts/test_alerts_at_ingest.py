"""Under-age alerts come from the ingest itself: every stated age under 18, before any gate."""

import json
import stat
from datetime import date

from lagesbild.alerts.ingest import alert_from_ingest
from lagesbild.alerts.store import AlertStore
from lagesbild.sources.snapshots import FolderArchive, ingest_week
from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

KEY = b"test-key"
WEEK = date(2026, 3, 2)
SITE = "annonsportal-a"


def _line(ad_id, age, **extra):
    return json.dumps(
        {"site": SITE, "ad_id": ad_id, "captured_at": "2026-03-03T10:00:00+01:00", "stated_age": age,
         "location": "Linköping", "category": "escort", **extra}
    )


def _archive(tmp_path, lines):
    folder = tmp_path / "snap" / SITE
    folder.mkdir(parents=True)
    (folder / f"{SITE}_20260303T0900Z.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return FolderArchive(tmp_path / "snap")


def test_every_age_under_18_is_a_candidate_even_when_quarantined(tmp_path):
    ages = list(range(10, 20))
    archive = _archive(tmp_path, [_line(f"ad{age}", age) for age in ages])
    slow = ingest_week(archive, WEEK, KEY)
    fast = ingest_week_fast(FolderArchive(archive.root), WEEK, KEY)
    assert same_result(slow, fast) == []
    young = slow.under_age.set_index("ad_id")
    assert sorted(young.stated_age.tolist()) == list(range(10, 18))
    assert young.loc["ad10", "implausible"] and young.loc["ad14", "implausible"]
    assert not young.loc["ad15", "implausible"] and not young.loc["ad17", "implausible"]
    # the implausible ages are a separate finding: quarantined, so the raw suite (15-100) never sees them
    q = slow.quarantine
    assert sorted(q.loc[q.reason == "impossible_age", "position"].tolist()) == [1, 2, 3, 4, 5]
    assert slow.rows.stated_age.min() == 15
    assert slow.metadata["under_age_lines"] == 8


def test_age_under_18_alerts_even_on_a_line_that_fails_validation(tmp_path):
    archive = _archive(
        tmp_path,
        [
            _line("x1", "13 år"),  # not an integer: quarantined as bad_value, still an alert
            _line("x2", 16, captured_at="yesterday"),  # bad timestamp
            json.dumps({"site": SITE, "stated_age": 12, "captured_at": "2026-03-03T10:00:00+01:00"}),  # no ad_id
        ],
    )
    result = ingest_week(archive, WEEK, KEY)
    assert len(result.rows) == 0 and len(result.quarantine) == 3
    assert sorted(result.under_age.ad_id) == [f"{SITE}_20260303T0900Z.jsonl#line3", "x1", "x2"]


def test_alert_from_ingest_writes_the_restricted_store(tmp_path):
    archive = _archive(tmp_path, [_line("ad12", 12), _line("ad16", 16), _line("ad30", 30)])
    result = ingest_week(archive, WEEK, KEY)
    data_dir = tmp_path / "data"
    run = alert_from_ingest([result.under_age], data_dir)
    assert run is not None and run.store.summary.under_age_new == 2
    store = AlertStore(data_dir)
    stored = store.load_under_age()
    assert sorted(stored.ad_id) == ["ad12", "ad16"]
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    for path in store.directory.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    # the full run later fills in place and advertiser without raising the ad again ...
    full = stored[["site", "ad_id", "first_week_seen", "last_week_seen"]].assign(
        municipality_code="0580", advertiser_key="k" * 64
    )
    later = store.update(full, store.load_change(), WEEK)
    assert later.summary.under_age_new == 0 and set(later.under_age.municipality_code) == {"0580"}
    # ... and a later ingest-time sighting (no place known) keeps them
    again = alert_from_ingest(result.under_age, data_dir)
    assert set(again.store.under_age.municipality_code) == {"0580"}


def test_no_under_age_line_writes_nothing(tmp_path):
    result = ingest_week(_archive(tmp_path, [_line("ad30", 30)]), WEEK, KEY)
    assert alert_from_ingest([result.under_age], tmp_path / "data") is None
    assert not (tmp_path / "data").exists()
