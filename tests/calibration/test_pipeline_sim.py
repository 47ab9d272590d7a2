"""The pipeline harness's simulated year (`make calibrate`, PIPELINE_SEEDS): the capture files it
writes carry exactly the counts it claims as truth, read back as the ingest reads them (file names,
phone normalisation), so a disagreement in the pipeline run is the pipeline's."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd

from lagesbild.calibration.pipeline import ADVERTISERS, COUNTY, WEEKS, compare, failures, simulate_snapshots
from lagesbild.demo.places import municipalities
from lagesbild.privacy.pseudonymise import normalise_phone

NAME = re.compile(r"^(?P<site>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{4})Z\.jsonl$")


def test_simulated_files_carry_the_claimed_counts(tmp_path):
    sim = simulate_snapshots(tmp_path, seed=5)
    files = sorted(tmp_path.glob("*/*.jsonl"))
    assert len(files) == sim.files == 2 * WEEKS
    code_of = {m.name: m.code for m in municipalities()}
    rows = []
    for path in files:
        match = NAME.match(path.name)
        assert match and match["site"] == path.parent.name
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rows.append(
                {
                    "site": record["site"],
                    "week": dt.date.fromisoformat(record["captured_at"][:10]).isocalendar()[:2],
                    "phone": normalise_phone(record["phone"]),
                    "code": code_of[record["location"]],
                }
            )
    ads = pd.DataFrame(rows)
    assert len(ads) == sim.lines and ads["phone"].notna().all()
    assert ads.groupby("phone")["code"].nunique().max() == 1  # one municipality per advertiser
    truth = sim.truth.set_index("region_code")
    for code, group in [*ads.groupby("code"), (COUNTY, ads)]:
        sites = group.groupby("phone")["site"].agg(set)
        weeks = group.groupby("phone")["week"].nunique()
        got = {
            "n1": int(sites.map(lambda s: "annonsportal-a" in s).sum()),
            "n2": int(sites.map(lambda s: "annonsportal-b" in s).sum()),
            "m2": int(sites.map(len).eq(2).sum()),
            "s_obs": len(weeks),
            "f1": int((weeks == 1).sum()),
            "f2": int((weeks == 2).sum()),
        }
        assert got == truth.loc[code, list(got)].to_dict()
    assert truth.loc[COUNTY, "n_true"] == sum(ADVERTISERS.values())


def test_compare_flags_a_count_that_differs_and_explains_suppression(tmp_path):
    sim = simulate_snapshots(tmp_path, seed=6)
    base = sim.truth.assign(year=2024, site_a="annonsportal-a", site_b="annonsportal-b")
    warehouse = base.assign(
        chapman_n=100.0, ci_low=50.0, ci_high=1000.0, estimate_status="ok",
        chao2_n=100.0, chao2_ci_low=50.0, chao2_ci_high=60.0, chao2_status="ok", model_version="x",
    )
    published = warehouse.copy()
    published.loc[published["region_code"] == "0586", ["m2", "chapman_n", "ci_low", "ci_high"]] = None
    table = compare(sim.truth, published, warehouse).assign(seed=6)
    assert failures(table) == []
    mjolby = table.set_index("region_code").loc["0586"]
    assert mjolby["suppressed"] == "m2" and bool(mjolby["chapman_from_warehouse"])
    big = table.set_index("region_code").loc["0580"]
    assert bool(big["chapman_covers"]) == (50 <= big["n_true"] <= 1000) and not big["chao2_covers"]
    wrong = warehouse.copy()
    wrong.loc[wrong["region_code"] == "0583", "f1"] += 1
    assert failures(compare(sim.truth, published, wrong).assign(seed=6)) == [
        "seed 6 region 0583: warehouse counts differ from the simulator's"
    ]
