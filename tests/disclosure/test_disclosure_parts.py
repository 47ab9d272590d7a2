"""Disclosure part by part (lagesbild/disclosure/parts.py) decides and verifies what the whole does.

The claim that lets a weekly run carry closed years over: no relation crosses from one part to
another, so ``apply_policy`` on the parts gives the whole's marts and stats, and ``verify`` finds the
whole's violations among each part's rows. Checked on random marts (several years, some closed, and
the verdict register's flows over rolling windows), then the store's carry-over rules.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_disclosure_control import _activity, _prevalence_of
from test_disclosure_demand_flows import _register_with_rolling_windows

from lagesbild.disclosure import apply_policy, load_policy, verify
from lagesbild.disclosure.parts import PartStore, assemble, disclose, independent_parts, verify_in_parts

POLICY = load_policy()
COUNTY = "05"
#: Mondays: the year's first week, weeks before a year's last (52 in 2025, 53 in 2026), and after it
STARTS = ["2025-01-06", "2025-11-03", "2025-12-15", "2026-11-23", "2026-12-21"]


def apply_in_parts(marts: dict[str, pd.DataFrame], policy, county_code: str):
    """``apply_policy`` part by part, assembled as ``disclose`` assembles its parts."""
    parts = independent_parts(marts, policy)
    return assemble(marts, parts, [apply_policy(p.of(marts), policy, county_code) for p in parts])


def _marts(seed: int, start: str, n_weeks: int, of_weeks: int | None = None) -> dict[str, pd.DataFrame]:
    """Prevalence marts of the first ``n_weeks`` of a population drawn over ``of_weeks`` weeks (as
    many by default), and the verdict register's demand and flows over 1-3 years."""
    rng = np.random.default_rng(seed)
    active = _activity(rng, int(rng.integers(2, 6)), of_weeks or n_weeks)
    marts = _prevalence_of(active, n_weeks, start)
    register, _ = _register_with_rolling_windows(seed, national=False)
    return {**marts, **register}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), start=st.sampled_from(STARTS), n_weeks=st.integers(1, 12))
def test_the_parts_decide_and_verify_what_the_whole_does(seed, start, n_weeks):
    marts = _marts(seed, start, n_weeks)
    whole = apply_policy(marts, POLICY, COUNTY)
    parts = apply_in_parts(marts, POLICY, COUNTY)
    for name, frame in whole.marts.items():
        pd.testing.assert_frame_equal(parts.marts[name], frame, check_exact=True)
    assert parts.stats == whole.stats
    # verify: a breach planted in each mart (a hidden person count written out) is found by the whole
    # and by the part that holds it, on the same row
    out = {name: frame.copy() for name, frame in whole.marts.items()}
    planted = 0
    for name, col in (("mart_prevalence_weekly", "active_advertisers"), ("mart_demand_yearly", "convicted_buyers")):
        hidden = np.flatnonzero(out[name][f"{col}_suppressed"].to_numpy(dtype=bool))
        if len(hidden):
            out[name].loc[hidden[-1], col] = 3
            planted += 1
    found = {(v.mart, v.column, v.row, v.rule) for v in verify(out, POLICY)}
    by_parts = {(v.mart, v.column, v.row, v.rule) for v in verify_in_parts(out, POLICY)}
    assert by_parts == found
    assert len({(m, r) for m, _, r, rule in found if rule == "small_count"}) == planted


def test_years_split_off_only_where_they_close_alike():
    """2025 closes with its week 52 (2025-12-22). With that week in the weekly mart, 2025 and 2026 are
    parts of their own; without it, 2025 is closed among all the weeks (2026's are later) but would be
    open on its own, so the prevalence marts stay one part."""
    n_weeks = 4
    marts = _prevalence_of(_activity(np.random.default_rng(3), 3, n_weeks), n_weeks, "2025-12-15")
    names = [p.name for p in independent_parts(marts, POLICY)]
    assert names == ["mart_prevalence_weekly-2025", "mart_prevalence_weekly-2026"]
    weekly = marts["mart_prevalence_weekly"]
    gap = {**marts, "mart_prevalence_weekly": weekly[weekly["week_start"] != pd.Timestamp("2025-12-22")]}
    assert [p.name for p in independent_parts(gap, POLICY)] == ["mart_prevalence_weekly"]
    # and a year the marts cannot name keeps them whole too
    unnamed = {**marts, "mart_prevalence_yearly": marts["mart_prevalence_yearly"].assign(year=np.nan)}
    assert [p.name for p in independent_parts(unnamed, POLICY)] == ["mart_prevalence_weekly"]


def _decided(marts, store):
    done = disclose(marts, POLICY, COUNTY, store)
    assert done.violations == []
    return done


def test_a_week_decides_only_its_year_again_and_the_rest_is_carried_over(tmp_path):
    store = PartStore(tmp_path / "parts")
    history = _marts(7, "2025-12-08", 5, of_weeks=6)  # 2025 closed (weeks 50-52), 2026 open (1-2)
    first = _decided(history, store)
    assert first.carried == []
    assert first.decided == ["mart_prevalence_weekly-2025", "mart_prevalence_weekly-2026", "mart_demand_yearly"]
    again = _decided(history, store)
    assert again.decided == [] and again.carried == first.decided
    for name, frame in first.result.marts.items():
        pd.testing.assert_frame_equal(again.result.marts[name], frame, check_exact=True)
    assert again.result.stats == first.result.stats

    week = _marts(7, "2025-12-08", 6, of_weeks=6)  # the same population, one week more: 2026 changes
    after = _decided(week, store)
    assert after.decided == ["mart_prevalence_weekly-2026"]
    assert sorted(after.carried) == ["mart_demand_yearly", "mart_prevalence_weekly-2025"]
    whole = apply_policy(week, POLICY, COUNTY)
    for name, frame in whole.marts.items():
        pd.testing.assert_frame_equal(after.result.marts[name], frame, check_exact=True)
    assert after.result.stats == whole.stats


@pytest.mark.parametrize("damage", ["changed file", "missing file", "other key", "torn record"])
def test_a_part_not_exactly_as_it_was_verified_is_decided_again(tmp_path, damage):
    store = PartStore(tmp_path / "parts")
    marts = _marts(11, "2025-12-15", 3)
    first = _decided(marts, store)
    where = tmp_path / "parts" / "mart_prevalence_weekly-2025"
    record = where / PartStore.RECORD
    if damage == "changed file":
        frame = pd.read_parquet(where / "mart_prevalence_weekly.parquet")
        frame.loc[0, "active_advertisers"] = 2  # a hidden or published count changed after verify
        frame.to_parquet(where / "mart_prevalence_weekly.parquet")
    elif damage == "missing file":
        (where / "mart_prevalence_yearly.parquet").unlink()
    elif damage == "other key":
        record.write_text(json.dumps({**json.loads(record.read_text()), "key": "0" * 64}))
    else:
        record.write_text(record.read_text()[:40])
    again = _decided(marts, store)
    assert again.decided == ["mart_prevalence_weekly-2025"]
    for name, frame in first.result.marts.items():
        pd.testing.assert_frame_equal(again.result.marts[name], frame, check_exact=True)


def test_a_part_that_fails_verify_is_reported_on_its_rows_and_never_carried_over(tmp_path, monkeypatch):
    """A decision verify refuses (here: apply_policy made to publish a 2) fails the run with
    the row of the whole mart, and leaves no record, so the next run decides it again."""
    import lagesbild.disclosure.parts as parts

    marts = _marts(5, "2025-12-15", 3)
    real = parts.apply_policy

    def careless(frames, policy, county):
        out = real(frames, policy, county)
        weekly = out.marts.get("mart_prevalence_weekly")
        if weekly is not None and (weekly["iso_year"] == 2026).all():
            published = np.flatnonzero(~weekly["active_advertisers_suppressed"].to_numpy(dtype=bool))
            weekly.loc[published[0], "active_advertisers"] = 2
        return out

    monkeypatch.setattr(parts, "apply_policy", careless)
    store = PartStore(tmp_path / "parts")
    done = disclose(marts, POLICY, COUNTY, store)
    weekly = marts["mart_prevalence_weekly"]
    rows_2026 = set(np.flatnonzero(weekly["iso_year"] == 2026))
    small = [v for v in done.violations if v.rule == "small_count"]
    assert small and all(v.mart == "mart_prevalence_weekly" and v.row in rows_2026 for v in small)
    assert not (tmp_path / "parts" / "mart_prevalence_weekly-2026" / PartStore.RECORD).exists()
    monkeypatch.setattr(parts, "apply_policy", real)
    assert "mart_prevalence_weekly-2026" in _decided(marts, store).decided


def test_a_policy_change_decides_every_part_again(tmp_path):
    from lagesbild.disclosure.policy import DisclosurePolicy

    store = PartStore(tmp_path / "parts")
    marts = _marts(2, "2025-12-15", 3)
    _decided(marts, store)
    stricter = DisclosurePolicy.from_dict({**POLICY.raw, "min_persons": POLICY.min_persons + 1})
    done = disclose(marts, stricter, COUNTY, store)
    assert done.carried == []
    assert not done.result.marts["mart_prevalence_weekly"]["active_advertisers"].dropna().between(1, 5).any()


def test_a_change_to_the_code_or_the_rows_is_a_new_key(tmp_path, monkeypatch):
    import lagesbild.disclosure.parts as parts

    marts = _marts(4, "2025-12-15", 3)
    [part] = [p for p in independent_parts(marts, POLICY) if p.name == "mart_prevalence_weekly-2025"]
    frames = part.of(marts)
    key = parts.part_key(frames, POLICY, COUNTY)
    assert parts.part_key(part.of(marts), POLICY, COUNTY) == key  # the same rows: the same key
    changed = {**frames, "mart_prevalence_weekly": frames["mart_prevalence_weekly"].copy()}
    changed["mart_prevalence_weekly"].loc[0, "active_advertisers"] += 1
    assert parts.part_key(changed, POLICY, COUNTY) != key
    assert parts.part_key(frames, POLICY, "14") != key
    source = tmp_path / "apply.py"
    source.write_text("# one version\n")
    monkeypatch.setattr(parts, "CODE_FILES", (*parts.CODE_FILES, source))
    before = parts.part_key(frames, POLICY, COUNTY)
    assert before != key
    source.write_text("# another version\n")
    assert parts.part_key(frames, POLICY, COUNTY) != before
