"""Sensors: the verdict inbox, and an alert when a run fails.

The verdict register is kept by analysts in Excel and dropped into an inbox (``LAGESBILD_VERDICTS_PATH``,
or the demo folder). The inbox sensor fingerprints every register file by content (sha256, recomputed
only when size, mtime, ctime or inode change: a same-size rewrite whose mtime was kept shows in its ctime) and launches ``verdicts_refresh`` when the set of files or any content
changed; the run key is derived from the contents before and after the change, so the same change never
triggers two runs, and a file re-saved without changes (new mtime, same bytes) triggers none. A file modified in the last few
seconds is left to settle (an upload may still be in progress).

The run-failure sensor writes one clear alert per failed run: a log line, a JSON line appended to
``<data_dir>/alerts/run_failures.jsonl`` (path owned by ``LagesbildResource``), and a POST to
``LAGESBILD_RUN_FAILURE_WEBHOOK`` when that is set. The alert names the job, the run id, the failed
step(s) and the first line of each error; never more, so a long traceback with data never leaves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
import httpx
import tenacity

from lagesbild.fsutil import file_signature, modified_recently
from lagesbild.retry import raise_for_retryable, retrying
from lagesbild.settings import Settings
from lagesbild.sources import select
from orchestration.jobs import verdicts_job
from orchestration.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from orchestration.resources import LagesbildResource
from orchestration.schedules import automation_enabled

log = logging.getLogger("lagesbild.orchestration")

#: The variable of ``Settings.run_failure_webhook``.
WEBHOOK_ENV = "LAGESBILD_RUN_FAILURE_WEBHOOK"
FAILURE_FILE = ("alerts", "run_failures.jsonl")
MAX_ERROR_CHARS = 300


# --- verdict inbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileFingerprint:
    mtime_ns: int
    size: int
    sha256: str
    #: No writer can set these: a rewrite of the same size whose mtime was kept or set back (``cp -p``,
    #: ``rsync -t``, a restore) changes the ctime, a replacement the inode. 0 in cursors of older
    #: versions: such a file is hashed once more.
    ctime_ns: int = 0
    ino: int = 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint_inbox(files: list[Path], previous: dict[str, FileFingerprint]) -> dict[str, FileFingerprint]:
    """name -> fingerprint; a file whose size, mtime, ctime and inode are unchanged keeps its previous
    hash (no re-read)."""
    current = {}
    for path in files:
        stat = path.stat()
        before = previous.get(path.name)
        if before and (before.ino, before.size, before.mtime_ns, before.ctime_ns) == file_signature(stat):
            current[path.name] = before
        else:
            current[path.name] = FileFingerprint(
                stat.st_mtime_ns, stat.st_size, _sha256(path), stat.st_ctime_ns, stat.st_ino
            )
    return current


def load_cursor(cursor: str | None) -> dict[str, FileFingerprint]:
    if not cursor:
        return {}
    return {name: FileFingerprint(**fp) for name, fp in json.loads(cursor)["files"].items()}


def dump_cursor(state: dict[str, FileFingerprint]) -> str:
    return json.dumps({"files": {name: asdict(fp) for name, fp in sorted(state.items())}}, sort_keys=True)


def content_key(state: dict[str, FileFingerprint]) -> str:
    """A key for the register's content: the same files with the same bytes give the same key."""
    joined = "\n".join(f"{name}:{fp.sha256}" for name, fp in sorted(state.items()))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def _settle_seconds() -> float:
    return Settings.from_env().verdict_settle_seconds


@dg.sensor(
    name="verdict_inbox_sensor",
    job=verdicts_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING if automation_enabled() else dg.DefaultSensorStatus.STOPPED,
    description=(
        "Launches verdicts_refresh when a verdict register file (.csv/.xlsx) in the inbox is new, changed "
        "or removed; keyed by content, so the same register never runs twice."
    ),
)
def verdict_inbox_sensor(context: dg.SensorEvaluationContext, lagesbild: LagesbildResource):
    settings = lagesbild.settings
    try:
        inbox = select.verdict_inbox(settings)
        files = select.verdict_paths(settings)
    except (RuntimeError, FileNotFoundError) as exc:
        return dg.SkipReason(str(exc))
    if not files:
        return dg.SkipReason(f"No verdict register (.csv/.xlsx) in {inbox}.")
    now = time.time()
    from lagesbild.sources.verdicts import file_label  # the ingest's names; imported late, like the assets'

    # names as the ingest shows them: a file named by a case number or a person is not repeated in a log
    shown = {p.name: file_label(p.name, f"register file {n}") for n, p in enumerate(files, start=1)}
    # an mtime ahead of the clock (stepped back since, or a copy from a machine ahead) is no save in progress
    settling = [shown[p.name] for p in files if modified_recently(p.stat().st_mtime, _settle_seconds(), now)]
    if settling:
        return dg.SkipReason(f"Waiting for {', '.join(settling)} to settle (modified in the last seconds).")
    previous = load_cursor(context.cursor)
    current = fingerprint_inbox(files, previous)
    changed = sorted(
        name
        for name in current.keys() | previous.keys()
        if name not in current or name not in previous or current[name].sha256 != previous[name].sha256
    )
    if not changed:
        context.update_cursor(dump_cursor(current))  # keeps new mtimes, so unchanged bytes are not re-hashed
        return dg.SkipReason(f"No new or changed verdict register in {inbox}.")
    key = content_key(current)
    before = content_key(previous) if previous else "none"
    named = [shown.get(name) or file_label(name, "a removed register file") for name in changed]
    context.log.info(f"verdict inbox {inbox}: new/changed/removed {named}; content {before} -> {key}")
    context.update_cursor(dump_cursor(current))
    # Keyed by the change (previous content -> new content): a tick repeated after a lost cursor update
    # requests the same key and Dagster drops it; reverting to an earlier register is a new change.
    return dg.RunRequest(
        run_key=f"verdicts-{before}-{key}",
        tags={"lagesbild/trigger": "verdict_inbox_sensor", "lagesbild/verdict_content_key": key},
    )


# --- run failures --------------------------------------------------------------------------------------


def _first_line(text: str | None) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def _root_cause(error):
    """The user's own exception under Dagster's wrappers (``Error occurred while executing op ...``)."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[dict[str, str]]:
    """Each failed step of a run with the first line of its error, in the order they failed."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    steps = []
    for record in records:
        event = record.dagster_event
        error = _root_cause(getattr(event.event_specific_data, "error", None))
        message = _first_line(error.message if error else event.message)
        steps.append({"step": event.step_key or "?", "error": message})
    return steps


def failure_alert(context: dg.RunFailureSensorContext) -> dict:
    """The alert record for a failed run (JSON-serialisable)."""
    run = context.dagster_run
    steps = failed_steps(context.instance, run.run_id)
    run_error = _root_cause(getattr(context.failure_event.event_specific_data, "error", None))
    error = (
        steps[0]["error"]
        if steps
        else _first_line(run_error.message if run_error else context.failure_event.message)
    )
    alert = {
        "event": "lagesbild.run_failure",
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": run.tags.get(PARTITION_TAG),
        "partition_range": [run.tags[k] for k in (RANGE_START_TAG, RANGE_END_TAG) if k in run.tags] or None,
        "failed_steps": steps,
        "error": error,
    }
    if base := Settings.from_env().dagster_url:
        alert["run_url"] = f"{base.rstrip('/')}/runs/{run.run_id}"
    return alert


def alert_line(alert: dict) -> str:
    steps = ", ".join(s["step"] for s in alert["failed_steps"]) or "(no step failed; the run itself failed)"
    return f"RUN FAILED: job {alert['job']} run {alert['run_id']} step(s) {steps}: {alert['error']}"


def append_alert(alert: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(alert, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def post_webhook(alert: dict, url: str, wait: tenacity.wait.wait_base | None = None) -> int:
    """POST the alert as JSON on the one retry policy (lagesbild.retry); returns the final status."""

    def _post() -> int:
        response = raise_for_retryable(httpx.post(url, json=alert, timeout=10.0))
        response.raise_for_status()
        return response.status_code

    return retrying(3, wait=wait)(_post)


def notify_run_failure(alert: dict, path: Path, logger, webhook_url: str | None = None) -> int | None:
    """Log, append to the alert file, and POST to the webhook when configured (its URL is never logged)."""
    logger.error(alert_line(alert))
    append_alert(alert, path)
    if not webhook_url:
        return None
    try:
        return post_webhook(alert, webhook_url)
    except httpx.HTTPError as exc:
        # The file already holds the alert; a broken webhook must not hide it or fail the sensor.
        logger.error(f"run-failure webhook delivery failed ({type(exc).__name__}); the alert is in {path}")
        return None


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Writes an alert for every failed run: log line, alerts/run_failures.jsonl under the data dir, "
        "and a webhook POST when LAGESBILD_RUN_FAILURE_WEBHOOK is set."
    ),
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, lagesbild: LagesbildResource):
    alert = failure_alert(context)
    notify_run_failure(
        alert, lagesbild.path(*FAILURE_FILE), context.log, Settings.from_env().run_failure_webhook
    )


sensors = [verdict_inbox_sensor, run_failure_alert_sensor]
