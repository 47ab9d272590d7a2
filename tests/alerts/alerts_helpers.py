"""A small demo-like observation frame: a stable market plus three under-18 ads and one touring advertiser."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

WEEKS = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(10)]
MUNICIPALITIES = ["0580", "0581", "0582", "0583", "0584", "0509"]

#: (site, ad_id, stated_age, week indexes, municipality, advertiser_key, phone_key)
UNDER_AGE = [
    ("annonsportal-a", "A-MINOR-7731", 16, [2, 3, 4], "0580", "adv-minor-k1", "ph-minor-f00d01"),
    ("annonsportal-b", "B-MINOR-5512", 17, [5], "0581", "adv-minor-k2", "ph-minor-f00d02"),
    ("annonsportal-a", "A-MINOR-9904", 16, [7], None, "adv-minor-k3", "ph-minor-f00d03"),
]
TOURING_KEY = "adv-tour-beef42"
TOURING_PHONE = "ph-tour-beef42"
TOURING_WEEK = 6
TOURING_PLACES = ["0580", "0581", "0582"]


def _row(site, ad_id, week, capture, municipality, advertiser, phone, age, category="escort"):
    captured = dt.datetime.combine(week, dt.time(10 + capture), tzinfo=dt.UTC) + dt.timedelta(days=2)
    return {
        "site": site,
        "ad_id": ad_id,
        "week_start": week,
        "captured_at": pd.Timestamp(captured),
        "posted_at": pd.Timestamp(captured - dt.timedelta(days=3)),
        "phone_key": phone,
        "advertiser_key": advertiser,
        "stated_age": age,
        "category": category,
        "municipality_code": municipality,
        "location_status": "mapped" if municipality else "unknown",
    }


def build_observations(weeks: list[dt.date] = WEEKS) -> pd.DataFrame:
    """Two captures a week; 12 adult advertisers, each with one ad on each site in one municipality."""
    rows = []
    for wi, week in enumerate(WEEKS):
        if week not in weeks:
            continue
        for capture in range(2):
            for n in range(12):
                place = MUNICIPALITIES[n % len(MUNICIPALITIES)]
                for site in ("annonsportal-a", "annonsportal-b"):
                    ad = f"{site[-1].upper()}-{1000 + n}"
                    rows.append(_row(site, ad, week, capture, place, f"adv-{n:02d}", f"ph-{n:02d}", 24 + n))
            for site, ad, age, seen, place, adv, phone in UNDER_AGE:
                if wi in seen:
                    rows.append(_row(site, ad, week, capture, place, adv, phone, age))
            if wi == TOURING_WEEK:
                for i, place in enumerate(TOURING_PLACES):
                    rows.append(
                        _row(
                            "annonsportal-a",
                            f"A-TOUR-{i}",
                            week,
                            capture,
                            place,
                            TOURING_KEY,
                            TOURING_PHONE,
                            23,
                        )
                    )
    frame = pd.DataFrame(rows)
    frame["stated_age"] = frame["stated_age"].astype("Int16")
    return frame


#: Every string that identifies an ad or an advertiser in the frame; none may leave the restricted folder.
SECRET_STRINGS = (
    [u[1] for u in UNDER_AGE]
    + [u[5] for u in UNDER_AGE]
    + [u[6] for u in UNDER_AGE]
    + [TOURING_KEY, TOURING_PHONE, "A-TOUR-0"]
)


@pytest.fixture
def demo_obs() -> pd.DataFrame:
    return build_observations()


@pytest.fixture
def secrets() -> list[str]:
    return list(SECRET_STRINGS)
