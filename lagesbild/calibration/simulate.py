"""Simulated years of two-site ad monitoring with a known number of advertisers.

Every replicate is one region-year: ``n_true`` advertisers, 52 weekly occasions, two sites. An
advertiser is active in a window of weeks (the whole year unless advertisers enter and leave);
while active, its ad on a site is visible in a week following a two-state Markov chain per site:
it appears with probability ``start`` and, once up, stays up with probability ``stay`` (stay = 0
gives independent weeks, the textbook case; a high stay gives ads that stay up for many weeks).
``start`` is the site's base weekly rate times the advertiser's activity (gamma with mean 1 when
advertisers are heterogeneous: a few far more active than most, on both sites alike).

Everything is vectorised over replicates (numpy arrays of replicates x advertisers), so thousands
of replicates take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKS = 52


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    #: probability that a site sees a (homogeneous, year-long) advertiser at least once in the year
    yearly_capture_a: float = 0.5
    yearly_capture_b: float = 0.45
    #: gamma shape of the advertiser activity multiplier (None: everyone alike)
    heterogeneity_shape: float | None = None
    #: advertisers active only for a random window of 4..52 weeks
    entry_exit: bool = False
    #: probability that a visible ad is still up the next week
    stay: float = 0.0


SCENARIOS = (
    Scenario("textbook", "independent sites, everyone alike, all year, weekly independent ads"),
    Scenario(
        "unequal_catchability",
        "site a sees 70 % of advertisers in a year, site b 20 %",
        yearly_capture_a=0.7,
        yearly_capture_b=0.2,
    ),
    Scenario(
        "mild_heterogeneity",
        "advertiser activity gamma(shape 4): activity varies by about 50 %, on both sites",
        heterogeneity_shape=4.0,
    ),
    Scenario(
        "heterogeneous",
        "advertiser activity gamma(shape 0.5): a few far more active, on both sites",
        heterogeneity_shape=0.5,
    ),
    Scenario(
        "entry_exit",
        "advertisers active 4..52 weeks of the year (enter and leave)",
        entry_exit=True,
    ),
    Scenario("persistent_ads", "an ad once up stays up the next week with probability 0.9", stay=0.9),
    Scenario(
        "realistic",
        "heterogeneous + entry/exit + persistent ads + unequal sites together",
        yearly_capture_a=0.6,
        yearly_capture_b=0.35,
        heterogeneity_shape=1.0,
        entry_exit=True,
        stay=0.8,
    ),
)

#: Region sizes: true advertisers in a year (the demo county's scale; docs/estimation.md).
REGIONS = (("county", 800), ("linkoping_sized", 250), ("motala_sized", 40))


def _weekly_rate(yearly: float, weeks: int = WEEKS) -> float:
    """Weekly appearance probability that gives ``yearly`` capture over a year of independent weeks."""
    return 1.0 - (1.0 - yearly) ** (1.0 / weeks)


def simulate(scenario: Scenario, n_true: int, replicates: int, seed: int = 0) -> pd.DataFrame:
    """One row per replicate: n1, n2, m2 (two sites over the year) and s_obs, f1, f2, t (weeks)."""
    rng = np.random.default_rng(seed)
    shape = (replicates, n_true)
    if scenario.heterogeneity_shape is None:
        activity = np.ones(shape)
    else:
        k = scenario.heterogeneity_shape
        activity = rng.gamma(k, 1.0 / k, size=shape)
    if scenario.entry_exit:
        duration = rng.integers(4, WEEKS + 1, size=shape)
        first = rng.integers(0, WEEKS - duration + 1)
        # same expected yearly capture as a year-long advertiser: scale the rate by 52 / mean duration
        scale = WEEKS / duration.mean()
    else:
        duration = np.full(shape, WEEKS)
        first = np.zeros(shape, dtype=np.int64)
        scale = 1.0
    last = first + duration
    stay = scenario.stay
    rates = []
    for yearly in (scenario.yearly_capture_a, scenario.yearly_capture_b):
        base = _weekly_rate(yearly) * scale
        # With persistence the chain's stationary share of weeks up is start / (1 - stay + start);
        # keep the first-appearance rate (start) as in the independent case.
        rates.append(np.clip(base * activity, 0.0, 1.0))
    seen_a = np.zeros(shape, dtype=bool)
    seen_b = np.zeros(shape, dtype=bool)
    weeks_seen = np.zeros(shape, dtype=np.int16)
    up = [np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)]
    for week in range(WEEKS):
        active = (first <= week) & (week < last)
        any_site = np.zeros(shape, dtype=bool)
        for s in (0, 1):
            u = rng.random(shape)
            up[s] = active & np.where(up[s], u < stay, u < rates[s])
            any_site |= up[s]
        seen_a |= up[0]
        seen_b |= up[1]
        weeks_seen += any_site
    return pd.DataFrame(
        {
            "replicate": np.arange(replicates),
            "n_true": n_true,
            "n1": seen_a.sum(axis=1),
            "n2": seen_b.sum(axis=1),
            "m2": (seen_a & seen_b).sum(axis=1),
            "s_obs": (weeks_seen > 0).sum(axis=1),
            "f1": (weeks_seen == 1).sum(axis=1),
            "f2": (weeks_seen == 2).sum(axis=1),
            "t": WEEKS,
        }
    )
