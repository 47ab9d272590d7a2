"""Identical content gives identical bytes: published Parquet has a defined row order and fixed
writer settings, whatever order the rows arrive in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from mart_frames import WEEKLY_COLUMNS

from lagesbild.disclosure import apply_policy, load_policy
from lagesbild.publication import LocalFolderTarget, publish_marts, split_by_region
from lagesbild.warehouse import canonical_rows, parquet_bytes, write_parquet_atomic


def _weekly() -> pd.DataFrame:
    rows = []
    for week in pd.date_range("2025-01-06", periods=6, freq="7D"):
        for code, n in (("0580", 14), ("0581", 9), ("0509", 3), ("0513", 6), ("0512", 6)):
            rows.append((code, code, "municipality", week, 2025, n, n * 5, None))
        rows.append(("05", "Östergötlands län", "county", week, 2025, 38, 190, "note"))
    return pd.DataFrame(
        rows,
        columns=[*WEEKLY_COLUMNS, "comment"],
    )


def _shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    return df.sample(frac=1, random_state=np.random.default_rng(seed)).reset_index(drop=True)


def test_same_rows_in_any_order_give_the_same_bytes(tmp_path):
    df = _weekly()
    first = parquet_bytes(df)
    for seed in range(5):
        assert parquet_bytes(_shuffled(df, seed)) == first
        write_parquet_atomic(_shuffled(df, seed), tmp_path / f"{seed}.parquet", canonical=True)
        assert (tmp_path / f"{seed}.parquet").read_bytes() == first
    assert canonical_rows(_shuffled(df, 1)).equals(canonical_rows(df))
    assert parquet_bytes(df.assign(active_advertisers=df["active_advertisers"] + 1)) != first


def test_suppression_does_not_depend_on_row_order():
    """Secondary suppression picks the smallest cell of a constraint; ties (0512 and 0513 both 6)
    must be broken the same way whatever the input order."""
    policy = load_policy()
    base = apply_policy({"mart_prevalence_weekly": _weekly()}, policy, "05").marts["mart_prevalence_weekly"]
    assert base["region_code"].tolist() == _weekly()["region_code"].tolist()  # caller's order kept
    for seed in range(5):
        shuffled = _shuffled(_weekly(), seed)
        again = apply_policy({"mart_prevalence_weekly": shuffled}, policy, "05").marts[
            "mart_prevalence_weekly"
        ]
        assert again["week_start"].tolist() == shuffled["week_start"].tolist()
        assert canonical_rows(again).equals(canonical_rows(base)), seed


def test_republishing_the_same_marts_in_another_order_gives_byte_identical_files(tmp_path):
    target = LocalFolderTarget(tmp_path)
    one = publish_marts(target, {"mart_prevalence_weekly": _weekly()}, load_policy(), "05")
    two = publish_marts(target, {"mart_prevalence_weekly": _shuffled(_weekly(), 7)}, load_policy(), "05")
    assert one.id != two.id
    parquet = [p for p in one.manifest["files"] if p.endswith(".parquet")]
    assert len(parquet) == len(
        split_by_region(apply_policy({"mart_prevalence_weekly": _weekly()}, load_policy(), "05").marts, "05")
    )
    for relpath in parquet:
        assert one.manifest["files"][relpath]["sha256"] == two.manifest["files"][relpath]["sha256"], relpath
