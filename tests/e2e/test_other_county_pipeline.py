"""The whole pipeline for Västra Götaland (14): another county's municipalities, names, population,
city-district gazetteer, reports and pull, from the same code as Östergötland.

The county runs at the same time as another run in another process on the same Dagster instance
(SQLite storage, the ``warehouse_writer`` pool of dagster.yaml), on another data folder: Östergötland's
demo with one site's snapshot of one week deleted. Both runs materialise the same assets and checks;
the second one's blocking gap check must fail naming the site and the week and stop its publication,
and the county's publication must carry its own run's quality results only (neither run may read the
other's). Twelve demo weeks, the cheapest range every check accepts (what is tested does not grow
with weeks: 49 municipalities, 50 reports, the pull); slow. Two runs on one data folder (the second
waits for the first's run lock) are tested in tests/operations/test_concurrency.py; two runs of the
same data publishing the same bytes, in tests/operations/test_backfill_idempotent.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from lagesbild.cli import main as cli_main
from lagesbild.publication import LocalFolderTarget, verify_publication
from lagesbild.pull.tokens import TokenStore
from lagesbild.settings import PROJECT_ROOT
from lagesbild.sources.reference import municipalities_of_county
from lagesbild.warehouse import connect
from tests.dagster_home import opened, project_home
from tests.pull.pull_server import serving

pytestmark = pytest.mark.slow
COUNTY = "14"
GAP_COUNTY, GAP_SITE, GAP_WEEK = "05", "annonsportal-b", "2024-10-14"
FIRST, LAST = "2024-09-02", "2024-11-18"  # 12 weeks, as in the other e2e runs
RUN = (
    "import dagster as dg, json, os\n"
    "from orchestration.run_demo import accept_offline_population, run_pipeline\n"
    f"if os.environ['LAGESBILD_COUNTY'] == {COUNTY!r}:\n"
    f"    accept_offline_population({COUNTY!r})\n"
    f"r = run_pipeline({FIRST!r}, {LAST!r}, instance=dg.DagsterInstance.get(), log_level='WARNING')\n"
    "print('RESULT ' + json.dumps({'run_id': r.run_id, 'success': r.success}))\n"
)


def _snapshot_of(inputs: Path, site: str, week_start: str) -> Path:
    start = date.fromisoformat(week_start)
    days = {(start + timedelta(days=i)).strftime("%Y%m%d") for i in range(7)}
    matches = [p for p in (inputs / "snapshots" / site).iterdir() if p.name.split("_")[-1][:8] in days]
    assert len(matches) == 1, matches
    return matches[0]


class Runs:
    def __init__(self, data_dir: Path, gap_dir: Path, home: Path, results: dict[str, dict]):
        self.data_dir, self.gap_dir, self.home, self.results = data_dir, gap_dir, home, results

    @property
    def publication(self) -> Path:
        pointer = (self.data_dir / "publications" / "LATEST").read_text(encoding="utf-8").strip()
        return self.data_dir / "publications" / pointer

    def check_evaluations(self, county: str) -> list:
        with opened(self.home) as instance:
            return [
                e.dagster_event.event_specific_data
                for e in instance.all_logs(self.results[county]["run_id"])
                if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
            ]


@pytest.fixture(scope="module")
def run14(tmp_path_factory, dbt_manifest):
    """The county's run and the gap run, started together in two processes on one instance."""
    from orchestration.run_demo import prepare_demo_inputs

    root = tmp_path_factory.mktemp("county14")
    data_dir, gap_dir = root / "data", root / "gap"
    home = project_home(root / "dagster_home")  # the warehouse_writer pool, the event log
    for county, folder in ((COUNTY, data_dir), (GAP_COUNTY, gap_dir)):
        with pytest.MonkeyPatch.context() as mp:  # the county's environment for the inputs only
            mp.setenv("LAGESBILD_COUNTY", county)
            prepare_demo_inputs(folder)
    _snapshot_of(gap_dir / "demo" / "inputs", GAP_SITE, GAP_WEEK).unlink()
    with opened(home) as instance:  # create the storage once, not racing
        instance.get_runs(limit=1)
    procs = {
        county: subprocess.Popen(
            [sys.executable, "-c", RUN],
            env={
                **os.environ,
                "LAGESBILD_DATA_DIR": str(folder),
                "DAGSTER_HOME": str(home),
                "LAGESBILD_COUNTY": county,
            },
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for county, folder in ((COUNTY, data_dir), (GAP_COUNTY, gap_dir))
    }
    results = {}
    for county, proc in procs.items():
        out, err = proc.communicate(timeout=900)
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, err[-3000:]
        results[county] = json.loads(lines[-1].removeprefix("RESULT "))
    return Runs(data_dir, gap_dir, home, results)


def test_each_of_two_concurrent_runs_is_judged_by_its_own_quality_results(run14):
    county, gap = run14.results[COUNTY], run14.results[GAP_COUNTY]
    assert county["success"] and not gap["success"], run14.results
    assert county["run_id"] != gap["run_id"]

    target = LocalFolderTarget(run14.data_dir / "publications")
    pubs = target.list_publications()
    assert len(pubs) == 1 and verify_publication(target, pubs[0]) == []
    quality = json.loads((run14.publication / "manifest.json").read_text(encoding="utf-8"))["quality"]
    assert quality["run_id"] == county["run_id"]
    own = [c for c in quality["checks"] if c["run_id"] == county["run_id"]]
    assert len(own) == len(quality["checks"]) > 0, {c["name"]: c["run_id"] for c in quality["checks"]}
    assert all(
        ev.passed or ev.severity != dg.AssetCheckSeverity.ERROR for ev in run14.check_evaluations(COUNTY)
    )


def test_a_missing_snapshot_fails_a_check_naming_it_and_blocks_publication(run14):
    failed = [
        ev
        for ev in run14.check_evaluations(GAP_COUNTY)
        if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed, "a blocking check must fail"
    text = " ".join(f"{ev.check_name} {ev.description} {ev.metadata}" for ev in failed)
    assert GAP_SITE in text and GAP_WEEK in text, text
    publications = run14.gap_dir / "publications"
    assert not publications.exists() or not any(
        p.is_dir() and not p.is_symlink() and not p.name.startswith(".") for p in publications.iterdir()
    ), os.listdir(publications)


def test_run_publishes_the_countys_municipalities(run14):
    publication = run14.publication
    assert run14.results[COUNTY]["success"], run14.results
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
    data_dir = run14.data_dir
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
    data_dir = run14.data_dir
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
    data_dir = run14.data_dir
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
