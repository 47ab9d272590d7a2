"""From marts to what leaves the county board: disclosure control, situation reports, the publication.

Each step reads Parquet and writes Parquet or HTML; the publication is written aside, verified and
switched in atomically by :mod:`lagesbild.publication`, and refuses to run while a blocking check fails.
"""


import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg

from lagesbild.fsutil import write_atomic
from lagesbild.marts import MARTS
from lagesbild.publication.target import LATEST_LINK, point_latest_link  # noqa: F401 - re-exported
from lagesbild.settings import PROJECT_ROOT, parse_bool
from lagesbild.warehouse import read_parquet, write_parquet_atomic
from orchestration.resources import LagesbildResource

MART_KEYS = [dg.AssetKey([name]) for name in MARTS]
#: A run tagged with this on (``true``; read by ``lagesbild.settings.parse_bool``) makes its publication
#: the latest even when it holds older data than the current latest (a deliberate republication).
PUBLISH_OLDER_TAG = "lagesbild/publish_older"
DISCLOSURE_POLICY = PROJECT_ROOT / "config" / "disclosure_policy.yml"
UPSTREAM_OF_PUBLICATION = [
    dg.AssetKey(["raw", "ad_snapshots"]),
    dg.AssetKey(["raw", "verdicts"]),
    dg.AssetKey(["raw", "population"]),
    *MART_KEYS,
]


def _quality_summary(context: dg.AssetExecutionContext) -> dict:
    from orchestration.quality_events import quality_summary_from_instance

    # by this run's id: a concurrent run's later evaluations must not speak for this publication
    return quality_summary_from_instance(context.instance, UPSTREAM_OF_PUBLICATION, run_id=context.run_id)


def _county_name(county_code: str) -> str:
    from lagesbild.sources.reference import county_name

    return "Sverige" if county_code == "00" else county_name(county_code)


@dg.asset(
    deps=MART_KEYS,
    group_name="publication",
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "parquet"},
    description="The marts after disclosure control (config/disclosure_policy.yml), verified by reading them back.",
)
def disclosed_marts(context: dg.AssetExecutionContext, lagesbild: LagesbildResource) -> dg.MaterializeResult:
    from lagesbild.disclosure import load_policy
    from lagesbild.disclosure.parts import PartStore, disclose

    policy = load_policy(DISCLOSURE_POLICY)
    marts = {name: read_parquet(lagesbild.path("marts", f"{name}.parquet")) for name in MARTS}
    # Part by part (lagesbild/disclosure/parts.py): a part whose rows, policy and code are those of a
    # part decided and verified before is carried over; a weekly run decides the open year again.
    done = disclose(marts, policy, lagesbild.county_code, PartStore(lagesbild.path("disclosed", "parts")))
    context.log.info(f"disclosure: decided {done.decided or 'nothing'}; carried over {done.carried or 'nothing'}")
    if done.violations:
        raise dg.Failure(
            description=f"Disclosure check failed on {len(done.violations)} cells; first: {done.violations[0]}",
            metadata={"violations": [str(v) for v in done.violations[:20]]},
        )
    for name, frame in done.result.marts.items():
        path = lagesbild.path("disclosed", f"{name}.parquet")
        write_parquet_atomic(frame, path)
        if not read_parquet(path).equals(frame):  # the file holds exactly the verified parts
            raise dg.Failure(description=f"disclosed/{name}.parquet does not read back as its verified parts")
    write_stats(lagesbild, done.result.stats)
    record_disclosed(lagesbild, context.run_id)
    previews = disclosed_previews(context, done.result.marts)
    return dg.MaterializeResult(
        metadata={
            "suppression": dg.MetadataValue.json(done.result.stats),
            "parts decided": dg.MetadataValue.json(done.decided),
            "parts carried over": dg.MetadataValue.json(done.carried),
            **previews,
        }
    )


def disclosed_previews(context: dg.AssetExecutionContext, marts: dict) -> dict:
    """Row counts and a Markdown preview of the disclosed rows: on this asset, and on each mart's page
    (an observation, so the mart shows what leaves the county board, never its undisclosed rows)."""
    from orchestration.metadata import ROW_COUNT, markdown_preview

    metadata: dict = {ROW_COUNT: int(sum(len(frame) for frame in marts.values()))}
    for name, frame in sorted(marts.items()):
        preview = dg.MetadataValue.md(markdown_preview(frame))
        metadata[f"rows/{name}"] = len(frame)
        metadata[f"preview/{name}"] = preview
        context.log_event(
            dg.AssetObservation(
                asset_key=dg.AssetKey([name]),
                metadata={"disclosed rows": len(frame), "disclosed preview": preview},
            )
        )
    return metadata


#: Which run wrote ``disclosed/`` and the sha256 of each file it wrote there.
DISCLOSED_RECORD = "written_by.json"
DISCLOSED_FILES = [*(f"{name}.parquet" for name in MARTS), "disclosure_stats.json"]


def record_disclosed(lagesbild: LagesbildResource, run_id: str) -> None:
    """Write ``disclosed/written_by.json``: this run's id and the sha256 of every file it just wrote
    there, checked by the reports and the publication (``read_disclosed``)."""
    digests = {
        name: hashlib.sha256(lagesbild.path("disclosed", name).read_bytes()).hexdigest()
        for name in DISCLOSED_FILES
    }
    write_atomic(
        lagesbild.path("disclosed", DISCLOSED_RECORD),
        json.dumps({"run_id": run_id, "sha256": digests}, indent=2, sort_keys=True),
    )


def run_lineage(context: dg.AssetExecutionContext) -> list[str]:
    """This run's id, then its parent's, up to the root: a re-execution from failure is a new run that
    continues the steps of the one it re-executes."""
    lineage, run = [context.run_id], context.run
    while run is not None and run.parent_run_id and len(lineage) < 100:
        lineage.append(run.parent_run_id)
        run = context.instance.get_run_by_id(run.parent_run_id)
    return lineage


def read_disclosed(lagesbild: LagesbildResource, lineage: list[str]) -> tuple[dict, dict]:
    """The disclosed marts and the suppression stats, exactly as this run (or the run it re-executes)
    wrote them, or ``dg.Failure`` naming the file: ``disclosed/`` is shared by the runs of a data dir,
    and a report or a publication must hold the marts its own run disclosed and checked (another run,
    e.g. between a failed run and its re-execution, may have rewritten them)."""
    import io

    import pyarrow.parquet as pq

    again = "run the whole pipeline again; nothing was published"
    try:
        record = json.loads(lagesbild.path("disclosed", DISCLOSED_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise dg.Failure(description=f"disclosed/{DISCLOSED_RECORD} not readable ({exc.__class__.__name__}): {again}") from None
    if record.get("run_id") not in lineage:
        raise dg.Failure(
            description=f"disclosed/ was last written by run {record.get('run_id')}, not by this run ({lineage[0]}): {again}"
        )
    contents = {}
    for name in DISCLOSED_FILES:
        data = lagesbild.path("disclosed", name).read_bytes()
        if hashlib.sha256(data).hexdigest() != record.get("sha256", {}).get(name):
            raise dg.Failure(description=f"disclosed/{name} changed after run {record['run_id']} wrote it: {again}")
        contents[name] = data
    marts = {name: pq.read_table(io.BytesIO(contents[f"{name}.parquet"])).to_pandas() for name in MARTS}
    return marts, json.loads(contents["disclosure_stats.json"])


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

    marts, _ = read_disclosed(lagesbild, run_lineage(context))
    quality = _quality_summary(context)
    publication_id = new_publication_id()
    out_dir = _pending_dir(lagesbild, context.run_id)  # per run: concurrent runs keep their own
    if out_dir.exists():
        shutil.rmtree(out_dir)
    meta = {
        "publication_id": publication_id,
        "model_version": _model_version(marts),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "county_code": lagesbild.county_code,
        "county_name": _county_name(lagesbild.county_code),
    }
    written = render_reports(marts, quality, meta, out_dir / "reports")
    write_atomic(out_dir / "pending.json", json.dumps(meta, ensure_ascii=False))
    return dg.MaterializeResult(
        metadata={"reports": len(written), "publication_id": publication_id, "dagster/row_count": len(written)}
    )


def _pending_dir(lagesbild: LagesbildResource, run_id: str):
    """Where a run's reports wait for its publication (removed once published)."""
    return lagesbild.path("reports", "pending", run_id)


def _pending_dir_of(lagesbild: LagesbildResource, lineage: list[str]):
    """The reports waiting for this run's publication: its own, else those of the run it re-executes
    (a re-execution from failure of the publication step is a new run, with no reports of its own)."""
    for run_id in lineage:
        if (_pending_dir(lagesbild, run_id) / "pending.json").exists():
            return _pending_dir(lagesbild, run_id)
    raise dg.Failure(
        description=f"no situation reports wait for run {lineage[0]} (reports/pending/): run the reports step again"
    )


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
    from lagesbild.datadictionary import with_data_dictionary
    from lagesbild.disclosure import load_policy
    from lagesbild.publication import LocalFolderTarget, publish, split_by_region
    from lagesbild.publication.disclosed import verified_check
    from lagesbild.quality.summary import blocking_failures, render_quality_report_html

    quality = _quality_summary(context)
    blockers = blocking_failures(quality)
    if blockers:
        raise dg.Failure(description=f"Publication blocked: {blockers[0]}", metadata={"blocking": blockers})
    lineage = run_lineage(context)
    pending_dir = _pending_dir_of(lagesbild, lineage)
    pending = json.loads((pending_dir / "pending.json").read_text(encoding="utf-8"))
    marts, stats = read_disclosed(lagesbild, lineage)
    files: dict = dict(split_by_region(marts, lagesbild.county_code))
    reports_dir = pending_dir / "reports"
    for report in sorted(reports_dir.glob("*.html")):
        files[f"reports/{report.name}"] = report
    files["quality/index.html"] = render_quality_report_html(quality).encode("utf-8")
    files = with_data_dictionary(files)  # column descriptions in each Parquet + datadictionary.html/.csv
    raw_tag = context.run.tags.get(PUBLISH_OLDER_TAG, "false")
    try:
        allow_older = parse_bool(raw_tag)
    except ValueError:
        raise dg.Failure(description=f"run tag {PUBLISH_OLDER_TAG}={raw_tag!r} is neither on nor off") from None
    info = publish(
        LocalFolderTarget(lagesbild.path("publications")),
        files,
        manifest_fields={
            "model_version": pending["model_version"],
            "county_code": lagesbild.county_code,
            "source_coverage": _source_coverage(marts["mart_coverage_weekly"]),
            "quality": quality,
            "disclosure": {"policy": load_policy(DISCLOSURE_POLICY), "suppression": stats},
            "watermark": data_watermark(marts),
        },
        keep=lagesbild.settings.publications_keep,
        publication_id=pending["publication_id"],
        allow_older=allow_older,
        check=verified_check(marts),  # what disclosed_marts verified, not solved again
    )
    context.log.info(f"published {info.publication_id} at {info.path} ({len(files)} files)")
    if not info.is_latest:
        context.log.warning(
            f"{info.publication_id} is NOT the latest publication: {info.not_latest_reason}. "
            f"To publish less data on purpose, run again with the tag {PUBLISH_OLDER_TAG}=true."
        )
    shutil.rmtree(pending_dir, ignore_errors=True)
    latest_link = lagesbild.path("publications", LATEST_LINK)  # switched with LATEST, under the lock
    return dg.MaterializeResult(
        metadata={
            "publication_id": info.publication_id,
            "path": str(info.path),
            "files": len(files),
            "dagster/row_count": len(files),
            "latest": info.is_latest,
            **({"not_latest": info.not_latest_reason} if not info.is_latest else {}),
            "folder": dg.MetadataValue.url(Path(info.path).resolve().as_uri()),
            "browse": dg.MetadataValue.path(str(latest_link)),
            "manifest": dg.MetadataValue.path(str(Path(info.path) / "manifest.json")),
        }
    )


def data_watermark(marts: dict) -> dict[str, str]:
    """The newest of each input the disclosed marts hold, for the manifest's ``watermark``: the newest
    week with a snapshot, the newest year with a convicted buyer, the newest population year (ISO date
    and years as text). The publication store never moves LATEST to a publication older in any of them."""
    import pandas as pd

    found: dict[str, str] = {}
    coverage = marts.get("mart_coverage_weekly")
    if coverage is not None and len(coverage):
        weeks = coverage.loc[coverage["snapshot_present"].fillna(False).astype(bool), "week_start"]
        if len(weeks):
            found["weeks_through"] = str(pd.Timestamp(weeks.max()).date())
    demand = marts.get("mart_demand_yearly")
    if demand is not None and len(demand):
        buyers = demand["convicted_buyers"].fillna(0) > 0
        if "convicted_buyers_suppressed" in demand:
            buyers |= demand["convicted_buyers_suppressed"].fillna(False).astype(bool)
        if buyers.any():
            found["verdicts_through"] = str(int(demand.loc[buyers, "year"].max()))
    yearly = marts.get("mart_prevalence_yearly")
    if yearly is not None and "population_year" in yearly and yearly["population_year"].notna().any():
        found["population_year"] = str(int(yearly["population_year"].max()))
    return found


def _source_coverage(coverage) -> dict:
    """Per site, from the coverage mart as published (disclosure leaves it as it is)."""
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
