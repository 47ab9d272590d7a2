"""The whole pipeline for Västra Götaland (14): another county's municipalities, names, population,
city-district gazetteer, reports and pull, from the same code as Östergötland. One run over the
twelve demo weeks every check accepts (what it tests does not grow with weeks: 49 municipalities,
50 reports, the pull), slow."""

from __future__ import annotations

import json
import socket
import threading
import time

import dagster as dg
import duckdb
import pandas as pd
import pytest
import uvicorn

from lagesbild.cli import main as cli_main
from lagesbild.pull.server import create_app
from lagesbild.pull.tokens import TokenStore
from lagesbild.sources.reference import municipalities_of_county

pytestmark = pytest.mark.slow
COUNTY = "14"
FIRST, LAST = "2024-09-02", "2024-11-18"  # 12 weeks, as in the other e2e runs


@pytest.fixture(scope="module")
def run14(tmp_path_factory, dbt_manifest):
    from orchestration.run_demo import accept_offline_population, prepare_demo_inputs, run_pipeline

    data_dir = tmp_path_factory.mktemp("county14")
    with pytest.MonkeyPatch.context() as mp:  # the county's environment for this module only
        mp.setenv("LAGESBILD_DATA_DIR", str(data_dir))
        mp.setenv("LAGESBILD_COUNTY", COUNTY)
        prepare_demo_inputs(data_dir)
        assert accept_offline_population(COUNTY)
        result = run_pipeline(FIRST, LAST, instance=dg.DagsterInstance.ephemeral())
        pointer = (data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
        yield data_dir, result, data_dir / "publications" / pointer


def test_run_publishes_the_countys_municipalities(run14):
    data_dir, result, publication = run14
    assert result.success, [e.message for e in result.all_events if e.is_failure]
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
    with duckdb.connect(str(data_dir / "warehouse" / "lagesbild.duckdb"), read_only=True) as con:
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(data_dir / "publications", tokens), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        monkeypatch.setenv("LAGESBILD_PULL_TOKEN", token)
        dest = tmp_path / "goteborg"
        assert cli_main(["pull", "--server", f"http://127.0.0.1:{port}", "--dest", str(dest)]) == 0
        capsys.readouterr()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    mine = pd.read_parquet(dest / "municipalities" / "1480" / "mart_prevalence_yearly.parquet")
    assert set(mine["region_code"]) == {"1480", "14"}
    assert (dest / "reports" / "1480.html").exists() and (dest / "reports" / "14.html").exists()
    assert not (dest / "municipalities" / "1481").exists() and not (dest / "reports" / "1481.html").exists()
