"""Alert detection: the rules, each in one place, over the ``observations`` view in DuckDB.

Input contract (docs/architecture.md, "Intermediate exported for restricted use"): one row per ad
per capture with site, ad_id, week_start, stated_age, category, municipality_code and
advertiser_key (:mod:`lagesbild.alerts.observations` reads the export or a frame). Each rule runs its
SQL in its own in-memory connection, so at 10M rows only aggregates and flagged ads reach Python;
Python applies the thresholds and writes the reasons. Nothing here writes files, so the rules can be
tested on small frames and re-run over the full history every week (the store deduplicates).
"""

from __future__ import annotations

import math

import pandas as pd

from lagesbild.alerts.config import ADULT_AGE, AlertConfig
from lagesbild.alerts.observations import Observations, as_observations

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

Source = Observations | pd.DataFrame


# -- ads stating an age under 18 ---------------------------------------------------------------

UNDER_AGE_SQL = """
with flagged as (
    select *
    from observations
    where stated_age < $adult_age
        or (stated_age is null and list_contains($minor_categories::varchar[], category))
),

flagged_ads as (
    select
        site,
        ad_id,
        min(week_start) as first_week_seen,
        -- place and advertiser of the latest flagged capture that has one (an ad can be edited)
        last(municipality_code order by week_start, source_file, source_row)
            filter (where municipality_code is not null) as municipality_code,
        last(advertiser_key order by week_start, source_file, source_row)
            filter (where advertiser_key is not null) as advertiser_key
    from flagged
    where site is not null and ad_id is not null
    group by site, ad_id
),

last_seen as (
    -- the ad's last week is the last week it was seen at all, even if a later edit dropped the age
    select site, ad_id, max(week_start) as last_week_seen
    from observations
    semi join flagged_ads using (site, ad_id)
    group by site, ad_id
)

select
    flagged_ads.site,
    flagged_ads.ad_id,
    flagged_ads.first_week_seen,
    last_seen.last_week_seen,
    flagged_ads.municipality_code,
    flagged_ads.advertiser_key
from flagged_ads
join last_seen using (site, ad_id)
order by flagged_ads.site, flagged_ads.ad_id
"""


def under_age_alerts(obs: Source, config: AlertConfig | None = None) -> pd.DataFrame:
    """One row per ad (site + ad_id) that states an age under 18 in any capture.

    When ``config.minor_categories`` is set, an ad with no stated age in such a category is an alert
    too. Municipality and advertiser key are the latest non-null values, since an ad can be edited
    (ties within a week go to the later row of the export).
    """
    config = config or AlertConfig()
    params = {"adult_age": ADULT_AGE, "minor_categories": list(config.minor_categories)}
    with as_observations(obs).connect() as con:
        rows = con.execute(UNDER_AGE_SQL, params).fetchall()
    if not rows:
        return _empty_under_age()
    return pd.DataFrame(rows, columns=UNDER_AGE_COLUMNS)


def _empty_under_age() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in UNDER_AGE_COLUMNS})


def _empty_change() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in CHANGE_COLUMNS})


# -- a spike of advertisers new to a municipality ----------------------------------------------

NEW_ADVERTISERS_SQL = """
with observed_weeks as (
    select week_start, row_number() over (order by week_start) as week_number
    from (select distinct week_start from observations where week_start is not null)
),

first_weeks as (
    -- an advertiser is new to a municipality in the first observed week it advertises there
    select municipality_code, advertiser_key, min(week_start) as week_start
    from observations
    where municipality_code is not null and advertiser_key is not null
    group by municipality_code, advertiser_key
),

new_per_week as (
    select municipality_code, week_start, count(*) as new_advertisers
    from first_weeks
    group by municipality_code, week_start
),

new_with_window as (
    select
        new_per_week.municipality_code,
        new_per_week.week_start,
        observed_weeks.week_number,
        new_per_week.new_advertisers,
        -- the preceding observed weeks of the window; a week without a row had no newcomers
        coalesce(sum(new_per_week.new_advertisers) over (
            partition by new_per_week.municipality_code
            order by observed_weeks.week_number
            range between $trailing_weeks preceding and 1 preceding
        ), 0) as trailing_new,
        least(observed_weeks.week_number - 1, $trailing_weeks) as trailing_weeks
    from new_per_week
    join observed_weeks using (week_start)
)

select municipality_code, week_start, new_advertisers, trailing_new, trailing_weeks
from new_with_window
where week_number > $min_history_weeks
order by week_start, municipality_code
"""


def new_advertiser_alerts(obs: Source, config: AlertConfig | None = None) -> pd.DataFrame:
    """Municipality-weeks whose count of advertisers new to the municipality is far above its trailing level.

    An advertiser is new to a municipality in the first observed week it advertises there. The
    trailing level is the mean over the preceding ``trailing_weeks`` observed weeks (a week with no
    new advertisers counts as 0). A week alerts when its count reaches all three of: the minimum,
    ``ratio`` x the mean, and the smallest count whose Poisson upper tail at the mean is below
    ``max_p`` (so ordinary churn in a big town does not alert, while three newcomers in a small
    municipality that normally sees none do). Weeks with fewer than ``min_history_weeks`` before them
    do not alert, because at the start of the data every advertiser looks new. A week without
    newcomers never alerts (the threshold is at least the minimum), so the SQL returns only weeks
    with newcomers.
    """
    config = config or AlertConfig()
    params = {"trailing_weeks": config.trailing_weeks, "min_history_weeks": config.min_history_weeks}
    with as_observations(obs).connect() as con:
        weeks = con.execute(NEW_ADVERTISERS_SQL, params).fetchall()
    thresholds: dict[float, int] = {}  # a few distinct means: counts over at most trailing_weeks weeks
    rows = []
    for code, week, n, trailing_new, window in weeks:
        mean = trailing_new / window
        if mean not in thresholds:
            thresholds[mean] = spike_threshold(mean, config)
        threshold = thresholds[mean]
        if n >= threshold:
            rows.append(
                {
                    "kind": NEW_ADVERTISERS,
                    "key": code,
                    "week_start": week,
                    "value": float(n),
                    "baseline": mean,
                    "threshold": float(threshold),
                    "reason": (
                        f"{n} advertisers new to municipality {code} this week; trailing "
                        f"{window}-week mean {mean:.2f}; alert at >= {threshold} (at least "
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


# -- one advertiser in several municipalities in the same week ---------------------------------

TOURING_SQL = """
with places as (
    select distinct advertiser_key, week_start, municipality_code
    from observations
    where advertiser_key is not null and week_start is not null and municipality_code is not null
)

select advertiser_key, week_start, list_sort(list(municipality_code)) as municipality_codes
from places
group by advertiser_key, week_start
having count(*) >= $touring_min_municipalities
order by advertiser_key, week_start
"""


def touring_alerts(obs: Source, config: AlertConfig | None = None) -> pd.DataFrame:
    """Advertiser-weeks where one advertiser (phone-key component) advertises in several municipalities."""
    config = config or AlertConfig()
    params = {"touring_min_municipalities": config.touring_min_municipalities}
    with as_observations(obs).connect() as con:
        tours = con.execute(TOURING_SQL, params).fetchall()
    rows = [
        {
            "kind": TOURING,
            "key": advertiser,
            "week_start": week,
            "value": float(len(codes)),
            "baseline": None,
            "threshold": float(config.touring_min_municipalities),
            "reason": (
                f"one advertiser seen in {len(codes)} municipalities in the same week; alert at "
                f">= {config.touring_min_municipalities}"
            ),
            "detail": ",".join(codes),
        }
        for advertiser, week, codes in tours
    ]
    return _frame(rows)


# -- a site's share of the week's ads moving sharply -------------------------------------------

SITE_ADS_SQL = """
with ad_weeks as (
    select distinct site, ad_id, week_start
    from observations
)

select week_start, site, count(*) as ads
from ad_weeks
where week_start is not null and site is not null
group by week_start, site
order by week_start, site
"""


def site_share_alerts(obs: Source, config: AlertConfig | None = None) -> pd.DataFrame:
    """Site-weeks where a site's share of the week's unique ads moved sharply from the previous observed week.

    A sudden shift is either a market change (a site closing, advertisers moving) or a capture
    problem; either way the analyst should know before reading the week's figures.
    """
    config = config or AlertConfig()
    with as_observations(obs).connect() as con:
        site_weeks = con.execute(SITE_ADS_SQL).fetchall()
    if not site_weeks:
        return _empty_change()
    long = pd.DataFrame(site_weeks, columns=["week_start", "site", "ads"])
    counts = long.set_index(["week_start", "site"])["ads"].unstack(fill_value=0).sort_index()
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
                        "week_start": week,
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


# -- all change alerts ---------------------------------------------------------------------------


def change_alerts(obs: Source, config: AlertConfig | None = None) -> pd.DataFrame:
    """All change alerts, one row per kind + key + week."""
    config = config or AlertConfig()
    obs = as_observations(obs)
    parts = [rule(obs, config) for rule in (new_advertiser_alerts, touring_alerts, site_share_alerts)]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty_change()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["kind", "week_start", "key"], kind="stable").reset_index(drop=True)


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS) if rows else _empty_change()
