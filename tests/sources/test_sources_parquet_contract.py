"""What the sources hand on lands in Parquet with the contract's types and without raw identifiers."""

import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from lagesbild.privacy.scan import find_identifiers
from lagesbild.settings import REFERENCE_DIR
from lagesbild.sources.pxweb import build_offline_population, read_offline_population
from lagesbild.sources.reference import load_municipalities
from lagesbild.sources.snapshots import FolderArchive, ingest_week
from lagesbild.sources.verdicts import ingest_register
from lagesbild.warehouse import connect, write_parquet_atomic

KEY = b"k"
PHONES = ["070-123 45 67", "O7O 765 43 21"]
CASES = ["B 1234-24", "B 999-25"]


def _snapshots(tmp_path):
    site = tmp_path / "snap" / "site-a"
    site.mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "site": "site-a",
                "ad_id": "1",
                "captured_at": "2026-03-03T10:00:00+01:00",
                "phone": PHONES[0],
                "title": "t",
            }
        ),
        json.dumps(
            {"site": "site-a", "ad_id": "2", "captured_at": "2026-03-03T10:00:00+01:00", "phone": PHONES[1]}
        ),
        "{broken",
    ]
    (site / "site-a_20260303T0900Z.jsonl").write_text("\n".join(lines) + "\n")
    return ingest_week(FolderArchive(tmp_path / "snap"), date(2026, 3, 2), KEY)


def _verdicts(tmp_path):
    path = tmp_path / "register.csv"
    header = "Målnummer;Domstol;Beslutstyp;Beslutsdatum;Brottsdatum;Ålder vid brottet;Hemkommun;Brottskommun;Kontaktväg;Påföljd;Fullbordat"
    rows = [
        f"{CASES[0]};Linköpings tingsrätt;dom;2024-05-02;2024-01-15;37;Linköping;;annonssajt;dagsböter;fullbordat",
        f"{CASES[1]};Linköpings tingsrätt;dom;2024-05-02;2024-06-15;37;Linköping;;annonssajt;dagsböter;fullbordat",
    ]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return ingest_register([path], KEY, load_municipalities())


def test_parquet_types_follow_the_contract_and_hold_no_raw_identifiers(tmp_path):
    snaps, verdicts = _snapshots(tmp_path), _verdicts(tmp_path)
    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path / "pop")
    population = read_offline_population(tmp_path / "pop")
    out = tmp_path / "raw"
    frames = {
        "ad_snapshots": snaps.rows,
        "snapshot_files": snaps.files,
        "q_snap": snaps.quarantine,
        "verdicts": verdicts.rows,
        "q_verdicts": verdicts.quarantine,
        "population": population,
    }
    for name, frame in frames.items():
        write_parquet_atomic(frame, out / f"{name}.parquet")
    schema = {name: pq.read_schema(out / f"{name}.parquet") for name in frames}
    assert schema["ad_snapshots"].field("captured_at").type == pa.timestamp("us", tz="UTC")
    assert schema["ad_snapshots"].field("week_start").type == pa.date32()
    assert schema["ad_snapshots"].field("stated_age").type == pa.int16()
    assert schema["ad_snapshots"].field("line_no").type == pa.int32()
    assert schema["verdicts"].field("decision_date").type == pa.date32()
    assert schema["verdicts"].field("buyer_age").type == pa.int16()
    assert schema["verdicts"].field("completed").type == pa.bool_()
    assert pa.types.is_string(
        schema["verdicts"].field("purchase_municipality_code").type
    ) or pa.types.is_large_string(schema["verdicts"].field("purchase_municipality_code").type)
    for q in ("q_snap", "q_verdicts"):  # all-null columns keep real types, so partitions union
        assert schema[q].field("week_start").type == pa.date32()
        assert schema[q].field("position").type == pa.int32()
        assert not pa.types.is_null(schema[q].field("site").type)
    assert schema["population"].field("population").type == pa.int64()
    assert schema["population"].field("year").type == pa.int16()
    assert len(verdicts.quarantine) == 1 and len(snaps.quarantine) == 1

    with connect(tmp_path / "w.duckdb") as con:
        con.execute(f"create table v as select * from read_parquet('{out / 'verdicts.parquet'}')")
        con.execute(f"create table s as select * from read_parquet('{out / 'ad_snapshots.parquet'}')")
    assert find_identifiers([out, tmp_path / "w.duckdb"], phones=PHONES, case_numbers=CASES) == []


def test_scanner_finds_planted_identifiers_without_echoing_them(tmp_path):
    import pandas as pd

    write_parquet_atomic(pd.DataFrame({"note": ["call +46701234567"]}), tmp_path / "leak.parquet")
    (tmp_path / "report.html").write_text("<p>mål B 1234-24</p>", encoding="utf-8")
    findings = find_identifiers([tmp_path], phones=PHONES, case_numbers=CASES)
    assert {(f.path.name, f.where, f.kind) for f in findings} == {
        ("leak.parquet", "note", "phone"),
        ("report.html", "bytes", "case_number"),
    }
    assert all("1234" not in str(f) and "70123" not in str(f) for f in findings)
