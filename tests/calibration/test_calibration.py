"""The calibration harness on a few hundred replicates: the mart's interval covers in the textbook
case, never falls below what was seen, never has zero width, and the known failure (heterogeneous
advertisers bias two-source estimates low) shows. `make calibrate` runs the full table."""

from __future__ import annotations

import pandas as pd
import pytest

from lagesbild.calibration.estimators import estimate
from lagesbild.calibration.run import summarise
from lagesbild.calibration.simulate import SCENARIOS, simulate

BY_NAME = {s.name: s for s in SCENARIOS}


def _row(rows, estimator):
    return next(r for r in rows if r["estimator"] == estimator)


@pytest.mark.parametrize("n_true", [40, 250])
def test_textbook_interval_covers_and_respects_what_was_seen(n_true):
    est = estimate(simulate(BY_NAME["textbook"], n_true, 600, seed=n_true))
    chapman = _row(summarise(est), "chapman")
    assert 0.92 <= chapman["coverage"] <= 0.98
    assert chapman["below_seen"] == 0 and chapman["zero_width"] == 0
    chao2 = _row(summarise(est), "chao2")
    assert 0.88 <= chao2["coverage"] <= 0.99


def test_heterogeneous_advertisers_bias_two_sources_low():
    rows = summarise(estimate(simulate(BY_NAME["heterogeneous"], 250, 300, seed=3)))
    assert _row(rows, "chapman")["median_rel_bias"] < -0.3
    assert _row(rows, "chapman")["coverage"] < 0.5


def test_full_overlap_and_no_overlap_are_explicit():
    counts = pd.DataFrame(
        {
            "n1": [10, 10, 0],
            "n2": [20, 10, 0],
            "m2": [10, 10, 0],
            "s_obs": [20, 10, 0],
            "f1": [0, 0, 0],
            "f2": [4, 0, 0],
            "t": 52,
        }
    )
    out = estimate(counts)
    assert out.loc[0, "ci_low"] == 20 and out.loc[0, "ci_high"] == pytest.approx(20 * 0.025 ** (-1 / 10))
    assert out.loc[1, "ci_high"] > out.loc[1, "ci_low"] == 10
    assert out.loc[2, ["chapman_n", "ci_low", "ci_high", "chao2_n"]].isna().all()
    # no singletons: chao2 says what was seen, with a real upper bound
    assert out.loc[0, "chao2_n"] == 20 and out.loc[0, "chao2_ci_high"] > 20
