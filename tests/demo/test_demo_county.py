"""The county demo: determinism, layout, contract, calibration and the planted ground truth."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from demo_readers import CONTRACT_FIELDS, advertiser_days, read_lines, read_verdicts_csv, verdict_age

from lagesbild.cli import main as lagesbild_main
from lagesbild.demo.county import FIRST_MONDAY, SITES, WEEKS, generate_demo

FILE_NAME = re.compile(r"^(annonsportal-[ab])_(\d{8}T\d{4})Z\.jsonl(\.gz)?$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "inputs"
    summary = generate_demo(out)
    frame, bad = read_lines(out)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    return out, summary, frame, bad, truth


def _all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(demo, tmp_path):
    out, *_ = demo
    generate_demo(tmp_path / "again")
    assert _all_bytes(tmp_path / "again") == _all_bytes(out)
    generate_demo(tmp_path / "other", seed=7)
    other = _all_bytes(tmp_path / "other")
    assert other.keys() != _all_bytes(out).keys() or other != _all_bytes(out)


def test_rerun_into_the_same_folder_leaves_no_stale_captures(demo, tmp_path):
    generate_demo(tmp_path, seed=7)
    generate_demo(tmp_path, seed=8)
    assert _all_bytes(tmp_path) == _all_bytes(generate_demo(tmp_path / "fresh", seed=8).out_dir)


def test_one_capture_per_site_per_week_named_by_its_utc_time(demo):
    out, summary, frame, *_ = demo
    for site in SITES:
        files = sorted((out / "snapshots" / site).iterdir())
        assert len(files) == WEEKS
        assert all(FILE_NAME.match(f.name) and FILE_NAME.match(f.name)[1] == site for f in files)
        assert any(f.name.endswith(".gz") for f in files) and any(f.name.endswith(".jsonl") for f in files)
    weeks = frame.groupby("site")["week_start"].agg(["min", "max", "nunique"])
    assert (weeks["min"] == FIRST_MONDAY).all() and (weeks["max"] == pd.Timestamp("2025-12-22").date()).all()
    assert (weeks["nunique"] == WEEKS).all()
    stamps = frame.groupby("file")["captured"].first()
    for name, captured in stamps.items():
        assert FILE_NAME.match(name)[2] == captured.strftime("%Y%m%dT%H%M")


def test_gzip_headers_carry_no_timestamp(demo):
    out, *_ = demo
    for path in (out / "snapshots").glob("*/*.gz"):
        header = path.read_bytes()[:10]
        assert header[4:8] == b"\x00\x00\x00\x00", path.name  # MTIME = 0
        assert gzip.decompress(path.read_bytes())  # and the stream is complete


def test_lines_follow_contract_v1(demo):
    _, _, frame, *_ = demo
    assert set(frame.columns) >= set(CONTRACT_FIELDS)
    assert frame["captured_at"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$").all()
    assert frame["posted_at"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$").all()
    assert set(frame["captured_at"].str[-6:]) == {"+01:00", "+02:00"}  # winter and summer time
    assert (frame["posted"] < frame["captured"]).all()
    assert frame["site"].isin(SITES).all()
    assert frame.groupby("file")["site"].nunique().eq(1).all()


def test_summary_matches_the_files_on_disk(demo):
    out, summary, *_ = demo
    on_disk = [p for p in out.rglob("*") if p.is_file()]
    assert summary.files == len(on_disk)
    assert summary.bytes == sum(p.stat().st_size for p in on_disk)
    lines = 0
    for path in (out / "snapshots").glob("*/*"):
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        lines += data.count(b"\n")
    assert summary.rows == lines
    assert sum(site["rows"] for site in summary.per_site.values()) == lines
    assert "files" in summary.describe() and "annonsportal-b" in summary.describe()


def test_mess_is_present_but_well_under_two_percent(demo):
    _, summary, frame, bad, truth = demo
    expected = truth["quarantinable_lines"]
    assert bad == {
        "malformed_json": expected["malformed_json_lines"],
        "missing_ad_id": expected["missing_ad_id_lines"],
        "duplicate": expected["duplicate_lines"],
    }
    assert all(count > 0 for count in bad.values())
    assert sum(bad.values()) / summary.rows < 0.02
    assert frame["phone"].notna().mean() > 0.98 and frame["phone"].isna().any()
    assert (frame["location"] == "").any()


def test_advertiser_days_per_year_match_the_calibration(demo):
    _, _, frame, *_ = demo
    per_year = advertiser_days(frame, []).groupby("year")["days"].sum()
    assert list(per_year.index) == [2024, 2025]
    assert per_year.between(4300 * 0.9, 4300 * 1.1).all(), per_year.to_dict()
    per_week = frame.dropna(subset=["digits"]).groupby("week_start")["digits"].nunique()
    assert 11 <= per_week.mean() <= 15


def test_linkoping_and_norrkoping_hold_just_over_80_percent(demo):
    _, _, frame, *_ = demo
    days = advertiser_days(frame.dropna(subset=["municipality"]), ["municipality"])
    by_code = days.groupby("municipality")["days"].sum()
    share = (by_code["0580"] + by_code["0581"]) / by_code.sum()
    assert 0.80 <= share <= 0.85, share
    assert len(by_code) == 13  # every municipality of the county appears


def test_sites_overlap_enough_for_capture_recapture(demo):
    _, _, frame, *_ = demo
    frame = frame.dropna(subset=["digits"]).assign(
        year=[d.isocalendar()[0] for d in frame.dropna(subset=["digits"])["week_start"]]
    )
    for _, year in frame.groupby("year"):
        a = set(year.loc[year["site"] == SITES[0], "digits"])
        b = set(year.loc[year["site"] == SITES[1], "digits"])
        assert 150 <= len(a) <= 250 and 100 <= len(b) <= 200 and 40 <= len(a & b) <= 90, (
            len(a),
            len(b),
            len(a & b),
        )


def test_phones_are_written_in_many_ways(demo):
    _, _, frame, *_ = demo
    by_phone = frame.dropna(subset=["digits"]).groupby("digits")
    several_ads = by_phone["ad_id"].nunique() > 1
    written = by_phone["phone"].nunique()[several_ads]
    assert (written > 1).mean() > 0.6  # the same advertiser writes its number differently across ads
    phones = frame["phone"].dropna()
    for pattern in (
        r"^\+46 7\d \d{3} \d\d \d\d$",
        r"^00467\d{8}$",
        r"^07\d-\d{3} \d\d \d\d$",
        r"^\(07\d\) ",
        r"[Ol]",
    ):
        assert phones.str.contains(pattern).any(), pattern
    assert (phones.notna() & frame["digits"].isna()).any()  # unparseable ones too


def test_locations_are_written_as_people_write_them(demo):
    _, _, frame, *_ = demo
    locations = set(frame["location"].dropna())
    assert {"Linköping", "Norrköping", "Linkoping", "Norrkoping"} <= locations
    assert any(re.match(r"^Norrköping \w", text) for text in locations)  # "Norrköping Hageby"
    assert locations & {"Jönköping", "Stockholm"} and locations & {"centrum", "privat", "hemma hos mig"}
    assert "Berg" in locations
    assert frame["municipality"].notna().mean() > 0.85


def test_exactly_three_ads_state_an_age_under_18(demo):
    _, _, frame, _, truth = demo
    minors = frame[frame["stated_age"] < 18]
    ads = minors.groupby(["site", "ad_id"])["week_start"].nunique()
    assert len(ads) == 3 and ads.between(1, 3).all()
    assert {(a["site"], a["ad_id"]) for a in truth["under_18_ads"]} == set(ads.index)
    assert set(minors["stated_age"]) <= {16, 17}
    adults = frame.loc[frame["stated_age"].notna() & (frame["stated_age"] >= 18), "stated_age"]
    assert adults.between(18, 45).all() and len(adults) + len(minors) == frame["stated_age"].notna().sum()


def test_the_touring_advertiser_uses_one_phone_in_three_municipalities_a_week(demo):
    _, _, frame, _, truth = demo
    touring = truth["touring"]
    ads = frame[(frame["site"] == touring["site"]) & frame["ad_id"].isin(touring["ad_ids"])]
    assert ads["digits"].nunique() == 1
    per_week = ads.groupby("week_start")["municipality"].nunique()
    assert (per_week == 3).sum() >= 2
    phone = ads["digits"].iloc[0]
    assert set(frame.loc[frame["digits"] == phone, "ad_id"]) == set(touring["ad_ids"])  # nothing else
    text = json.dumps(truth)
    assert not any(d in text or d[1:] in text for d in frame["digits"].dropna().unique())  # no phone number


def test_verdict_register_is_calibrated(demo):
    out, summary, *_, truth = demo
    register = read_verdicts_csv(out)
    bad_rows = {item["row"]: item["reason"] for item in truth["verdict_bad_rows"]}
    assert sorted(bad_rows.values()) == ["decision_before_offence", "impossible_age", "unknown_municipality"]
    good = register.drop(index=list(bad_rows))
    ages = good.apply(verdict_age, axis=1)
    assert ages.min() == 19 and ages.max() == 69 and 35 <= ages.mean() <= 39
    assert (good["buyer_age"] == "").any() and (good["buyer_birth_year"] != "").any()
    assert (good["home_municipality"] == good["purchase_municipality"]).mean() > 0.5
    assert good["purchase_municipality"].isin(["0580", "0581"]).mean() > 0.7
    assert good["home_municipality"].isin(["0680", "0180"]).any()
    per_year = good["offence_date"].str[:4].value_counts()
    assert (
        per_year.index.tolist() and per_year.between(38, 52).all() and set(per_year.index) == {"2024", "2025"}
    )
    assert 0.5 <= (good["decision_type"] == "summary_order").mean() <= 0.7
    assert set(good["court"]) == {"Linköpings tingsrätt", "Norrköpings tingsrätt"}
    assert (good["contact_channel"] == "ad_site").mean() > 0.5
    assert good["case_number"].str.match(r"^B \d{4}-\d\d$").all() and good["case_number"].is_unique
    assert summary.verdict_rows == len(register)


def test_the_three_bad_verdict_rows_are_what_ground_truth_says(demo):
    out, *_, truth = demo
    register = read_verdicts_csv(out)
    for item in truth["verdict_bad_rows"]:
        row = register.loc[item["row"]]
        if item["reason"] == "impossible_age":
            assert row["buyer_age"] == "7"
        elif item["reason"] == "decision_before_offence":
            assert row["decision_date"] < row["offence_date"]
        else:
            assert row["purchase_municipality"] == "Atlantis"


def test_xlsx_holds_the_same_rows_with_swedish_headers_and_names(demo):
    out, *_ = demo
    register = read_verdicts_csv(out)
    sheet = openpyxl.load_workbook(out / "verdicts" / "register.xlsx", read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Målnummer", "Domstol", "Beslutstyp") and "Hemkommun" in rows[0]
    assert len(rows) - 1 == len(register)
    assert [r[0] for r in rows[1:]] == register["case_number"].tolist()
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Beslutstyp"] in {"dom", "strafföreläggande"} and first["Beslutsdatum"].year >= 2024
    names = {r[rows[0].index("Brottskommun")] for r in rows[1:]}
    assert {"Linköping", "Norrköping", "Atlantis"} <= names


def test_cli_writes_the_demo_and_says_what_it_wrote(tmp_path, capsys):
    assert lagesbild_main(["demo", "--out", str(tmp_path), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "files" in printed and "annonsportal-a" in printed and "verdict register" in printed
    assert len(list((tmp_path / "snapshots" / "annonsportal-a").iterdir())) == WEEKS
