"""Inside ``indexed_marts`` the region lookups answer from an index built once per mart; they must
give exactly the rows (order, index, columns) the plain filters give outside a block."""

from __future__ import annotations

import pandas as pd
from report_helpers import build_marts

from lagesbild.report.data import (
    indexed_marts,
    memo,
    pool_code_of,
    pool_members,
    pooled_rows,
    records,
    region_rows,
)


def _lookups(marts: dict) -> dict:
    out = {}
    for name, frame in marts.items():
        if "region_code" not in frame.columns:  # flows are keyed by home and purchase region
            continue
        codes = sorted(set(frame["region_code"].astype(str))) + ["0000"]  # and a code with no rows
        for code in codes:
            out[(name, code)] = region_rows(frame, code)
        out[(name, "pooled")] = pooled_rows(frame)
    codes = {str(c) for frame in marts.values() for c in frame.get("region_code", [])}
    out["pools"] = {code: pool_code_of(marts, code) for code in sorted(codes)}
    out["members"] = {pool: pool_members(marts, pool) for pool in set(out["pools"].values()) if pool}
    return out


def test_indexed_lookups_equal_the_plain_filters():
    marts = build_marts()
    plain = _lookups(marts)
    with indexed_marts():
        indexed = _lookups(marts)
        again = _lookups(marts)  # second time from the index
    assert plain.keys() == indexed.keys()
    for key, expected in plain.items():
        for got in (indexed[key], again[key]):
            if isinstance(expected, pd.DataFrame):
                pd.testing.assert_frame_equal(got, expected)
            else:
                assert got == expected, key
    assert any(len(v) for k, v in plain.items() if k != "pools" and k != "members" and k[1] == "pooled")


def test_memo_and_records_are_per_block():
    calls = []
    with indexed_marts():
        assert memo(("k",), lambda: calls.append(1) or len(calls)) == 1
        assert memo(("k",), lambda: calls.append(1) or len(calls)) == 1
    with indexed_marts():
        assert memo(("k",), lambda: calls.append(1) or len(calls)) == 2  # a new block computes afresh
    assert memo(("k",), lambda: calls.append(1) or len(calls)) == 3  # outside a block: every time
    frame = build_marts()["mart_prevalence_yearly"]
    with indexed_marts():
        rows = records(frame)
        assert rows is records(frame)
    pd.testing.assert_frame_equal(pd.DataFrame(rows), frame.reset_index(drop=True), check_dtype=False)
