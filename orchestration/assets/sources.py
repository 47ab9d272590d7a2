"""Raw source assets: the only place where source data enters, pseudonymised, with bad rows quarantined.

Each asset writes Parquet under ``raw/`` (see docs/architecture.md) and never touches the DuckDB file:
dbt reads these files as its sources, so dbt stays the only writer of the warehouse. Quarantined rows are
written before the threshold is enforced, so a failed run leaves them to be read.
"""


from datetime import date, datetime, timedelta

import dagster as dg

from lagesbild.sources import select
from lagesbild.sources.quarantine import QuarantineThresholdExceeded, enforce_quarantine_threshold
from lagesbild.warehouse import write_parquet_atomic
from orchestration.partitions import WEEKLY
from orchestration.resources import LagesbildResource
from orchestration.retry import transient_retries_only

#: For the assets that talk to the network: a source that is down for minutes gets three more tries.
#: Only transient errors are retried (``transient_retries_only``): a missing folder fails at once.
NETWORK_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def week_starts(context: dg.AssetExecutionContext) -> list[date]:
    """Every Monday in the run's partition range (one week for a scheduled run, many for a backfill)."""
    window = context.partition_time_window
    weeks, current = [], window.start.date()
    while current < window.end.date():
        weeks.append(current)
        current += timedelta(days=7)
    return weeks


def enforce_share(metadata: dict, settings, source: str) -> None:
    """Fail (without retries: the input will not change) when too many rows were quarantined.

    Fewer than ``quarantine_min_rows`` bad rows never fail a run: a demo week of 19 ads with one duplicate
    is not a broken source. The quarantine check in the quality gates still reports every row.
    """
    if metadata.get("rows_quarantined", 0) < settings.quarantine_min_rows:
        return
    try:
        enforce_quarantine_threshold(metadata, settings.quarantine_max_share, source)
    except QuarantineThresholdExceeded as exc:
        raise dg.Failure(description=str(exc), metadata=plain_metadata(metadata), allow_retries=False) from exc


def plain_metadata(metadata: dict) -> dict:
    return {
        key: dg.MetadataValue.json(value) if isinstance(value, (dict, list)) else value
        for key, value in metadata.items()
        if value is not None
    }


def table_metadata(lagesbild: LagesbildResource, *folder: str, rows: int | None = None) -> dict:
    """Row count and column schema for the Dagster UI: ``rows`` when given (this run's weeks), else every
    Parquet file under ``raw/<folder>``; the schema from the newest file."""
    from orchestration.metadata import ROW_COUNT, parquet_metadata

    files = sorted(lagesbild.path("raw", *folder).rglob("*.parquet"))
    metadata = parquet_metadata(files if rows is None else files[-1:])
    if rows is not None:
        metadata[ROW_COUNT] = int(rows)
    return metadata


def raw_spec(name: str, description: str, partitioned: bool = False) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=["raw", name],
        group_name="sources",
        kinds={"python", "parquet"},
        description=description,
        partitions_def=WEEKLY if partitioned else None,
    )


@dg.multi_asset(
    name="raw_ad_snapshots",
    specs=[
        raw_spec(
            "ad_snapshots",
            "Ad-site snapshots of one week per partition (Monday-Sunday, Europe/Stockholm): phone numbers "
            "replaced by keyed HMAC-SHA256 at the door, titles and texts dropped. Re-materialising a week "
            "replaces exactly that week.",
            partitioned=True,
        ),
        raw_spec("snapshot_files", "One row per snapshot file read: site, capture time, rows read/ok/quarantined.", True),
        raw_spec("quarantine_ad_snapshots", "Snapshot lines that failed validation, with source, position, reason.", True),
    ],
    partitions_def=WEEKLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=NETWORK_RETRY,
)
@transient_retries_only
def raw_ad_snapshots(context: dg.AssetExecutionContext, lagesbild: LagesbildResource):
    from lagesbild.sources.snapshot_weeks import ingest_weeks

    settings = lagesbild.settings
    settings.resolved_pseudonym_key()  # refuse before starting any worker when there is no key
    totals = {"weeks": 0, "rows": 0, "quarantined": 0, "snapshot_files": 0}
    for week in ingest_weeks(settings, week_starts(context), lagesbild.path("raw")):
        enforce_share(week.metadata, settings, f"ad_snapshots week {week.week}")
        totals["weeks"] += 1
        totals["rows"] += week.rows
        totals["quarantined"] += week.quarantined
        totals["snapshot_files"] += week.files
        context.log.info(
            f"week {week.week}: {week.files} snapshot files, {week.rows} rows, {week.quarantined} quarantined"
        )
    seen = totals["rows"] + totals["quarantined"]
    share = round(totals["quarantined"] / seen, 5) if seen else 0.0
    yield dg.MaterializeResult(
        asset_key=["raw", "ad_snapshots"],
        metadata={**totals, "quarantine_share": share, **table_metadata(lagesbild, "ad_snapshots", rows=totals["rows"])},
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "snapshot_files"],
        metadata={"files": totals["snapshot_files"], **table_metadata(lagesbild, "snapshot_files", rows=totals["snapshot_files"])},
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "quarantine_ad_snapshots"],
        metadata={
            "rows": totals["quarantined"], "share": share,
            **table_metadata(lagesbild, "quarantine", "ad_snapshots", rows=totals["quarantined"]),
        },
    )


@dg.multi_asset(
    name="raw_verdicts",
    specs=[
        raw_spec(
            "verdicts",
            "Sex-purchase verdicts (BrB 6:11) from the analysts' register (CSV/XLSX): case numbers replaced "
            "by a keyed hash, files with personal identity numbers or names refused.",
        ),
        raw_spec("quarantine_verdicts", "Register rows that failed validation, with file, row and reason."),
    ],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def raw_verdicts(context: dg.AssetExecutionContext, lagesbild: LagesbildResource):
    from lagesbild.sources.reference import load_municipalities
    from lagesbild.sources.verdicts import ingest_register

    settings = lagesbild.settings
    files = select.verdict_paths(settings)
    result = ingest_register(files, settings.resolved_pseudonym_key(), load_municipalities())
    write_parquet_atomic(result.rows, lagesbild.path("raw", "verdicts", "verdicts.parquet"))
    write_parquet_atomic(result.quarantine, lagesbild.path("raw", "quarantine", "verdicts", "verdicts.parquet"))
    enforce_share(result.metadata, settings, "verdicts")
    context.log.info(f"verdicts: {len(result.rows)} rows from {len(files)} files, {len(result.quarantine)} quarantined")
    metadata = {**plain_metadata(result.metadata), "files": ", ".join(f.name for f in files)}
    yield dg.MaterializeResult(asset_key=["raw", "verdicts"], metadata={**metadata, **table_metadata(lagesbild, "verdicts")})
    yield dg.MaterializeResult(
        asset_key=["raw", "quarantine_verdicts"],
        metadata={"rows": len(result.quarantine), **table_metadata(lagesbild, "quarantine", "verdicts")},
    )


@dg.multi_asset(
    name="raw_population",
    specs=[
        raw_spec(
            "population",
            "Population on 31 December by region, sex and age from Statistics Sweden's PxWeb API v2 "
            "(TAB638 up to 2024, TAB5557 from 2025), json-stat2; the demo reads the same json-stat2 from files.",
        ),
        raw_spec("quarantine_population", "Population rows that failed validation, with table, position, reason."),
    ],
    retry_policy=NETWORK_RETRY,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
@transient_retries_only
def raw_population(context: dg.AssetExecutionContext, lagesbild: LagesbildResource):
    from lagesbild.sources.pxweb import population_result
    from lagesbild.sources.reference import load_municipalities

    settings = lagesbild.settings
    years = list(range(settings.population_first_year, datetime.now().year))
    result = population_result(select.population(settings, years), load_municipalities())
    write_parquet_atomic(result.rows, lagesbild.path("raw", "population", "population.parquet"))
    write_parquet_atomic(
        result.quarantine, lagesbild.path("raw", "quarantine", "population", "population.parquet")
    )
    enforce_share(result.metadata, settings, "population")
    context.log.info(f"population: {len(result.rows)} rows, {len(result.quarantine)} quarantined")
    yield dg.MaterializeResult(
        asset_key=["raw", "population"],
        metadata={**plain_metadata(result.metadata), **table_metadata(lagesbild, "population")},
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "quarantine_population"],
        metadata={"rows": len(result.quarantine), **table_metadata(lagesbild, "quarantine", "population")},
    )


source_assets = [raw_ad_snapshots, raw_verdicts, raw_population]
