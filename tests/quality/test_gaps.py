"""Each gap check: healthy frames pass; one kind of damage fails, naming the week/site/municipality."""

import datetime as dt

import demo_frames as demo
import pytest

from lagesbild.quality import gaps
from lagesbild.quality.config import QualityConfig

WEEKS = demo.weeks(12)


@pytest.fixture
def files():
    return demo.snapshot_files(12)


def test_week_label_is_iso_week_and_monday():
    assert gaps.week_label(dt.date(2025, 3, 31)) == "2025-W14 (2025-03-31)"
    assert gaps.week_label("2024-12-30") == "2025-W01 (2024-12-30)"


def test_missing_snapshot_passes_when_complete(files):
    result = gaps.missing_snapshot_weeks(files, demo.SITES, WEEKS)
    assert result.passed and result.metadata["site_weeks_missing"] == 0


def test_missing_snapshot_names_site_and_week(files):
    gone = (files.site == "annonsportal-b") & (files.week_start == WEEKS[4])
    result = gaps.missing_snapshot_weeks(files[~gone], demo.SITES, WEEKS)
    assert not result.passed
    assert result.severity == "critical"
    assert result.metadata["missing"] == [
        {"site": "annonsportal-b", "week": "2025-W06 (2025-02-03)", "week_start": "2025-02-03"}
    ]
    assert "annonsportal-b in week 2025-W06 (2025-02-03)" in result.description


def test_missing_snapshot_fails_for_an_expected_week_with_no_file_at_all(files):
    later = WEEKS[-1] + dt.timedelta(weeks=1)
    result = gaps.missing_snapshot_weeks(files, demo.SITES, [*WEEKS, later])
    assert not result.passed
    assert {m["site"] for m in result.metadata["missing"]} == set(demo.SITES)
    assert {m["week_start"] for m in result.metadata["missing"]} == {later.isoformat()}


def test_missing_snapshot_fails_with_nothing_expected(files):
    assert not gaps.missing_snapshot_weeks(files, [], WEEKS).passed


def test_vanished_site_names_site_and_last_week(files):
    assert gaps.vanished_sites(files).passed
    cut = (files.site == "annonsportal-a") & (files.week_start > WEEKS[8])
    result = gaps.vanished_sites(files[~cut])
    assert not result.passed
    assert result.metadata["vanished"] == [{"site": "annonsportal-a", "last_seen": gaps.week_label(WEEKS[8])}]


def test_vanished_site_configured_but_never_seen(files):
    result = gaps.vanished_sites(files, sites=[*demo.SITES, "annonsportal-c"])
    assert not result.passed
    assert result.metadata["vanished"] == [{"site": "annonsportal-c", "last_seen": "never"}]


def test_silent_municipality_named():
    weekly = demo.prevalence_weekly(12)
    assert gaps.silent_municipalities(weekly, demo.MUNIS).passed
    weekly.loc[weekly.region_code == "0512", "active_advertisers"] = 12
    recent = weekly.week_start.isin(WEEKS[-4:])
    damaged = weekly[~((weekly.region_code == "0512") & recent)]
    result = gaps.silent_municipalities(damaged, demo.MUNIS, period_weeks=4)
    assert not result.passed
    assert [s["code"] for s in result.metadata["silent"]] == ["0512"]
    assert "Ydre (0512, 12.0 advertisers/week before)" in result.description
    assert result.metadata["alpha_per_municipality"] == pytest.approx(0.001 / 13)


def test_one_persistent_advertiser_leaving_is_not_silence():
    # One advertiser every week for two months is one ad that stayed up; it going is no gap.
    weekly = demo.prevalence_weekly(12)
    recent = weekly.week_start.isin(WEEKS[-4:])
    damaged = weekly[~((weekly.region_code == "0512") & recent)]
    assert gaps.silent_municipalities(damaged, demo.MUNIS, period_weeks=4).passed


def test_silent_municipality_zero_rows_count_as_silent():
    weekly = demo.prevalence_weekly(12)
    weekly.loc[weekly.region_code == "0580", "active_advertisers"] = 20
    recent = (weekly.region_code == "0580") & weekly.week_start.isin(WEEKS[-4:])
    weekly.loc[recent, ["ads_seen", "active_advertisers"]] = 0
    result = gaps.silent_municipalities(weekly, demo.MUNIS, period_weeks=4)
    assert [s["name"] for s in result.metadata["silent"]] == ["Linköping"]


def test_silent_municipality_ignores_one_that_never_had_ads():
    weekly = demo.prevalence_weekly(12)
    weekly = weekly[weekly.region_code != "0512"]
    assert gaps.silent_municipalities(weekly, demo.MUNIS).passed


def test_volume_drop_named_and_threshold_configurable():
    cov = demo.coverage(demo.snapshot_files(12))
    assert gaps.volume_drops(cov).passed
    cov.loc[(cov.site == "annonsportal-a") & (cov.week_start == WEEKS[10]), "rows"] = 15
    result = gaps.volume_drops(cov, ratio=0.5, trailing_weeks=8)
    assert not result.passed
    assert result.metadata["drops"] == [
        {
            "site": "annonsportal-a",
            "week": gaps.week_label(WEEKS[10]),
            "week_start": WEEKS[10].isoformat(),
            "ads": 15,
            "trailing_mean": 40.0,
        }
    ]
    assert gaps.volume_drops(cov, ratio=0.3).passed  # 15 >= 0.3 * 40


def test_volume_drop_not_judged_without_history():
    cov = demo.coverage(demo.snapshot_files(12))
    cov.loc[cov.week_start == WEEKS[1], "rows"] = 1
    assert gaps.volume_drops(cov, min_history_weeks=4).passed


def test_stale_population_year_too_old_and_region_missing():
    pop = demo.population()
    regions = [*demo.MUNIS, "05"]
    assert gaps.stale_population(pop, 2025, 1, regions).passed
    stale = gaps.stale_population(pop, 2026, 1, regions)
    assert not stale.passed and stale.metadata["latest_year"] == 2024
    assert {p["newest_available"] for p in stale.metadata["missing"]} == {2024}
    gone = gaps.stale_population(pop[pop.region_code != "0584"], [2024, 2025], 1, regions)
    assert not gone.passed
    assert {(p["region"], p["data_year"]) for p in gone.metadata["missing"]} == {
        ("0584", 2024),
        ("0584", 2025),
    }


def test_stale_population_null_figures_do_not_count():
    pop = demo.population()
    pop.loc[pop.year == 2024, "population"] = None
    assert not gaps.stale_population(pop, 2025, 1).passed


def test_quarantine_share_names_site_week():
    files = demo.snapshot_files(12)
    assert gaps.quarantine_share(files, 0.05, group_cols=("site", "week_start")).passed
    bad = (files.site == "annonsportal-b") & (files.week_start == WEEKS[2])
    files.loc[bad, "rows_quarantined"] = 10
    result = gaps.quarantine_share(files, 0.05, group_cols=("site", "week_start"))
    assert not result.passed
    (offender,) = result.metadata["over_threshold"]
    assert offender["site"] == "annonsportal-b" and offender["week_start"] == gaps.week_label(WEEKS[2])
    assert offender["share"] == 0.25


def test_unmapped_share_names_site_week():
    cov = demo.coverage(demo.snapshot_files(12))
    assert gaps.unmapped_share(cov, 0.15).passed
    cov.loc[(cov.site == "annonsportal-a") & (cov.week_start == WEEKS[7]), "unmapped_rows"] = 20
    result = gaps.unmapped_share(cov, 0.15)
    assert not result.passed
    assert [(o["site"], o["share"]) for o in result.metadata["over_threshold"]] == [("annonsportal-a", 0.5)]


def test_quality_config_reads_env(monkeypatch):
    monkeypatch.setenv("LAGESBILD_QUALITY_VOLUME_DROP_RATIO", "0.3")
    monkeypatch.setenv("LAGESBILD_QUALITY_SITES", "a, b")
    monkeypatch.setenv("LAGESBILD_QUARANTINE_MAX_SHARE", "0.02")
    cfg = QualityConfig.from_env()
    assert (cfg.volume_drop_ratio, cfg.sites, cfg.quarantine_max_share) == (0.3, ("a", "b"), 0.02)
    monkeypatch.setenv("LAGESBILD_QUALITY_TRAILING_WEEKS_TYPO", "x")
    monkeypatch.setenv("LAGESBILD_QUALITY_VOLUME_TRAILING_WEEKS", "eight")
    with pytest.raises(ValueError, match="LAGESBILD_QUALITY_VOLUME_TRAILING_WEEKS"):
        QualityConfig.from_env()


def test_volume_chance_dip_on_small_counts_is_not_a_broken_capture():
    """Nine ads a week often become four by chance; zero is a broken capture."""
    cov = demo.coverage(demo.snapshot_files(12))
    cov["rows"] = 9
    cov.loc[(cov.site == "annonsportal-a") & (cov.week_start == WEEKS[10]), "rows"] = 4
    assert gaps.volume_drops(cov, ratio=0.5, alpha=0.001).passed
    assert not gaps.volume_drops(cov, ratio=0.5, alpha=0.1).passed
    cov.loc[(cov.site == "annonsportal-a") & (cov.week_start == WEEKS[10]), "rows"] = 0
    result = gaps.volume_drops(cov, ratio=0.5, alpha=0.001)
    assert [d["ads"] for d in result.metadata["drops"]] == [0]


def test_share_alpha_tolerates_one_bad_line_in_a_small_capture():
    files = demo.snapshot_files(12)
    files["rows_read"] = 11
    files.loc[0, "rows_quarantined"] = 1  # 9 %, but one line of eleven
    assert not gaps.quarantine_share(files, 0.05, group_cols=("site", "week_start")).passed
    assert gaps.quarantine_share(files, 0.05, group_cols=("site", "week_start"), alpha=0.001).passed
    files.loc[0, "rows_quarantined"] = 6  # half the capture
    result = gaps.quarantine_share(files, 0.05, group_cols=("site", "week_start"), alpha=0.001)
    assert [o["quarantined"] for o in result.metadata["over_threshold"]] == [6]


def test_tails_match_known_values():
    assert gaps.poisson_cdf(0, 10) == pytest.approx(4.54e-5, rel=1e-2)
    assert gaps.poisson_cdf(4, 9) == pytest.approx(0.0550, rel=1e-2)
    assert gaps.poisson_cdf(4000, 5000) < 1e-40
    assert gaps.binomial_sf(1, 11, 0.05) == pytest.approx(1 - 0.95**11)
    assert gaps.binomial_sf(600, 10000, 0.05) == pytest.approx(4.509e-6, rel=1e-3)


def test_sparse_municipality_quiet_for_a_month_is_not_silent():
    weekly = demo.prevalence_weekly(12)
    sparse = (weekly.region_code == "0512") & ~weekly.week_start.isin(WEEKS[:8:3])
    weekly.loc[sparse, ["ads_seen", "active_advertisers"]] = 0  # Ydre: 3 of 8 earlier weeks, none lately
    weekly.loc[(weekly.region_code == "0512") & ~sparse, "active_advertisers"] = 3
    # 9 advertiser-weeks in 8 weeks, no persistence: P(silent month) = exp(-1.125 x 4) = 0.011
    assert gaps.silent_municipalities(weekly, demo.MUNIS, period_weeks=4, alpha=0.001).passed
    result = gaps.silent_municipalities(weekly, demo.MUNIS, period_weeks=4, alpha=0.2)
    assert [s["code"] for s in result.metadata["silent"]] == ["0512"]
