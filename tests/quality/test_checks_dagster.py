"""The Dagster checks executed for real against Parquet in tmp_path, with stand-in upstream assets.

The stand-ins have the real asset keys and a ``publication`` asset downstream of every checked asset,
so a failing blocking check must leave the publication unmaterialised.
"""

import dagster as dg
import demo_frames as demo
import pytest

from lagesbild.marts import MARTS
from lagesbild.quality.gaps import week_label
from lagesbild.quality.summary import blocking_failures, render_quality_report_html
from lagesbild.warehouse import read_parquet, write_parquet_atomic
from orchestration.checks import all_asset_checks, all_check_keys
from orchestration.checks.gap_checks import build_gap_checks
from orchestration.quality_events import quality_summary_from_instance
from orchestration.resources import LagesbildResource

KEYS = [
    dg.AssetKey(["raw", "ad_snapshots"]),
    dg.AssetKey(["raw", "verdicts"]),
    dg.AssetKey(["raw", "population"]),
] + [dg.AssetKey([m]) for m in MARTS]
PUBLICATION = dg.AssetKey(["publication"])


def _stand_ins():
    """Upstream assets whose Parquet is already on disk, and a publication that depends on them all."""

    @dg.multi_asset(specs=[dg.AssetSpec(k) for k in KEYS])
    def upstream():
        for k in KEYS:
            yield dg.MaterializeResult(asset_key=k)

    @dg.asset(key=PUBLICATION, deps=KEYS)
    def publication():
        return None

    return [upstream, publication]


def _run(tmp_path, checks, instance=None):
    return dg.materialize(
        [*_stand_ins(), *checks],
        resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
        instance=instance,
        raise_on_error=False,
    )


def _evaluations(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _published(result):
    return PUBLICATION in {e.asset_key for e in result.get_asset_materialization_events()}


def _delete_snapshot(tmp_path, site, week):
    """What ingest leaves when one site's file for one week was never captured."""
    part = tmp_path / "raw" / "snapshot_files" / f"week_start={week.isoformat()}" / "part-0.parquet"
    files = read_parquet(part)
    write_parquet_atomic(files[files.site != site], part)
    cov_path = tmp_path / "marts" / "mart_coverage_weekly.parquet"
    cov = read_parquet(cov_path)
    cov.loc[(cov.site == site) & (cov.week_start == week), ["snapshot_present", "snapshot_files", "rows"]] = [
        False,
        0,
        0,
    ]
    write_parquet_atomic(cov, cov_path)


def test_gap_checks_pass_on_healthy_demo_and_publication_runs(tmp_path):
    demo.write_demo(tmp_path)
    result = _run(tmp_path, build_gap_checks())
    evaluations = _evaluations(result)
    assert len(evaluations) == 9
    assert all(e.passed for e in evaluations.values()), {
        n: e.description for n, e in evaluations.items() if not e.passed
    }
    assert _published(result)


def test_missing_snapshot_blocks_publication_and_names_site_and_week(tmp_path):
    demo.write_demo(tmp_path)
    week = demo.weeks(12)[5]
    _delete_snapshot(tmp_path, "annonsportal-b", week)
    instance = dg.DagsterInstance.ephemeral()
    result = _run(tmp_path, build_gap_checks(), instance)
    check = _evaluations(result)["snapshot_weeks_complete"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["missing"].value == [
        {"site": "annonsportal-b", "week": week_label(week), "week_start": week.isoformat()}
    ]
    assert "annonsportal-b in week 2025-W07 (2025-02-10)" in check.description
    assert not _published(result)

    summary = quality_summary_from_instance(instance, [dg.AssetKey(["mart_coverage_weekly"])])
    assert summary["blocking_failures"] == 1 and not summary["passed"]
    assert len(summary["checks"]) == 5 and summary["checks"][0]["name"] == "snapshot_weeks_complete"
    by_keys = quality_summary_from_instance(
        instance, [dg.AssetKey(["mart_coverage_weekly"])], check_keys=all_check_keys()
    )
    assert [c["name"] for c in by_keys["checks"]] == [c["name"] for c in summary["checks"]]
    everything = quality_summary_from_instance(instance, KEYS, check_keys=all_check_keys())
    assert "raw/ad_snapshots" in everything["assets_without_checks"]  # GX checks were not run here
    assert any("raw/ad_snapshots" in line for line in blocking_failures(everything))
    assert blocking_failures(summary)[:1] == [
        "Snapshot missing for site annonsportal-b in week 2025-W07 (2025-02-10): restore the capture or re-run the week"
    ]
    page = render_quality_report_html(summary)
    assert (
        "<h1>Datakvalitet</h1>" in page
        and "Det här stoppar publiceringen" in page
        and "annonsportal-b" in page
    )
    assert "http" not in page  # no CDN, no external assets


def test_missing_week_folder_fails_for_every_site(tmp_path):
    demo.write_demo(tmp_path, n_weeks=12)
    extra = demo.weeks(13)[-1]
    (tmp_path / "raw" / "snapshot_files" / f"week_start={extra.isoformat()}").mkdir()
    (tmp_path / "raw" / "snapshot_files" / f"week_start={extra.isoformat()}" / "part-0.parquet").write_bytes(
        (tmp_path / "raw" / "snapshot_files" / "week_start=2025-01-06" / "part-0.parquet").read_bytes()
    )
    files = read_parquet(
        tmp_path / "raw" / "snapshot_files" / f"week_start={extra.isoformat()}" / "part-0.parquet"
    )
    write_parquet_atomic(
        files.iloc[0:0],
        tmp_path / "raw" / "snapshot_files" / f"week_start={extra.isoformat()}" / "part-0.parquet",
    )
    evaluations = _evaluations(_run(tmp_path, build_gap_checks()))
    missing = evaluations["snapshot_weeks_complete"].metadata["missing"].value
    assert {(m["site"], m["week_start"]) for m in missing} == {(s, extra.isoformat()) for s in demo.SITES}
    assert not evaluations["sites_still_delivering"].passed


@pytest.mark.parametrize(
    "damage, check_name, named",
    [
        ("volume", "ad_volume_steady", "annonsportal-a"),
        ("silent", "municipalities_reporting", "0512"),
        ("population", "population_current", "0584"),
        ("quarantine", "verdicts_quarantine_share", "verdicts"),
        ("unmapped", "unmapped_location_share", "annonsportal-b"),
    ],
)
def test_each_gap_blocks_publication(tmp_path, damage, check_name, named):
    frames = demo.write_demo(tmp_path)
    if damage == "volume":
        cov = frames["mart_coverage_weekly"]
        cov.loc[(cov.site == "annonsportal-a") & (cov.week_start == demo.weeks(12)[9]), "rows"] = 5
        write_parquet_atomic(cov, tmp_path / "marts" / "mart_coverage_weekly.parquet")
    elif damage == "silent":
        w = frames["mart_prevalence_weekly"]
        # 12 advertisers a week gone for a month (one advertiser leaving would be no gap)
        w.loc[w.region_code == "0512", "active_advertisers"] = 12
        write_parquet_atomic(
            w[~((w.region_code == "0512") & w.week_start.isin(demo.weeks(12)[-4:]))],
            tmp_path / "marts" / "mart_prevalence_weekly.parquet",
        )
    elif damage == "population":
        p = frames["population"]
        write_parquet_atomic(
            p[p.region_code != "0584"], tmp_path / "raw" / "population" / "population.parquet"
        )
    elif damage == "quarantine":
        q = demo.verdicts().iloc[:3].assign(reason="decision_before_offence")
        write_parquet_atomic(q, tmp_path / "raw" / "quarantine" / "verdicts" / "verdicts.parquet")
    elif damage == "unmapped":
        cov = frames["mart_coverage_weekly"]
        cov.loc[cov.site == "annonsportal-b", "unmapped_rows"] = 30
        write_parquet_atomic(cov, tmp_path / "marts" / "mart_coverage_weekly.parquet")
    result = _run(tmp_path, build_gap_checks())
    evaluations = _evaluations(result)
    failed = {n for n, e in evaluations.items() if not e.passed}
    assert failed == {check_name}
    assert named in str({k: v.value for k, v in evaluations[check_name].metadata.items()})
    assert not _published(result)


def test_missing_mart_file_fails_the_check_with_the_path(tmp_path):
    demo.write_demo(tmp_path)
    (tmp_path / "marts" / "mart_prevalence_weekly.parquet").unlink()
    check = _evaluations(_run(tmp_path, build_gap_checks()))["municipalities_reporting"]
    assert not check.passed and "mart_prevalence_weekly.parquet" in check.metadata["path"].value


def test_warn_only_gap_does_not_block(tmp_path, monkeypatch):
    """LAGESBILD_QUALITY_WARN_ONLY is read when the check runs: set after the checks were built, it
    still turns the failure into a warning that does not block publication."""
    demo.write_demo(tmp_path)
    _delete_snapshot(tmp_path, "annonsportal-a", demo.weeks(12)[3])
    checks = build_gap_checks()
    monkeypatch.setenv("LAGESBILD_QUALITY_WARN_ONLY", "snapshot_weeks_complete")
    result = _run(tmp_path, checks)
    check = _evaluations(result)["snapshot_weeks_complete"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert _published(result)


@pytest.mark.slow
def test_all_checks_healthy_then_broken_suite(tmp_path):
    """Every GX suite and gap check on the healthy demo; then a mart missing a column is *broken*."""
    demo.write_demo(tmp_path)
    result = _run(tmp_path, all_asset_checks)
    evaluations = _evaluations(result)
    assert len(evaluations) == 9 + 14
    assert all(e.passed for e in evaluations.values()), {
        n: e.description for n, e in evaluations.items() if not e.passed
    }
    assert _published(result)

    weekly = read_parquet(tmp_path / "marts" / "mart_prevalence_weekly.parquet").drop(
        columns=["est_purchases_high"]
    )
    write_parquet_atomic(weekly, tmp_path / "marts" / "mart_prevalence_weekly.parquet")
    result = _run(tmp_path, all_asset_checks)
    check = _evaluations(result)["gx_mart_prevalence_weekly_critical"]
    assert not check.passed and check.metadata["status"].value == "broken"
    assert check.description.startswith("BROKEN")
    failing = check.metadata["failing_expectations"].value
    assert failing and all(f["status"] == "broken" for f in failing)
    assert any('"est_purchases_high"' in f["exception"] for f in failing)
    assert not _published(result)


def test_snapshot_suite_checks_only_the_run_partition(tmp_path):
    """On the weekly-partitioned raw asset the GX check validates the week being materialised."""
    demo.write_demo(tmp_path)
    ads_path = tmp_path / "raw" / "ad_snapshots" / "week_start=2025-02-03" / "part-0.parquet"
    ads = read_parquet(ads_path)
    ads.loc[0, "stated_age"] = 7
    write_parquet_atomic(ads, ads_path)
    weekly = dg.WeeklyPartitionsDefinition(start_date="2025-01-06", timezone="Europe/Stockholm", day_offset=1)

    @dg.asset(key=["raw", "ad_snapshots"], partitions_def=weekly)
    def raw_ad_snapshots():
        return None

    from orchestration.checks.gx_checks import build_gx_checks

    check = build_gx_checks()[0]
    resources = {"lagesbild": LagesbildResource(data_dir=str(tmp_path))}
    good = _evaluations(
        dg.materialize([raw_ad_snapshots, check], partition_key="2025-01-13", resources=resources)
    )
    assert good["gx_raw_ad_snapshots_critical"].passed
    assert good["gx_raw_ad_snapshots_critical"].metadata["rows"].value == 80  # one week, two sites
    bad = _evaluations(
        dg.materialize(
            [raw_ad_snapshots, check], partition_key="2025-02-03", resources=resources, raise_on_error=False
        )
    )
    failing = bad["gx_raw_ad_snapshots_critical"].metadata["failing_expectations"].value
    assert [(f["column"], f["status"], f["observed"]["unexpected_count"]) for f in failing] == [
        ("stated_age", "failed", 1)
    ]


def test_read_partitioned_week_range(tmp_path):
    from orchestration.checks._io import MissingInput, read_partitioned

    demo.write_demo(tmp_path)
    root = tmp_path / "raw" / "snapshot_files"
    three = read_partitioned(root, weeks=("2025-01-13", "2025-01-27"))
    assert sorted({str(w) for w in three.week_start}) == ["2025-01-13", "2025-01-20", "2025-01-27"]
    assert len(read_partitioned(root)) == 24
    with pytest.raises(MissingInput, match="week_start=2030-01-07"):
        read_partitioned(root, "2030-01-07")
