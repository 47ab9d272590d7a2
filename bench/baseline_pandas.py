"""Baseline (d): the same marts, naively in pandas: read every JSON Lines file into one DataFrame, groupby.

``python -m bench.baseline_pandas INPUTS OUT [--county 05]``. This is what an analyst would write
first: the whole history in memory, pandas merges and groupbys, a Python loop over the (few)
distinct location texts. It follows the dbt marts' definitions and the ingest rules that change
counts, like baseline B (bench/baseline_duckdb.sql); phones are linked on the normalised national
number in memory, never written. Files are read with pandas' pyarrow JSON engine (the fastest
reader pandas has); a file with an unparseable timestamp fails the whole read, which is fine for a
baseline on generated data.
"""

from __future__ import annotations

import decimal
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import (
    DEFAULT_SETTINGS,
    MARTS,
    NATIONAL_CODE,
    NATIONAL_NAME,
    SEEDS_DIR,
    InputPaths,
    ModelSettings,
    baseline_main,
    gazetteer_vars,
)
from lagesbild.warehouse import write_parquet_atomic

TZ = "Europe/Stockholm"
STAMP_RE = re.compile(r"_(\d{8}T\d{4})Z?\.jsonl")
FOLD = str.maketrans("åäöøæéèüáà", "aaooaeeuaa")
NON_ALNUM = re.compile(r"[^a-z0-9]+")


# ------------------------------------------------------------------------------------------ reading
def read_snapshots(folder: Path) -> pd.DataFrame:
    """Every line of every capture file, with the file's name, site and week (from the file name)."""
    frames = []
    for order, path in enumerate(sorted(folder.glob("*/*.jsonl*"))):
        frame = pd.read_json(path, lines=True, engine="pyarrow", dtype_backend="pyarrow")
        stamp = pd.Timestamp(pd.to_datetime(STAMP_RE.search(path.name)[1], format="%Y%m%dT%H%M"), tz="UTC")
        local = stamp.tz_convert(TZ)
        frame["snapshot_file"] = path.name
        frame["file_site"] = path.parent.name
        frame["week_start"] = (local.normalize() - pd.Timedelta(days=local.weekday())).date()
        frame["file_order"] = order
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    for column in ("captured_at", "posted_at"):
        data[column] = pd.to_datetime(data[column].astype("datetime64[s]"), utc=True)
    return data


def local_monday(ts: pd.Series) -> pd.Series:
    local = ts.dt.tz_convert(TZ)
    return (local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.date


def classify(lines: pd.DataFrame) -> pd.Series:
    """The quarantine reason of each line (None = accepted), in the ingest's order of checks."""
    reason = pd.Series(None, index=lines.index, dtype=object)
    missing = lines["site"].isna() | lines["ad_id"].isna() | lines["captured_at"].isna()
    reason[missing] = "missing_field"
    open_ = reason.isna()
    reason[open_ & (lines["site"] != lines["file_site"])] = "site_mismatch"
    open_ = reason.isna()
    reason[open_ & (local_monday(lines["captured_at"]) != lines["week_start"])] = "outside_partition"
    open_ = reason.isna()
    age = pd.to_numeric(lines["stated_age"], errors="coerce")
    reason[open_ & age.notna() & ~age.between(12, 99)] = "impossible_age"
    open_ = reason.isna()
    dup = lines[open_].duplicated(["site", "ad_id", "captured_at", "week_start"], keep="first")
    reason[dup[dup].index] = "duplicate"
    return reason


def normalise_phones(phone: pd.Series) -> pd.Series:
    """'+46' + national number for the written forms the sites use; None when not a Swedish number."""
    dialled = phone.astype("str").str.replace(r"[^0-9+]", "", regex=True)
    national = pd.Series(None, index=phone.index, dtype="str")
    for prefix in ("+46", "0046", "0"):
        take = national.isna() & dialled.str.startswith(prefix, na=False)
        national[take] = dialled[take].str.slice(len(prefix))
    valid = national.str.fullmatch(r"[1-9][0-9]{6,8}", na=False)
    return ("+46" + national).where(valid, None)


# ------------------------------------------------------------------------------------------ advertisers
def advertisers(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Connected components of ads over shared phones, by min-label propagation with merges."""
    ads = snapshots[["site", "ad_id"]].drop_duplicates().reset_index(drop=True)
    ads["ad"] = np.arange(len(ads))
    links = snapshots.loc[snapshots["phone_e164"].notna(), ["site", "ad_id", "phone_e164"]].drop_duplicates()
    links = links.merge(ads, on=["site", "ad_id"])[["ad", "phone_e164"]]
    label = links.groupby("ad")["phone_e164"].min()
    while True:
        phone_label = links.assign(label=links["ad"].map(label)).groupby("phone_e164")["label"].min()
        new = links.assign(label=links["phone_e164"].map(phone_label)).groupby("ad")["label"].min()
        if new.equals(label):
            break
        label = new
    ads["component"] = ads["ad"].map(label)
    ads["is_phone_linked"] = ads["component"].notna()
    ads["advertiser_key"] = np.where(
        ads["is_phone_linked"],
        "phone|" + ads["component"].astype("str"),
        "ad|" + ads["site"] + "|" + ads["ad_id"],
    )
    return ads[["site", "ad_id", "advertiser_key", "is_phone_linked"]]


# ------------------------------------------------------------------------------------------ locations
def normalise_location(text) -> str | None:
    if text is None or pd.isna(text):
        return None
    folded = NON_ALNUM.sub(" ", str(text).lower().translate(FOLD))
    return re.sub(r"\s+", " ", folded).strip() or None


def osa_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, as DuckDB's damerau_levenshtein."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def gazetteer(municipalities: pd.DataFrame) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(every name -> codes, fuzzy-eligible name -> codes), by the rules of int_gazetteer."""
    gv = gazetteer_vars()
    qualifiers = re.compile(f"( ({gv['QUALIFIERS']}))+$")
    generic = {w.strip("'") for w in gv["GENERIC"].split(", ")}
    localities = pd.read_csv(SEEDS_DIR / "reference" / "localities_ostergotland.csv", dtype=str)
    aliases = pd.read_csv(SEEDS_DIR / "location_aliases.csv", dtype=str)
    postal = pd.read_csv(SEEDS_DIR / "reference" / "postal_towns_se.csv", dtype=str)
    regso = pd.read_csv(SEEDS_DIR / "reference" / "regso_areas_se.csv", dtype=str)
    genitive = municipalities[~municipalities["municipality_name"].str.endswith("s")]
    entries = []  # (name, code, kind, fuzzy)
    entries += [
        (n, c, "locality", True)
        for n, c in zip(localities["locality"], localities["municipality_code"], strict=True)
    ]
    entries += [
        (n, c, "alias", True) for n, c in zip(aliases["alias"], aliases["municipality_code"], strict=True)
    ]
    entries += [
        (n, c, "municipality", True)
        for n, c in zip(municipalities["municipality_name"], municipalities["municipality_code"], strict=True)
    ]
    entries += [
        (n + "s", c, "municipality", True)
        for n, c in zip(genitive["municipality_name"], genitive["municipality_code"], strict=True)
    ]
    entries += [
        (n, c, "postal_town", True)
        for n, c in zip(postal["postal_town"], postal["municipality_code"], strict=True)
    ]
    for name, code in zip(regso["regso_name"], regso["municipality_code"], strict=True):
        for part in name.split("-"):
            entries.append((part.strip(), code, "regso", False))
    names: dict[str, set[str]] = {}
    fuzzy: dict[str, set[str]] = {}

    def add(key, code, kind, ok):
        if key is None:
            return
        if kind not in ("municipality", "alias") and (
            len(key) < 3 or key.replace(" ", "").isdigit() or key in generic
        ):
            return
        names.setdefault(key, set()).add(code)
        if ok:
            fuzzy.setdefault(key, set()).add(code)

    for name, code, kind, ok in entries:
        key = normalise_location(name)
        add(key, code, kind, ok)
        if kind == "regso" and key and qualifiers.search(key):
            add(qualifiers.sub("", key).strip() or None, code, kind, ok)
    return names, fuzzy


def resolve_location(
    text: str,
    names: dict[str, set[str]],
    area: set[str],
    settings: ModelSettings,
    fuzzy: dict[str, set[str]] | None = None,
):
    """(municipality_code, status) for one location text, by the rules of int_location_resolution."""
    normalised = normalise_location(text)
    if normalised is None:
        return None, "unknown"
    tokens = normalised.split(" ")
    phrases = [
        (start, start + extra, " ".join(tokens[start - 1 : start + extra]))
        for start in range(1, len(tokens) + 1)
        for extra in range(4)
        if start + extra <= len(tokens)
    ]
    exact = [(s, e, p) for s, e, p in phrases if p in names]
    votes: dict[str, set[int]] = {}
    if exact:
        for s, e, p in exact:
            if any(s2 <= s and e2 >= e and e2 - s2 > e - s for s2, e2, _ in exact):
                continue
            for code in names[p]:
                votes.setdefault(code, set()).add(s)
    else:
        for s, _, p in phrases:
            if len(p) < settings.fuzzy_min_length:
                continue
            for name, codes in (names if fuzzy is None else fuzzy).items():
                if (
                    len(name) >= settings.fuzzy_min_length
                    and osa_distance(p, name) <= settings.fuzzy_max_distance
                ):
                    for code in codes:
                        votes.setdefault(code, set()).add(s)
    if not votes:
        return None, "unknown"
    best = max(len(starts) for starts in votes.values())
    winners = sorted(code for code, starts in votes.items() if len(starts) == best)
    if not any(code in area for code in winners):
        return None, "out_of_county"
    if len(winners) == 1:
        return winners[0], "mapped"
    return None, "ambiguous"


# ------------------------------------------------------------------------------------------ regions
def region_mapping(municipalities: pd.DataFrame, county_code: str) -> pd.DataFrame:
    national = county_code == NATIONAL_CODE
    picked = municipalities if national else municipalities[municipalities["county_code"] == county_code]
    own = picked.assign(
        region_code=picked["municipality_code"],
        region_name=picked["municipality_name"],
        region_level="municipality",
    )
    county = picked.assign(
        region_code=picked["county_code"], region_name=picked["county_name"], region_level="county"
    )
    country = picked.assign(region_code=NATIONAL_CODE, region_name=NATIONAL_NAME, region_level="country")
    columns = ["municipality_code", "region_code", "region_name", "region_level"]
    parts = [own[columns], county[columns]] + ([country[columns]] if national else [])
    return pd.concat(parts, ignore_index=True)


def iso_parts(weeks: pd.Series) -> pd.DataFrame:
    calendar = pd.to_datetime(weeks).dt.isocalendar()
    return pd.DataFrame(
        {"iso_year": calendar["year"].astype("int32"), "iso_week": calendar["week"].astype("int32")}
    )


# ------------------------------------------------------------------------------------------ verdicts, population
def read_verdicts(path: Path, municipalities: pd.DataFrame) -> pd.DataFrame:
    register = pd.read_csv(path, dtype=str, keep_default_na=False)
    offence = pd.to_datetime(register["offence_date"], errors="coerce", format="%Y-%m-%d")
    decision = pd.to_datetime(register["decision_date"], errors="coerce", format="%Y-%m-%d")
    age = pd.to_numeric(register["buyer_age"], errors="coerce")
    age = age.fillna(offence.dt.year - pd.to_numeric(register["buyer_birth_year"], errors="coerce"))
    codes = set(municipalities["municipality_code"])

    def code(column: str) -> tuple[pd.Series, pd.Series]:
        text = register[column].str.strip()
        padded = text.where(~text.str.fullmatch(r"\d+"), text.str.zfill(4))
        known = padded.where(padded.isin(codes))
        return known, (text == "") | known.notna()

    home, home_ok = code("home_municipality")
    purchase, purchase_ok = code("purchase_municipality")
    keep = (
        offence.notna()
        & decision.notna()
        & (decision >= offence)
        & age.between(15, 100)
        & home_ok
        & purchase_ok
    )
    rows = pd.DataFrame(
        {
            "case": register["case_number"].str.strip().str.upper(),
            "offence_year": offence.dt.year,
            "offence": offence,
            "decision": decision,
            "buyer_age": age,
            "home_municipality_code": home,
            "purchase_municipality_code": purchase,
        }
    )[keep]
    identity = [
        "case",
        "buyer_age",
        "home_municipality_code",
        "offence",
        "decision",
        "purchase_municipality_code",
    ]
    return rows.drop_duplicates(identity)


def adult_share(settings: ModelSettings) -> tuple[int, float]:
    shares = pd.read_csv(SEEDS_DIR / "reference" / "national_age_sex_shares.csv", dtype=str)
    shares = shares[
        (shares["region"] == "Sweden") & (shares["sex"] == "men") & (shares["measure"] == "pct_of_same_sex")
    ]
    year = int(shares["year"].astype(int).max())
    shares = shares[shares["year"].astype(int) == year]
    low = shares["age_group"].str.extract(r"^(\d+)")[0].astype(float)
    high = shares["age_group"].str.extract(r"-(\d+)$")[0].astype(float)
    adult = settings.adult_age
    weight = np.where(
        high.isna(), (low >= adult).astype(float), np.clip((high + 1 - adult) / (high + 1 - low), 0, 1)
    )
    values = shares["value"].astype(float)
    return year, float((values * weight).sum() / values.sum())


def nearest_year(region_years: pd.DataFrame, table: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per region and report year, the table's year at or before it (latest), else the earliest after it."""
    merged = region_years.merge(table, on="region_code", how="inner")
    merged["after"] = merged["population_year"] > merged["report_year"]
    merged["gap"] = (merged["report_year"] - merged["population_year"]).abs()
    merged = merged.sort_values(["region_code", "report_year", "after", "gap"])
    return merged.drop_duplicates(["region_code", "report_year"])[
        ["region_code", "report_year", value, "population_year"]
    ]


def population_by_year(
    path: Path, region_list: pd.DataFrame, report_years, settings: ModelSettings
) -> pd.DataFrame:
    pop = pd.read_csv(path, dtype=str, keep_default_na=False)
    pop = pop[pop["population"].str.strip() != ""].rename(columns={"municipality_code": "region_code"})
    pop["population_year"] = pop["year"].astype(int)
    pop["population"] = pop["population"].astype("int64")
    region_years = region_list[["region_code"]].merge(
        pd.DataFrame({"report_year": sorted(report_years)}), how="cross"
    )
    totals = pop[(pop["sex"] == "total") & (pop["age_group"] == "total")]
    totals = totals.groupby(["region_code", "population_year"], as_index=False)["population"].max()
    men = pop[(pop["sex"] == "men") & (pop["age_group"] == "total")]
    men = men.groupby(["region_code", "population_year"], as_index=False)["population"].max()
    picked = region_years.merge(nearest_year(region_years, totals, "population"), how="left")
    picked_men = nearest_year(region_years, men.rename(columns={"population": "men_total"}), "men_total")
    picked_men = picked_men.rename(columns={"population_year": "men_year"})
    out = picked.merge(picked_men, on=["region_code", "report_year"], how="left")
    share_year, share = adult_share(settings)
    out["adult_men"] = (out["men_total"] * share).round()
    out["denominator_source"] = np.where(
        out["men_total"].notna(),
        "fallback: men total "
        + out["men_year"].astype("Int64").astype("str")
        + f" x national share of men aged {settings.adult_age}+ {share_year} (national_age_sex_shares.csv)",
        "missing: no men total or age breakdown for the region",
    )
    return out[
        ["region_code", "report_year", "population", "population_year", "adult_men", "denominator_source"]
    ]


# ------------------------------------------------------------------------------------------ marts
def build_marts(inputs: InputPaths, settings: ModelSettings) -> dict[str, pd.DataFrame]:
    municipalities = pd.read_csv(SEEDS_DIR / "reference" / "municipalities_se.csv", dtype=str)
    regions = region_mapping(municipalities, settings.county_code)
    region_list = regions[["region_code", "region_name", "region_level"]].drop_duplicates()

    lines = read_snapshots(inputs.snapshots)
    lines["reason"] = classify(lines)
    files = (
        lines[["file_site", "snapshot_file", "week_start"]]
        .drop_duplicates()
        .rename(columns={"file_site": "site"})
    )
    quarantine = lines.loc[lines["reason"].notna(), ["file_site", "week_start"]].rename(
        columns={"file_site": "site"}
    )
    snapshots = lines[lines["reason"].isna()].copy()
    del lines
    snapshots["phone_e164"] = normalise_phones(snapshots["phone"])
    snapshots["location_raw"] = snapshots["location"].where(snapshots["location"] != "")

    ads = advertisers(snapshots)
    (names, fuzzy), area = gazetteer(municipalities), set(regions["municipality_code"])
    texts = snapshots["location_raw"].dropna().unique()
    resolved = pd.DataFrame(
        [(t, *resolve_location(t, names, area, settings, fuzzy)) for t in texts],
        columns=["location_raw", "municipality_code", "location_status"],
    )
    obs = snapshots.drop_duplicates(["site", "ad_id", "snapshot_file"])
    obs = obs.merge(ads, on=["site", "ad_id"]).merge(resolved, on="location_raw", how="left")
    obs["location_status"] = obs["location_status"].fillna("unknown")
    obs = obs[
        [
            "site",
            "ad_id",
            "week_start",
            "captured_at",
            "posted_at",
            "advertiser_key",
            "is_phone_linked",
            "municipality_code",
            "location_status",
        ]
    ]

    weeks_seen = pd.concat([files["week_start"], quarantine["week_start"], obs["week_start"]])
    spine = pd.DataFrame({"week_start": pd.date_range(weeks_seen.min(), weeks_seen.max(), freq="7D").date})
    spine = pd.concat([spine, iso_parts(spine["week_start"])], axis=1)
    sites = pd.DataFrame({"site": sorted(set(files["site"]) | set(obs["site"]) | set(quarantine["site"]))})

    coverage = coverage_table(spine, sites, files, obs, quarantine)
    regional = obs[obs["location_status"] == "mapped"].merge(regions[["municipality_code", "region_code"]])
    adv_weeks = advertiser_weeks(regional)
    verdicts = read_verdicts(inputs.verdicts_csv, municipalities)
    report_years = set(spine["iso_year"]) | set(verdicts["offence_year"].dropna().astype(int))
    population = population_by_year(inputs.population_csv, region_list, report_years, settings)

    weekly = prevalence_weekly(region_list, spine, obs, regional, adv_weeks, coverage, settings)
    hidden = hidden_population(region_list, spine, sites, regional, settings)
    yearly = purchases_incl_hidden(prevalence_yearly(weekly, regional, adv_weeks, population), hidden, settings)
    return {
        "mart_prevalence_weekly": weekly,
        "mart_prevalence_yearly": yearly,
        "mart_demand_yearly": demand_yearly(region_list, regions, verdicts, population),
        "mart_flows": flows(verdicts, municipalities),
        "mart_hidden_population": hidden,
        "mart_coverage_weekly": coverage.assign(
            unmapped_share=coverage["unmapped_rows"] / coverage["rows"].where(coverage["rows"] > 0)
        ),
    }


def coverage_table(spine, sites, files, obs, quarantine) -> pd.DataFrame:
    keys = ["site", "week_start"]
    n_files = files.groupby(keys).size().rename("snapshot_files")
    status = obs.assign(
        unmapped_rows=obs["location_status"] == "unknown",
        out_of_county_rows=obs["location_status"] == "out_of_county",
        ambiguous_rows=obs["location_status"] == "ambiguous",
    ).groupby(keys)
    rows = status.size().rename("rows")
    flags = status[["unmapped_rows", "out_of_county_rows", "ambiguous_rows"]].sum()
    quarantined = quarantine.groupby(keys).size().rename("quarantined_rows")
    grid = spine.merge(sites, how="cross").set_index(keys)
    grid = grid.join(n_files).join(rows).join(quarantined).join(flags).reset_index()
    counts = [
        "snapshot_files",
        "rows",
        "quarantined_rows",
        "unmapped_rows",
        "out_of_county_rows",
        "ambiguous_rows",
    ]
    grid[counts] = grid[counts].fillna(0).astype("int64")
    grid["snapshot_present"] = grid["snapshot_files"] > 0
    return grid[["site", "week_start", "iso_year", "iso_week", "snapshot_present", *counts]]


def advertiser_weeks(regional: pd.DataFrame) -> pd.DataFrame:
    first = regional["posted_at"].fillna(regional["captured_at"]).dt.tz_convert(TZ).dt.date
    grouped = regional.assign(first_date=first).groupby(
        ["region_code", "week_start", "advertiser_key"], as_index=False
    )
    out = grouped["first_date"].min()
    late = (pd.to_datetime(out["first_date"]) - pd.to_datetime(out["week_start"])).dt.days.clip(lower=0)
    out["advertiser_days"] = (7 - late).clip(1, 7)
    return out


def prevalence_weekly(region_list, spine, obs, regional, adv_weeks, coverage, settings) -> pd.DataFrame:
    first_week = obs.groupby(["site", "ad_id"])["week_start"].min().rename("first_week")
    reg = regional.join(first_week, on=["site", "ad_id"])
    reg["ad_key"] = reg["site"] + "|" + reg["ad_id"]
    keys = ["region_code", "week_start"]
    ads = reg.groupby(keys).agg(ads_seen=("ad_key", "size"), unique_ads=("ad_key", "nunique"))
    ads["new_ads"] = reg[reg["first_week"] == reg["week_start"]].groupby(keys)["ad_key"].nunique()
    advs = adv_weeks.groupby(keys).agg(
        active_advertisers=("advertiser_key", "size"), advertiser_days=("advertiser_days", "sum")
    )
    week_cov = coverage.groupby("week_start")["snapshot_present"].all().rename("coverage_complete")
    grid = region_list.merge(spine, how="cross").set_index(keys).join(ads).join(advs).reset_index()
    counts = ["ads_seen", "unique_ads", "new_ads", "active_advertisers", "advertiser_days"]
    grid[counts] = grid[counts].fillna(0).astype("int64")
    grid = grid.join(week_cov, on="week_start")
    grid["coverage_complete"] = grid["coverage_complete"].fillna(False).astype(bool)
    params = model_parameters(settings)
    for bound in ("low", "central", "high"):
        grid[f"est_purchases_{bound}"] = (
            grid["advertiser_days"] * params["worked_share"][bound] * params["clients_per_worked_day"][bound]
        )
    grid["model_version"] = settings.model_version
    return grid


def model_parameters(settings: ModelSettings) -> dict[str, dict[str, float]]:
    table = pd.read_csv(SEEDS_DIR / "estimation_model_parameters.csv", dtype={"model_version": str})
    table = table[table["model_version"] == settings.model_version]
    return {
        row.parameter: {"low": row.low, "central": row.central, "high": row.high}
        for row in table.itertuples()
    }


def prevalence_yearly(weekly, regional, adv_weeks, population) -> pd.DataFrame:
    keys = ["region_code", "region_name", "region_level", "iso_year", "model_version"]
    sums = (
        weekly.groupby(keys, as_index=False)
        .agg(
            weeks_covered=("coverage_complete", "sum"),
            ads_seen=("ads_seen", "sum"),
            new_ads=("new_ads", "sum"),
            advertiser_days=("advertiser_days", "sum"),
            est_purchases_low=("est_purchases_low", "sum"),
            est_purchases_central=("est_purchases_central", "sum"),
            est_purchases_high=("est_purchases_high", "sum"),
        )
        .rename(columns={"iso_year": "year"})
    )
    adv = adv_weeks.assign(year=iso_parts(adv_weeks["week_start"])["iso_year"].to_numpy())
    yearly_adv = adv.groupby(["region_code", "year"]).agg(
        active_advertisers=("advertiser_key", "nunique"), advertiser_weeks=("advertiser_key", "size")
    )
    ads = regional.assign(
        year=iso_parts(regional["week_start"])["iso_year"].to_numpy(),
        ad_key=regional["site"] + "|" + regional["ad_id"],
    )
    yearly_ads = ads.groupby(["region_code", "year"])["ad_key"].nunique().rename("unique_ads")
    out = sums.join(yearly_adv, on=["region_code", "year"]).join(yearly_ads, on=["region_code", "year"])
    for column in ("active_advertisers", "advertiser_weeks", "unique_ads"):
        out[column] = out[column].fillna(0).astype("int64")
    out = with_rate(
        out, population, ["population", "population_year"], "est_purchases_per_10k", "est_purchases_central", 1e4
    )
    # The share of the region above: county for a municipality, Sweden for a county in national mode.
    est = out["est_purchases_central"]
    county_est = out[out["region_level"] == "county"].set_index(["year", "region_code"])[
        "est_purchases_central"
    ]
    country_est = out[out["region_level"] == "country"].set_index("year")["est_purchases_central"]
    keys = list(zip(out["year"], out["region_code"].astype(str).str[:2], strict=True))
    parent_county = pd.Series([county_est.get(k) for k in keys], index=out.index, dtype="float64")
    parent_country = out["year"].map(country_est)
    denominator = est.where(out["region_level"] == "country")
    denominator = denominator.fillna(parent_county.where(out["region_level"] == "municipality"))
    denominator = denominator.fillna(parent_country.fillna(est).where(out["region_level"] == "county"))
    out["share_of_county"] = est / denominator.where(denominator != 0)
    return out


def purchases_incl_hidden(yearly: pd.DataFrame, hidden: pd.DataFrame, settings: ModelSettings) -> pd.DataFrame:
    """The central scenario times the county's capture-recapture factor, with a log-normal 95 % range."""
    z = 1.959963984540054
    params = model_parameters(settings)
    sd_ws = np.log(params["worked_share"]["high"] / params["worked_share"]["low"]) / (2 * z)
    sd_c = np.log(params["clients_per_worked_day"]["high"] / params["clients_per_worked_day"]["low"]) / (2 * z)
    county = hidden[(hidden["region_level"] == "county") & hidden["chapman_n"].notna()
                    & (hidden["n1"] + hidden["n2"] - hidden["m2"] > 0)]
    county = county.sort_values(["year", "m2", "site_a", "site_b"], ascending=[True, False, True, True])
    county = county.drop_duplicates("year")
    factor = (county["chapman_n"] / (county["n1"] + county["n2"] - county["m2"])).set_axis(county["year"])
    sd_f = np.sqrt(np.log1p(county["chapman_variance"] / county["chapman_n"] ** 2)).set_axis(county["year"])
    out = yearly.copy()
    out["hidden_population_factor"] = out["year"].map(factor)
    sd = np.sqrt(sd_ws**2 + sd_c**2 + out["year"].map(sd_f) ** 2)
    central = out["est_purchases_central"] * out["hidden_population_factor"]
    out["est_purchases_incl_hidden"] = central
    out["est_purchases_incl_hidden_low"] = central * np.exp(-z * sd)
    out["est_purchases_incl_hidden_high"] = central * np.exp(z * sd)
    has = out["hidden_population_factor"].notna()
    out["purchases_incl_hidden_method"] = np.where(has, "lognormal_propagation", "no_hidden_population_estimate")
    out["purchases_incl_hidden_model_version"] = (
        out["model_version"] + "+" + settings.hidden_population_model_version).where(has)
    return out


def demand_yearly(region_list, regions, verdicts, population) -> pd.DataFrame:
    buyers = verdicts.merge(regions, left_on="home_municipality_code", right_on="municipality_code")
    buyers = buyers.assign(
        at_home=buyers["purchase_municipality_code"] == buyers["home_municipality_code"],
        known=buyers["purchase_municipality_code"].notna(),
        year=buyers["offence_year"].astype(int),
    )
    bands = {
        "age_18_24": (18, 24),
        "age_25_34": (25, 34),
        "age_35_44": (35, 44),
        "age_45_54": (45, 54),
        "age_55_69": (55, 69),
        "age_70_plus": (70, 10_000),
    }
    for name, (low, high) in bands.items():
        buyers[name] = buyers["buyer_age"].between(low, high)
    grouped = buyers.groupby(["region_code", "year"]).agg(
        convicted_buyers=("buyer_age", "size"),
        bought_in_home_municipality=("at_home", "sum"),
        known=("known", "sum"),
        mean_age=("buyer_age", "mean"),
        min_age=("buyer_age", "min"),
        max_age=("buyer_age", "max"),
        **{name: (name, "sum") for name in bands},
    )
    years = pd.DataFrame({"year": sorted(verdicts["offence_year"].dropna().astype(int).unique())})
    out = region_list.merge(years, how="cross").join(grouped, on=["region_code", "year"])
    out["share_bought_in_home"] = out["bought_in_home_municipality"] / out["known"].where(out["known"] > 0)
    for column in ["convicted_buyers", "bought_in_home_municipality", *bands]:
        out[column] = out[column].fillna(0).astype("int64")
    out = with_rate(
        out, population, ["adult_men", "denominator_source"], "buyers_per_100k_adult_men", "convicted_buyers", 1e5
    )
    return out.drop(columns=["known"])


def with_rate(
    out: pd.DataFrame, population: pd.DataFrame, columns: list[str], rate: str, count: str, per: float
) -> pd.DataFrame:
    """``out`` (per region and year) with the region-year's ``columns`` of ``population`` and ``rate``:
    ``count`` per ``per`` of the first of ``columns`` (the denominator; null where it is 0 or missing)."""
    out = out.merge(
        population.rename(columns={"report_year": "year"})[["region_code", "year", *columns]],
        on=["region_code", "year"],
        how="left",
    )
    denominator = out[columns[0]]
    out[rate] = out[count] * per / denominator.where(denominator != 0)
    return out


def flows(verdicts, municipalities) -> pd.DataFrame:
    pairs = (
        verdicts.assign(
            home_region_code=verdicts["home_municipality_code"].fillna("unknown"),
            purchase_region_code=verdicts["purchase_municipality_code"].fillna("unknown"),
        )
        .groupby(["home_region_code", "purchase_region_code"], as_index=False)
        .size()
        .rename(columns={"size": "buyers"})
    )
    names = municipalities.set_index("municipality_code")["municipality_name"]
    pairs["home_region_name"] = pairs["home_region_code"].map(names).fillna("unknown")
    pairs["purchase_region_name"] = pairs["purchase_region_code"].map(names).fillna("unknown")
    pairs["period_start_year"] = int(verdicts["offence_year"].min())
    pairs["period_end_year"] = int(verdicts["offence_year"].max())
    return pairs


def hidden_population(region_list, spine, sites, regional, settings) -> pd.DataFrame:
    linked = regional[regional["is_phone_linked"]]
    linked = linked.assign(year=iso_parts(linked["week_start"])["iso_year"].to_numpy())
    per_adv = linked.groupby(["region_code", "year", "advertiser_key"])["site"].agg(frozenset).reset_index()
    names = sorted(sites["site"])
    pairs = [(a, b) for a in names for b in names if a < b]
    rows = []
    for site_a, site_b in pairs:
        has_a = per_adv["site"].map(lambda s, x=site_a: x in s)
        has_b = per_adv["site"].map(lambda s, x=site_b: x in s)
        counts = (
            per_adv.assign(n1=has_a, n2=has_b, m2=has_a & has_b)
            .groupby(["region_code", "year"])[["n1", "n2", "m2"]]
            .sum()
        )
        rows.append(counts.reset_index().assign(site_a=site_a, site_b=site_b))
    counts = (
        pd.concat(rows)
        if rows
        else pd.DataFrame(columns=["region_code", "year", "site_a", "site_b", "n1", "n2", "m2"])
    )
    grid = region_list.merge(pd.DataFrame({"year": sorted(spine["iso_year"].unique())}), how="cross")
    grid = grid.merge(pd.DataFrame(pairs, columns=["site_a", "site_b"]), how="cross")
    out = grid.merge(counts, on=["region_code", "year", "site_a", "site_b"], how="left")
    for column in ("n1", "n2", "m2"):
        out[column] = out[column].fillna(0).astype("int64")
    n1, n2, m2 = (out[c].astype(float) for c in ("n1", "n2", "m2"))
    estimate = (n1 + 1) * (n2 + 1) / (m2 + 1) - 1
    variance = (n1 + 1) * (n2 + 1) * (n1 - m2) * (n2 - m2) / ((m2 + 1) * (m2 + 1) * (m2 + 2))
    z = 1.959963984540054
    seen = n1 + n2 - m2
    unseen = (n1 - m2) * (n2 - m2) / (m2 + 1)
    has = out["m2"] > 0
    full = unseen <= 0
    small = out["m2"] < settings.chapman_min_overlap
    factor = np.exp(z * np.sqrt(np.log1p(variance / (unseen * unseen).where(~full))))
    # bounds rounded outward to whole advertisers (macros/hidden_population.sql)
    low = np.where(full | small, seen, np.floor(seen + unseen / factor))
    # small overlap: at least n1 n2 / the 2.5 % lower Poisson limit of m2 (Wilson-Hilferty from m2 = 2)
    k = m2.where(has)
    poisson_low = np.where(k == 1, -np.log(0.975), k * (1 - 1 / (9 * k) - z / (3 * np.sqrt(k))) ** 3)
    # from the minimum overlap on: at least the scaled Poisson bound n1 n2 / (phi lambda_low(m2 / phi)),
    # phi = (1 - m2 / n1)(1 - m2 / n2) (hp-2026.5)
    phi = (1 - m2 / n1.where(n1 > 0)) * (1 - m2 / n2.where(n2 > 0))
    kk = (m2 / phi).where(~full & ~small & has)
    scaled_low = phi * kk * (1 - 1 / (9 * kk) - z / (3 * np.sqrt(kk))) ** 3
    lognormal_high = np.where(
        small,
        np.maximum(seen + unseen * factor, n1 * n2 / poisson_low),
        np.maximum(seen + unseen * factor, n1 * n2 / scaled_low),
    )
    high = np.ceil(np.where(full, np.maximum(n1, n2) * np.exp(-np.log(0.025) / k), lognormal_high))
    out["chapman_n"] = round_exact(estimate).where(has)
    out["chapman_variance"] = round_exact(variance).where(has)
    out["ci_low"] = round_exact(pd.Series(low, index=out.index)).where(has)
    out["ci_high"] = round_exact(pd.Series(high, index=out.index)).where(has)
    out["ci_method"] = np.where(
        ~has, None, np.where(full, "full_overlap_binomial_bound",
                             np.where(small, "low_overlap_seen_to_poisson_bound", "chao1987_log_normal")))
    out["estimate_status"] = np.where(
        out["n1"] + out["n2"] == 0, "no_advertisers",
        np.where(~has, "no_overlap", np.where(small, "low_overlap", "ok")))
    # weekly occasions (Chao2): weeks each advertiser was seen in the region and year
    weeks = linked.groupby(["region_code", "year", "advertiser_key"])["week_start"].nunique()
    freq = weeks.groupby(["region_code", "year"]).agg(
        s_obs="size", f1=lambda w: int((w == 1).sum()), f2=lambda w: int((w == 2).sum()))
    t = spine.groupby("iso_year")["week_start"].nunique().rename("weeks_observed")
    out = out.join(t, on="year").join(freq, on=["region_code", "year"])
    for column in ("s_obs", "f1", "f2"):
        out[column] = out[column].fillna(0).astype("int64")
    s_obs, f1, f2, tt = (out[c].astype(float) for c in ("s_obs", "f1", "f2", "weeks_observed"))
    a = (tt - 1).clip(lower=0) / tt.clip(lower=1)
    r = f1 / f2.where(f2 > 0)
    f0 = np.where(f2 > 0, a * f1 * f1 / (2 * f2), a * f1 * (f1 - 1) / 2)
    var2 = np.where(f2 > 0, f2 * (a / 2 * r**2 + a**2 * r**3 + a**2 / 4 * r**4),
                    a * f1 * (f1 - 1) / 2 + a**2 * f1 * (2 * f1 - 1) ** 2 / 4)
    none = (f0 <= 0) | (var2 <= 0)
    f0s = pd.Series(f0, index=out.index).where(~none)
    c2 = np.exp(z * np.sqrt(np.log1p(var2 / (f0s * f0s))))
    any_seen = (out["s_obs"] > 0) & (out["weeks_observed"] >= 2)
    few = f2 < settings.chao2_min_doubletons
    low2 = np.where(none | few, s_obs, np.floor(s_obs + f0s / c2))
    high2 = np.ceil(np.where(none, s_obs + a * np.log(0.025) ** 2 / (2 * np.maximum(f2, 1)), s_obs + f0s * c2))
    out["chao2_n"] = round_exact(s_obs + f0).where(any_seen)
    out["chao2_ci_low"] = round_exact(pd.Series(low2, index=out.index)).where(any_seen)
    out["chao2_ci_high"] = round_exact(pd.Series(high2, index=out.index)).where(any_seen)
    out["chao2_ci_method"] = np.where(
        ~any_seen, None, np.where(none, "no_singletons_poisson_bound",
                                  np.where(few, "low_doubletons_seen_to_log_normal", "chao1987_log_normal")))
    out["chao2_status"] = np.where(
        out["s_obs"] == 0, "no_advertisers",
        np.where(out["weeks_observed"] < 2, "too_few_weeks", np.where(few, "low_doubletons", "ok")))
    both = has & any_seen
    out["estimates_disagree"] = pd.Series((high < low2) | (high2 < low), index=out.index).where(both).astype("boolean")
    out.loc[~both, "estimates_disagree"] = pd.NA
    out["model_version"] = settings.hidden_population_model_version
    return out


def round_exact(values: pd.Series, digits: int = 1) -> pd.Series:
    """DuckDB's round on the exact binary value (3.15 is 3.1499... and rounds to 3.1), halves away from zero."""
    quantum = decimal.Decimal(1).scaleb(-digits)
    return pd.Series(values, dtype="float64").map(
        lambda v: v if not np.isfinite(v) else float(decimal.Decimal(v).quantize(quantum, decimal.ROUND_HALF_UP))
    )


def round_half_away(values: pd.Series, digits: int = 1) -> pd.Series:
    """SQL's round (halves away from zero), not numpy's round-half-to-even: 51.25 -> 51.3 as in DuckDB."""
    scale = 10.0**digits
    return np.trunc(values * scale + np.copysign(0.5, values)) / scale


def run_baseline_pandas(
    inputs_dir: Path, out_dir: Path, settings: ModelSettings = DEFAULT_SETTINGS
) -> dict[str, int]:
    """Compute the marts; returns rows per mart written to ``out_dir/<mart>.parquet``."""
    inputs = InputPaths(Path(inputs_dir))
    inputs.check()
    marts = build_marts(inputs, settings)
    return {name: write_parquet_atomic(marts[name], Path(out_dir) / f"{name}.parquet") for name in MARTS}


def main(argv: list[str] | None = None) -> int:
    return baseline_main(run_baseline_pandas, __doc__, "baseline pandas", argv)


if __name__ == "__main__":
    sys.exit(main())
