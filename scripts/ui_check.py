"""Check the Dagster UI in a real (headless) browser: the graph, the checks, the schedule, the sensors, a launch.

What it does, on loopback only, and without touching ``data/`` or ``.dagster_home``:

1. generates the demo inputs into a temporary data dir (``--data-dir`` to reuse one);
2. starts ``dagster dev -w workspace.yaml`` on 127.0.0.1 and a free port, with a temporary DAGSTER_HOME
   holding a copy of the repo's ``dagster.yaml``;
3. asks Dagster's GraphQL endpoint (httpx) that the code location loaded and that the asset graph, the
   asset checks, the schedules and the sensors are there; launches a materialisation of ``raw/verdicts``
   and a backfill of every week of ``raw/ad_snapshots`` (what the UI's "Materialize" and "Backfill"
   buttons send) and waits for them: the backfill must be one run (single-run backfill policy);
4. asks for the data the UI shows after that run: row count and column schema (warehouse types, dbt YAML
   descriptions) on a mart, a Markdown preview of its disclosed rows, a row count on every asset, the
   publication's id, file count and folder link, and a publication lineage that fits a screen (its
   depth-2 upstream in a dozen boxes, its whole upstream in a few asset groups, which the global
   lineage shows collapsed);
5. opens the UI pages in headless Chromium (Debian's ``chromium``), saves screenshots and the rendered
   DOM under ``screenshots/``, and checks that the names it expects are on the rendered pages;
6. kills ``dagster dev`` and its children (process group, SIGKILL after a grace period: it ignores SIGTERM).

Writes ``screenshots/ui_check.json`` with what it saw. Exit status 0 when every check passed.
Playwright is not part of the locked environment, so the browser is driven with Chromium's own
``--screenshot``/``--dump-dom`` switches.

    python scripts/ui_check.py            # or: make ui-check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
from render_reports import HEADLESS_FLAGS  # the sibling script (this one runs as a file from scripts/)

ROOT = Path(__file__).resolve().parent.parent
LOCATION = "orchestration.definitions"
REPOSITORY = "__repository__"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [*HEADLESS_FLAGS, "--disable-dev-shm-usage", "--window-size=1600,1000"]
INSTALL_HINT = "sudo apt-get update && sudo apt-get install -y chromium chromium-driver"
EXPECTED_ASSETS = ["raw/ad_snapshots", "raw/verdicts", "raw/population", "publication"]
EXPECTED_SCHEDULES = ["weekly_snapshots_schedule", "population_monthly_schedule"]
EXPECTED_SENSORS = ["verdict_inbox_sensor", "run_failure_alert_sensor"]

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}"""

REPOSITORY_QUERY = """
query Repository($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    __typename
    ... on PythonError { message }
    ... on Repository {
      jobs { name }
      assetNodes {
        assetKey { path }
        opName
        groupName
        isPartitioned
        pools
        dependencyKeys { path }
        assetChecksOrError { __typename ... on AssetChecks { checks { name blocking } } }
      }
      schedules { name cronSchedule executionTimezone pipelineName scheduleState { status } }
      sensors { name sensorType sensorState { status } }
    }
  }
}"""

LAUNCH_MUTATION = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""

BACKFILL_MUTATION = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}"""

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime tags { key value } }
  }
}"""

BACKFILL_RUNS_QUERY = """
query BackfillRuns($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status tags { key value } } }
  }
}"""

PARTITION_NAMES_QUERY = """
query PartitionNames($repo: RepositorySelector!, $name: String!) {
  partitionSetOrError(repositorySelector: $repo, partitionSetName: $name) {
    __typename
    ... on PartitionSet { partitionsOrError { __typename ... on Partitions { results { name } } } }
  }
}"""

BACKFILL_QUERY = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status numPartitions }
  }
}"""

ASSET_DATA_QUERY = """
query AssetData($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      groupName
      metadataEntries { label __typename ... on TableSchemaMetadataEntry { schema { columns { name type description } } } }
      assetMaterializations(limit: 1) {
        metadataEntries {
          label
          __typename
          ... on IntMetadataEntry { intValue }
          ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
          ... on UrlMetadataEntry { url }
        }
      }
      assetObservations(limit: 1) { metadataEntries { label __typename ... on MarkdownMetadataEntry { mdStr } } }
    }
  }
}"""

#: The mart whose data the UI must show, and what "readable lineage" means for the publication: its
#: direct upstream (the lineage page at depth 2) fits a screen, and its whole upstream falls into a few
#: asset groups (sources, reference, staging, intermediate, marts, publication) that the UI collapses.
DATA_MART = "mart_prevalence_yearly"
MAX_NODES_AT_DEPTH_2 = 12
MAX_UPSTREAM_GROUPS = 7

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


# --- processes -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def kill_group(proc: subprocess.Popen, grace: float = 5.0) -> list[psutil.Process]:
    """SIGTERM the process group, SIGKILL what is left after ``grace`` s; returns the processes that were there.

    Descendants are collected first, so a child that moved to its own session is killed too.
    """
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (_group_alive(proc.pid) or _any_alive(family)):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for member in family:
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(family, timeout=10)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    return family


def _any_alive(processes: list[psutil.Process]) -> bool:
    alive = []
    for member in processes:
        with contextlib.suppress(psutil.Error):
            if member.is_running() and member.status() != psutil.STATUS_ZOMBIE:
                alive.append(member)
    return bool(alive)


def stopped(proc: subprocess.Popen, family: list[psutil.Process], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(proc.pid) and not _any_alive(family):
            return True
        time.sleep(0.5)
    return False


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in the process group."""
    for proc in psutil.process_iter(["pid", "status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
    return False


@contextlib.contextmanager
def dagster_dev(
    port: int, home: Path, data_dir: Path, log_path: Path, workspace: Path
) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LAGESBILD_DATA_DIR": str(data_dir),
        "LAGESBILD_DAGSTER_URL": f"http://127.0.0.1:{port}",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    # Kill it even when this script is interrupted.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _stop(signum, frame):
        kill_group(proc)
        raise SystemExit(128 + signum)

    for sig in previous:
        signal.signal(sig, _stop)
    try:
        yield proc
    finally:
        proc.family = kill_group(proc)  # type: ignore[attr-defined]
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- GraphQL -------------------------------------------------------------------------------------------


class Dagster:
    def __init__(self, base: str):
        self.base = base
        self.client = httpx.Client(base_url=base, timeout=60)

    def query(self, query: str, variables: dict | None = None) -> dict:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def wait_until_up(self, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with status {proc.returncode} before serving")
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/server_info", timeout=5).status_code == 200:
                    return
            time.sleep(1)
        raise TimeoutError(f"dagster dev did not answer on {self.base} within {timeout:.0f} s")

    def wait_for_location(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        entry: dict = {}
        while time.monotonic() < deadline:
            workspace = self.query(WORKSPACE_QUERY)["workspaceOrError"]
            entries = {e["name"]: e for e in workspace.get("locationEntries", [])}
            entry = entries.get(LOCATION, {})
            if entry.get("loadStatus") == "LOADED":
                return entry
            time.sleep(2)
        raise TimeoutError(f"code location {LOCATION} did not load within {timeout:.0f} s: {entry}")

    def repository(self) -> dict:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
        return self.query(REPOSITORY_QUERY, {"selector": selector})["repositoryOrError"]

    def launch_assets(self, paths: list[list[str]], tags: dict[str, str]) -> str:
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": "__ASSET_JOB",
                "assetSelection": [{"path": p} for p in paths],
            },
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self.query(LAUNCH_MUTATION, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launchRun: {result}")
        return result["run"]["runId"]

    def launch_backfill(self, job: str | None, asset_paths: list[list[str]] | None, title: str) -> str:
        """What the UI's backfill dialog sends: every partition of a job's partition set, or of one asset."""
        params: dict = {"allPartitions": True, "title": title}
        if job:
            repo = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
            params["selector"] = {"partitionSetName": f"{job}_partition_set", "repositorySelector": repo}
            params["partitionNames"] = self.partition_names(job)
            del params["allPartitions"]
        else:
            params["assetSelection"] = [{"path": path} for path in asset_paths]
        result = self.query(BACKFILL_MUTATION, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"launchPartitionBackfill: {result}")
        return result["backfillId"]

    def partition_names(self, job: str) -> list[str]:
        variables = {
            "repo": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY},
            "name": f"{job}_partition_set",
        }
        result = self.query(PARTITION_NAMES_QUERY, variables)["partitionSetOrError"]
        return [p["name"] for p in result["partitionsOrError"]["results"]]

    def run(self, run_id: str) -> dict:
        return self.query(RUN_QUERY, {"runId": run_id})["runOrError"]

    def wait_for_run(self, run_id: str, timeout: float) -> tuple[str, list[str]]:
        """Final status and every status seen on the way (QUEUED, STARTING, STARTED, ...)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.run(run_id).get("status", "?")
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in FINISHED:
                return status, seen
            time.sleep(1)
        return seen[-1] if seen else "?", seen

    def backfill_runs(self, backfill_id: str) -> list[dict]:
        variables = {"filter": {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}}
        return self.query(BACKFILL_RUNS_QUERY, variables)["runsOrError"].get("results", [])

    def asset_data(self, path: list[str]) -> dict:
        return self.query(ASSET_DATA_QUERY, {"key": {"path": path}})["assetNodeOrError"]

    def backfill(self, backfill_id: str) -> dict:
        return self.query(BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]


# --- browser -------------------------------------------------------------------------------------------


def browse(chromium: str, url: str, out: Path, budget_ms: int) -> str:
    """Screenshot ``url`` to ``out`` and return the rendered DOM (two Chromium runs, fresh profiles)."""
    dom = ""
    for mode in ("screenshot", "dom"):
        with tempfile.TemporaryDirectory(prefix="ui_check_chromium_") as profile:
            command = [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
            ]
            command += [f"--screenshot={out}"] if mode == "screenshot" else ["--dump-dom"]
            try:
                done = subprocess.run(
                    [*command, url],
                    capture_output=True,
                    text=True,
                    timeout=budget_ms / 1000 + 90,
                    cwd=out.parent,
                )
            except subprocess.TimeoutExpired:
                continue
            if mode == "dom":
                dom = done.stdout
    out.with_suffix(".html").write_text(dom, encoding="utf-8")
    return dom


# --- the check -----------------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.checks: list[dict] = []
        self.facts: dict = {}

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append({"check": name, "passed": bool(passed), "detail": detail})
        print(f"[{'ok' if passed else 'FAIL'}] {name}" + (f": {detail}" if detail else ""), flush=True)
        return passed

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c["passed"] for c in self.checks)


def prepare_inputs(data_dir: Path) -> None:
    env = {**os.environ, "LAGESBILD_DATA_DIR": str(data_dir)}
    code = "from pathlib import Path; import sys; from orchestration.run_demo import prepare_demo_inputs; "
    code += "print(prepare_demo_inputs(Path(sys.argv[1])))"
    subprocess.run([sys.executable, "-c", code, str(data_dir)], cwd=ROOT, env=env, check=True)


def check_definitions(dagster: Dagster, report: Report) -> dict:
    repo = dagster.repository()
    if not report.check(
        "repository loads", repo["__typename"] == "Repository", repo.get("message", "")[:300]
    ):
        return {}
    assets = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
    checks = {
        f"{key}:{c['name']}": c
        for key, node in assets.items()
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for c in node["assetChecksOrError"]["checks"]
    }
    schedules = {s["name"]: s for s in repo["schedules"]}
    sensors = {s["name"]: s for s in repo["sensors"]}
    report.facts.update(
        assets=len(assets),
        asset_checks=len(checks),
        groups=sorted({n["groupName"] for n in assets.values()}),
        jobs=sorted(j["name"] for j in repo["jobs"]),
        schedules={
            k: [v["cronSchedule"], v["executionTimezone"], v["scheduleState"]["status"]]
            for k, v in schedules.items()
        },
        sensors={k: [v["sensorType"], v["sensorState"]["status"]] for k, v in sensors.items()},
        pools=sorted({p for n in assets.values() for p in n["pools"]}),
    )
    missing = [a for a in EXPECTED_ASSETS if a not in assets]
    report.check(
        "asset graph",
        not missing and len(assets) > len(EXPECTED_ASSETS),
        f"{len(assets)} assets; missing {missing}",
    )
    report.check("asset checks", len(checks) > 0, f"{len(checks)} checks, e.g. {sorted(checks)[:3]}")
    report.check(
        "snapshots are weekly partitioned", assets.get("raw/ad_snapshots", {}).get("isPartitioned") is True
    )
    report.check("schedules", all(s in schedules for s in EXPECTED_SCHEDULES), str(report.facts["schedules"]))
    report.check("sensors", all(s in sensors for s in EXPECTED_SENSORS), str(report.facts["sensors"]))
    report.check(
        "warehouse_writer pool", "warehouse_writer" in report.facts["pools"], str(report.facts["pools"])
    )
    return {"assets": assets, "checks": checks}


BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
#: "Sensible": the weekly partitions go in one run (single-run backfill policy); Dagster may add a run or
#: two for the unpartitioned assets downstream. Never one run per week.
MAX_BACKFILL_RUNS = 3


def with_siblings(assets: dict, key: str) -> list[list[str]]:
    """The asset and the others its (non-subsettable) multi-asset materialises with it, as key paths."""
    op = assets.get(key, {}).get("opName")
    keys = sorted(k for k, node in assets.items() if op and node.get("opName") == op) or [key]
    return [k.split("/") for k in keys]


def check_launches(
    dagster: Dagster, report: Report, timeout: float, backfill: str, assets: dict, ids: dict
) -> None:
    """Launch a materialisation and a backfill; their ids go into ``ids`` as soon as they exist."""
    targets = with_siblings(assets, "raw/verdicts")
    run_id = dagster.launch_assets(targets, {"lagesbild/trigger": "ui_check"})
    ids["run"] = run_id
    status, seen = dagster.wait_for_run(run_id, timeout)
    report.facts["materialisation"] = {
        "run_id": run_id,
        "assets": ["/".join(t) for t in targets],
        "statuses": seen,
    }
    report.check(
        "materialisation of raw/verdicts launched and finished", status == "SUCCESS", " -> ".join(seen)
    )
    if backfill == "none":
        return
    if backfill == "job":
        backfill_id = dagster.launch_backfill("full_pipeline", None, "ui_check: full_pipeline, every week")
    else:
        backfill_id = dagster.launch_backfill(
            None, with_siblings(assets, "raw/ad_snapshots"), "ui_check: raw/ad_snapshots, every week"
        )
    ids["backfill"] = backfill_id
    ids["backfill_target"] = "full_pipeline" if backfill == "job" else "ad_snapshots"
    info: dict = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = dagster.backfill(backfill_id)
        if info.get("status") in BACKFILL_DONE:
            break
        time.sleep(3)
    runs = dagster.backfill_runs(backfill_id)
    ids["backfill_partitions"] = info.get("numPartitions")
    statuses = [dagster.wait_for_run(r["runId"], timeout)[0] for r in runs]
    details = [dagster.run(r["runId"]) for r in runs]
    seconds = [
        round(d["endTime"] - d["startTime"], 1) for d in details if d.get("startTime") and d.get("endTime")
    ]
    ranges = []
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        ranges.append([tags.get(RANGE_TAGS[0]), tags.get(RANGE_TAGS[1])] if RANGE_TAGS[0] in tags else None)
    report.facts["backfill"] = {
        "target": backfill,
        "backfill_id": backfill_id,
        "status": info.get("status"),
        "partitions": info.get("numPartitions"),
        "runs": len(runs),
        "run_statuses": statuses,
        "run_seconds": seconds,
        "run_partition_ranges": ranges,
    }
    report.check(
        f"backfill of every week ({backfill}) in a few runs",
        0 < len(runs) <= MAX_BACKFILL_RUNS and all(s == "SUCCESS" for s in statuses),
        f"{info.get('numPartitions')} partitions in {len(runs)} run(s) {statuses} of {seconds} s, ranges {ranges}, "
        f"backfill {info.get('status')}",
    )
    return


def _entries(entries: list[dict]) -> dict[str, dict]:
    return {e["label"]: e for e in entries or []}


def check_data(dagster: Dagster, report: Report, assets: dict) -> None:
    """Row counts and column schemas on a mart (and on every asset), a preview of its disclosed rows,
    the publication's folder link, and a lineage of the publication that a screen can hold."""
    node = dagster.asset_data([DATA_MART])
    if not report.check(f"{DATA_MART} is an asset", node.get("__typename") == "AssetNode", str(node)[:300]):
        return
    definition = _entries(node["metadataEntries"])
    materialization = _entries((node["assetMaterializations"] or [{}])[0].get("metadataEntries"))
    rows = materialization.get("dagster/row_count", {}).get("intValue")
    schema = (materialization.get("dagster/column_schema") or definition.get("dagster/column_schema") or {})
    columns = (schema.get("schema") or {}).get("columns", [])
    described = [c for c in columns if c.get("description")]
    typed = [c for c in columns if c.get("type") not in (None, "", "?")]
    report.facts["mart_data"] = {
        "asset": DATA_MART, "row_count": rows, "columns": len(columns), "described": len(described),
        "typed": len(typed), "example": columns[:3],
    }
    report.check(f"{DATA_MART} reports its row count", isinstance(rows, int) and rows > 0, f"dagster/row_count={rows}")
    report.check(
        f"{DATA_MART} reports its column schema (types from the warehouse, descriptions from the dbt YAML)",
        len(columns) >= 5 and len(typed) == len(columns) and len(described) >= len(columns) // 2,
        f"{len(columns)} columns, {len(typed)} typed, {len(described)} described",
    )
    observation = _entries((node["assetObservations"] or [{}])[0].get("metadataEntries"))
    preview = observation.get("disclosed preview", {}).get("mdStr", "")
    report.check(f"{DATA_MART} shows a preview of its disclosed rows", preview.startswith("| region_code"), preview[:120])
    missing = []
    for key, info in assets.items():
        if info.get("isPartitioned"):
            continue  # partitioned: the latest materialization is per week
        data = dagster.asset_data(key.split("/"))
        mats = (data.get("assetMaterializations") or [{}])
        if "dagster/row_count" not in _entries(mats[0].get("metadataEntries") if mats else []):
            missing.append(key)
    report.facts["assets_without_row_count"] = missing
    report.check("every materialized asset reports a row count", not missing, f"missing on {missing}")
    publication = _entries((dagster.asset_data(["publication"]).get("assetMaterializations") or [{}])[0].get("metadataEntries"))
    report.check(
        "publication shows its id, file count and folder link",
        {"publication_id", "files", "folder"} <= set(publication),
        str(sorted(publication)),
    )
    # Lineage: the whole upstream of the publication, by group, and its depth-2 neighbourhood.
    parents = {k: ["/".join(d["path"]) for d in v.get("dependencyKeys", [])] for k, v in assets.items()}
    upstream, frontier, depth2 = set(), ["publication"], set()
    for depth in range(1, 50):
        frontier = [p for key in frontier for p in parents.get(key, []) if p not in upstream]
        upstream.update(frontier)
        if depth <= 2:
            depth2.update(frontier)
        if not frontier:
            break
    groups = sorted({assets[k]["groupName"] for k in upstream if k in assets})
    report.facts["publication_lineage"] = {"upstream": len(upstream), "at_depth_2": sorted(depth2), "groups": groups}
    report.check(
        "publication lineage is readable",
        len(depth2) + 1 <= MAX_NODES_AT_DEPTH_2 and len(groups) <= MAX_UPSTREAM_GROUPS,
        f"{len(upstream)} assets upstream in {len(groups)} groups {groups}; {len(depth2) + 1} boxes at depth 2",
    )


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def check_pages(
    chromium: str, base: str, out_dir: Path, report: Report, found: dict, ids: dict, budget: int
) -> None:
    check_target = next(iter(sorted(found.get("checks", {}))), None)
    pages = [
        (
            "asset_graph",
            "/assets/publication?view=lineage&lineageScope=upstream&lineageDepth=2",
            ["disclosed_marts", "situation_reports", "mart_flows", "marts"],
        ),
        ("asset_graph_all", "/asset-groups", ["staging", "intermediate", "marts", "publication"]),
        (f"mart_{DATA_MART}", f"/assets/{DATA_MART}", ["region_code", "Row count"]),
        (f"mart_{DATA_MART}_events", f"/assets/{DATA_MART}?view=events", ["disclosed preview"]),
        ("asset_groups", "/asset-groups", ["sources"]),
        ("assets", "/assets", ["raw", "publication"]),
        ("automation", "/automation", EXPECTED_SCHEDULES + EXPECTED_SENSORS),
        ("jobs", f"/locations/{LOCATION}/jobs", ["weekly_snapshots", "verdicts_refresh"]),
    ]
    if check_target:
        asset, check_name = check_target.rsplit(":", 1)
        pages.append(("asset_checks", f"/assets/{asset}?view=checks", [check_name]))
    if "run" in ids:
        pages.append(("materialisation_run", f"/runs/{ids['run']}", ["raw/verdicts"]))
    if "backfill" in ids:
        pages.append(
            (
                "backfill",
                f"/runs/b/{ids['backfill']}",
                [ids["backfill_target"], f"{ids['backfill_partitions']} partitions"],
            )
        )
    pages.append(("runs", "/runs", ["verdicts"]))
    for name, path, expected in pages:
        shot = out_dir / f"{name}.png"
        dom = browse(chromium, base + path, shot, budget)
        missing = [word for word in expected if word not in dom]
        report.check(
            f"page {path} renders {expected}",
            shot.exists() and shot.stat().st_size > 10_000 and not missing,
            f"{_display(shot)}; missing in DOM: {missing}" if missing else str(_display(shot)),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "screenshots", help="screenshots folder (git-ignored)"
    )
    parser.add_argument("--workspace", type=Path, default=ROOT / "workspace.yaml", help="Dagster workspace")
    parser.add_argument(
        "--data-dir", type=Path, help="data dir with demo inputs (default: a fresh temporary one)"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=300, help="seconds to wait for the UI and the code"
    )
    parser.add_argument("--run-timeout", type=float, default=600, help="seconds to wait for a launched run")
    parser.add_argument(
        "--backfill",
        choices=["job", "snapshots", "none"],
        default="job",
        help="backfill every week of the full_pipeline job (default), of raw/ad_snapshots only, or none",
    )
    parser.add_argument("--budget-ms", type=int, default=20000, help="Chromium virtual-time budget per page")
    args = parser.parse_args(argv)

    chromium = find_chromium()
    if chromium is None:
        print(f"Headless Chromium not found (tried {', '.join(CHROMIUM_NAMES)}; or set CHROMIUM=/path).")
        print(f"On Debian/Ubuntu install it with:  {INSTALL_HINT}")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report = Report()
    tmp = Path(tempfile.mkdtemp(prefix="lagesbild_ui_check_"))
    try:
        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        data_dir = (args.data_dir or tmp / "data").resolve()
        if args.data_dir is None:
            print(f"Generating the demo inputs in {data_dir} ...", flush=True)
            prepare_inputs(data_dir)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = args.out / "dagster_dev.log"
        print(f"Starting dagster dev on {base} (DAGSTER_HOME={home}, log {log_path}) ...", flush=True)
        started = time.monotonic()
        ids: dict = {}
        with dagster_dev(port, home, data_dir, log_path, args.workspace) as proc:
            dagster = Dagster(base)
            dagster.wait_until_up(proc, args.startup_timeout)
            entry = dagster.wait_for_location(args.startup_timeout)
            error = entry.get("locationOrLoadError") or {}
            report.facts["startup_seconds"] = round(time.monotonic() - started, 1)
            if report.check(
                "code location loads",
                error.get("__typename") == "RepositoryLocation",
                error.get("message", "")[:500],
            ):
                found = check_definitions(dagster, report)
                try:
                    check_launches(
                        dagster, report, args.run_timeout, args.backfill, found.get("assets", {}), ids
                    )
                except Exception as exc:  # still take the screenshots: they show what went wrong
                    report.check("launches", False, f"{type(exc).__name__}: {exc}"[:800])
                try:
                    check_data(dagster, report, found.get("assets", {}))
                except Exception as exc:  # noqa: BLE001 - reported, the screenshots still follow
                    report.check("data in the UI", False, f"{type(exc).__name__}: {exc}"[:800])
            else:
                found = {}
            check_pages(chromium, base, args.out, report, found, ids, args.budget_ms)
        family = getattr(proc, "family", [])
        report.check(
            "dagster dev stopped", stopped(proc, family), f"process group {proc.pid}, {len(family)} processes"
        )
    except Exception as exc:  # report what broke; the context manager has killed the server
        report.check("ui check ran to the end", False, f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {"passed": report.passed, "checks": report.checks, "facts": report.facts}
    (args.out / "ui_check.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    print(f"UI check {'passed' if report.passed else 'FAILED'}; screenshots and ui_check.json in {args.out}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
