"""Complete simulated county years for measuring the gap checks' false-alarm rate.

Nothing is broken in these years: every site delivers every week, locations map as usual, the
market only varies by chance. Whatever a gap check blocks here is a false alarm. The simulation is
deliberately not the checks' own model: advertisers arrive at a seasonally varying rate, stay for
a lognormal number of weeks (median 6, some for most of the year), advertise on one or both sites
with one to several ad lines each, and an advertiser's location text is unmappable for all of its
ads or none (clustered, not row-independent).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

SITES = ("annonsportal-a", "annonsportal-b")
#: Östergötland's municipalities with their population weights (Statistics Sweden, rounded).
MUNICIPALITIES = {
    "0580": ("Linköping", 166),
    "0581": ("Norrköping", 145),
    "0583": ("Motala", 44),
    "0586": ("Mjölby", 28),
    "0562": ("Finspång", 22),
    "0582": ("Söderköping", 14),
    "0561": ("Åtvidaberg", 12),
    "0513": ("Kinda", 10),
    "0563": ("Valdemarsvik", 8),
    "0584": ("Vadstena", 7),
    "0560": ("Boxholm", 6),
    "0509": ("Ödeshög", 5),
    "0512": ("Ydre", 4),
}
COUNTY = "05"
FIRST_WEEK = dt.date(2025, 1, 6)


def simulate_year(
    rng: np.random.Generator,
    weeks: int = 52,
    burn_in: int = 26,
    arrivals_per_week: float = 6.0,
    unmapped_rate: float = 0.04,
    quarantine_rate: float = 0.01,
) -> dict[str, pd.DataFrame]:
    """One complete year: ``prevalence_weekly``, ``coverage`` and ``snapshot_files`` frames."""
    total = weeks + burn_in
    season = 1.0 + 0.3 * np.sin(2 * np.pi * (np.arange(total) / 52.0 + rng.random()))
    arrivals = rng.poisson(arrivals_per_week * season)
    n = int(arrivals.sum())
    start = np.repeat(np.arange(total), arrivals)
    duration = np.maximum(1, np.round(rng.lognormal(np.log(6.0), 1.0, n))).astype(int)
    codes = np.array(list(MUNICIPALITIES))
    weight = np.array([w for _, w in MUNICIPALITIES.values()], dtype=float)
    muni = rng.choice(len(codes), size=n, p=weight / weight.sum())
    on_a = rng.random(n) < 0.75
    on_b = ~on_a | (rng.random(n) < 0.4)
    lines = np.stack([on_a * (1 + rng.poisson(0.6, n)), on_b * (1 + rng.poisson(0.6, n))])  # site x adv
    unmapped = rng.random(n) < unmapped_rate
    week_idx = np.arange(burn_in, total)
    active = (start[None, :] <= week_idx[:, None]) & (week_idx[:, None] < (start + duration)[None, :])
    mapped_active = active & ~unmapped[None, :]
    onehot = np.zeros((n, len(codes)))
    onehot[np.arange(n), muni] = 1.0
    week_starts = [FIRST_WEEK + dt.timedelta(weeks=i) for i in range(weeks)]
    # weekly prevalence per municipality and the county (mapped ads only, as in the mart)
    adv = mapped_active.astype(float) @ onehot
    ads = (mapped_active * lines.sum(axis=0)[None, :]).astype(float) @ onehot
    prev = []
    for j, code in enumerate(codes):
        prev.append(
            pd.DataFrame(
                {
                    "region_code": code,
                    "region_level": "municipality",
                    "week_start": week_starts,
                    "ads_seen": ads[:, j].astype(int),
                    "active_advertisers": adv[:, j].astype(int),
                }
            )
        )
    prev.append(
        pd.DataFrame(
            {
                "region_code": COUNTY,
                "region_level": "county",
                "week_start": week_starts,
                "ads_seen": ads.sum(axis=1).astype(int),
                "active_advertisers": mapped_active.sum(axis=1).astype(int),
            }
        )
    )
    cov, files = [], []
    for s, site in enumerate(SITES):
        rows = (active * lines[s][None, :]).sum(axis=1)
        unmapped_rows = (active * (lines[s] * unmapped)[None, :]).sum(axis=1)
        quarantined = rng.binomial(rows + rng.poisson(0.0, weeks), quarantine_rate)
        cov.append(
            pd.DataFrame(
                {
                    "site": site,
                    "week_start": week_starts,
                    "snapshot_present": True,
                    "rows": rows,
                    "unmapped_rows": unmapped_rows,
                }
            )
        )
        files.append(
            pd.DataFrame(
                {
                    "site": site,
                    "week_start": week_starts,
                    "rows_read": rows + quarantined,
                    "rows_quarantined": quarantined,
                }
            )
        )
    return {
        "prevalence_weekly": pd.concat(prev, ignore_index=True),
        "coverage": pd.concat(cov, ignore_index=True),
        "snapshot_files": pd.concat(files, ignore_index=True),
    }


def county_names() -> dict[str, str]:
    return {code: name for code, (name, _) in MUNICIPALITIES.items()}


def upto(frames: dict[str, pd.DataFrame], week_start: dt.date) -> dict[str, pd.DataFrame]:
    """The frames as a run in week ``week_start`` sees them (every week up to and including it)."""
    return {k: v[v["week_start"] <= week_start] for k, v in frames.items()}
