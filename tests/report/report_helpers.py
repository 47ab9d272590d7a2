"""Synthetic *disclosed* marts for the report tests, built to the contract in docs/architecture.md.

Three municipalities of Östergötland have rows of their own (Linköping, Norrköping, Motala), small
ones are pooled into "Övriga länet" in the demand mart, and the rest have no rows at all. Some
person counts are suppressed (flag set, value null), and two weeks lack a snapshot from one site.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

COUNTY = ("05", "Östergötlands län")
OWN = {"0580": "Linköping", "0581": "Norrköping", "0583": "Motala"}
POOLED = ("05-pooled", "Övriga länet")
GAP_WEEKS = [dt.date(2024, 3, 11), dt.date(2024, 3, 18)]
WEEKS = [dt.date(2024, 1, 1) + dt.timedelta(weeks=i) for i in range(78)]
MODEL_VERSION = "2026.1"
AGE_COLS = ["age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_69", "age_70_plus"]

META = {
    "publication_id": "pub-20260105T0600-test",
    "model_version": MODEL_VERSION,
    "created_at": "2026-01-05T06:00:00+00:00",
    "county_code": "05",
    "county_name": "Östergötlands län",
}


def _region(code: str) -> dict:
    if code == COUNTY[0]:
        return {"region_code": code, "region_name": COUNTY[1], "region_level": "county"}
    if code == POOLED[0]:
        return {"region_code": code, "region_name": POOLED[1], "region_level": "pooled"}
    return {"region_code": code, "region_name": OWN[code], "region_level": "municipality"}


def _weekly(suppress: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    scale = {"05": 1.0, "0580": 0.45, "0581": 0.38, "0583": 0.04}
    rows = []
    for week in WEEKS:
        complete = week not in GAP_WEEKS
        for code, s in scale.items():
            advertisers = int(round(rng.normal(80, 6) * s))
            ads = int(round(advertisers * rng.uniform(3.5, 4.5)))
            rows.append(
                {
                    **_region(code),
                    "week_start": week,
                    "iso_year": week.isocalendar()[0],
                    "iso_week": week.isocalendar()[1],
                    "ads_seen": ads,
                    "unique_ads": int(ads * 0.55),
                    "new_ads": int(ads * 0.12),
                    "active_advertisers": advertisers,
                    "advertiser_days": advertisers * 6,
                    "est_purchases_low": advertisers * 6 * 0.15,
                    "est_purchases_central": advertisers * 6 * 0.35,
                    "est_purchases_high": advertisers * 6 * 0.7,
                    "model_version": MODEL_VERSION,
                    "coverage_complete": complete,
                }
            )
    frame = pd.DataFrame(rows)
    return _suppress_small_advertiser_counts(frame) if suppress else frame


def _suppress_small_advertiser_counts(frame: pd.DataFrame) -> pd.DataFrame:
    frame["active_advertisers_suppressed"] = frame["active_advertisers"] < 5
    frame["active_advertisers"] = (
        frame["active_advertisers"].astype("Int64").mask(frame["active_advertisers_suppressed"])
    )
    return frame


def _yearly(suppress: bool = True) -> pd.DataFrame:
    rows = []
    population = {"05": 472_000, "0580": 165_500, "0581": 145_000, "0583": 43_800}
    central = {"05": 1512.0, "0580": 690.4, "0581": 574.9, "0583": 61.3}
    for year, weeks in ((2024, 52), (2025, 26)):
        for code, c in central.items():
            c = c * weeks / 52
            rows.append(
                {
                    **_region(code),
                    "year": year,
                    "weeks_covered": weeks - (2 if year == 2024 else 0),
                    "ads_seen": int(c * 12),
                    "unique_ads": int(c * 6),
                    "new_ads": int(c * 1.5),
                    "active_advertisers": int(c / 9),
                    "advertiser_weeks": int(c / 2),
                    "advertiser_days": int(c * 2.85),
                    "est_purchases_low": round(c * 0.43, 1),
                    "est_purchases_central": round(c, 1),
                    "est_purchases_high": round(c * 2.0, 1),
                    "population": population[code],
                    "population_year": year - 1,
                    "population_source": (
                        "SCB BE0101N1 31 Dec 2019, offline default (population_2019.csv)"
                        if code == "0583"
                        else f"SCB BE0101N1 31 Dec {year - 1}"
                    ),
                    "est_purchases_per_10k": round(c / population[code] * 10_000, 2),
                    "share_of_county": round(c / (central["05"] * weeks / 52), 4) if code != "05" else 1.0,
                    "est_purchases_incl_hidden": round(c * 1.6, 1) if year == 2024 else None,
                    "est_purchases_incl_hidden_low": round(c * 0.6, 1) if year == 2024 else None,
                    "est_purchases_incl_hidden_high": round(c * 4.1, 1) if year == 2024 else None,
                    "purchases_incl_hidden_method": (
                        "lognormal_propagation" if year == 2024 else "no_hidden_population_estimate"
                    ),
                    "purchases_incl_hidden_model_version": f"{MODEL_VERSION}+hp-2026.2",
                    "model_version": MODEL_VERSION,
                }
            )
    frame = pd.DataFrame(rows)
    return _suppress_small_advertiser_counts(frame) if suppress else frame


def _demand(suppress: bool = True) -> pd.DataFrame:
    # (convicted, in home, mean, min, max, bands) per region and year
    spec = {
        "05": [(41, 30, 37.2, 19, 69, [6, 11, 9, 8, 6, 1]), (38, 27, 38.0, 20, 66, [5, 10, 9, 7, 7, 0])],
        "0580": [(18, 14, 36.1, 19, 61, [3, 5, 4, 3, 3, 0]), (16, 12, 37.5, 21, 64, [2, 4, 5, 3, 2, 0])],
        "0581": [(14, 10, 38.4, 22, 69, [1, 4, 3, 3, 3, 0]), (13, 9, 39.0, 20, 66, [2, 3, 2, 3, 3, 0])],
        POOLED[0]: [(9, 6, 37.0, 20, 60, [0, 2, 2, 2, 1, 0]), (9, 6, 37.3, 25, 62, [1, 3, 2, 1, 2, 0])],
    }
    rows = []
    for code, years in spec.items():
        for year, (n, home, mean, lo, hi, bands) in zip((2024, 2025), years, strict=True):
            rows.append(
                {
                    **_region(code),
                    "year": year,
                    "convicted_buyers": n,
                    "bought_in_home_municipality": home,
                    "share_bought_in_home": round(home / n, 4),
                    "mean_age": mean,
                    "min_age": lo,
                    "max_age": hi,
                    **dict(zip(AGE_COLS, bands, strict=True)),
                    "adult_men": 180_000 if code == "05" else 60_000,
                    "buyers_per_100k_adult_men": round(n / (180_000 if code == "05" else 60_000) * 1e5, 2),
                    "denominator_source": "TAB638",
                }
            )
    frame = pd.DataFrame(rows)
    if not suppress:
        return frame
    # Bands: person counts below 5 are suppressed (primary); a county band below 5 too.
    for col in AGE_COLS + ["convicted_buyers", "bought_in_home_municipality"]:
        frame[f"{col}_suppressed"] = frame[col] < 5
    # Means/shares from fewer than 10 persons are suppressed.
    for col in ["mean_age", "min_age", "max_age", "share_bought_in_home"]:
        frame[f"{col}_suppressed"] = frame["convicted_buyers"] < 10
    for col in [c for c in frame.columns if c.endswith("_suppressed")]:
        base = col.removesuffix("_suppressed")
        frame[base] = frame[base].astype("Float64").mask(frame[col])
    return frame


def _flows(suppress: bool = True) -> pd.DataFrame:
    spec = [
        ("0580", "0580", 24),
        ("0581", "0581", 19),
        ("0581", "0580", 7),
        ("0580", "0581", 3),
        ("0583", "0580", 2),
        ("0583", "0583", 6),
        ("0114", "0580", 5),
    ]
    names = {**OWN, "0114": "Upplands Väsby"}
    rows = [
        {
            "period_start_year": 2024,
            "period_end_year": 2025,
            "home_region_code": h,
            "home_region_name": names[h],
            "purchase_region_code": p,
            "purchase_region_name": names[p],
            "buyers": b,
        }
        for h, p, b in spec
    ]
    frame = pd.DataFrame(rows)
    if not suppress:
        return frame
    frame["buyers_suppressed"] = frame["buyers"] < 5
    frame["buyers"] = frame["buyers"].astype("Int64").mask(frame["buyers_suppressed"])
    return frame


def _hidden(suppress: bool = True) -> pd.DataFrame:
    """County and municipalities: ok, low_overlap (Linköping 2023, m2 = 6) and a row whose m2 = 1
    is below the disclosure threshold (Motala: suppressed_disclosure once published)."""
    rows = []
    inputs = {
        ("05", 2024): (210, 160, 95, 300, 120, 60),
        ("0580", 2024): (96, 70, 41, 140, 70, 10),
        ("0580", 2023): (40, 30, 6, 64, 30, 14),
        ("0583", 2024): (9, 6, 1, 14, 8, 3),
    }
    for (code, year), (n1, n2, m2, s_obs, f1, f2) in inputs.items():
        status = "ok" if m2 >= 7 else "low_overlap" if m2 >= 1 else "no_overlap"
        n = (n1 + 1) * (n2 + 1) / (m2 + 1) - 1
        var = (n1 + 1) * (n2 + 1) * (n1 - m2) * (n2 - m2) / ((m2 + 1) ** 2 * (m2 + 2))
        seen = n1 + n2 - m2
        chao2 = s_obs + (51 / 52) * f1**2 / (2 * f2)
        rows.append(
            {
                **_region(code),
                "year": year,
                "site_a": "annonsportal-a",
                "site_b": "annonsportal-b",
                "n1": n1,
                "n2": n2,
                "m2": m2,
                "chapman_n": round(n, 1),
                "chapman_variance": round(var, 1),
                "ci_low": seen if status == "low_overlap" else round(n - 1.96 * var**0.5, 1),
                "ci_high": round(n + 1.96 * var**0.5, 1),
                "ci_method": "low_overlap_seen_to_poisson_bound"
                if status == "low_overlap"
                else "chao1987_log_normal",
                "estimate_status": status,
                "weeks_observed": 52,
                "s_obs": s_obs,
                "f1": f1,
                "f2": f2,
                "chao2_n": round(chao2, 1),
                "chao2_ci_low": s_obs,
                "chao2_ci_high": round(chao2 * 1.4, 1),
                "chao2_ci_method": "chao1987_log_normal",
                "chao2_status": "ok",
                "estimates_disagree": code == "0580" and year == 2024,
                "model_version": "hp-2026.2",
            }
        )
    frame = pd.DataFrame(rows)
    if not suppress:
        return frame
    for col in ["n1", "n2", "m2", "s_obs", "f1", "f2"]:
        frame[f"{col}_suppressed"] = frame[col] < 5
    chapman_hidden = frame[["n1_suppressed", "n2_suppressed", "m2_suppressed"]].any(axis=1)
    chao2_hidden = frame[["s_obs_suppressed", "f1_suppressed", "f2_suppressed"]].any(axis=1)
    for col in ["chapman_n", "chapman_variance", "ci_low", "ci_high"]:
        frame[f"{col}_suppressed"] = chapman_hidden
    for col in ["chao2_n", "chao2_ci_low", "chao2_ci_high"]:
        frame[f"{col}_suppressed"] = chao2_hidden
    for col in [c for c in frame.columns if c.endswith("_suppressed")]:
        base = col.removesuffix("_suppressed")
        frame[base] = frame[base].astype("Float64").mask(frame[col])
    frame.loc[chapman_hidden, "estimate_status"] = "suppressed_disclosure"
    frame.loc[chao2_hidden, "chao2_status"] = "suppressed_disclosure"
    frame["estimates_disagree"] = (
        frame["estimates_disagree"].astype("boolean").mask(chapman_hidden | chao2_hidden)
    )
    return frame


def build_marts() -> dict[str, pd.DataFrame]:
    return {
        "mart_prevalence_weekly": _weekly(),
        "mart_prevalence_yearly": _yearly(),
        "mart_demand_yearly": _demand(),
        "mart_flows": _flows(),
        "mart_hidden_population": _hidden(),
    }


def build_raw_marts() -> dict[str, pd.DataFrame]:
    """The same marts before disclosure control (no pooled rows: the real policy does not pool)."""
    marts = {
        "mart_prevalence_weekly": _weekly(False),
        "mart_prevalence_yearly": _yearly(False),
        "mart_demand_yearly": _demand(False),
        "mart_flows": _flows(False),
        "mart_hidden_population": _hidden(False),
    }
    return {
        name: frame[frame.get("region_level", pd.Series("", index=frame.index)) != "pooled"].reset_index(
            drop=True
        )
        for name, frame in marts.items()
    }


def build_quality() -> dict:
    return {
        "checks": [
            {
                "name": "snapshot_every_week",
                "asset": "raw/ad_snapshots",
                "passed": False,
                "severity": "warning",
                "description": "Varje vecka har minst en ögonblicksbild per sajt.",
            },
            {
                "name": "quarantine_share",
                "asset": "raw/ad_snapshots",
                "passed": True,
                "severity": "critical",
                "description": "Andelen karantänsatta rader är under 5 %.",
            },
            {
                "name": "population_year_present",
                "asset": "raw/population",
                "passed": True,
                "severity": "critical",
                "description": "Befolkning finns för varje år som redovisas.",
            },
        ],
        "missing_weeks": [{"site": "annonsportal-b", "week_start": w.isoformat()} for w in GAP_WEEKS],
    }


@pytest.fixture
def marts() -> dict[str, pd.DataFrame]:
    return build_marts()


@pytest.fixture
def quality() -> dict:
    return build_quality()


@pytest.fixture
def meta() -> dict:
    return dict(META)
