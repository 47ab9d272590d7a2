"""Alert detection: pure functions over the ``int_ad_observations`` frame.

Input contract (docs/architecture.md, "Intermediate exported for restricted use"): one row per ad
per capture with site, ad_id, week_start, captured_at, posted_at, phone_key, advertiser_key,
stated_age, category, municipality_code, location_status. Nothing here reads or writes files, so
the rules can be tested on small frames and re-run over the full history every week (the store
deduplicates).
"""

from __future__ import annotations

import math

import pandas as pd

from lagesbild.alerts.config import ADULT_AGE, AlertConfig

REQUIRED_COLUMNS = (
    "site",
    "ad_id",
    "week_start",
    "stated_age",
    "category",
    "municipality_code",
    "advertiser_key",
)

#: Under-age alert columns: enough to find the ad on the site and report it, nothing more.
UNDER_AGE_COLUMNS = [
    "site",
    "ad_id",
    "first_week_seen",
    "last_week_seen",
    "municipality_code",
    "advertiser_key",
]

#: Change alert columns. ``key`` is the municipality code, advertiser key or site, by ``kind``.
CHANGE_COLUMNS = ["kind", "key", "week_start", "value", "baseline", "threshold", "reason", "detail"]

NEW_ADVERTISERS = "new_advertisers_spike"
TOURING = "touring_advertiser"
SITE_SHARE = "site_share_shift"
CHANGE_KINDS = (NEW_ADVERTISERS, TOURING, SITE_SHARE)


class ObservationsError(ValueError):
    """The observations frame does not meet its contract."""


def validate_observations(obs: pd.DataFrame, source: str = "int_ad_observations") -> None:
    """Fail with the missing column names (and where) rather than a KeyError deep inside a rule."""
    missing = [c for c in REQUIRED_COLUMNS if c not in obs.columns]
    if missing:
        raise ObservationsError(f"{source}: missing column(s) {missing}; have {list(obs.columns)}")


def _weeks(values: pd.Series) -> pd.Series:
    """Week starts as midnight timestamps, whatever the Parquet reader returned (date, str, datetime)."""
    weeks = pd.to_datetime(values).dt.normalize()
    if getattr(weeks.dt, "tz", None) is not None:
        weeks = weeks.dt.tz_localize(None)
    return weeks


def _prepared(obs: pd.DataFrame) -> pd.DataFrame:
    validate_observations(obs)
    frame = obs.copy()
    frame["week_start"] = _weeks(frame["week_start"])
    return frame


def under_age_alerts(obs: pd.DataFrame, config: AlertConfig | None = None) -> pd.DataFrame:
    """One row per ad (site + ad_id) that states an age under 18 in any capture.

    When ``config.minor_categories`` is set, an ad with no stated age in such a category is an alert
    too. Municipality and advertiser key are the latest non-null values, since an ad can be edited.
    """
    config = config or AlertConfig()
    frame = _prepared(obs)
    age = pd.to_numeric(frame["stated_age"], errors="coerce")
    flagged = age < ADULT_AGE
    if config.minor_categories:
        flagged |= age.isna() & frame["category"].isin(config.minor_categories)
    hits = frame.loc[flagged.fillna(False).astype(bool)]
    if hits.empty:
        return _empty_under_age()
    hits = hits.sort_values(["site", "ad_id", "week_start"], kind="stable")
    grouped = hits.groupby(["site", "ad_id"], sort=True)
    out = grouped.agg(
        first_week_seen=("week_start", "min"),
        last_week_seen=("week_start", "max"),
        municipality_code=("municipality_code", "last"),  # "last" skips nulls
        advertiser_key=("advertiser_key", "last"),
    ).reset_index()
    # The ad's last week is the last week it was seen at all, even if a later edit dropped the age.
    seen = frame.groupby(["site", "ad_id"])["week_start"].max().rename("seen_until")
    out = out.join(seen, on=["site", "ad_id"])
    out["last_week_seen"] = out[["last_week_seen", "seen_until"]].max(axis=1)
    for col in ("first_week_seen", "last_week_seen"):
        out[col] = out[col].dt.date
    return out[UNDER_AGE_COLUMNS].reset_index(drop=True)


def _empty_under_age() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in UNDER_AGE_COLUMNS})


def _empty_change() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in CHANGE_COLUMNS})


def new_advertiser_alerts(obs: pd.DataFrame, config: AlertConfig | None = None) -> pd.DataFrame:
    """Municipality-weeks whose count of advertisers new to the municipality is far above its trailing level.

    An advertiser is new to a municipality in the first observed week it advertises there. The
    trailing level is the mean over the preceding ``trailing_weeks`` observed weeks (a week with no
    new advertisers counts as 0). A week alerts when its count reaches all three of: the minimum,
    ``ratio`` x the mean, and the smallest count whose Poisson upper tail at the mean is below
    ``max_p`` (so ordinary churn in a big town does not alert, while three newcomers in a small
    municipality that normally sees none do). Weeks with fewer than ``min_history_weeks`` before them
    do not alert, because at the start of the data every advertiser looks new.
    """
    config = config or AlertConfig()
    frame = _prepared(obs).dropna(subset=["municipality_code", "advertiser_key"])
    weeks = sorted(_prepared(obs)["week_start"].unique())
    if frame.empty or len(weeks) <= config.min_history_weeks:
        return _empty_change()
    first = frame.groupby(["municipality_code", "advertiser_key"])["week_start"].min().reset_index()
    counts = first.groupby(["municipality_code", "week_start"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=weeks, fill_value=0)
    rows = []
    for i, week in enumerate(weeks):
        if i < config.min_history_weeks:
            continue
        window = weeks[max(0, i - config.trailing_weeks) : i]
        trailing = counts[window].mean(axis=1)
        for code, n in counts[week].items():
            mean = float(trailing[code])
            threshold = spike_threshold(mean, config)
            if n >= threshold:
                rows.append(
                    {
                        "kind": NEW_ADVERTISERS,
                        "key": code,
                        "week_start": pd.Timestamp(week).date(),
                        "value": float(n),
                        "baseline": mean,
                        "threshold": float(threshold),
                        "reason": (
                            f"{n} advertisers new to municipality {code} this week; trailing "
                            f"{len(window)}-week mean {mean:.2f}; alert at >= {threshold} (at least "
                            f"{config.new_advertisers_min}, {config.new_advertisers_ratio:g}x the mean, and "
                            f"Poisson tail {poisson_tail(n, mean):.1e} < {config.new_advertisers_max_p:g})"
                        ),
                        "detail": None,
                    }
                )
    return _frame(rows)


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean); exact sum (counts here are small)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    below = sum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(int(k)))
    return max(0.0, 1.0 - below)


def spike_threshold(mean: float, config: AlertConfig) -> int:
    """The smallest count of new advertisers that alerts, given the trailing mean."""
    k = max(config.new_advertisers_min, math.ceil(config.new_advertisers_ratio * mean - 1e-9))
    while poisson_tail(k, mean) >= config.new_advertisers_max_p:
        k += 1
    return k


def touring_alerts(obs: pd.DataFrame, config: AlertConfig | None = None) -> pd.DataFrame:
    """Advertiser-weeks where one advertiser (phone-key component) advertises in several municipalities."""
    config = config or AlertConfig()
    frame = _prepared(obs).dropna(subset=["municipality_code", "advertiser_key"])
    if frame.empty:
        return _empty_change()
    places = frame.groupby(["advertiser_key", "week_start"])["municipality_code"].agg(
        lambda s: sorted(set(s))
    )
    rows = []
    for (advertiser, week), codes in places.items():
        if len(codes) >= config.touring_min_municipalities:
            rows.append(
                {
                    "kind": TOURING,
                    "key": advertiser,
                    "week_start": pd.Timestamp(week).date(),
                    "value": float(len(codes)),
                    "baseline": None,
                    "threshold": float(config.touring_min_municipalities),
                    "reason": (
                        f"one advertiser seen in {len(codes)} municipalities in the same week; alert at "
                        f">= {config.touring_min_municipalities}"
                    ),
                    "detail": ",".join(codes),
                }
            )
    return _frame(rows)


def site_share_alerts(obs: pd.DataFrame, config: AlertConfig | None = None) -> pd.DataFrame:
    """Site-weeks where a site's share of the week's unique ads moved sharply from the previous observed week.

    A sudden shift is either a market change (a site closing, advertisers moving) or a capture
    problem; either way the analyst should know before reading the week's figures.
    """
    config = config or AlertConfig()
    frame = _prepared(obs)
    ads = frame.drop_duplicates(["site", "ad_id", "week_start"])
    counts = ads.groupby(["week_start", "site"]).size().unstack(fill_value=0).sort_index()
    if len(counts) < 2 or counts.shape[1] < 2:
        return _empty_change()  # one site always holds 100 %
    totals = counts.sum(axis=1)
    shares = counts.div(totals, axis=0) * 100.0
    rows = []
    for i in range(1, len(counts)):
        week, prev = counts.index[i], counts.index[i - 1]
        if totals[week] < config.site_share_min_ads or totals[prev] < config.site_share_min_ads:
            continue
        for site in counts.columns:
            shift = float(shares.at[week, site] - shares.at[prev, site])
            if abs(shift) > config.site_share_shift_pp:
                rows.append(
                    {
                        "kind": SITE_SHARE,
                        "key": site,
                        "week_start": pd.Timestamp(week).date(),
                        "value": shift,
                        "baseline": float(shares.at[prev, site]),
                        "threshold": config.site_share_shift_pp,
                        "reason": (
                            f"site {site} holds {shares.at[week, site]:.1f}% of the week's ads, "
                            f"{shift:+.1f} points from {shares.at[prev, site]:.1f}% the week before; "
                            f"alert above {config.site_share_shift_pp:g} points"
                        ),
                        "detail": None,
                    }
                )
    return _frame(rows)


def change_alerts(obs: pd.DataFrame, config: AlertConfig | None = None) -> pd.DataFrame:
    """All change alerts, one row per kind + key + week."""
    config = config or AlertConfig()
    parts = [rule(obs, config) for rule in (new_advertiser_alerts, touring_alerts, site_share_alerts)]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty_change()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["kind", "week_start", "key"], kind="stable").reset_index(drop=True)


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS) if rows else _empty_change()
