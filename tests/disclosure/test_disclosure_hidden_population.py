"""Disclosure of mart_hidden_population: its counts are tied by identities a reader knows.

With two sites, every advertiser seen in some week was seen on one of the sites, so s_obs = n1 + n2
- m2 in a row that is its region and year's only site pair: a suppressed m2 must not be that
difference of published counts. The property test draws capture histories (two sites, weeks seen)
for a county's municipalities, builds the mart's rows from them and checks the published rows
against that identity and the county = municipalities sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lagesbild.disclosure import apply_policy, load_policy, verify

COUNTY = "05"
POLICY = load_policy()
COUNTS = ["n1", "n2", "m2", "s_obs", "f1", "f2"]


def _counts(on_a: np.ndarray, on_b: np.ndarray, weeks: np.ndarray) -> dict[str, int]:
    seen = on_a | on_b
    return {
        "n1": int(on_a.sum()),
        "n2": int(on_b.sum()),
        "m2": int((on_a & on_b).sum()),
        "s_obs": int(seen.sum()),
        "f1": int((seen & (weeks == 1)).sum()),
        "f2": int((seen & (weeks == 2)).sum()),
    }


def _mart(histories: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """One row per municipality and the county row, as mart_hidden_population has them (two sites)."""
    rows = [(f"05{i:02d}", "municipality", _counts(*h)) for i, h in enumerate(histories)]
    everyone = [np.concatenate([h[k] for h in histories]) for k in range(3)]
    rows.append((COUNTY, "county", _counts(*everyone)))
    frame = pd.DataFrame(
        [
            {
                "region_code": code,
                "region_name": code,
                "region_level": level,
                "year": 2025,
                "site_a": "a",
                "site_b": "b",
                **c,
                # the estimates follow their inputs; their values do not matter here
                "chapman_n": float(c["s_obs"]) if c["m2"] else None,
                "ci_low": float(c["s_obs"]) if c["m2"] else None,
                "ci_high": float(2 * c["s_obs"]) if c["m2"] else None,
                "estimate_status": "ok" if c["m2"] else "no_overlap",
                "weeks_observed": 52,
                "chao2_n": float(c["s_obs"] + 1),
                "chao2_status": "ok",
            }
            for code, level, c in rows
        ]
    )
    return frame


def _histories(seed: int, sizes: list[int], p_a: float, p_b: float):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        on_a, on_b = rng.random(n) < p_a, rng.random(n) < p_b
        weeks = np.where(on_a | on_b, rng.integers(1, 5, size=n), 0)
        out.append((on_a, on_b, weeks))
    return out


def _leaks(out: pd.DataFrame) -> list[str]:
    """Suppressed counts a reader gets back from s_obs = n1 + n2 - m2 (one hidden cell of the four)."""
    leaks = []
    for _, row in out.iterrows():
        cells = ["n1", "n2", "m2", "s_obs"]
        hidden = [c for c in cells if pd.isna(row[c])]
        if len(hidden) == 1 and row[hidden[0] + "_suppressed"]:
            leaks.append(f"{row['region_code']}.{hidden[0]}")
    return leaks


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Mjölby-like: m2 = 4 is suppressed; n1, n2 and s_obs (23) are published and give it back
@example(seed=1, sizes=[30, 250], p_a=0.5, p_b=0.45)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.sampled_from([0, 2, 5, 9, 15, 30, 60, 250]), min_size=1, max_size=6),
    p_a=st.floats(0.05, 0.99),
    p_b=st.floats(0.05, 0.99),
)
def test_a_suppressed_overlap_is_not_the_seen_minus_the_sites(seed, sizes, p_a, p_b):
    raw = _mart(_histories(seed, sizes, p_a, p_b))
    assert ((raw["n1"] + raw["n2"] - raw["m2"]) == raw["s_obs"]).all()
    out = apply_policy({"mart_hidden_population": raw}, POLICY, COUNTY).marts["mart_hidden_population"]
    for col in COUNTS:
        assert not out[col].dropna().between(1, POLICY.min_persons - 1).any(), col
    assert _leaks(out) == []
    assert verify({"mart_hidden_population": out}, POLICY) == []


def test_verify_finds_an_overlap_given_away_by_the_seen():
    raw = _mart(_histories(1, [30, 250], 0.5, 0.45))
    out = apply_policy({"mart_hidden_population": raw}, POLICY, COUNTY).marts["mart_hidden_population"]
    # publish everything but the small m2 again: s_obs and the two site counts give it back
    small = out.index[raw["m2"].between(1, 4)][0]
    for col in COUNTS:
        if col != "m2":
            out.loc[small, col] = raw.loc[small, col]
            out.loc[small, col + "_suppressed"] = False
    leaks = [v for v in verify({"mart_hidden_population": out}, POLICY) if v.rule == "recoverable"]
    assert any(v.column == "m2" and v.row == small for v in leaks)


def test_with_more_site_pairs_the_seen_is_no_identity_and_adds_nothing():
    """Three sites: s_obs counts the union of all three, so no row is tied to it; nothing extra hidden."""
    raw = _mart(_histories(3, [40, 250], 0.5, 0.5))
    other = raw.assign(site_b="c")
    out = apply_policy({"mart_hidden_population": pd.concat([raw, other], ignore_index=True)}, POLICY, COUNTY)
    hidden = out.marts["mart_hidden_population"]["s_obs"].isna()
    assert not hidden.any()


def _row(**counts) -> dict:
    base = {
        "region_code": "0500",
        "region_name": "0500",
        "region_level": "municipality",
        "year": 2025,
        "site_a": "a",
        "site_b": "b",
        "chapman_n": 30.0,
        "chapman_variance": 2.0,
        "ci_low": 30.0,
        "ci_high": 40.0,
        "ci_method": "chao1987_log_normal",
        "estimate_status": "ok",
        "weeks_observed": 52,
        "chao2_n": 30.0,
        "chao2_ci_low": 30.0,
        "chao2_ci_high": 35.0,
        "chao2_ci_method": "chao1987_log_normal",
        "chao2_status": "ok",
        "estimates_disagree": False,
    }
    return {**base, **counts}


def test_interval_methods_and_the_comparison_are_hidden_with_their_estimates():
    """The interval method names the case of the counts (full overlap: m2 = min(n1, n2); no
    singletons: f1 is 0 or 1), so it is hidden wherever its estimate is, like the status; so is
    estimates_disagree, a comparison of both intervals."""
    rows = [
        # f1 = 1 is suppressed; 'no_singletons_poisson_bound' would say it is 0 or 1, so 1
        _row(n1=20, n2=30, m2=12, s_obs=38, f1=1, f2=0, chao2_ci_method="no_singletons_poisson_bound"),
        # m2 = n2 = 3: 'full_overlap_binomial_bound' would say m2 equals the smaller site
        _row(region_code="0501", n1=40, n2=3, m2=3, s_obs=40, f1=10, f2=9, ci_method="full_overlap_binomial_bound"),
        _row(region_code="0502", n1=60, n2=50, m2=30, s_obs=80, f1=20, f2=12),
        _row(region_code="05", region_level="county", n1=120, n2=83, m2=45, s_obs=158, f1=31, f2=21),
    ]
    raw = pd.DataFrame(rows)
    out = apply_policy({"mart_hidden_population": raw}, POLICY, COUNTY).marts["mart_hidden_population"]
    chapman_hidden = out["chapman_n_suppressed"]
    chao2_hidden = out["chao2_n_suppressed"]
    assert chapman_hidden.any() and chao2_hidden.any() and not (chapman_hidden & chao2_hidden).all()
    assert out.loc[chapman_hidden, "ci_method"].isna().all()
    assert out.loc[~chapman_hidden, "ci_method"].notna().all()
    assert out.loc[chao2_hidden, "chao2_ci_method"].isna().all()
    assert out.loc[~chao2_hidden, "chao2_ci_method"].notna().all()
    assert out.loc[chapman_hidden | chao2_hidden, "estimates_disagree"].isna().all()
    assert out.loc[~(chapman_hidden | chao2_hidden), "estimates_disagree"].notna().all()
    assert verify({"mart_hidden_population": out}, POLICY) == []
    # verify reads the values a reader gets: a method left on a hidden estimate fails the check
    leaked = out.copy()
    first = leaked.index[chao2_hidden][0]
    leaked.loc[first, "chao2_ci_method"] = "no_singletons_poisson_bound"
    problems = verify({"mart_hidden_population": leaked}, POLICY)
    assert [(v.column, v.row, v.rule) for v in problems] == [("chao2_ci_method", first, "status_not_set")]
