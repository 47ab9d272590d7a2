"""End-to-end tests of the dbt project on the small raw fixture (see dbt_helpers.py).

Each test reads the marts that one `dbt build` produced and checks values worked out by hand
from the fixture, so a wrong join, a lost row or a double count fails here.
"""

from __future__ import annotations

import csv
import math

import pandas as pd
import pytest
from dbt_helpers import W1, W2, W3, W4, W5

from lagesbild.settings import DBT_PROJECT_DIR, REFERENCE_DIR

pytestmark = pytest.mark.slow


def _parameters(version: str = "2026.1") -> dict[str, dict[str, float]]:
    with open(DBT_PROJECT_DIR / "seeds" / "estimation_model_parameters.csv", encoding="utf-8") as fh:
        return {
            row["parameter"]: {k: float(row[k]) for k in ("low", "central", "high")}
            for row in csv.DictReader(fh)
            if row["model_version"] == version
        }


def _advertiser(built, site: str, ad_id: str) -> str:
    df = built.query(
        f"select advertiser_key from int_ad_advertisers where site = '{site}' and ad_id = '{ad_id}'"
    )
    assert len(df) == 1
    return df.iloc[0, 0]


def test_advertisers_are_connected_components_across_sites(built_project):
    key = lambda site, ad: _advertiser(built_project, site, ad)  # noqa: E731
    # a1 (site-a) and b1 (site-b) share phone key k1: one advertiser across sites.
    assert key("site-a", "a1") == key("site-b", "b1")
    # a3 showed k3 then k4; b2 on the other site shows k4: all one advertiser.
    assert key("site-a", "a3") == key("site-b", "b2")
    # An ad without a phone key is its own advertiser; different keys stay apart.
    assert len({key("site-a", "a6"), key("site-a", "a1"), key("site-a", "a2"), key("site-a", "a3")}) == 4
    linked = built_project.query("select is_phone_linked from int_ad_advertisers where ad_id = 'a6'")
    assert not linked.iloc[0, 0]


def test_gazetteer_resolves_locations(built_project):
    df = built_project.query(
        "select location_raw, municipality_code, location_status from int_location_resolution"
    )
    got = {r.location_raw: (r.municipality_code, r.location_status) for r in df.itertuples()}
    assert got["Linkoping"] == ("0580", "mapped")  # å/ä/ö folded
    assert got["MOTALA!"] == ("0583", "mapped")  # case and punctuation
    assert got["Norrköping Hageby"] == ("0581", "mapped")  # multi-word, any token
    assert got["Berga"][1] == "ambiguous"  # district of both Linköping and Norrköping
    assert got["Berga, Norrköping"] == ("0581", "mapped")  # resolved by the other token
    assert got["Östra Ryd"] == ("0582", "mapped")  # not Ryd (a Linköping district)
    assert got["Jönköping"][1] == "out_of_county"
    assert got["xyzzy"][1] == "unknown"
    assert pd.isna(got["Jönköping"][0]) and pd.isna(got["Berga"][0])


def test_observations_keep_every_row_once(built_project):
    df = built_project.query("select site, ad_id, snapshot_file, week_start from int_ad_observations")
    # 6 + 4 (a1 repeated in one capture counts once) + 5 + 2 + 2 + 1 + 2 + 1 lines.
    assert len(df) == 23
    assert not df.duplicated(["site", "ad_id", "snapshot_file"]).any()


def test_coverage_shows_gaps_and_locations(built_project):
    cov = built_project.query("select * from mart_coverage_weekly").set_index(["site", "week_start"])
    assert len(cov) == 2 * 5  # two sites x every week from W1 to W5, present or not
    assert not cov.loc[("site-b", W3), "snapshot_present"]
    assert cov.loc[("site-a", W3), "snapshot_present"]
    assert not cov.loc[("site-a", W4), "snapshot_present"] and not cov.loc[("site-b", W4), "snapshot_present"]
    w1a, w1b = cov.loc[("site-a", W1)], cov.loc[("site-b", W1)]
    assert (w1a["snapshot_files"], w1a["rows"], w1a["quarantined_rows"], w1a["ambiguous_rows"]) == (
        2,
        10,
        1,
        1,
    )
    assert (w1b["rows"], w1b["unmapped_rows"], w1b["out_of_county_rows"]) == (5, 1, 1)
    assert w1b["unmapped_share"] == pytest.approx(0.2)
    weekly = built_project.query(
        "select week_start, coverage_complete from mart_prevalence_weekly where region_code = '05'"
    )
    complete = dict(zip(weekly.week_start, weekly.coverage_complete, strict=True))
    assert complete == {W1: True, W2: True, W3: False, W4: False, W5: True}


def test_weekly_prevalence_and_estimates(built_project):
    df = built_project.query(
        "select * from mart_prevalence_weekly where week_start = '2024-01-01'"
    ).set_index("region_code")
    assert len(df) == 15  # 13 municipalities + the county + "Övriga länet", zeros included
    county = df.loc["05"]
    # Advertisers in W1: k1 (7 days), k2 (Wed: 5), k3/k4 (7), k5 (Mon: 7), k8 (Sun in Stockholm: 1),
    # a6 without post date (first capture Tue: 6). Unmapped/ambiguous/out-of-county ads count nowhere.
    assert county["active_advertisers"] == 6
    assert county["advertiser_days"] == 7 + 5 + 7 + 7 + 1 + 6
    assert (county["ads_seen"], county["unique_ads"], county["new_ads"]) == (12, 8, 8)
    assert df.loc["0581", "advertiser_days"] == 12 and df.loc["0581", "active_advertisers"] == 2
    assert df.loc["0509", "ads_seen"] == 0 and df.loc["0509", "est_purchases_central"] == 0
    p = _parameters()
    for bound in ("low", "central", "high"):
        expected = 33 * p["worked_share"][bound] * p["clients_per_worked_day"][bound]
        assert county[f"est_purchases_{bound}"] == pytest.approx(expected)
    assert county["model_version"] == "2026.1"
    w2 = built_project.query(
        "select new_ads from mart_prevalence_weekly where region_code = '05' and week_start = '2024-01-08'"
    )
    assert w2.iloc[0, 0] == 0  # everything in W2 was seen in W1


def test_yearly_prevalence_population_fallback_and_shares(built_project):
    df = built_project.query("select * from mart_prevalence_yearly where year = 2024").set_index(
        "region_code"
    )
    weekly = built_project.query(
        "select region_code, sum(est_purchases_central) as s from mart_prevalence_weekly group by 1"
    )
    assert df.loc["05", "est_purchases_central"] == pytest.approx(
        weekly.set_index("region_code").loc["05", "s"]
    )
    # 2024 population is null in the source: the latest earlier year (2023) is used and named.
    assert df.loc["0580", "population"] == 167404 and df.loc["0580", "population_year"] == 2023
    # The label names the table and the year used, and says nothing of an offline default here.
    assert df.loc["0580", "population_source"].endswith(" 31 Dec 2023")
    assert "offline" not in df.loc["0580", "population_source"]
    assert df.loc["0580", "active_advertisers"] == 1 and df.loc["0580", "advertiser_weeks"] == 4
    assert df.loc["05", "share_of_county"] == pytest.approx(1.0)
    assert df.loc["0580", "share_of_county"] == pytest.approx(
        df.loc["0580", "est_purchases_central"] / df.loc["05", "est_purchases_central"]
    )
    assert df.loc["05", "weeks_covered"] == 3
    # With the hidden population: the county's Chapman factor 5.7 / 5 seen (n1 4, n2 3, m2 2;
    # variance 5 x 4 x 2 x 1 / (3^2 x 4) = 1.1) on every region, and a log-normal 95 % range from
    # the parameter ranges (2.5 %/97.5 % points) and the factor's variance.
    county = df.loc["05"]
    assert county["hidden_population_factor"] == pytest.approx(5.7 / 5)
    assert county["est_purchases_incl_hidden"] == pytest.approx(county["est_purchases_central"] * 1.14)
    sd = math.sqrt(
        (math.log(0.35 / 0.15) / 3.919928) ** 2 + (math.log(2.0) / 3.919928) ** 2 + math.log(1 + 1.1 / 5.7**2)
    )
    assert county["est_purchases_incl_hidden_high"] == pytest.approx(
        county["est_purchases_incl_hidden"] * math.exp(1.959964 * sd), rel=1e-6
    )
    assert county["est_purchases_incl_hidden_low"] == pytest.approx(
        county["est_purchases_incl_hidden"] / math.exp(1.959964 * sd), rel=1e-6
    )
    assert (df["purchases_incl_hidden_method"] == "lognormal_propagation").all()
    assert county["purchases_incl_hidden_model_version"] == "2026.1+hp-2026.5"


def _national_adult_men_share() -> float:
    """Share of Swedish men aged 18+ from the reference CSV, ages spread evenly within bands."""
    shares = {}
    with open(REFERENCE_DIR / "national_age_sex_shares.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["region"] == "Sweden" and row["sex"] == "men" and row["measure"] == "pct_of_same_sex":
                shares.setdefault(int(row["year"]), {})[row["age_group"]] = float(row["value"])
    bands = shares[max(shares)]
    adult = 0.0
    for group, pct in bands.items():
        if group.endswith("+"):
            adult += pct if int(group[:-1]) >= 18 else 0
        else:
            lo, hi = (int(x) for x in group.split("-"))
            adult += pct * min(1, max(0, (hi + 1 - 18) / (hi + 1 - lo)))
    return adult / sum(bands.values())


def test_demand_with_denominators_and_fallback(built_project):
    df = built_project.query("select * from mart_demand_yearly where year = 2023").set_index("region_code")
    county, lkpg, nkpg = df.loc["05"], df.loc["0580"], df.loc["0581"]
    # 2023: 0580 buyers aged 30 (bought at home) and 40 (bought in 0581); 0581 aged 50 at home;
    # the Jönköping resident is in no county region.
    assert (county["convicted_buyers"], county["bought_in_home_municipality"]) == (3, 2)
    assert county["mean_age"] == pytest.approx(40) and (county["min_age"], county["max_age"]) == (30, 50)
    assert (county["age_25_34"], county["age_35_44"], county["age_45_54"]) == (1, 1, 1)
    assert lkpg["share_bought_in_home"] == pytest.approx(0.5)
    # Norrköping has its own breakdown of men by age: 1000 + 20 aged 18 or older.
    assert nkpg["adult_men"] == 1020 and "by single year of age" in nkpg["denominator_source"]
    assert nkpg["buyers_per_100k_adult_men"] == pytest.approx(1 * 100000 / 1020)
    # Linköping has none: men total 2019 x national share of adult men, and the row says so.
    assert lkpg["adult_men"] == round(83183 * _national_adult_men_share())
    assert lkpg["denominator_source"].startswith("fallback: men total 2019")
    assert lkpg["population_source"].endswith(" 31 Dec 2019")  # the men total behind the fallback
    assert df.loc["0509", "convicted_buyers"] == 0  # a municipality without buyers is a row of zeros


def test_flows_keep_out_of_county_and_unknown(built_project):
    df = built_project.query("select * from mart_flows")
    flows = {(r.home_region_code, r.purchase_region_code): r.buyers for r in df.itertuples()}
    assert flows == {
        ("0580", "0580"): 2,
        ("0580", "0581"): 1,
        ("0581", "0581"): 1,
        ("0680", "0580"): 1,
        ("unknown", "0580"): 1,
    }
    assert set(df.home_region_name) >= {"Jönköping", "unknown"}
    assert (df.period_start_year.unique().tolist(), df.period_end_year.unique().tolist()) == ([2023], [2024])


def test_hidden_population_counts_and_small_overlap(built_project):
    df = built_project.query("select * from mart_hidden_population where year = 2024").set_index(
        "region_code"
    )
    county = df.loc["05"]
    # Phone-linked advertisers mapped in the county: site-a k1, k2, k3/k4, k5; site-b k1, k3/k4, k8.
    assert (county["n1"], county["n2"], county["m2"]) == (4, 3, 2)
    # m2 = 2 < 7: published as low_overlap, 5 x 4 / 3 - 1 = 5.7, interval never below the 5 seen.
    assert county["estimate_status"] == "low_overlap" and county["chapman_n"] == 5.7
    assert county["ci_method"] == "low_overlap_seen_to_poisson_bound" and county["ci_low"] == 5
    assert 5 <= county["ci_low"] < county["chapman_n"] < county["ci_high"]
    assert county["model_version"] == "hp-2026.5"
    # The weekly-occasion estimator counts the same advertisers (two sites: s_obs = n1 + n2 - m2).
    assert county["s_obs"] == 5 and county["f1"] + county["f2"] <= 5
    assert county["chao2_ci_low"] >= 5 and county["chao2_ci_high"] > county["chao2_ci_low"]
    assert set(df.estimate_status) <= {"low_overlap", "no_overlap", "no_advertisers"}
    assert df.loc[df.m2 == 0, "chapman_n"].isna().all()
    assert (df.loc[df.m2 > 0, "ci_low"] >= (df.n1 + df.n2 - df.m2)[df.m2 > 0]).all()


@pytest.fixture
def project_copy(built_project, tmp_path):
    """A private copy of the built data dir and dbt target (cheaper than a second full build)."""
    import shutil

    from dbt_helpers import DbtRun

    shutil.copytree(built_project.data_dir, tmp_path / "data")
    shutil.copytree(built_project.work_dir / "target", tmp_path / "dbt" / "target")
    return DbtRun(tmp_path / "data", tmp_path / "dbt")


def test_another_county_comes_from_the_same_models(project_copy):
    """With county_code 06 the Jönköping ad is the only mapped one, and 06's municipalities and
    county come out of the same models (no Östergötland code path)."""
    run = project_copy
    run("run", "--full-refresh", "--vars", '{"county_code": "06"}')
    regions = run.query("select distinct region_code, region_level from mart_prevalence_weekly")
    with open(REFERENCE_DIR / "municipalities_se.csv", encoding="utf-8") as fh:
        expected = {m["municipality_code"] for m in csv.DictReader(fh) if m["county_code"] == "06"}
    assert set(regions.region_code[regions.region_level == "municipality"]) == expected
    assert set(regions.region_code[regions.region_level == "county"]) == {"06"}
    status = run.query("select location_status from int_location_resolution where location_raw = 'Jönköping'")
    assert status.iloc[0, 0] == "mapped"
    week = run.query(
        "select region_code, active_advertisers, advertiser_days from mart_prevalence_weekly "
        "where week_start = '2024-01-01' and active_advertisers > 0 order by region_code"
    )
    # b3 (posted before the week) is the county's and Jönköping's only advertiser: 7 days each.
    assert week.values.tolist() == [["06", 1, 7], ["0680", 1, 7]]


def test_small_area_pool_counts_its_members_advertisers_once(built_project):
    """The pool "Övriga länet": the municipalities under var pool_max_population (2019), fixed, with
    distinct advertisers over all members (not a sum of the members' rows)."""
    members = built_project.query(
        "select region_code from mart_prevalence_yearly where pool_code = '05-pooled' "
        "and region_level = 'municipality' group by region_code order by region_code"
    ).region_code.tolist()
    assert members == ["0509", "0512", "0513", "0560", "0563", "0584"]  # < 10,000 residents in 2019
    pool = built_project.query(
        "select year, active_advertisers, population from mart_prevalence_yearly "
        "where region_code = '05-pooled' and region_level = 'pooled' order by year"
    )
    assert len(pool) > 0
    distinct = built_project.query(
        "select cast(isoyear(w.week_start) as integer) as year, count(distinct w.advertiser_key) as n "
        "from int_advertiser_region_weeks w where w.region_code in "
        "('0509', '0512', '0513', '0560', '0563', '0584') group by 1 order by 1"
    )
    got = dict(zip(pool.year, pool.active_advertisers, strict=True))
    for year, n in zip(distinct.year, distinct.n, strict=True):
        assert got[year] == n
    demand = built_project.query(
        "select count(*) as n from mart_demand_yearly where region_code = '05-pooled' and pool_code = '05-pooled'"
    )
    assert demand.n.iloc[0] > 0
