"""Detection rules over the int_ad_observations frame."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from alerts_helpers import TOURING_KEY, TOURING_PLACES, TOURING_WEEK, UNDER_AGE, WEEKS, _row

from lagesbild.alerts.config import AlertConfig, AlertConfigError
from lagesbild.alerts.detect import (
    NEW_ADVERTISERS,
    SITE_SHARE,
    TOURING,
    UNDER_AGE_COLUMNS,
    change_alerts,
    new_advertiser_alerts,
    poisson_tail,
    site_share_alerts,
    spike_threshold,
    under_age_alerts,
)
from lagesbild.alerts.observations import ObservationsError


def test_under_age_finds_exactly_the_ads_stating_16_or_17(demo_obs):
    alerts = under_age_alerts(demo_obs)
    assert list(alerts.columns) == UNDER_AGE_COLUMNS
    expected = {
        (site, ad): (WEEKS[seen[0]], WEEKS[seen[-1]], place, adv)
        for site, ad, _, seen, place, adv, _ in UNDER_AGE
    }
    got = {
        (r.site, r.ad_id): (
            r.first_week_seen,
            r.last_week_seen,
            None if pd.isna(r.municipality_code) else r.municipality_code,
            r.advertiser_key,
        )
        for r in alerts.itertuples()
    }
    assert got == expected
    # the ad seen over three weeks is one alert spanning them
    three_weeks = alerts.set_index("ad_id").loc["A-MINOR-7731"]
    assert (three_weeks.first_week_seen, three_weeks.last_week_seen) == (WEEKS[2], WEEKS[4])


def test_under_age_ignores_18_and_missing_age_and_keeps_latest_place(demo_obs):
    week = WEEKS[0]
    extra = pd.DataFrame(
        [
            _row("annonsportal-a", "A-EIGHTEEN", week, 0, "0580", "adv-x", "ph-x", 18),
            _row("annonsportal-a", "A-NOAGE", week, 0, "0580", "adv-y", "ph-y", None, category="young"),
            # the same minor ad moved to another municipality in a later week
            _row("annonsportal-a", "A-MOVED", WEEKS[1], 0, "0580", "adv-m", "ph-m", 17),
            _row("annonsportal-a", "A-MOVED", WEEKS[3], 0, "0583", "adv-m", "ph-m", 17),
        ]
    )
    obs = pd.concat([demo_obs, extra], ignore_index=True)
    alerts = under_age_alerts(obs).set_index("ad_id")
    assert "A-EIGHTEEN" not in alerts.index and "A-NOAGE" not in alerts.index
    assert alerts.loc["A-MOVED", "municipality_code"] == "0583"
    assert alerts.loc["A-MOVED", "last_week_seen"] == WEEKS[3]
    # a configured minor category flags an ad with no stated age, never one stating an adult age
    flagged = under_age_alerts(obs, AlertConfig(minor_categories=("young",))).set_index("ad_id")
    assert "A-NOAGE" in flagged.index and "A-EIGHTEEN" not in flagged.index


def test_under_age_last_week_follows_the_ad_after_the_age_is_edited_out():
    rows = [
        _row("s", "AD-1", WEEKS[0], 0, "0580", "adv", "ph", 17),
        _row("s", "AD-1", WEEKS[2], 0, "0580", "adv", "ph", 19),
    ]
    alerts = under_age_alerts(pd.DataFrame(rows))
    assert (alerts.loc[0, "first_week_seen"], alerts.loc[0, "last_week_seen"]) == (WEEKS[0], WEEKS[2])


def test_change_alerts_on_the_demo_frame_are_exactly_the_touring_advertiser(demo_obs):
    alerts = change_alerts(demo_obs)
    assert len(alerts) == 1
    alert = alerts.iloc[0]
    assert (alert.kind, alert.key, alert.week_start) == (TOURING, TOURING_KEY, WEEKS[TOURING_WEEK])
    assert alert.detail == ",".join(TOURING_PLACES)
    assert alert.threshold == 3 and "3 municipalities" in alert.reason


def test_touring_threshold_comes_from_configuration(demo_obs):
    assert change_alerts(demo_obs, AlertConfig(touring_min_municipalities=4)).empty
    two = change_alerts(demo_obs, AlertConfig(touring_min_municipalities=2))
    assert set(two["key"]) == {TOURING_KEY}


def _spike_frame(new_in_last_week: int, steady_new_per_week: int = 0) -> pd.DataFrame:
    """Ten weeks in 0580: a few steady advertisers, optional churn, and a burst of new ones in the last week."""
    rows = []
    for wi, week in enumerate(WEEKS):
        for n in range(4):
            rows.append(_row("s", f"S-{n}", week, 0, "0580", f"steady-{n}", f"p{n}", 30))
        for n in range(steady_new_per_week):
            rows.append(_row("s", f"C-{wi}-{n}", week, 0, "0580", f"churn-{wi}-{n}", f"c{wi}{n}", 30))
    for n in range(new_in_last_week):
        rows.append(_row("s", f"N-{n}", WEEKS[-1], 0, "0580", f"new-{n}", f"n{n}", 30))
    return pd.DataFrame(rows)


def test_new_advertiser_spike_alerts_with_reason_and_threshold():
    alerts = new_advertiser_alerts(_spike_frame(new_in_last_week=3))
    assert len(alerts) == 1
    alert = alerts.iloc[0]
    assert (alert.kind, alert.key, alert.week_start) == (NEW_ADVERTISERS, "0580", WEEKS[-1])
    assert alert.value == 3 and alert.baseline == 0 and alert.threshold == 3
    assert "trailing 8-week mean" in alert.reason


def test_new_advertiser_spike_respects_minimum_and_ratio():
    ratio_only = AlertConfig(new_advertisers_max_p=1.0)  # the Poisson guard off: the plain ratio rule
    assert new_advertiser_alerts(_spike_frame(new_in_last_week=2), ratio_only).empty  # below the minimum of 3
    # one new advertiser every week: trailing mean 1, so 3 new (total 4 this week) is >= 3x -> alert ...
    fired = new_advertiser_alerts(_spike_frame(new_in_last_week=3, steady_new_per_week=1), ratio_only)
    assert (
        list(fired["week_start"]) == [WEEKS[-1]] and fired.iloc[0].value == 4 and fired.iloc[0].threshold == 3
    )
    # ... but with two a week (mean 2) the same burst (5 < 6) is ordinary churn
    assert new_advertiser_alerts(_spike_frame(new_in_last_week=3, steady_new_per_week=2), ratio_only).empty
    # a stricter ratio silences the first case too
    assert new_advertiser_alerts(
        _spike_frame(new_in_last_week=3, steady_new_per_week=1),
        AlertConfig(new_advertisers_max_p=1.0, new_advertisers_ratio=5),
    ).empty


def test_poisson_guard_keeps_ordinary_churn_quiet_but_not_a_real_burst():
    # trailing mean 1: four new advertisers happen about one week in fifty by chance -> no alert by default
    assert new_advertiser_alerts(_spike_frame(new_in_last_week=3, steady_new_per_week=1)).empty
    # six (P ~ 6e-4 at mean 1) is an alert, with the exact threshold and the tail in the reason
    fired = new_advertiser_alerts(_spike_frame(new_in_last_week=5, steady_new_per_week=1))
    assert len(fired) == 1 and fired.iloc[0].value == 6 and fired.iloc[0].threshold == 6
    assert "Poisson tail 5.9e-04 < 0.001" in fired.iloc[0].reason
    # where none is normal, three newcomers at once still alert
    assert len(new_advertiser_alerts(_spike_frame(new_in_last_week=3))) == 1


def test_poisson_tail_and_threshold():
    assert poisson_tail(0, 2.0) == 1.0 and poisson_tail(3, 0.0) == 0.0
    assert poisson_tail(1, 1.0) == pytest.approx(1 - math.exp(-1))
    assert poisson_tail(4, 1.25) == pytest.approx(0.038269, abs=1e-6)
    cfg = AlertConfig()
    assert [spike_threshold(m, cfg) for m in (0.0, 0.25, 1.0, 2.0)] == [3, 4, 6, 9]
    assert [spike_threshold(m, AlertConfig(new_advertisers_max_p=1.0)) for m in (0.0, 1.0, 2.0)] == [3, 3, 6]


def test_new_advertisers_at_the_start_of_the_data_do_not_alert():
    frame = _spike_frame(new_in_last_week=0)
    first_weeks = frame[frame["week_start"].isin(WEEKS[:4])]
    assert new_advertiser_alerts(first_weeks).empty  # every advertiser is "new" in week 1


def test_site_share_shift_alerts_when_a_site_loses_its_ads():
    rows = []
    for wi, week in enumerate(WEEKS[:3]):
        for n in range(20):
            rows.append(_row("site-a", f"A{n}", week, 0, "0580", f"a{n}", f"a{n}", 30))
            if wi < 2 or n < 5:  # site b drops from 20 to 5 ads in the third week
                rows.append(_row("site-b", f"B{n}", week, 0, "0580", f"b{n}", f"b{n}", 30))
    alerts = site_share_alerts(pd.DataFrame(rows))
    assert set(zip(alerts["kind"], alerts["key"], alerts["week_start"], strict=True)) == {
        (SITE_SHARE, "site-a", WEEKS[2]),
        (SITE_SHARE, "site-b", WEEKS[2]),
    }
    b = alerts.set_index("key").loc["site-b"]
    assert b.value == pytest.approx(20 - 50) and b.baseline == pytest.approx(50) and b.threshold == 25
    assert site_share_alerts(pd.DataFrame(rows), AlertConfig(site_share_shift_pp=31)).empty
    assert site_share_alerts(pd.DataFrame(rows), AlertConfig(site_share_min_ads=30)).empty


def test_single_site_never_shifts(demo_obs):
    one = demo_obs[demo_obs["site"] == "annonsportal-a"]
    assert site_share_alerts(one).empty


def test_missing_columns_are_named():
    with pytest.raises(ObservationsError, match=r"stated_age"):
        under_age_alerts(pd.DataFrame({"site": ["s"], "ad_id": ["1"], "week_start": [dt.date(2026, 1, 5)]}))


def test_config_from_env_and_bad_values():
    env = {
        "LAGESBILD_ALERT_NEW_ADVERTISERS_MIN": "5",
        "LAGESBILD_ALERT_SITE_SHARE_SHIFT_PP": "30.5",
        "LAGESBILD_ALERT_MINOR_CATEGORIES": "young, teen",
        "LAGESBILD_ALERT_NOTIFY": "file",
        "LAGESBILD_ALERT_WEBHOOK_URL": "https://hooks.example/x",
    }
    cfg = AlertConfig.from_env(env)
    assert cfg.new_advertisers_min == 5 and cfg.site_share_shift_pp == 30.5
    assert cfg.minor_categories == ("young", "teen") and cfg.notify_channels == ("file",)
    assert cfg.webhook_url == "https://hooks.example/x" and cfg.trailing_weeks == 8
    assert AlertConfig.from_env({}) == AlertConfig()
    with pytest.raises(AlertConfigError, match="LAGESBILD_ALERT_TRAILING_WEEKS='eight'"):
        AlertConfig.from_env({"LAGESBILD_ALERT_TRAILING_WEEKS": "eight"})
    with pytest.raises(AlertConfigError, match="unknown channel"):
        AlertConfig.from_env({"LAGESBILD_ALERT_NOTIFY": "log,sms"})
    with pytest.raises(AlertConfigError, match="min_history_weeks"):
        AlertConfig(min_history_weeks=9)
