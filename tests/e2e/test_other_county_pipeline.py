"""The whole pipeline for Västra Götaland (14): another county's municipalities, names, population,
city-district gazetteer, reports and pull, from the same code as Östergötland.

The county is run twice at once, in two processes on one Dagster instance (SQLite storage, the
``warehouse_writer`` pool of dagster.yaml) and one data folder, where the second run waits for the
first's run lock (one run at a time per data dir): each publication must carry the quality results
of the run that published it, both must be complete and, made from the same inputs,
byte-identical in their Parquet files, so a municipality pulling the second after the first
downloads no Parquet file again. Twelve demo weeks, the cheapest range every check accepts (what is
tested does not grow with weeks: 49 municipalities, 50 reports, the pull); slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from lagesbild.cli import main as cli_main
from lagesbild.publication import LocalFolderTarget, verify_publication
from lagesbild.pull.tokens import TokenStore
from lagesbild.settings import PROJECT_ROOT
from lagesbild.sources.reference import municipalities_of_county
from lagesbild.warehouse import connect
from tests.pull.pull_server import serving

pytestmark = pytest.mark.slow
COUNTY = "14"
FIRST, LAST = "2024-09-02", "2024-11-18"  # 12 weeks, as in the other e2e runs
RUN = (
    "import dagster as dg, json\n"
    "from orchestration.run_demo import accept_offline_population, run_pipeline\n"
    f"accept_offline_population({COUNTY!r})\n"
    f"r = run_pipeline({FIRST!r}, {LAST!r}, instance=dg.DagsterInstance.get(), log_level='WARNING')\n"
    "print('RESULT ' + json.dumps({'run_id': r.run_id, 'success': r.success}))\n"
)


@pytest.fixture(scope="module")
def run14(tmp_path_factory, dbt_manifest):
    """Two concurrent runs of the county: (data dir, the runs' results, the latest publication)."""
    import dagster as dg

    from orchestration.run_demo import prepare_demo_inputs

    root = tmp_path_factory.mktemp("county14")
    data_dir, home = root / "data", root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")  # the warehouse_writer pool
    with pytest.MonkeyPatch.context() as mp:  # the county's environment for the inputs only
        mp.setenv("LAGESBILD_COUNTY", COUNTY)
        prepare_demo_inputs(data_dir)
    with dg.DagsterInstance.from_config(str(home)) as instance:  # create the storage once, not racing
        instance.get_runs(limit=1)
    env = {
        **os.environ,
        "LAGESBILD_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(home),
        "LAGESBILD_COUNTY": COUNTY,
    }
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
    pointer = (data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
    return data_dir, results, data_dir / "publications" / pointer


def test_two_concurrent_runs_publish_their_own_quality_results(run14):
    data_dir, results, _ = run14
    assert all(r["success"] for r in results), results
    run_ids = {r["run_id"] for r in results}
    assert len(run_ids) == 2

    target = LocalFolderTarget(data_dir / "publications")
    pubs = target.list_publications()
    assert len(pubs) == 2
    published_by = set()
    for pub in pubs:
        assert verify_publication(target, pub) == []
        quality = json.loads((data_dir / "publications" / pub / "manifest.json").read_text())["quality"]
        assert quality["run_id"] in run_ids
        own = [c for c in quality["checks"] if c["run_id"] == quality["run_id"]]
        assert len(own) == len(quality["checks"]) > 0, {c["name"]: c["run_id"] for c in quality["checks"]}
        published_by.add(quality["run_id"])
    assert published_by == run_ids

    manifests = [json.loads((data_dir / "publications" / p / "manifest.json").read_text()) for p in pubs]
    parquet = sorted(p for p in manifests[0]["files"] if p.endswith(".parquet"))
    assert parquet and parquet == sorted(p for p in manifests[1]["files"] if p.endswith(".parquet"))
    differ = [p for p in parquet if manifests[0]["files"][p]["sha256"] != manifests[1]["files"][p]["sha256"]]
    assert not differ, f"same inputs, different bytes: {differ}"


def test_a_second_pull_of_the_same_data_downloads_no_parquet(run14, tmp_path):
    from lagesbild.pull.client import pull

    data_dir, _, _ = run14
    target = LocalFolderTarget(data_dir / "publications")
    pubs = target.list_publications()
    tokens = tmp_path / "tokens.json"
    _, token = TokenStore(tokens).create("1480", label="test")
    latest = (data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
    try:
        with serving(data_dir / "publications", tokens) as port:
            dest = tmp_path / "goteborg"
            target.set_latest(pubs[0])
            url = f"http://127.0.0.1:{port}"
            first = pull(url, token, dest)
            assert any(p.endswith(".parquet") for p in first.downloaded)
            target.set_latest(pubs[1])
            second = pull(url, token, dest)
            assert second.publication_id == pubs[1]
            assert not [p for p in second.downloaded if p.endswith(".parquet")], second.downloaded
    finally:
        target.set_latest(latest)  # the module's other tests read the latest publication


def test_run_publishes_the_countys_municipalities(run14):
    data_dir, results, publication = run14
    assert all(r["success"] for r in results), results
    manifest = json.loads((publication / "manifest.json").read_text(encoding="utf-8"))
    codes = set(municipalities_of_county(COUNTY)["municipality_code"])
    assert len(codes) == 49
    published = {p.split("/")[1] for p in manifest["files"] if p.startswith("municipalities/")}
    assert published <= codes and "1480" in published
    assert manifest["county_code"] == COUNTY
    reports = {p for p in manifest["files"] if p.startswith("reports/")}
    assert {f"reports/{c}.html" for c in codes | {COUNTY}} <= reports
    assert "<h1>Västra Götalands län</h1>" in (publication / "reports" / "14.html").read_text("utf-8")
    assert "<h1>Göteborgs kommun</h1>" in (publication / "reports" / "1480.html").read_text("utf-8")


def test_population_is_the_offline_2019_default_and_says_so(run14):
    data_dir, _, _ = run14
    yearly = pd.read_parquet(data_dir / "marts" / "mart_prevalence_yearly.parquet").set_index(
        ["region_code", "year"]
    )
    gothenburg = yearly.loc[("1480", 2024)]
    assert gothenburg["population"] == 579281 and gothenburg["population_year"] == 2019
    assert "offline default" in gothenburg["population_source"]
    assert yearly.loc[("14", 2024), "region_name"] == "Västra Götalands län"
    demand = pd.read_parquet(data_dir / "marts" / "mart_demand_yearly.parquet")
    with_men = demand[demand["adult_men"].notna()]
    assert len(with_men) and with_men["population_source"].str.contains("offline default").all()


def test_most_demo_locations_resolve_and_district_names_count(run14):
    data_dir, _, _ = run14
    with connect(data_dir / "warehouse" / "lagesbild.duckdb", read_only=True) as con:
        shares = dict(
            con.execute(
                "select location_status, count(*) from stg_raw__ad_snapshots s "
                "join int_location_resolution r using (location_raw) group by 1"
            ).fetchall()
        )
        district = con.execute(
            "select count(*) from int_location_resolution r join int_gazetteer g "
            "on r.location_normalised = g.name_normalised "
            "where r.location_status = 'mapped' and g.entry_kind like 'regso%'"
        ).fetchone()[0]
    total = sum(shares.values())
    assert shares["mapped"] / total > 0.85, shares
    assert shares.get("ambiguous", 0) > 0  # names shared inside the county stay ambiguous
    assert district > 0  # Gothenburg's city districts resolve through the RegSO names


def test_gothenburg_pulls_its_files(run14, tmp_path, monkeypatch, capsys):
    data_dir, _, publication = run14
    tokens = tmp_path / "tokens.json"
    _, token = TokenStore(tokens).create("1480")
    with serving(data_dir / "publications", tokens) as port:
        monkeypatch.setenv("LAGESBILD_PULL_TOKEN", token)
        dest = tmp_path / "goteborg"
        assert cli_main(["pull", "--server", f"http://127.0.0.1:{port}", "--dest", str(dest)]) == 0
        capsys.readouterr()
    mine = pd.read_parquet(dest / "municipalities" / "1480" / "mart_prevalence_yearly.parquet")
    assert set(mine["region_code"]) == {"1480", "14"}
    assert (dest / "reports" / "1480.html").exists() and (dest / "reports" / "14.html").exists()
    assert not (dest / "municipalities" / "1481").exists() and not (dest / "reports" / "1481.html").exists()
