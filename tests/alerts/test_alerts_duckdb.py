"""The DuckDB rules give exactly the alerts the pandas rules gave, from a frame, a Parquet file or a partitioned folder.

``alerts_before_duckdb.json`` holds what the pandas implementation (before the rules moved
into DuckDB) returned on the seeded synthetic frame of ``alerts_synthetic.py``, for six configurations:
every row, value, reason and row order.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alerts_synthetic import CONFIGS, EXPECTED_PATH, alerts_as_records, current_alerts, synthetic_observations

from lagesbild.alerts.config import AlertConfig
from lagesbild.alerts.detect import change_alerts, under_age_alerts
from lagesbild.alerts.observations import Observations, ObservationsError
from lagesbild.alerts.run import load_observations, observations_path, run_alerts
from lagesbild.alerts.store import AlertStore

NOW = pd.Timestamp("2026-03-16T06:00Z")


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(EXPECTED_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return synthetic_observations()


def _alerts(obs, name: str) -> dict:
    config = AlertConfig(**CONFIGS[name])
    source = obs if isinstance(obs, Observations) else Observations.from_frame(obs)
    return json.loads(
        json.dumps(
            alerts_as_records(
                under_age_alerts(source, config), change_alerts(source, config), source.latest_week
            )
        )
    )


def test_the_synthetic_frame_exercises_every_rule(expected):
    kinds = {row[0] for name in CONFIGS for row in expected[name]["change"]}
    assert kinds == {"new_advertisers_spike", "touring_advertiser", "site_share_shift"}
    assert len(expected["minor_category"]["under_age"]) > len(expected["default"]["under_age"]) >= 8
    assert any(row[4] is None for row in expected["default"]["under_age"])  # an ad never mapped


def test_same_alerts_as_the_pandas_rules_from_a_frame(expected):
    assert current_alerts() == expected


@pytest.mark.parametrize("layout", ["file", "partitioned"])
def test_same_alerts_from_the_parquet_export(tmp_path, synthetic, expected, layout):
    path = observations_path(tmp_path)
    if layout == "file":
        path.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(synthetic, preserve_index=False), path)
    else:  # the export partitioned by week: week_start only in the folder names
        path = tmp_path / "intermediate" / "int_ad_observations"
        for week, rows in synthetic.groupby("week_start", sort=True):
            part = path / f"week_start={week.isoformat()}"
            part.mkdir(parents=True)
            table = pa.Table.from_pandas(rows.drop(columns="week_start"), preserve_index=False)
            pq.write_table(table, part / "part-0.parquet")
        assert observations_path(tmp_path) == path
    obs = load_observations(path)
    assert obs.rows == len(synthetic) and obs.latest_week == max(synthetic["week_start"])
    for name in ("default", "minor_category", "share_sensitive"):
        assert _alerts(obs, name) == expected[name], name
    # DuckDB's spill folder lives beside the export only while a connection is open
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_run_from_the_export_stores_what_a_run_from_the_frame_stores(tmp_path, synthetic):
    export = observations_path(tmp_path / "a")
    export.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(synthetic, preserve_index=False), export)
    from_export = run_alerts(load_observations(export), tmp_path / "a", config=AlertConfig(), now=NOW)
    from_frame = run_alerts(synthetic, tmp_path / "b", config=AlertConfig(), now=NOW)
    assert from_export.store.summary == from_frame.store.summary
    for load in (AlertStore.load_under_age, AlertStore.load_change):
        pd.testing.assert_frame_equal(load(AlertStore(tmp_path / "a")), load(AlertStore(tmp_path / "b")))
    assert from_export.store.summary.under_age_detected == 10


def test_a_missing_column_in_the_export_names_the_path(tmp_path, synthetic):
    path = tmp_path / "int_ad_observations.parquet"
    pq.write_table(pa.Table.from_pandas(synthetic.drop(columns="advertiser_key"), preserve_index=False), path)
    with pytest.raises(ObservationsError, match=rf"{path}: missing column\(s\) \['advertiser_key'\]"):
        load_observations(path)


def test_an_empty_partition_folder_and_an_ambiguous_export_are_refused(tmp_path):
    folder = tmp_path / "intermediate" / "int_ad_observations"
    folder.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds no Parquet files"):
        load_observations(observations_path(tmp_path))
    (tmp_path / "intermediate" / "int_ad_observations.parquet").write_bytes(b"")
    with pytest.raises(ObservationsError, match="both exist"):
        observations_path(tmp_path)


def test_frame_values_are_coerced_as_the_pandas_rules_did(synthetic):
    # ages as text and weeks as timestamps with a zone: the same alerts as the typed frame
    loose = synthetic.astype({"stated_age": "object"})
    loose["stated_age"] = loose["stated_age"].map(lambda a: None if pd.isna(a) else str(a))
    loose["week_start"] = pd.to_datetime(loose["week_start"]).dt.tz_localize("Europe/Stockholm")
    assert _alerts(loose, "default") == _alerts(synthetic, "default")
