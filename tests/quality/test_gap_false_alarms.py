"""False-alarm rate of every blocking gap check on complete simulated years (and that they still see gaps).

The years come from lagesbild.calibration.gap_sim: advertisers arriving at a seasonal rate and
staying for weeks, on one or both sites, with several ad lines each and clustered unmappable
locations. Nothing is broken in them, so every blocked evaluation is a false alarm. Each check is
evaluated as the weekly run does (on every week up to the run's week), at three weeks of each year.
The bar: at most 1 % of complete weeks blocked, per check and for all checks together.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from lagesbild.calibration import gap_sim
from lagesbild.quality import gaps
from lagesbild.quality.config import QualityConfig

YEARS = 50
EVALUATION_WEEKS = (20, 36, 51)


def _checks(cfg: QualityConfig):
    names = gap_sim.county_names()
    return {
        "snapshot_weeks_complete": lambda f, weeks: gaps.missing_snapshot_weeks(
            f["snapshot_files"], gap_sim.SITES, weeks
        ),
        "sites_still_delivering": lambda f, weeks: gaps.vanished_sites(
            f["snapshot_files"], gap_sim.SITES, weeks[-1]
        ),
        "ad_volume_steady": lambda f, weeks: gaps.volume_drops(
            f["coverage"],
            ratio=cfg.volume_drop_ratio,
            trailing_weeks=cfg.volume_trailing_weeks,
            min_history_weeks=cfg.volume_min_history_weeks,
            alpha=cfg.volume_alpha,
        ),
        "snapshot_quarantine_share": lambda f, weeks: gaps.quarantine_share(
            f["snapshot_files"],
            threshold=cfg.quarantine_max_share,
            group_cols=("site", "week_start"),
            min_rows=cfg.share_min_rows,
            alpha=cfg.share_alpha,
        ),
        "unmapped_location_share": lambda f, weeks: gaps.unmapped_share(
            f["coverage"],
            threshold=cfg.unmapped_max_share,
            min_rows=cfg.share_min_rows,
            alpha=cfg.share_alpha,
        ),
        "municipalities_reporting": lambda f, weeks: gaps.silent_municipalities(
            f["prevalence_weekly"],
            names,
            period_weeks=cfg.silent_period_weeks,
            min_prior_weeks=cfg.silent_min_prior_weeks,
            alpha=cfg.silent_alpha,
        ),
    }


@pytest.fixture(scope="module")
def years():
    rng = np.random.default_rng(20260101)
    return [gap_sim.simulate_year(rng) for _ in range(YEARS)]


def _week(i: int) -> dt.date:
    return gap_sim.FIRST_WEEK + dt.timedelta(weeks=i)


def test_blocking_gap_checks_false_alarm_rate_at_most_one_percent(years):
    checks = _checks(QualityConfig())
    blocked = dict.fromkeys(checks, 0)
    any_blocked = evaluations = 0
    for frames in years:
        for i in EVALUATION_WEEKS:
            seen = gap_sim.upto(frames, _week(i))
            weeks = [_week(j) for j in range(i + 1)]
            failed = [name for name, check in checks.items() if not check(seen, weeks).passed]
            for name in failed:
                blocked[name] += 1
            any_blocked += bool(failed)
            evaluations += 1
    rates = {name: n / evaluations for name, n in blocked.items()}
    assert evaluations == YEARS * len(EVALUATION_WEEKS)
    assert all(r <= 0.01 for r in rates.values()), rates
    assert any_blocked / evaluations <= 0.01, (any_blocked, evaluations, rates)


def test_the_same_checks_still_see_real_gaps(years):
    checks = _checks(QualityConfig())
    frames = gap_sim.upto(years[0], _week(51))
    weeks = [_week(j) for j in range(52)]
    recent = frames["prevalence_weekly"]["week_start"].isin(weeks[-4:])
    # Linköping silent for a month: its location mapping broke.
    weekly = frames["prevalence_weekly"]
    broken = weekly[~((weekly["region_code"] == "0580") & recent)]
    result = checks["municipalities_reporting"]({**frames, "prevalence_weekly": broken}, weeks)
    assert [s["code"] for s in result.metadata["silent"]] == ["0580"]
    # A site delivering a third of its ads in the last week: a capture that broke half-way.
    cov = frames["coverage"].copy()
    last = (cov["site"] == gap_sim.SITES[0]) & (cov["week_start"] == weeks[-1])
    cov.loc[last, "rows"] = cov.loc[last, "rows"] // 3
    assert not checks["ad_volume_steady"]({**frames, "coverage": cov}, weeks).passed
    # Half the last week's rows of one site unmappable: the gazetteer lost its aliases.
    cov = frames["coverage"].copy()
    cov.loc[last, "unmapped_rows"] = cov.loc[last, "rows"] // 2
    assert not checks["unmapped_location_share"]({**frames, "coverage": cov}, weeks).passed


def test_every_gap_check_states_its_nominal_false_alarm_rate():
    from orchestration.checks.gap_checks import GAP_CHECKS, NOMINAL_FALSE_ALARM

    assert set(NOMINAL_FALSE_ALARM) == {name for name, *_ in GAP_CHECKS}
    cfg = QualityConfig()
    assert all(NOMINAL_FALSE_ALARM[name](cfg) for name, *_ in GAP_CHECKS)
