"""A suite run chunk by chunk and merged gives the result of one run over all rows (bench proposal P3)."""

from __future__ import annotations

import pandas as pd

from lagesbild.quality.gx_runner import merge_results, run_suite

SUITE = {
    "name": "chunks",
    "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "site"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 15, "max_value": 100}},
    ],
}


def _summary(result):
    return [(e.type, e.status, e.observed.get("unexpected_count"), e.observed.get("element_count"))
            for e in result.expectations]


def test_merged_chunks_equal_one_run_and_keep_failures():
    frame = pd.DataFrame({"site": ["a", "b", None, "c", "d", "e"], "age": [20, 30, 40, 7, 50, 60]})
    whole = run_suite(SUITE, frame)
    merged = merge_results([run_suite(SUITE, frame.iloc[:3]), run_suite(SUITE, frame.iloc[3:])])
    assert _summary(merged) == _summary(whole)
    assert merged.rows == 6 and not merged.passed()
    statuses = {e.column: e.status for e in merged.expectations if e.column}
    assert statuses == {"site": "failed", "age": "failed"}


def test_clean_chunks_pass():
    frame = pd.DataFrame({"site": ["a", "b", "c", "d"], "age": [20, 30, 40, 50]})
    merged = merge_results([run_suite(SUITE, frame.iloc[:2]), run_suite(SUITE, frame.iloc[2:])])
    assert merged.passed() and merged.rows == 4
