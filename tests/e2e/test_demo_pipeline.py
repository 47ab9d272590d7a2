"""The whole pipeline on the demo: every asset, every check, a publication, plausible numbers."""

from __future__ import annotations

import pytest

from lagesbild.marts import MARTS

pytestmark = pytest.mark.slow


def test_full_run_succeeds_and_publishes(demo_run):
    failures = [e.message for e in demo_run.result.all_events if e.is_failure]
    assert demo_run.result.success, failures
    publications = demo_run.publications()
    assert len(publications) == 1
    manifest = demo_run.latest_manifest()
    paths = set(manifest["files"])
    for mart in MARTS:
        assert f"county/{mart}.parquet" in paths
    assert any(p.startswith("municipalities/0580/") for p in paths)
    assert any(p.startswith("reports/") for p in paths)
    assert manifest["quality"]["checks"], "the publication carries its quality results"


def test_every_check_passed_on_the_healthy_demo(demo_run):
    evaluations = [
        e.event_specific_data
        for e in demo_run.result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert len(evaluations) > 20
    failed = [
        f"{ev.asset_key.to_user_string()}:{ev.check_name}"
        for ev in evaluations
        if not ev.passed and ev.severity.value == "ERROR"
    ]
    assert failed == []


def test_marts_reproduce_the_reports_headline_findings(demo_run):
    yearly = demo_run.mart("mart_prevalence_yearly")
    county = yearly[yearly["region_level"] == "county"]
    assert len(county) == 2
    for _, row in county.iterrows():
        # About 1,500 purchases a year, within the model's interval.
        assert 1200 <= row["est_purchases_central"] <= 1800, row.to_dict()
        assert row["est_purchases_low"] <= 1500 <= row["est_purchases_high"]
    munis = yearly[yearly["region_level"] == "municipality"]
    share = (
        munis[munis["region_code"].isin(["0580", "0581"])]["advertiser_days"].sum() / munis["advertiser_days"].sum()
    )
    assert 0.78 <= share <= 0.86, share
    demand = demo_run.mart("mart_demand_yearly")
    county_demand = demand[demand["region_level"] == "county"]
    assert county_demand["min_age"].min() >= 19 and county_demand["max_age"].max() <= 69
    assert 33 <= county_demand["mean_age"].mean() <= 41
    assert (county_demand["share_bought_in_home"] > 0.5).all()

