"""A seeded, market-like ``int_ad_observations`` frame that exercises every alert rule and its edge cases.

Used to check that the DuckDB rules give exactly the alerts the earlier pandas rules gave: the
expected alerts in ``alerts_before_duckdb.json`` were written by the pandas implementation on
this frame (``python tests/alerts/alerts_synthetic.py --write-expected`` regenerates them with the
current rules, which is only right after a deliberate change of a rule).

The frame is built with :class:`random.Random` (stable across Python versions) and has: 41 observed
weeks with an unobserved gap and a week in which no ad could be mapped to a municipality, three
sites of unequal size, 30 municipalities of Zipf-like size, advertisers arriving and leaving (ordinary churn), a burst of newcomers in a small municipality,
touring advertisers, a site that drops out for three weeks and a tiny week, ads that move or lose
their place within a week, unmapped places, missing ages, a configurable "young" category, and ads
stating 15-17 that are later edited to an adult age or to no age. Rows are shuffled, so which
capture of a week is "last" depends on the row order, as in the export.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

import pandas as pd

FIRST_MONDAY = dt.date(2025, 1, 6)
N_WEEKS = 42
UNOBSERVED = {17, 29}  # no capture at all in these weeks ...
UNMAPPED_WEEK = 29  # ... except, in this one, a few ads whose place could not be mapped
TINY_WEEK = 35  # only a handful of ads captured (below the share rule's minimum)
SITE_GAP = range(22, 25)  # site-c captures nothing in these weeks
SITES = ("site-a", "site-b", "site-c")
MUNICIPALITIES = [f"0{500 + i * 3}" for i in range(30)]
CATEGORIES = ("escort", "massage", "companion")

#: The configurations the expected alerts were computed with (defaults plus each knob moved).
CONFIGS: dict[str, dict] = {
    "default": {},
    "minor_category": {"minor_categories": ("young",)},
    "no_poisson_guard": {"new_advertisers_max_p": 1.0},
    "short_history": {"trailing_weeks": 4, "min_history_weeks": 2, "new_advertisers_min": 2},
    "touring_two": {"touring_min_municipalities": 2},
    "share_sensitive": {"site_share_shift_pp": 8.0, "site_share_min_ads": 5},
}

EXPECTED_PATH = Path(__file__).with_name("alerts_before_duckdb.json")


def synthetic_observations(seed: int = 9) -> pd.DataFrame:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(MUNICIPALITIES))]
    rows: list[dict] = []
    ad_serial = 0

    def add(site, ad_id, week_index, capture, place, advertiser, age, category):
        week = FIRST_MONDAY + dt.timedelta(weeks=week_index)
        captured = dt.datetime.combine(week, dt.time(8 + capture), tzinfo=dt.UTC) + dt.timedelta(days=capture)
        rows.append(
            {
                "site": site,
                "ad_id": ad_id,
                "week_start": week,
                "captured_at": pd.Timestamp(captured),
                "posted_at": pd.Timestamp(captured - dt.timedelta(days=2)),
                "phone_key": None if advertiser is None else f"ph-{advertiser}",
                "advertiser_key": advertiser,
                "stated_age": age,
                "category": category,
                "municipality_code": place,
                "location_status": "mapped" if place else "unknown",
            }
        )

    def captured(week_index: int, site: str) -> bool:
        if week_index in UNOBSERVED or (site == "site-c" and week_index in SITE_GAP):
            return False
        return week_index != TINY_WEEK or rng.random() < 0.02

    def run_ad(advertiser, home, start, length, places_of_week, age_of_week, category, site=None):
        nonlocal ad_serial
        ad_serial += 1
        site = site or rng.choices(SITES, weights=(5, 3, 2))[0]
        ad_id = f"{site[-1].upper()}{ad_serial:06d}"
        for wi in range(start, min(start + length, N_WEEKS)):
            if not captured(wi, site):
                continue
            for capture in range(rng.choice((1, 2, 2, 3))):
                add(
                    site,
                    ad_id,
                    wi,
                    capture,
                    places_of_week(wi, capture),
                    advertiser,
                    age_of_week(wi),
                    category,
                )

    # Ordinary advertisers: arrive over the whole period, stay a few weeks, one to three ads each.
    for n in range(700):
        advertiser = f"adv-{n:04d}" if rng.random() > 0.01 else None  # a few rows without a key
        home = rng.choices(MUNICIPALITIES, weights=weights)[0]
        start = rng.randrange(-10, N_WEEKS)
        age = rng.randint(19, 45)
        for _ in range(rng.choice((1, 1, 2, 3))):
            length = rng.randint(1, 12)
            begin = max(0, start + rng.randint(0, 3))
            category = rng.choice(CATEGORIES)
            unmapped = rng.random() < 0.05
            moves = rng.random() < 0.04  # edited to a neighbouring town part-way through a week

            def place(wi, capture, home=home, unmapped=unmapped, moves=moves):
                if unmapped:
                    return None
                if moves and capture > 0:
                    return MUNICIPALITIES[(MUNICIPALITIES.index(home) + 1) % len(MUNICIPALITIES)]
                return home

            no_age = rng.random() < 0.08
            run_ad(
                advertiser,
                home,
                begin,
                length,
                place,
                lambda wi, a=age, na=no_age: None if na else a,
                category,
            )

    # A burst of newcomers in a small municipality in week 30 (and a smaller one in week 12).
    for week_index, place, count in ((30, MUNICIPALITIES[22], 7), (12, MUNICIPALITIES[27], 3)):
        for n in range(count):
            run_ad(
                f"burst-{week_index}-{n}",
                place,
                week_index,
                3,
                lambda wi, c, p=place: p,
                lambda wi: 30,
                "escort",
            )

    # Touring advertisers: one ad per town in the same weeks.
    for n, (start, towns) in enumerate(((8, 3), (20, 4), (31, 2), (36, 5))):
        places = rng.sample(MUNICIPALITIES, towns)
        for town in places:
            run_ad(
                f"tour-{n}", town, start, 2, lambda wi, c, t=town: t, lambda wi: 26, "escort", site="site-a"
            )

    # Ads stating an age under 18 (and a "young" ad with no age), with edits.
    minors = [
        # (start, length, age of week offset, place of (week offset, capture), category)
        (5, 3, lambda o: 16, lambda o, c: MUNICIPALITIES[0], "escort"),
        (9, 4, lambda o: 17 if o < 2 else 19, lambda o, c: MUNICIPALITIES[1], "escort"),  # age edited up
        (14, 3, lambda o: 17 if o == 0 else None, lambda o, c: MUNICIPALITIES[2], "escort"),  # age removed
        (19, 2, lambda o: 15, lambda o, c: None if o == 1 else MUNICIPALITIES[3], "escort"),  # place lost
        (25, 2, lambda o: 17, lambda o, c: MUNICIPALITIES[4 + c], "escort"),  # moves within each week
        (33, 1, lambda o: 16, lambda o, c: None, "escort"),  # never mapped
        (38, 4, lambda o: 17, lambda o, c: MUNICIPALITIES[5], "escort"),  # runs into the last week
        (27, 3, lambda o: None, lambda o, c: MUNICIPALITIES[6], "young"),  # only with the category setting
        (11, 2, lambda o: 21, lambda o, c: MUNICIPALITIES[7], "young"),  # stated adult: never flagged
    ]
    for i, (start, length, age, place, category) in enumerate(minors):
        run_ad(
            f"minor-{i}",
            None,
            start,
            length,
            lambda wi, c, s=start, p=place: p(wi - s, c),
            lambda wi, s=start, a=age: a(wi - s),
            category,
        )
    # The same minor ad id on two sites, and one with two advertiser keys over time.
    for site in ("site-a", "site-b"):
        for wi in (15, 16):
            add(site, "X-SHARED", wi, 0, MUNICIPALITIES[8], "minor-shared", 17, "escort")
    add("site-b", "X-REKEYED", 20, 0, MUNICIPALITIES[9], "minor-key-1", 16, "escort")
    add("site-b", "X-REKEYED", 21, 0, MUNICIPALITIES[9], "minor-key-2", 16, "escort")
    add("site-b", "X-REKEYED", 21, 1, MUNICIPALITIES[9], None, 16, "escort")
    for n in range(25):  # a week counts as observed for the spike rule even when nothing was mapped
        add(SITES[n % 2], f"U{n:03d}", UNMAPPED_WEEK, 0, None, f"adv-{n:04d}", 30, "escort")

    rng.shuffle(rows)
    frame = pd.DataFrame(rows)
    frame["stated_age"] = frame["stated_age"].astype("Int16")
    return frame


def alerts_as_records(under_age: pd.DataFrame, change: pd.DataFrame, latest_week) -> dict:
    """Alerts as plain JSON values, in row order; missing values are ``None`` whatever the frame held."""

    def plain(value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float):
            return value
        if hasattr(value, "item"):
            return value.item()
        return value

    return {
        "latest_week": plain(latest_week),
        "under_age": [[plain(v) for v in row] for row in under_age.itertuples(index=False)],
        "change": [[plain(v) for v in row] for row in change.itertuples(index=False)],
        "under_age_columns": list(under_age.columns),
        "change_columns": list(change.columns),
    }


def current_alerts() -> dict:
    """The alerts the current rules give on the synthetic frame, per configuration."""
    from lagesbild.alerts.config import AlertConfig
    from lagesbild.alerts.detect import change_alerts, under_age_alerts

    obs = synthetic_observations()
    latest = max(obs["week_start"])
    return {
        name: alerts_as_records(
            under_age_alerts(obs, AlertConfig(**kwargs)), change_alerts(obs, AlertConfig(**kwargs)), latest
        )
        for name, kwargs in CONFIGS.items()
    }


if __name__ == "__main__" and sys.argv[1:] == ["--write-expected"]:
    EXPECTED_PATH.write_text(json.dumps(current_alerts(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED_PATH}")
