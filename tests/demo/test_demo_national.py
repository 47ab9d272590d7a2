"""The national-scale generator at a small size: shape, contract, determinism, reference files."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest
from demo_readers import CONTRACT_FIELDS, phone_digits, read_verdicts_csv, verdict_age

from lagesbild.demo.national import SITES, generate_national
from lagesbild.demo.places import municipalities

ROWS = 50_000
YEARS = 2


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    summary = generate_national(out, seed=11, target_rows=ROWS, years=YEARS)
    lines = []
    for path in sorted((out / "snapshots").glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            lines.append((path, line))
    return out, summary, lines


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_size_and_layout(national):
    out, summary, lines = national
    assert abs(summary.rows - ROWS) / ROWS < 0.05
    assert summary.rows == len(lines)
    for site in SITES:
        files = sorted((out / "snapshots" / site).iterdir())
        assert len(files) == 52 * YEARS and summary.per_site[site]["files"] == 52 * YEARS
        assert all(re.fullmatch(rf"{site}_\d{{8}}T\d{{4}}Z\.jsonl", f.name) for f in files)
    assert summary.per_site[SITES[0]]["rows"] > summary.per_site[SITES[1]]["rows"] > 0
    assert summary.bytes == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def test_every_line_follows_the_contract(national):
    _, _, lines = national
    records = {}
    for path, line in lines:
        record = json.loads(line)
        assert list(record)[: len(CONTRACT_FIELDS)] == CONTRACT_FIELDS
        assert record["site"] == path.parent.name
        assert (
            record["posted_at"] < record["captured_at"]
            or record["posted_at"][:10] < record["captured_at"][:10]
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", record["posted_at"])
        records.setdefault((record["site"], record["ad_id"]), set()).add(record["posted_at"])
    assert all(len(posted) == 1 for posted in records.values())  # an ad keeps its posting time
    first = [json.loads(line) for path, line in lines if path.name == lines[0][0].name]
    assert len({r["captured_at"] for r in first}) == 1


def test_ads_cover_the_country_with_readable_phones(national):
    _, _, lines = national
    records = [json.loads(line) for _, line in lines]
    names = {m.name for m in municipalities()}
    seen = {r["location"] for r in records} & names
    assert len(seen) >= 200  # of 290
    phones = [r["phone"] for r in records]
    readable = [p for p in phones if p and phone_digits(p)]
    assert 0.98 < len(readable) / len(phones) < 1
    assert any(p is None for p in phones) and "ring mig" in phones
    assert any(p.startswith("+46 ") for p in readable) and any(p.startswith("0046") for p in readable)
    raw = [line for _, line in lines]
    assert 0 < len(raw) - len(set(raw)) < 0.005 * len(raw)  # a few exact duplicate lines
    ages = [r["stated_age"] for r in records if r["stated_age"] is not None]
    assert min(ages) >= 18 and max(ages) <= 45


def test_population_file_covers_290_municipalities(national):
    out, *_ = national
    with (out / "population" / "population_synthetic.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["municipality_code", "year", "sex", "age_group", "population", "source"]
    codes = {r["municipality_code"] for r in rows if len(r["municipality_code"]) == 4}
    assert len(codes) == 290 and all(re.fullmatch(r"\d{4}", c) for c in codes) and "0114" in codes
    regions = {r["municipality_code"] for r in rows} - codes
    assert len(regions) == 22 and {"00", "05"} <= regions and all(re.fullmatch(r"\d{2}", c) for c in regions)
    assert {r["year"] for r in rows} == {"2023", "2024", "2025"}
    table = {(r["municipality_code"], r["year"], r["sex"]): int(r["population"]) for r in rows}
    for code in codes:
        assert table[(code, "2025", "men")] + table[(code, "2025", "women")] == table[(code, "2025", "total")]
    assert 9e6 < sum(table[(c, "2025", "total")] for c in codes) < 13e6
    # County and country rows are the sums of their municipalities (as Statistics Sweden publishes them).
    assert table[("00", "2025", "total")] == sum(table[(c, "2025", "total")] for c in codes)
    ostergotland = [c for c in codes if c.startswith("05")]
    assert table[("05", "2025", "men")] == sum(table[(c, "2025", "men")] for c in ostergotland)
    assert {r["source"] for r in rows} == {"synthetic, lagesbild national bench generator"}


def test_verdicts_are_national_and_plausible(national):
    out, summary, _ = national
    register = read_verdicts_csv(out)
    assert summary.verdict_rows == len(register)
    assert 45 * 21 * YEARS * 0.9 < len(register) < 45 * 21 * YEARS * 1.1
    ages = register[register["buyer_age"] != "7"].apply(verdict_age, axis=1)
    assert ages.min() == 19 and ages.max() == 69 and 34 <= ages.mean() <= 40
    assert register["home_municipality"].str.fullmatch(r"\d{4}|").mean() > 0.99
    purchase = register["purchase_municipality"]
    assert purchase[purchase.str.fullmatch(r"\d{4}")].str[:2].nunique() == 21  # every county
    assert (out / "verdicts" / "register.xlsx").stat().st_size > 0


def test_same_seed_same_bytes(national, tmp_path):
    out, *_ = national
    generate_national(tmp_path, seed=11, target_rows=ROWS, years=YEARS)
    assert _digest(tmp_path) == _digest(out)


def test_gzip_option_and_cli(tmp_path, capsys):
    from lagesbild.cli import main

    assert main(["demo-national", "--out", str(tmp_path), "--rows", "5000", "--years", "1", "--gzip"]) == 0
    printed = capsys.readouterr().out
    assert "snapshot lines" in printed and "annonsportal-b" in printed
    files = list((tmp_path / "snapshots").glob("*/*"))
    assert len(files) == 104 and all(f.name.endswith(".jsonl.gz") for f in files)


def test_rejects_sizes_it_cannot_make(tmp_path):
    with pytest.raises(ValueError, match="target_rows"):
        generate_national(tmp_path, target_rows=10)


def test_weeks_keeps_the_last_weeks_of_the_period_and_every_year_of_the_rest(tmp_path):
    summary = generate_national(tmp_path, seed=11, target_rows=5_000, years=2, weeks=3)
    names = sorted(p.name for p in (tmp_path / "snapshots" / SITES[0]).glob("*.jsonl"))
    # the last three ISO weeks of 2025 (the generator's last year: week 52 starts 2025-12-22)
    assert [re.search(r"_(\d{8})T", n).group(1)[:6] for n in names] == ["202512"] * 3
    assert 4_500 <= summary.rows <= 5_500
    with (tmp_path / "population" / "population_synthetic.csv").open(encoding="utf-8") as f:
        assert {"2024", "2025"} <= {row["year"] for row in csv.DictReader(f)}
    with pytest.raises(ValueError, match="weeks must be 1..104"):
        generate_national(tmp_path, target_rows=5_000, years=2, weeks=105)
