"""Two `full_pipeline` runs at once on one Dagster instance and one data folder: each publication
carries the quality results of the run that published it, both publications are complete, and,
made from the same inputs, their Parquet files are byte-identical, so a municipality pulling the
second after the first downloads no Parquet file again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from lagesbild.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

FIRST, LAST = "2024-09-02", "2024-11-18"  # 12 weeks: the cheapest range every check accepts
RUN = (
    "import dagster as dg, json\n"
    "from orchestration.run_demo import run_pipeline\n"
    f"r = run_pipeline({FIRST!r}, {LAST!r}, instance=dg.DagsterInstance.get(), log_level='WARNING')\n"
    "print('RESULT ' + json.dumps({'run_id': r.run_id, 'success': r.success}))\n"
)


@pytest.mark.timeout(1500)
def test_two_concurrent_runs_publish_their_own_quality_results(tmp_path, dbt_manifest):
    from lagesbild.publication import LocalFolderTarget, verify_publication
    from orchestration.run_demo import prepare_demo_inputs

    data, home = tmp_path / "data", tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")  # the warehouse_writer pool
    prepare_demo_inputs(data)
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:  # create the storage once, not racing
        instance.get_runs(limit=1)
    env = {**os.environ, "LAGESBILD_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, err[-3000:]
        results.append(json.loads(lines[-1].removeprefix("RESULT ")))
    assert all(r["success"] for r in results), results
    run_ids = {r["run_id"] for r in results}
    assert len(run_ids) == 2

    target = LocalFolderTarget(data / "publications")
    pubs = target.list_publications()
    assert len(pubs) == 2
    published_by = set()
    for pub in pubs:
        assert verify_publication(target, pub) == []
        quality = json.loads((data / "publications" / pub / "manifest.json").read_text())["quality"]
        assert quality["run_id"] in run_ids
        own = [c for c in quality["checks"] if c["run_id"] == quality["run_id"]]
        assert len(own) == len(quality["checks"]) > 0, {c["name"]: c["run_id"] for c in quality["checks"]}
        published_by.add(quality["run_id"])
    assert published_by == run_ids

    manifests = [json.loads((data / "publications" / p / "manifest.json").read_text()) for p in pubs]
    parquet = sorted(p for p in manifests[0]["files"] if p.endswith(".parquet"))
    assert parquet and parquet == sorted(p for p in manifests[1]["files"] if p.endswith(".parquet"))
    differ = [p for p in parquet if manifests[0]["files"][p]["sha256"] != manifests[1]["files"][p]["sha256"]]
    assert not differ, f"same inputs, different bytes: {differ}"
    _second_pull_downloads_no_parquet(data, target, pubs)


def _second_pull_downloads_no_parquet(data, target, pubs):
    import socket
    import threading
    import time

    import uvicorn

    from lagesbild.pull.client import pull
    from lagesbild.pull.server import create_app
    from lagesbild.pull.tokens import TokenStore

    _, token = TokenStore(data / "pull_tokens.json").create("0580", label="test")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(data / "publications", data / "pull_tokens.json")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        url, dest = f"http://127.0.0.1:{port}", data / "pulled" / "linkoping"
        target.set_latest(pubs[0])
        first = pull(url, token, dest)
        assert any(p.endswith(".parquet") for p in first.downloaded)
        target.set_latest(pubs[1])
        second = pull(url, token, dest)
        assert second.publication_id == pubs[1]
        assert not [p for p in second.downloaded if p.endswith(".parquet")], second.downloaded
    finally:
        server.should_exit = True
        thread.join(timeout=10)
