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


FILES_ACCOUNTED_CHECK = "snapshot_files_accounted"
CAPTURES_COMPLETE_CHECK = "snapshot_captures_complete"
REGISTER_FILES_CHECK = "register_files_accounted"


def refused_snapshot_files(weeks):
    """The archive's refused files (the same list in every week's metadata), as the ledger frame."""
    from lagesbild.sources.quarantine import typed_frame
    from lagesbild.sources.snapshots import REFUSED_SCHEMA

    seen, rows = set(), []
    for week in weeks:
        for item in week.metadata.get("refused_files", []):
            if (item["site"], item["file"]) not in seen:
                seen.add((item["site"], item["file"]))
                rows.append(item)
    return typed_frame(rows, REFUSED_SCHEMA)


def _summed(counts) -> dict:
    total: dict = {}
    for item in counts:
        for key, value in item.items():
            total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items()))


def ledger_totals(weeks) -> dict:
    totals = {"lines_in": 0, "lines_accepted": 0, "lines_quarantined": 0, "lines_blank": 0}
    unreconciled, partial = [], []
    for week in weeks:
        ledger = week.metadata.get("ledger", {})
        for key in totals:
            totals[key] += ledger.get(key, 0)
        unreconciled += [f"{week.week}/{name}" for name in ledger.get("unreconciled_files", [])]
        partial += [f"{week.week}/{name}" for name in week.metadata.get("partial_files", [])]
    return {**totals, "unreconciled_files": unreconciled, "partial_files": partial}


def _refused_list(refused) -> list[dict]:
    return [
        {k: v for k, v in row.items() if v is not None and k != "source"}
        for row in refused.astype(object).where(refused.notna(), None).to_dict("records")
    ]


def file_checks(refused, ledger: dict, weeks) -> list[dg.AssetCheckResult]:
    key = dg.AssetKey(["raw", "ad_snapshots"])
    accounted = not len(refused) and not ledger["unreconciled_files"]
    return [
        dg.AssetCheckResult(
            check_name=FILES_ACCOUNTED_CHECK,
            asset_key=key,
            passed=accounted,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "every snapshot file read and every line accounted for" if accounted else
                f"{len(refused)} file(s) refused, {len(ledger['unreconciled_files'])} file(s) not reconciled"
            ),
            metadata={
                "files_read": sum(w.files for w in weeks),
                "files_refused": len(refused),
                "refused": dg.MetadataValue.json(_refused_list(refused)),
                "reconciliation": dg.MetadataValue.json({k: v for k, v in ledger.items() if k != "partial_files"}),
            },
        ),
        dg.AssetCheckResult(
            check_name=CAPTURES_COMPLETE_CHECK,
            asset_key=key,
            passed=not ledger["partial_files"],
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "no capture ends early" if not ledger["partial_files"] else
                f"{len(ledger['partial_files'])} capture(s) end early (raw/snapshot_files status 'partial')"
            ),
            metadata={"partial_files": dg.MetadataValue.json(ledger["partial_files"])},
        ),
    ]


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
    check_specs=[
        dg.AssetCheckSpec(
            FILES_ACCOUNTED_CHECK,
            asset=dg.AssetKey(["raw", "ad_snapshots"]),
            description="Every file of the archive read (lines in = accepted + quarantined + blank) or refused "
            "with a reason; refused files are listed by name and reason.",
        ),
        dg.AssetCheckSpec(
            CAPTURES_COMPLETE_CHECK,
            asset=dg.AssetKey(["raw", "ad_snapshots"]),
            description="No capture ends early (truncated gzip, cut last line).",
        ),
    ],
    partitions_def=WEEKLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=NETWORK_RETRY,
)
@transient_retries_only
def raw_ad_snapshots(context: dg.AssetExecutionContext, lagesbild: LagesbildResource):
    from lagesbild.alerts.ingest import alert_from_ingest
    from lagesbild.sources.snapshot_weeks import ingest_weeks

    settings = lagesbild.settings
    settings.resolved_pseudonym_key()  # refuse before reading any capture when there is no key
    totals = {"weeks": 0, "rows": 0, "quarantined": 0, "snapshot_files": 0}
    weeks = []
    for week in ingest_weeks(settings, week_starts(context), lagesbild.path("raw")):
        weeks.append(week)
        totals["weeks"] += 1
        totals["rows"] += week.rows
        totals["quarantined"] += week.quarantined
        totals["snapshot_files"] += week.files
        context.log.info(
            f"week {week.week}: {week.files} snapshot files, {week.rows} rows, {week.quarantined} quarantined"
        )
    # Under-age alerts before any gate (the quarantine share below, the GX suites, dbt): counts only leave
    # the restricted folder.
    alert_run = alert_from_ingest(
        [w.under_age for w in weeks], lagesbild.root, logger=context.log, county_code=lagesbild.county_code
    )
    totals["under_age_ads_at_ingest"] = alert_run.store.summary.under_age_detected if alert_run else 0
    refused = refused_snapshot_files(weeks)
    write_parquet_atomic(refused, lagesbild.path("raw", "refused_files", "ad_snapshots.parquet"))
    ledger = ledger_totals(weeks)
    for week in weeks:
        enforce_share(week.metadata, settings, f"ad_snapshots week {week.week}")
    checks = file_checks(refused, ledger, weeks)
    totals["files_refused"] = len(refused)
    totals["lines_in"] = ledger["lines_in"]
    totals["lines_blank"] = ledger["lines_blank"]
    totals["partial_captures"] = len(ledger["partial_files"])
    # recorded on every run, not only on failed ones
    totals["schema_drift"] = dg.MetadataValue.json(_summed(w.metadata.get("schema_drift", {}) for w in weeks))
    totals["phone_status"] = dg.MetadataValue.json(_summed(w.metadata.get("phone_status", {}) for w in weeks))
    totals["quarantine_by_reason"] = dg.MetadataValue.json(
        _summed(w.metadata.get("quarantine_by_reason", {}) for w in weeks)
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
    yield from checks


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
    check_specs=[
        dg.AssetCheckSpec(
            REGISTER_FILES_CHECK,
            asset=dg.AssetKey(["raw", "verdicts"]),
            description="Every register file and sheet read (rows in = accepted + quarantined + blank) or "
            "refused with a reason.",
        )
    ],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def raw_verdicts(context: dg.AssetExecutionContext, lagesbild: LagesbildResource):
    from lagesbild.sources.quarantine import typed_frame
    from lagesbild.sources.reference import load_municipalities
    from lagesbild.sources.snapshots import REFUSED_SCHEMA
    from lagesbild.sources.verdicts import ingest_register

    settings = lagesbild.settings
    key, municipalities = settings.resolved_pseudonym_key(), load_municipalities()
    # once the inbox has settled, and read again if a file changed during the read (a save or a copy)
    files, result = select.read_verdict_inbox(
        settings, lambda files, ignored: ingest_register(files, key, municipalities, ignored=ignored)
    )
    write_parquet_atomic(result.rows, lagesbild.path("raw", "verdicts", "verdicts.parquet"))
    write_parquet_atomic(result.quarantine, lagesbild.path("raw", "quarantine", "verdicts", "verdicts.parquet"))
    refused = typed_frame(result.metadata.get("refused_files", []), REFUSED_SCHEMA)
    write_parquet_atomic(refused, lagesbild.path("raw", "refused_files", "verdicts.parquet"))
    enforce_share(result.metadata, settings, "verdicts")
    context.log.info(f"verdicts: {len(result.rows)} rows from {len(files)} files, {len(result.quarantine)} quarantined")
    metadata = {**plain_metadata(result.metadata), "files": ", ".join(result.metadata["files"])}  # names withheld
    yield dg.MaterializeResult(asset_key=["raw", "verdicts"], metadata={**metadata, **table_metadata(lagesbild, "verdicts")})
    yield dg.MaterializeResult(
        asset_key=["raw", "quarantine_verdicts"],
        metadata={"rows": len(result.quarantine), **table_metadata(lagesbild, "quarantine", "verdicts")},
    )
    ledger = result.metadata.get("ledger", {})
    off = [f for f, c in ledger.items() if c["lines_in"] != c["accepted"] + c["quarantined"] + c["blank"]]
    yield dg.AssetCheckResult(
        check_name=REGISTER_FILES_CHECK,
        asset_key=dg.AssetKey(["raw", "verdicts"]),
        passed=not len(refused) and not off,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(refused)} file(s)/sheet(s) refused, {len(off)} not reconciled",
        metadata={
            "refused": dg.MetadataValue.json(_refused_list(refused)),
            "reconciliation": dg.MetadataValue.json(ledger),
        },
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
