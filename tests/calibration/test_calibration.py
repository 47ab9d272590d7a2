"""The calibration harness on a few hundred replicates: the mart's interval covers in the textbook
case, never falls below what was seen, never has zero width, and the known failure (heterogeneous
advertisers bias two-source estimates low) shows. `make calibrate` runs the full table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lagesbild.calibration.estimators import estimate, min_doubletons
from lagesbild.calibration.run import coverage_table, coverage_upper_limit, failures, main, summarise
from lagesbild.calibration.simulate import SCENARIOS, Scenario, simulate

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
    # 20 x 0.025^(-1/10) = 28.9, rounded up to whole advertisers
    assert out.loc[0, "ci_low"] == 20 and out.loc[0, "ci_high"] == math.ceil(20 * 0.025 ** (-1 / 10)) == 29
    assert out.loc[1, "ci_high"] > out.loc[1, "ci_low"] == 10
    assert out.loc[2, ["chapman_n", "ci_low", "ci_high", "chao2_n"]].isna().all()
    # no singletons: chao2 says what was seen, with a real upper bound
    assert out.loc[0, "chao2_n"] == 20 and out.loc[0, "chao2_ci_high"] > 20


def test_chao2_small_counts_publish_seen_to_log_normal_upper():
    """The Chao2 small-count rule of the mart's SQL: fewer than chao2_min_doubletons advertisers seen
    in exactly two weeks -> low_doubletons, lower bound = s_obs, upper bound log-normal; never below
    what was seen and never of zero width, whatever the counts; no estimate from a single week."""
    k = min_doubletons()
    grid = [
        (s_obs, f1, f2, t)
        for s_obs in (1, 2, 5, 12, 40, 300)
        for f1 in range(0, 14)
        for f2 in range(0, 12)
        for t in (1, 2, 5, 52)
        if f1 + f2 <= s_obs
    ]
    counts = pd.DataFrame(grid, columns=["s_obs", "f1", "f2", "t"]).assign(n1=0, n2=0, m2=0)
    out = estimate(counts)
    est = out[out["chao2_n"].notna()]
    assert (est["chao2_ci_low"] >= est["s_obs"]).all()
    assert (est["chao2_ci_high"] > est["chao2_ci_low"]).all()
    assert (est["chao2_ci_low"] <= est["chao2_n"]).all() and (est["chao2_n"] <= est["chao2_ci_high"]).all()
    # statuses and methods
    assert set(out.loc[out["t"] < 2, "chao2_status"]) == {"too_few_weeks"}
    assert out.loc[out["t"] < 2, "chao2_n"].isna().all()
    small = est[(est["f2"] < k) & (est["f1"] >= 2)]
    assert set(small["chao2_status"]) == {"low_doubletons"}
    assert set(small["chao2_ci_method"]) == {"low_doubletons_seen_to_log_normal"}
    assert (small["chao2_ci_low"] == small["s_obs"]).all()
    big = est[(est["f2"] >= k) & (est["f1"] >= 1)]
    assert set(big["chao2_status"]) == {"ok"} and set(big["chao2_ci_method"]) == {"chao1987_log_normal"}
    # log-normal lower bound, rounded down to whole advertisers: s_obs where fewer than one is unseen
    assert (big["chao2_ci_low"] >= big["s_obs"]).all() and (big["chao2_ci_low"] > big["s_obs"]).any()
    no_singletons = (est["f1"] == 0) | ((est["f1"] == 1) & (est["f2"] == 0))
    assert set(est.loc[no_singletons, "chao2_ci_method"]) == {"no_singletons_poisson_bound"}
    assert set(est["chao2_status"]) <= {"ok", "low_doubletons"}


def test_textbook_motala_chao2_covers_with_the_small_count_rule():
    """The rule is what lifts Chao2 to >= 93 % at Motala size: the log-normal lower bound on the same
    rows (recovered from the log-normal upper bound, S + f0 / C with C = (high - S) / f0) covers
    clearly less often."""
    est = estimate(simulate(BY_NAME["textbook"], 40, 2000, seed=11))
    after = _row(summarise(est), "chao2")["coverage"]
    assert after >= 0.935
    ruled = est["chao2_ci_method"] == "low_doubletons_seen_to_log_normal"
    assert 0.05 < ruled.mean() < 0.4
    f0 = est["chao2_n"] - est["s_obs"]
    lognormal_low = est["s_obs"] + f0 / ((est["chao2_ci_high"] - est["s_obs"]) / f0)
    low = lognormal_low.where(ruled, est["chao2_ci_low"])
    before = ((low <= 40) & (est["chao2_ci_high"] >= 40)).mean()
    assert before < after - 0.015


def _table(coverages: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"scenario": s, "region": r, "estimator": e, "published": 1.0, "rows": 2000, "coverage": c,
             "below_seen": 0.0, "zero_width": 0.0}
            for (s, r, e), c in coverages.items()
        ]
    )


def test_calibrate_fails_when_a_published_textbook_coverage_is_below_95_beyond_monte_carlo_error():
    """95 % intervals must cover 95 % in the textbook case, within Monte Carlo error: at 2,000 rows
    94.2 % passes (Clopper-Pearson upper limit 95.2 %), 93.5 % does not (94.5 %); the bar was a flat
    93 % before hp-2026.5."""
    passing = {
        ("textbook", "county", "chapman"): 0.95,
        ("textbook", "county", "chao2"): 0.942,
        ("textbook", "motala_sized", "chapman"): 0.96,
        ("textbook", "motala_sized", "chao2"): 0.945,
        ("textbook", "motala_sized", "chapman_ok"): 0.80,  # a subset, not what is published
        ("heterogeneous", "county", "chapman"): 0.0,  # documented failure, not the textbook case
    }
    assert failures(_table(passing)) == []
    failing = {**passing, ("textbook", "motala_sized", "chao2"): 0.935}
    assert failures(_table(failing)) == [
        "textbook motala_sized: chao2 coverage 93.5% of 2000 rows, below 95% beyond Monte Carlo error"
    ]
    assert coverage_upper_limit(0.935, 2000) < 0.95 < coverage_upper_limit(0.942, 2000)
    assert coverage_upper_limit(1.0, 300) == 1.0
    broken = _table(passing)
    broken.loc[broken["scenario"] == "heterogeneous", "zero_width"] = 0.01
    assert failures(broken) == ["heterogeneous county: chapman zero width in 1.00%"]
    assert main(["--replicates", "40", "--scenario", "persistent_ads"]) == 0  # no textbook rows: passes


def test_coverage_table_has_both_estimators_per_scenario_and_region():
    table = _table({("textbook", "county", "chapman"): 0.95, ("textbook", "county", "chao2"): 0.94,
                    ("textbook", "county", "chao2_ok"): 0.5})
    cov = coverage_table(table)
    assert cov.to_dict("records") == [{"scenario": "textbook", "region": "county", "chapman": 0.95, "chao2": 0.94}]


@pytest.mark.parametrize(("n_true", "yearly"), [(100, 0.95), (300, 0.99)])
def test_sites_that_see_nearly_everyone_still_cover(n_true, yearly):
    """Textbook case with sites that see 95-99 % of the advertisers a year: the true unseen count is
    mostly 0 while the estimate of f0 is a fraction, so an unrounded lower bound S + f0 / C lay above
    the truth (Chapman coverage 22 % and 12 % here). The bounds are whole advertisers, rounded outward."""
    scenario = Scenario("high_capture", "both sites see nearly everyone", yearly, yearly)
    est = estimate(simulate(scenario, n_true, 300, seed=n_true))
    rows = summarise(est)
    for name in ("chapman", "chao2"):
        assert _row(rows, name)["coverage"] >= 0.93, name
        assert _row(rows, name)["below_seen"] == 0 and _row(rows, name)["zero_width"] == 0
    for low, high in (("ci_low", "ci_high"), ("chao2_ci_low", "chao2_ci_high")):
        bounds = est[[low, high]].dropna()
        assert (bounds == bounds.round()).all().all()  # whole advertisers


@pytest.mark.parametrize(("n_true", "yearly"), [(40, 0.1), (100, 0.1), (300, 0.05)])
def test_sparse_overlap_upper_bound_covers(n_true, yearly):
    """Textbook case where the sites together see few of many advertisers (expected overlap 0.4-1):
    a recapture or two gives a low estimate, and the log-normal upper bound lay below the truth
    (Chapman coverage 36 %, 66 %, 47 %). Below the minimum overlap the upper bound is at least the N
    at which seeing m2 or more recaptures has Poisson probability 2.5 %: n1 n2 / lambda_2.5%(m2)."""
    scenario = Scenario("sparse", "the sites see few of many advertisers", yearly, yearly)
    est = estimate(simulate(scenario, n_true, 400, seed=n_true))
    assert _row(summarise(est), "chapman")["coverage"] >= 0.93
    low = est[(est["m2"] >= 1) & (est["ci_method"] == "low_overlap_seen_to_poisson_bound")]
    assert len(low) > 0
    poisson_low = {1: -math.log(0.975), 2: 0.2422093, 3: 0.6186721}
    for m2, lam in poisson_low.items():
        rows = low[low["m2"] == m2]
        assert (rows["ci_high"] >= rows["n1"] * rows["n2"] / lam - 1e-6).all(), m2


@pytest.mark.parametrize(("n_true", "yearly", "replicates"), [(300, 0.15, 1500), (800, 0.1, 1000), (2000, 0.1, 500)])
def test_a_moderate_overlap_of_a_small_share_still_covers(n_true, yearly, replicates):
    """Textbook case where the sites see a small share of the advertisers (yearly capture 0.1-0.15 per
    site, expected overlap 7-20): from the minimum overlap on, the log-normal upper bound alone lay
    below the truth too often (Chapman coverage 93.4 %, 93.5 %, 93.9 % at 4,000 replicates). The
    upper bound is at least the scaled Poisson bound n1 n2 / (phi lambda_2.5%(m2 / phi)),
    phi = (1 - m2 / n1)(1 - m2 / n2), so the interval covers at least 95 %."""
    scenario = Scenario("small_share", "the sites see a small share of the advertisers", yearly, yearly)
    est = estimate(simulate(scenario, n_true, replicates, seed=n_true + 7))
    chapman = _row(summarise(est), "chapman")
    assert chapman["coverage"] >= 0.95, chapman["coverage"]
    assert chapman["below_seen"] == 0 and chapman["zero_width"] == 0
    ok = est[est["ci_method"] == "chao1987_log_normal"]
    assert len(ok) > 0.3 * len(est)
    phi = (1 - ok["m2"] / ok["n1"]) * (1 - ok["m2"] / ok["n2"])
    k = ok["m2"] / phi
    lam = k * (1 - 1 / (9 * k) - 1.959963984540054 / (3 * k**0.5)) ** 3
    assert (ok["ci_high"] >= ok["n1"] * ok["n2"] / (phi * lam) - 1e-6).all()


@pytest.mark.parametrize(
    ("on_b_if_on_a", "on_b_otherwise", "bias_sign"),
    [(0.6, 0.3, -1), (0.3, 0.6, +1)],  # trap-happy (seen on A: likelier on B), trap-shy (less likely)
)
def test_dependent_sites_break_the_95_and_its_label_says_so(on_b_if_on_a, on_b_otherwise, bias_sign):
    """Behavioural response between sites (an advertiser on site A is more, or less, likely on site B)
    is outside Chapman's model: with 250 advertisers the interval covers 0.3 % (trap-happy, N 25 % too
    low) and 0.1 % (trap-shy, N 48 % too high) of 4,000 replicates. So the Chapman interval is a 95 %
    interval only under its assumptions, and the estimate is not always a lower bound: the mart's
    column descriptions and known biases must say both (they called it a 95 % interval outright)."""
    import numpy as np
    import yaml

    from lagesbild.settings import DBT_PROJECT_DIR

    rng = np.random.default_rng(515)
    on_a = rng.random((1000, 250)) < 0.5
    on_b = rng.random((1000, 250)) < np.where(on_a, on_b_if_on_a, on_b_otherwise)
    n1, n2, m2 = on_a.sum(axis=1), on_b.sum(axis=1), (on_a & on_b).sum(axis=1)
    counts = pd.DataFrame({"n1": n1, "n2": n2, "m2": m2, "s_obs": n1 + n2 - m2, "f1": 0, "f2": 0, "t": 52})
    out = estimate(counts)
    covered = ((out["ci_low"] <= 250) & (out["ci_high"] >= 250)).mean()
    bias = (out["chapman_n"] / 250 - 1).median()
    assert covered < 0.05 and bias_sign * bias > 0.2

    spec = yaml.safe_load((DBT_PROJECT_DIR / "models/marts/mart_hidden_population.yml").read_text("utf-8"))
    model = spec["models"][0]
    columns = {c["name"]: c for c in model["columns"]}
    for col in ("ci_low", "ci_high"):
        assert "only under Chapman's assumptions" in " ".join(columns[col]["description"].split())
        assert "bara under Chapmans antaganden" in columns[col]["config"]["meta"]["description_sv"]
    assert any("upwards" in b for b in model["config"]["meta"]["known_biases"])
