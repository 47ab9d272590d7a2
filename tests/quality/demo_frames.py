"""A small, healthy, contract-shaped data dir (raw Parquet + marts) for the quality tests.

Synthetic only. Built to pass every suite and gap check; each test damages one thing.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd

from lagesbild.warehouse import write_parquet_atomic

SITES = ["annonsportal-a", "annonsportal-b"]
MUNIS = {
    "0580": "Linköping",
    "0581": "Norrköping",
    "0583": "Motala",
    "0509": "Ödeshög",
    "0512": "Ydre",
    "0513": "Kinda",
    "0560": "Boxholm",
    "0561": "Åtvidaberg",
    "0562": "Finspång",
    "0563": "Valdemarsvik",
    "0582": "Söderköping",
    "0584": "Vadstena",
    "0586": "Mjölby",
}
FIRST_WEEK = dt.date(2025, 1, 6)


def weeks(n: int = 12) -> list[dt.date]:
    return [FIRST_WEEK + dt.timedelta(weeks=i) for i in range(n)]


def _key(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def snapshot_files(n_weeks: int = 12) -> pd.DataFrame:
    rows = []
    for w in weeks(n_weeks):
        for s in SITES:
            stamp = f"{w:%Y%m%d}T0600"
            rows.append(
                {
                    "site": s,
                    "snapshot_file": f"{s}_{stamp}.jsonl",
                    "captured_at": pd.Timestamp(f"{w}T06:00Z"),
                    "rows_read": 40,
                    "rows_ok": 40,
                    "rows_quarantined": 0,
                    "week_start": w,
                }
            )
    return pd.DataFrame(rows)


def ad_snapshots(files: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for f in files.itertuples():
        for i in range(1, 41):
            rows.append(
                {
                    "site": f.site,
                    "ad_id": f"{f.site[-1]}{i}",
                    "captured_at": f.captured_at,
                    "posted_at": f.captured_at - pd.Timedelta(days=2),
                    "location_raw": "Linkoping",
                    "phone_key": _key(f"{f.site}{i}") if i % 5 else None,
                    "phone_status": "ok" if i % 5 else "missing",
                    "stated_age": 20 + i % 30,
                    "category": "escort",
                    "advertiser_gender": "woman",
                    "week_start": f.week_start,
                    "snapshot_file": f.snapshot_file,
                    "line_no": i,
                }
            )
    df = pd.DataFrame(rows)
    df["stated_age"] = df["stated_age"].astype("int16")
    df["line_no"] = df["line_no"].astype("int32")
    return df


def coverage(files: pd.DataFrame) -> pd.DataFrame:
    df = files.rename(columns={"rows_ok": "rows", "rows_quarantined": "quarantined_rows"}).copy()
    iso = df["week_start"].map(lambda d: d.isocalendar())
    return pd.DataFrame(
        {
            "site": df["site"],
            "week_start": df["week_start"],
            "iso_year": iso.map(lambda i: i.year),
            "iso_week": iso.map(lambda i: i.week),
            "snapshot_present": True,
            "snapshot_files": 1,
            "rows": df["rows"],
            "quarantined_rows": df["quarantined_rows"],
            "unmapped_rows": 2,
            "out_of_county_rows": 1,
            "ambiguous_rows": 0,
            "unmapped_share": 2 / df["rows"],
        }
    )


def _region_rows() -> list[dict]:
    rows = [{"region_code": c, "region_name": n, "region_level": "municipality"} for c, n in MUNIS.items()]
    return rows + [{"region_code": "05", "region_name": "Östergötlands län", "region_level": "county"}]


def prevalence_weekly(n_weeks: int = 12) -> pd.DataFrame:
    rows = []
    for w in weeks(n_weeks):
        for r in _region_rows():
            ads = 30 if r["region_level"] == "county" else 2
            rows.append(
                {
                    **r,
                    "week_start": w,
                    "iso_year": w.isocalendar().year,
                    "iso_week": w.isocalendar().week,
                    "ads_seen": ads,
                    "unique_ads": ads,
                    "new_ads": ads // 2,
                    "active_advertisers": ads // 2,
                    "advertiser_days": ads * 3,
                    "est_purchases_low": 1.0 * ads,
                    "est_purchases_central": 2.0 * ads,
                    "est_purchases_high": 3.0 * ads,
                    "model_version": "2026.1",
                    "coverage_complete": True,
                }
            )
    return pd.DataFrame(rows)


def _yearly(values: dict, per_region=lambda region: {}) -> pd.DataFrame:
    """One row per region for 2025: the region's columns, ``values``, then ``per_region(region)``'s
    overrides (a key already in ``values`` keeps its column position)."""
    return pd.DataFrame([{**r, "year": 2025, **values, **per_region(r)} for r in _region_rows()])


def prevalence_yearly() -> pd.DataFrame:
    return _yearly(
        {
            "weeks_covered": 12,
            "ads_seen": 100,
            "unique_ads": 90,
            "new_ads": 50,
            "active_advertisers": 40,
            "advertiser_weeks": 80,
            "advertiser_days": 300,
            "est_purchases_low": 45.0,
            "est_purchases_central": 105.0,
            "est_purchases_high": 210.0,
            "population": 10000,
            "population_year": 2024,
            "est_purchases_per_10k": 105.0,
            "share_of_county": None,
            "model_version": "2026.1",
            "hidden_population_factor": 1.4,
            "est_purchases_incl_hidden": 147.0,
            "est_purchases_incl_hidden_low": 80.0,
            "est_purchases_incl_hidden_high": 270.0,
            "purchases_incl_hidden_method": "lognormal_propagation",
            "purchases_incl_hidden_model_version": "2026.1+hp-2026.2",
        },
        lambda r: {"share_of_county": 1.0 if r["region_level"] == "county" else 0.05},
    )


def demand_yearly() -> pd.DataFrame:
    return _yearly(
        {
            "convicted_buyers": 12,
            "bought_in_home_municipality": 9,
            "share_bought_in_home": 0.75,
            "mean_age": 37.0,
            "min_age": 19,
            "max_age": 69,
            "age_18_24": 2,
            "age_25_34": 3,
            "age_35_44": 3,
            "age_45_54": 2,
            "age_55_69": 2,
            "age_70_plus": 0,
            "adult_men": 5000,
            "buyers_per_100k_adult_men": 240.0,
            "denominator_source": "TAB638 2024",
        }
    )


def flows() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "period_start_year": 2024,
                "period_end_year": 2025,
                "home_region_code": "0580",
                "home_region_name": "Linköping",
                "purchase_region_code": c,
                "purchase_region_name": n,
                "buyers": 3,
            }
            for c, n in list(MUNIS.items())[:3]
        ]
    )


def hidden_population() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                **r,
                "year": 2025,
                "site_a": SITES[0],
                "site_b": SITES[1],
                "n1": 40,
                "n2": 30,
                "m2": 10,
                "chapman_n": 114.5,
                "chapman_variance": 560.0,
                "ci_low": 84.7,
                "ci_high": 180.2,
                "ci_method": "chao1987_log_normal",
                "estimate_status": "ok",
                "weeks_observed": 52,
                "s_obs": 60,
                "f1": 20,
                "f2": 10,
                "chao2_n": 79.6,
                "chao2_ci_low": 66.7,
                "chao2_ci_high": 117.5,
                "chao2_ci_method": "chao1987_log_normal",
                "chao2_status": "ok",
                "estimates_disagree": False,
                "model_version": "hp-2026.2",
            }
            for r in _region_rows()[-1:]
        ]
    )


def verdicts() -> pd.DataFrame:
    df = pd.DataFrame(
        [
            {
                "case_key": _key(f"B {i}-24"),
                "court": "Linköpings tingsrätt",
                "decision_type": "judgment",
                "decision_date": dt.date(2025, 3, 1),
                "offence_date": dt.date(2025, 1, 10),
                "buyer_age": 37,
                "age_source": "age",
                "home_municipality_code": "0580",
                "purchase_municipality_code": "0580",
                "contact_channel": "ad_site",
                "sanction": "dagsböter",
                "completed": True,
                "source_file": "register.csv",
                "source_row": i + 2,
            }
            for i in range(20)
        ]
    )
    df["buyer_age"] = df["buyer_age"].astype("int16")
    df["source_row"] = df["source_row"].astype("int32")
    return df


def population() -> pd.DataFrame:
    rows = []
    for code in [*MUNIS, "05"]:
        for year in (2023, 2024):
            for sex in ("men", "women", "total"):
                rows.append(
                    {
                        "region_code": code,
                        "region_level": "county" if code == "05" else "municipality",
                        "year": year,
                        "sex": sex,
                        "age_band": "total",
                        "population": 10000,
                        "value_status": None,
                        "source_table": "TAB638",
                        "updated": "2025-02-20T08:00:00Z",
                    }
                )
    df = pd.DataFrame(rows)
    df["year"] = df["year"].astype("int16")
    return df


def write_demo(root, n_weeks: int = 12) -> dict[str, pd.DataFrame]:
    """Write the healthy data dir under ``root``; returns the frames by name."""
    files = snapshot_files(n_weeks)
    ads = ad_snapshots(files)
    for w in weeks(n_weeks):
        part = f"week_start={w.isoformat()}"
        write_parquet_atomic(
            files[files.week_start == w], root / "raw" / "snapshot_files" / part / "part-0.parquet"
        )
        write_parquet_atomic(
            ads[ads.week_start == w], root / "raw" / "ad_snapshots" / part / "part-0.parquet"
        )
    frames = {
        "snapshot_files": files,
        "ad_snapshots": ads,
        "verdicts": verdicts(),
        "population": population(),
        "mart_coverage_weekly": coverage(files),
        "mart_prevalence_weekly": prevalence_weekly(n_weeks),
        "mart_prevalence_yearly": prevalence_yearly(),
        "mart_demand_yearly": demand_yearly(),
        "mart_flows": flows(),
        "mart_hidden_population": hidden_population(),
    }
    write_parquet_atomic(frames["verdicts"], root / "raw" / "verdicts" / "verdicts.parquet")
    write_parquet_atomic(frames["population"], root / "raw" / "population" / "population.parquet")
    for name, df in frames.items():
        if name.startswith("mart_"):
            write_parquet_atomic(df, root / "marts" / f"{name}.parquet")
    return frames
