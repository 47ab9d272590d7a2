"""`make run`: generate the demo inputs, materialise every asset with its checks, and publish.

Runs the ``full_pipeline`` job over every weekly partition in one run (the snapshot asset has a
single-run backfill policy), on the Dagster instance in ``DAGSTER_HOME`` so the run shows in the UI.

The configuration is checked first (``lagesbild.settings.preflight``): a wrong setting ends the
command in about a second with one message. While the run goes, one line per stage says what it
did, with counts and seconds; on a terminal a progress line shows the running stage. Dagster's and
dbt's own lines go to ``<data dir>/logs/run-<run id>.log`` (``-v`` shows them instead).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from lagesbild.settings import SettingsError, preflight

#: Seconds between progress lines when the output is not a terminal (a log, CI).
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 0.4
WIDTH = 78
DBT_PROGRESS = re.compile(r"(\d+) of (\d+) (?:OK|PASS|WARN|ERROR|FAIL|SKIP)\b")

def prepare_demo_inputs(data_dir: Path, seed: int = 2024, county_code: str | None = None) -> dict:
    """Generate the deterministic demo (snapshots, verdict register) and the offline population files
    for the county (default: LAGESBILD_COUNTY, 05; '00' is the whole country)."""
    from lagesbild.demo.county import generate_demo
    from lagesbild.settings import Settings
    from lagesbild.sources.pxweb import build_offline_population
    from lagesbild.sources.reference import OFFLINE_POPULATION_LABEL, offline_population_reference
    from orchestration.resources import hold_run_lock

    county_code = county_code or Settings.from_env().county_code
    inputs = data_dir / "demo" / "inputs"
    # Under the data dir's run lock: the generator deletes every capture before writing it again, and
    # a run of this data dir still ingesting (a second `make run`) read weeks without a snapshot.
    with hold_run_lock(Path(data_dir).resolve(), "demo inputs"):
        summary = generate_demo(inputs, seed=seed, county_code=county_code)
        population_dir = inputs / "population"
        for stale in population_dir.glob("*.json"):  # another county's files must not linger
            stale.unlink()
        population_files = build_offline_population(
            offline_population_reference(county_code), population_dir, label=OFFLINE_POPULATION_LABEL
        )
    return {"demo": summary, "population_files": [p.name for p in population_files]}


def _quiet_dagster_warnings() -> None:
    """Dagster's beta/preview warnings are about our code's API use, not about the run."""
    try:
        from dagster._utils.warnings import BetaWarning, PreviewWarning, SupersessionWarning

        for category in (BetaWarning, PreviewWarning, SupersessionWarning):
            warnings.filterwarnings("ignore", category=category)
    except ImportError:  # pragma: no cover - other Dagster versions
        pass


def accept_offline_population(county_code: str) -> str | None:
    """The demo's population is the offline default: for every county but Östergötland it is from
    31 Dec 2019, older than the population_current gate allows. Downgrade that one gate to a warning
    for this process (LAGESBILD_QUALITY_WARN_ONLY), so the run publishes and its quality report and
    the marts' population_source say the figures are the 2019 offline default. Returns the notice."""
    if county_code == "05":
        return None
    from lagesbild.quality.config import QualityConfig

    current = QualityConfig.from_env().warn_only
    if "population_current" not in current:
        # written, not read: the in-process Dagster run reads it back through QualityConfig
        os.environ["LAGESBILD_QUALITY_WARN_ONLY"] = ",".join([*current, "population_current"])
    return (
        f"County {county_code}: population is the offline default (Statistics Sweden, 31 Dec 2019, by sex); "
        "population_current reports it as a warning and population_source on the marts names it."
    )


def run_pipeline(
    first_week: str | None = None,
    last_week: str | None = None,
    instance=None,
    log_level: str = "INFO",
    run_id: str | None = None,
):
    """Execute the full pipeline over a week range (default: every partition) in this process."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, WEEKLY

    keys = WEEKLY.get_partition_keys()
    tags = {RANGE_START_TAG: first_week or keys[0], RANGE_END_TAG: last_week or keys[-1]}
    instance = instance or dg.DagsterInstance.get()
    job = defs.resolve_job_def("full_pipeline")
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    return job.execute_in_process(
        run_config=run_config, instance=instance, tags=tags, raise_on_error=False, run_id=run_id
    )


def week_count(first_week: str | None, last_week: str | None) -> int:
    from orchestration.partitions import WEEKLY

    keys = WEEKLY.get_partition_keys()
    first, last = first_week or keys[0], last_week or keys[-1]
    return sum(1 for k in keys if first <= k <= last)


# -- the progress reporter ---------------------------------------------------------------------------


@dataclass
class Step:
    key: str
    started: float
    ended: float | None = None
    materialized: dict = field(default_factory=dict)  # asset key -> metadata
    checks_passed: int = 0
    checks_failed: list = field(default_factory=list)  # (check name, asset, severity, description)
    weeks: int = 0
    error: str | None = None
    retries: int = 0


class Reporter:
    """Reads the run's events from the instance and prints one line per stage.

    A step that only evaluates checks is folded into one "checks" line with the steps around it.
    """

    def __init__(
        self, out: TextIO, tty: bool, weeks_total: int, dbt_models: int, dbt_tests: int,
        check_steps: frozenset[str] = frozenset(),
    ):
        self.out, self.tty = out, tty
        self.check_steps = check_steps
        self.weeks_total, self.dbt_models, self.dbt_tests = weeks_total, dbt_models, dbt_tests
        self.steps: dict[str, Step] = {}
        self.pending_checks: list[Step] = []
        self.t0 = time.monotonic()
        self.last_line = time.monotonic()
        self.status = ""
        self.waiting: set[str] = set()
        self.run_error = ""
        self.not_run: list[str] = []
        #: dbt's own progress ("57 of 171 OK ..."), read from the captured log while dbt runs.
        self.dbt_log: Path | None = None
        self.dbt_log_offset = 0
        self.dbt_done = 0

    # printing
    def line(self, text: str) -> None:
        if self.tty and self.status:
            self.out.write("\r" + " " * WIDTH + "\r")
        self.out.write(text + "\n")
        self.out.flush()
        self.last_line = time.monotonic()
        if self.tty and self.status:
            self._draw()

    def stage(self, name: str, summary: str, seconds: float) -> None:
        self.line(f"{name:<20} {summary:<48} {seconds:6.1f} s")

    def _draw(self) -> None:
        text = self.status[: WIDTH - 1]
        self.out.write("\r" + text.ljust(WIDTH - 1))
        self.out.flush()

    def progress(self, text: str, done: int | None = None, total: int | None = None) -> None:
        if done is not None and total:
            filled = int(20 * min(done, total) / total)
            text = f"{text} [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}"
        self.status = text
        if self.tty:
            self._draw()
        elif time.monotonic() - self.last_line >= HEARTBEAT_SECONDS:
            self.line(f"  ... {text} ({time.monotonic() - self.t0:.0f} s into the run)")

    def clear(self) -> None:
        if self.tty and self.status:
            self.out.write("\r" + " " * WIDTH + "\r")
            self.out.flush()
        self.status = ""

    # events
    def handle(self, entry) -> None:
        event = entry.dagster_event
        now = time.monotonic()
        if event is None:
            self._user_message(entry)
            return
        kind = event.event_type_value
        key = event.step_key
        if key is None and not self.run_error and (reason := run_failure_reason([event])):
            self.run_error = reason
        if kind == "STEP_START":
            if key not in self.check_steps:
                self.clear()
                self.flush_checks()
            self.steps[key] = Step(key, started=now)
            self.progress(self._running(key))
        elif kind == "ASSET_MATERIALIZATION" and key in self.steps:
            mat = event.step_materialization_data.materialization
            self.steps[key].materialized[mat.asset_key.to_user_string()] = mat.metadata
            self.progress(self._running(key), *self._counts(key))
        elif kind == "ASSET_CHECK_EVALUATION" and key in self.steps:
            evaluation = event.event_specific_data
            step = self.steps[key]
            if evaluation.passed:
                step.checks_passed += 1
            else:
                description = getattr(evaluation, "description", None) or ""
                severity = getattr(evaluation.severity, "value", str(evaluation.severity))
                step.checks_failed.append(
                    (evaluation.check_name, evaluation.asset_key.to_user_string(), severity, description)
                )
            self.progress(self._running(key), *self._counts(key))
        elif kind == "STEP_UP_FOR_RETRY" and key in self.steps:
            self.steps[key].retries += 1
            self.line(f"  retry: {key} failed with a transient error, trying again ({event.message})")
        elif kind == "ENGINE_EVENT" and event.message and "blocked by limit for pool" in event.message:
            self._blocked(key, event)
        elif key and (kind == "STEP_SKIPPED" or "Not executing" in (event.message or "")):
            if key not in self.not_run:
                self.not_run.append(key)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and key in self.steps:
            step = self.steps[key]
            step.ended = now
            if kind == "STEP_FAILURE":
                data = event.step_failure_data
                user = getattr(data, "user_failure_data", None)
                step.error = (getattr(user, "description", None) or (_innermost(data.error) if data.error else "")).strip()
            self._finish(step)

    def _user_message(self, entry) -> None:
        message = entry.user_message or ""
        key = entry.step_key
        if key and "Not executing" in message and key not in self.not_run:
            self.not_run.append(key)
        if key in self.steps and message.startswith("week ") and ":" in message:
            self.steps[key].weeks += 1
            self.progress(f"ingest {key}: week", self.steps[key].weeks, self.weeks_total)

    def _blocked(self, key: str, event) -> None:
        pool = "warehouse_writer"
        with contextlib.suppress(Exception):
            pool = event.event_specific_data.metadata["pool"].value
        waited = ""
        if key in self.waiting:
            self.progress(f"waiting: {key} for pool {pool}")
            return
        self.waiting.add(key)
        self.line(
            f"waiting              {key} waits for pool '{pool}': another run is writing the warehouse; "
            f"it starts when that run's step ends{waited}"
        )

    def _running(self, key: str) -> str:
        return f"running {key}"

    def read_dbt_progress(self) -> None:
        """dbt numbers its nodes ("12 of 171 OK created ..."); the highest finished one is the progress."""
        if self.dbt_log is None or not self.dbt_log.exists():
            return
        with open(self.dbt_log, "rb") as fh:
            fh.seek(self.dbt_log_offset)
            chunk = fh.read()
        self.dbt_log_offset += len(chunk)
        for done, _total in DBT_PROGRESS.findall(chunk.decode("utf-8", "replace")):
            self.dbt_done = max(self.dbt_done, int(done))

    def _counts(self, key: str) -> tuple[int | None, int | None]:
        step = self.steps[key]
        if key == "lagesbild_dbt":
            done = len(step.materialized) + step.checks_passed + len(step.checks_failed)
            return max(done, self.dbt_done), self.dbt_models + self.dbt_tests
        if step.weeks:
            return step.weeks, self.weeks_total
        return None, None

    def _finish(self, step: Step) -> None:
        self.clear()
        seconds = (step.ended or time.monotonic()) - step.started
        if not step.materialized and (step.error is None or step.checks_failed):
            self.pending_checks.append(step)  # a check-only step: folded into the next checks line
            return
        self.flush_checks()
        if step.error is not None:
            self.stage(step.key, "FAILED", seconds)
            return
        self.stage(step.key, summarize(step, self), seconds)

    def flush_checks(self) -> None:
        if not self.pending_checks:
            return
        steps, self.pending_checks = self.pending_checks, []
        passed = sum(s.checks_passed for s in steps)
        failed = [f for s in steps for f in s.checks_failed if f[2] != "WARN"]
        warned = [f for s in steps for f in s.checks_failed if f[2] == "WARN"]
        seconds = sum((s.ended or s.started) - s.started for s in steps)
        assets = sorted({f[1] for f in failed})
        summary = (
            f"{passed} passed, {len(failed)} failed"
            + (f", {len(warned)} warnings" if warned else "")
            + (f" ({', '.join(assets)[:30]})" if failed else "")
        )
        on_raw = all(s.key.startswith(("gx_raw_", "raw_")) for s in steps)
        self.stage(f"checks {'raw' if on_raw else 'marts'} ({len(steps)})", summary, seconds)

    def failed_checks(self) -> list[tuple]:
        """Failed checks that are errors (WARN checks are reported, not failures)."""
        return [f for s in self.steps.values() for f in s.checks_failed if f[2] != "WARN"]

    def failed_steps(self) -> list[Step]:
        return [s for s in self.steps.values() if s.error is not None]


def _rows(metadata: dict) -> int | None:
    for name in ("dagster/row_count", "rows", "rows_ok"):
        if name in metadata:
            value = getattr(metadata[name], "value", metadata[name])
            if isinstance(value, int | float):
                return int(value)
    return None


def _value(metadata: dict, name: str):
    item = metadata.get(name)
    return getattr(item, "value", item)


def summarize(step: Step, reporter: Reporter) -> str:
    """Counts for a stage line, from the step's materialization metadata."""
    mats = step.materialized
    if step.key == "lagesbild_dbt":
        tests = step.checks_passed + len(step.checks_failed)
        return (
            f"{len(mats)}/{reporter.dbt_models} models, {step.checks_passed}/{tests} tests passed"
            + (f", {len(step.checks_failed)} FAILED" if step.checks_failed else "")
        )
    if step.key == "publication":
        meta = next(iter(mats.values()), {})
        line = f"{_value(meta, 'publication_id')}, {_value(meta, 'files')} files"
        if _value(meta, "latest") is False:
            line += f"; NOT made the latest: {_value(meta, 'not_latest')}"
        return line
    if step.key == "raw_ad_snapshots":
        meta = mats.get("raw/ad_snapshots", {})
        return (
            f"{_value(meta, 'weeks')}/{reporter.weeks_total} weeks, {_value(meta, 'rows'):,} rows, "
            f"{_value(meta, 'quarantined')} quarantined"
        )
    parts, quarantined = [], None
    for asset, meta in mats.items():
        rows = _rows(meta)
        name = asset.split("/")[-1]
        if name.startswith("quarantine_") and rows is not None:
            quarantined = (quarantined or 0) + rows
        else:
            parts.append(f"{rows:,} rows" if rows is not None and len(mats) <= 2 else name)
    if quarantined is not None:
        parts.append(f"{quarantined:,} quarantined")
    text = ", ".join(parts)
    errors = [f for f in step.checks_failed if f[2] != "WARN"]
    warnings_ = len(step.checks_failed) - len(errors)
    checks = step.checks_passed + len(step.checks_failed)
    if checks:
        text += f"; checks {step.checks_passed} passed" + (f", {len(errors)} failed" if errors else "")
        text += f", {warnings_} warnings" if warnings_ else ""
    return text if len(text) <= 48 else text[:45] + "..."


def poll_events(instance, run_id: str, reporter: Reporter, stop: threading.Event) -> None:
    """Feed the run's events to the reporter as they are stored, until ``stop`` is set and all is read."""
    cursor = None
    while True:
        stopping = stop.is_set()
        try:
            while True:
                conn = instance.get_records_for_run(run_id, cursor=cursor, limit=500)
                for record in conn.records:
                    reporter.handle(record.event_log_entry)
                cursor = conn.cursor
                if not conn.has_more:
                    break
        except Exception:  # noqa: BLE001 - the run may not be stored yet; progress is best effort
            pass
        if stopping:
            return
        running = [s for s in reporter.steps.values() if s.ended is None]
        if running and running[-1].key == "lagesbild_dbt":
            reporter.read_dbt_progress()
        elif reporter.dbt_log is not None and reporter.dbt_log.exists():
            reporter.dbt_log_offset = reporter.dbt_log.stat().st_size  # skip what is not dbt's
        total = reporter.dbt_models + reporter.dbt_tests
        if running and running[-1].key == "lagesbild_dbt" and total and reporter.dbt_done >= total:
            reporter.progress(f"lagesbild_dbt: dbt built {total}/{total} nodes; row counts, Parquet export")
        elif reporter.status:
            reporter.progress(reporter.status.split(" [")[0], *_counts_safe(reporter))
        stop.wait(POLL_SECONDS)


def _counts_safe(reporter: Reporter):
    running = [s for s in reporter.steps.values() if s.ended is None]
    return reporter._counts(running[-1].key) if running else (None, None)


@contextlib.contextmanager
def captured_output(log_path: Path, enabled: bool) -> Iterator[TextIO]:
    """Send this process's stdout/stderr (and its children's) to ``log_path``; yield the real stdout."""
    if not enabled:
        yield sys.stdout
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    real = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8")
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield real
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            real.flush()


def describe_publication(path: Path) -> str:
    """What a publication holds: files, rows of the county marts, the municipalities and reports."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    files = manifest["files"]
    quality = manifest.get("quality", {})
    lines = [
        f"Published {manifest['id']} (model {manifest.get('model_version')})",
        f"  at {path}",
        f"  quality: {len(quality.get('checks', []))} checks, {quality.get('blocking_failures', 0)} blocking "
        "failures (quality/index.html); sha256, rows and schema of each file in manifest.json",
    ]
    county = [f"{p.split('/')[-1].removesuffix('.parquet')} {e.get('rows')}" for p, e in sorted(files.items())
              if p.startswith("county/") and p.endswith(".parquet")]
    if county:
        lines.append(f"  county/ rows: {', '.join(county)}")
    municipalities = sorted({p.split("/")[1] for p in files if p.startswith("municipalities/")})
    if municipalities:
        each = sum(p.startswith(f"municipalities/{municipalities[0]}/") for p in files)
        lines.append(f"  municipalities/<code>/: {each} files each for {len(municipalities)} municipalities")
    reports = sorted(p for p in files if p.startswith("reports/"))
    if reports:
        lines.append(f"  reports/: {len(reports)} situation-picture reports ({reports[0]} ... {reports[-1]})")
    link = path.parent / "latest"
    if link.is_symlink() and link.resolve() == path.resolve():
        lines.append(f"  browse it as {link}/ (LATEST holds its id)")
    return "\n".join(lines)


def describe_latest(data_dir: Path) -> str:
    """The latest publication (whatever run made it); ``make run`` prints only its own."""
    from lagesbild.publication import LocalFolderTarget, latest

    info = latest(LocalFolderTarget(data_dir / "publications"))
    return "No publication was made." if info is None else describe_publication(Path(info.path))


def _innermost(error) -> str:
    """The message at the bottom of an error's cause chain (the user's own exception)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = getattr(error, "message", "") or ""
    # "dagster._core.definitions.events.Failure: <description>" -> the description
    return message.split(": ", 1)[1].strip() if message.startswith(("dagster.", "Failure")) else message.strip()


def run_failure_reason(events) -> str:
    """Why a run failed outside any step (a resource that refused to start, e.g. a bad setting)."""
    for event in events:
        data = getattr(event, "event_specific_data", None)
        error = getattr(data, "error", None)
        if error is not None and event.step_key is None:
            return _innermost(error)
    return ""


def failure_advice(reporter: Reporter, log_path: Path, run_id: str) -> list[str]:
    """The closing lines of a failed run: what failed and what to do."""
    lines = []
    from lagesbild.quality.summary import action
    for name, asset, severity, description in reporter.failed_checks():
        first = (description or "").strip().splitlines()[0][:160] if description else ""
        lines.append(f"  check {name} on {asset} ({severity}): {first}")
        lines.append(f"    what to do: {action(name)}")
    for step in reporter.failed_steps():
        if step.checks_failed:
            continue  # its failed checks are listed above
        message = (step.error or "").strip().splitlines()
        lines.append(f"  step {step.key} failed: {message[0][:200] if message else 'see the log'}")
        lines.extend(f"    {m[:200]}" for m in message[1:4])
    if not lines and reporter.run_error:
        lines.extend(f"  {line}" for line in reporter.run_error.splitlines())
    skipped = [s for s in reporter.steps.values() if s.ended is None]
    if not lines and skipped:
        lines.append(f"  stopped during {skipped[-1].key}")
    if reporter.not_run:
        lines.append(f"  not run because of it: {', '.join(reporter.not_run)}")
    lines.append(f"  Nothing new was published. Fix the cause and run again; details: {log_path}")
    lines.append(f"  or in the UI (make ui): Runs -> {run_id}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.run_demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only-inputs", action="store_true", help="generate the demo inputs and stop")
    parser.add_argument("--first-week", help="first week start (Monday, YYYY-MM-DD); default: all weeks")
    parser.add_argument("--last-week", help="last week start (Monday, YYYY-MM-DD); default: all weeks")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster's and dbt's own lines")
    args = parser.parse_args(argv)

    started = time.monotonic()
    try:
        settings = preflight()
        home = os.environ.get("DAGSTER_HOME")  # Dagster's own variable, not a lagesbild setting
        if not home or not Path(home).is_dir():
            raise SettingsError(
                f"Configuration error, nothing was run:\n  - DAGSTER_HOME={home or '(unset)'}: Dagster's instance "
                "folder must exist. Fix: use `make run` (it sets DAGSTER_HOME=.dagster_home), or create the folder "
                "and copy dagster.yaml into it."
            )
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    data_dir = Path(settings.data_dir).resolve()
    tty = sys.stdout.isatty()
    if not (tty and args.verbose):
        os.environ.setdefault("DBT_USE_COLORS", "false")  # no colour codes in a log file or a pipe
        os.environ.setdefault("NO_COLOR", "1")
    _quiet_dagster_warnings()

    if settings.source_mode == "demo":
        t = time.monotonic()
        prepared = prepare_demo_inputs(data_dir)
        demo = prepared["demo"]
        print(
            f"{'demo inputs':<20} {f'{demo.files} files, {demo.rows:,} rows, {len(demo.per_site)} sites':<48} "
            f"{time.monotonic() - t:6.1f} s",
            flush=True,
        )
    notice = accept_offline_population(settings.county_code)
    if notice:
        print(notice, flush=True)
    if args.only_inputs:
        print(f"  in {data_dir / 'demo' / 'inputs'}")
        return 0

    t = time.monotonic()
    import uuid

    import dagster as dg

    from orchestration.assets.dbt import build_dbt_assets

    dbt_def = build_dbt_assets()
    instance = dg.DagsterInstance.get()
    run_id = str(uuid.uuid4())
    log_path = data_dir / "logs" / f"run-{run_id}.log"
    weeks = week_count(args.first_week, args.last_week)
    print(
        f"{'load definitions':<20} {f'{weeks} weeks, {len(dbt_def.keys)} dbt nodes, run {run_id[:8]}':<48} "
        f"{time.monotonic() - t:6.1f} s",
        flush=True,
    )
    if not args.verbose:
        print(f"  Dagster's and dbt's own lines: {log_path} (-v shows them here)", flush=True)

    with captured_output(log_path, enabled=not args.verbose) as out:
        from orchestration.definitions import defs

        check_steps = frozenset(c.node_def.name for c in defs.asset_checks or [])
        reporter = Reporter(out, tty, weeks, len(dbt_def.keys), len(dbt_def.check_keys), check_steps)
        reporter.dbt_log = None if args.verbose else log_path
        stop = threading.Event()
        poller = threading.Thread(target=poll_events, args=(instance, run_id, reporter, stop), daemon=True)
        poller.start()
        try:
            result = run_pipeline(
                args.first_week, args.last_week, instance=instance, run_id=run_id,
                log_level="INFO" if args.verbose else "INFO",
            )
        finally:
            stop.set()
            poller.join(timeout=30)
            reporter.clear()
        reporter.flush_checks()

    elapsed = time.monotonic() - started
    published = reporter.steps.get("publication")
    if result.success and published is not None and published.materialized:
        meta = next(iter(published.materialized.values()))
        print(describe_publication(Path(str(_value(meta, "path")))))
        print(f"Pipeline succeeded in {elapsed:.1f} s (run {run_id})")
        return 0
    print(f"Pipeline FAILED after {elapsed:.1f} s (run {run_id}):", file=sys.stderr)
    for line in failure_advice(reporter, log_path, run_id):
        print(line, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
