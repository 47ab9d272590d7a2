"""From marts to what leaves the county board: disclosure control, situation reports, the publication.

Each step reads Parquet and writes Parquet or HTML; the publication is written aside, verified and
switched in atomically by :mod:`lagesbild.publication`, and refuses to run while a blocking check fails.
"""


import json
import shutil

import dagster as dg

from lagesbild.fsutil import write_atomic
from lagesbild.marts import MARTS
from lagesbild.settings import PROJECT_ROOT
from lagesbild.warehouse import read_parquet, write_parquet_atomic
from orchestration.resources import LagesbildResource

MART_KEYS = [dg.AssetKey([name]) for name in MARTS]
DISCLOSURE_POLICY = PROJECT_ROOT / "config" / "disclosure_policy.yml"
UPSTREAM_OF_PUBLICATION = [
    dg.AssetKey(["raw", "ad_snapshots"]),
    dg.AssetKey(["raw", "verdicts"]),
    dg.AssetKey(["raw", "population"]),
    *MART_KEYS,
]


def _quality_summary(context: dg.AssetExecutionContext) -> dict:
    from lagesbild.quality.summary import quality_summary_from_instance

    return quality_summary_from_instance(context.instance, UPSTREAM_OF_PUBLICATION)


def _county_name(county_code: str) -> str:
    from lagesbild.sources.reference import county_name

    return county_name(county_code)


@dg.asset(
    deps=MART_KEYS,
    group_name="publication",
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "parquet"},
    description="The marts after disclosure control (config/disclosure_policy.yml), verified by reading them back.",
)
def disclosed_marts(context: dg.AssetExecutionContext, lagesbild: LagesbildResource) -> dg.MaterializeResult:
    from lagesbild.disclosure import apply_policy, load_policy, verify

    policy = load_policy(DISCLOSURE_POLICY)
    marts = {name: read_parquet(lagesbild.path("marts", f"{name}.parquet")) for name in MARTS}
    result = apply_policy(marts, policy, lagesbild.county_code)
    paths = {}
    for name, frame in result.marts.items():
        paths[name] = lagesbild.path("disclosed", f"{name}.parquet")
        write_parquet_atomic(frame, paths[name])
    violations = verify(paths, policy)
    if violations:
        raise dg.Failure(
            description=f"Disclosure check failed on {len(violations)} cells; first: {violations[0]}",
            metadata={"violations": [str(v) for v in violations[:20]]},
        )
    write_stats(lagesbild, result.stats)
    return dg.MaterializeResult(metadata={"suppression": dg.MetadataValue.json(result.stats)})


def write_stats(lagesbild: LagesbildResource, stats: dict) -> None:
    write_atomic(
        lagesbild.path("disclosed", "disclosure_stats.json"),
        json.dumps(stats, indent=2, ensure_ascii=False, default=str),
    )


@dg.asset(
    deps=[disclosed_marts],
    group_name="publication",
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "html"},
    description="A situation-picture report (Swedish HTML, charts inline) for the county and each municipality.",
)
def situation_reports(context: dg.AssetExecutionContext, lagesbild: LagesbildResource) -> dg.MaterializeResult:
    from lagesbild.publication import new_publication_id
    from lagesbild.report import render_reports

    marts = {name: read_parquet(lagesbild.path("disclosed", f"{name}.parquet")) for name in MARTS}
    quality = _quality_summary(context)
    publication_id = new_publication_id()
    out_dir = lagesbild.path("reports", "pending")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    meta = {
        "publication_id": publication_id,
        "model_version": _model_version(marts),
        "created_at": publication_id,
        "county_code": lagesbild.county_code,
        "county_name": _county_name(lagesbild.county_code),
    }
    written = render_reports(marts, quality, meta, out_dir / "reports")
    write_atomic(out_dir / "pending.json", json.dumps(meta, ensure_ascii=False))
    return dg.MaterializeResult(metadata={"reports": len(written), "publication_id": publication_id})


def _model_version(marts: dict) -> str:
    versions = marts["mart_prevalence_yearly"].get("model_version")
    return str(versions.dropna().iloc[0]) if versions is not None and versions.notna().any() else "unknown"


@dg.asset(
    deps=[disclosed_marts, situation_reports],
    group_name="publication",
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "parquet"},
    description=(
        "An immutable, versioned publication: Parquet per mart for the county and per municipality, "
        "situation reports, quality results and a manifest; switched in atomically as LATEST."
    ),
)
def publication(context: dg.AssetExecutionContext, lagesbild: LagesbildResource) -> dg.MaterializeResult:
    from lagesbild.disclosure import load_policy
    from lagesbild.publication import LocalFolderTarget, publish, split_by_region
    from lagesbild.quality.summary import blocking_failures, render_quality_report_html

    quality = _quality_summary(context)
    blockers = blocking_failures(quality)
    if blockers:
        raise dg.Failure(description=f"Publication blocked: {blockers[0]}", metadata={"blocking": blockers})
    pending = json.loads(lagesbild.path("reports", "pending", "pending.json").read_text(encoding="utf-8"))
    marts = {name: read_parquet(lagesbild.path("disclosed", f"{name}.parquet")) for name in MARTS}
    files: dict = dict(split_by_region(marts, lagesbild.county_code))
    reports_dir = lagesbild.path("reports", "pending", "reports")
    for report in sorted(reports_dir.glob("*.html")):
        files[f"reports/{report.name}"] = report
    files["quality/index.html"] = render_quality_report_html(quality).encode("utf-8")
    stats = json.loads(lagesbild.path("disclosed", "disclosure_stats.json").read_text(encoding="utf-8"))
    info = publish(
        LocalFolderTarget(lagesbild.path("publications")),
        files,
        manifest_fields={
            "model_version": pending["model_version"],
            "county_code": lagesbild.county_code,
            "source_coverage": _source_coverage(lagesbild),
            "quality": quality,
            "disclosure": {"policy": load_policy(DISCLOSURE_POLICY), "suppression": stats},
        },
        keep=lagesbild.settings.publications_keep,
        publication_id=pending["publication_id"],
    )
    context.log.info(f"published {info.publication_id} at {info.path} ({len(files)} files)")
    return dg.MaterializeResult(
        metadata={"publication_id": info.publication_id, "path": str(info.path), "files": len(files)}
    )


def _source_coverage(lagesbild: LagesbildResource) -> dict:
    coverage = read_parquet(lagesbild.path("marts", "mart_coverage_weekly.parquet"))
    per_site = coverage.groupby("site").agg(
        weeks=("week_start", "nunique"),
        weeks_with_snapshot=("snapshot_present", "sum"),
        rows=("rows", "sum"),
        quarantined_rows=("quarantined_rows", "sum"),
    )
    return {
        "first_week": str(coverage["week_start"].min()),
        "last_week": str(coverage["week_start"].max()),
        "sites": {site: {k: int(v) for k, v in row.items()} for site, row in per_site.iterrows()},
    }


publication_assets = [disclosed_marts, situation_reports, publication]
