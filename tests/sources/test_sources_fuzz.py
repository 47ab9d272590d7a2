"""Whatever the input, nothing crashes and nothing is dropped: every line/row is kept or quarantined."""

import json
from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lagesbild.demo.verdicts import SWEDISH_HEADERS
from lagesbild.sources.reference import load_municipalities
from lagesbild.sources.snapshots import FolderArchive, ingest_week
from lagesbild.sources.verdicts import ingest_register

WEEK = date(2026, 3, 2)
MUNICIPALITIES = load_municipalities()
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["2026-03-03T10:00:00+01:00", "2026-03-03", "O7O-123 45 67", "25"]),
)
fields = st.sampled_from(
    ["site", "ad_id", "captured_at", "posted_at", "phone", "stated_age", "location", "extra"]
)


@st.composite
def snapshot_line(draw):
    kind = draw(st.sampled_from(["valid", "mutated", "garbage"]))
    record = {
        "site": "s",
        "ad_id": str(draw(st.integers(0, 5))),
        "captured_at": "2026-03-03T10:00:00+01:00",
        "phone": "070-123 45 67",
        "stated_age": 30,
    }
    if kind == "garbage":
        return (
            draw(
                # Files are UTF-8, so no lone surrogates (they cannot be written at all).
                st.text(
                    alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
                    min_size=1,
                    max_size=30,
                )
            ).strip()
            or "x"
        )
    if kind == "mutated":
        record[draw(fields)] = draw(scalars)
    return json.dumps(record)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(snapshot_line(), min_size=1, max_size=15))
def test_every_snapshot_line_is_kept_or_quarantined(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("snap")
    (root / "s").mkdir()
    (root / "s" / "s_20260303T0900Z.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest_week(FolderArchive(root), WEEK, b"k")
    assert len(result.rows) + len(result.quarantine) == len(lines)
    assert sorted(result.rows.line_no.tolist() + result.quarantine.position.tolist()) == list(
        range(1, len(lines) + 1)
    )


cells = st.one_of(
    st.just(""),
    st.text(alphabet="abcåäö0123456789-/ .,", max_size=10),
    st.sampled_from(["inf", "nan", "-1", "1e9", "2024-02-30", "0580", "Linköping", "dom", "försök"]),
)
# The demo register's Swedish headers without the birth year (the age column is given).
HEADERS = [h for h in SWEDISH_HEADERS if h != "Födelseår"]
GOOD = [
    "B 1-24",
    "Linköpings tingsrätt",
    "dom",
    "2024-05-02",
    "2024-01-15",
    "37",
    "0580",
    "0581",
    "gatan",
    "",
    "fullbordat",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(st.integers(0, len(HEADERS) - 1), cells), min_size=1, max_size=8))
def test_every_register_row_is_kept_or_quarantined(tmp_path_factory, mutations):
    rows = []
    for i, (column, value) in enumerate(mutations):
        row = list(GOOD)
        row[0] = f"B {i}-24"
        row[column] = value
        rows.append(row)
    path = tmp_path_factory.mktemp("reg") / "r.csv"
    path.write_text("\n".join(";".join(r) for r in [HEADERS, *rows]) + "\n", encoding="utf-8")
    result = ingest_register([path], b"k", MUNICIPALITIES)
    kept = len(result.rows) + len(result.quarantine) + result.metadata["blank_rows"]
    assert kept == len(rows)



def _capture_line(i: int, **change) -> bytes:
    record = {"site": "s", "ad_id": str(i % 4), "captured_at": f"2026-03-03T1{i % 10}:00:00+01:00",
              "phone": "070-123 45 67", "stated_age": 20 + i % 50, "location": "Linköping", **change}
    return json.dumps(record, ensure_ascii=False).encode()


#: Lines hostile captures hold (each a class): blank and whitespace-only lines, two objects on one line, byte
#: order marks, NULs, Windows-1252, Unicode line separators, values of other types, cut lines.
#: The first five keep a file on the columnar path (the others send it to the line reader): drawn more often.
LINE_KINDS = [
    lambda i: _capture_line(i),
    lambda i: b" \t ",
    lambda i: _capture_line(i) + b" " + _capture_line(i + 1),
    lambda i: _capture_line(i, location="Link\u2028\u0085öping"),
    lambda i: _capture_line(i, stated_age=16),
    lambda i: b"",
    lambda i: b"\xef\xbb\xbf" + _capture_line(i),
    lambda i: b"\x00\x00",
    lambda i: _capture_line(i, location="Norrköping").decode().encode("cp1252"),
    lambda i: _capture_line(i, stated_age=16.0),
    lambda i: _capture_line(i, stated_age="16"),
    lambda i: _capture_line(i, ad_id=i),
    lambda i: _capture_line(i, extra=None),
    lambda i: _capture_line(i)[:-5],
    lambda i: b"[" + _capture_line(i) + b"]",
]
#: Byte sequences dropped anywhere: line ends of other systems, byte order marks, bytes that are not UTF-8.
HOSTILE_BYTES = [b"\x00", b"\r", b"\n", b"\r\n", b" ", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3", b"{", b"}", b'"',
                 b",", b"\\ud800"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(kinds=[2, 1, 0], edits=[], ending=b"\n")  # S48: two objects and a whitespace line kept the count
@given(kinds=st.lists(st.integers(0, 4) | st.integers(0, len(LINE_KINDS) - 1), min_size=1, max_size=8),
       edits=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(HOSTILE_BYTES)), max_size=2),
       ending=st.sampled_from([b"\n", b"\r\n", b""]))
def test_the_columnar_reader_equals_the_line_reader_on_hostile_captures(tmp_path_factory, kinds, edits, ending):
    """Whatever lines a capture holds, the columnar path (production) gives the line reader's result (its
    oracle), and every line of the file is accounted for in the ledger."""
    from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

    data = bytearray(b"\n".join(LINE_KINDS[kind](i) for i, kind in enumerate(kinds)) + ending)
    for where, token in edits:
        data[int(where * len(data)) : int(where * len(data))] = token
    root = tmp_path_factory.mktemp("snap")
    (root / "s").mkdir()
    (root / "s" / "s_20260303T0900Z.jsonl").write_bytes(bytes(data))
    slow = ingest_week(FolderArchive(root), WEEK, b"k")
    assert same_result(slow, ingest_week_fast(FolderArchive(root), WEEK, b"k")) == []
    files = slow.files
    assert (files.lines_in == files.rows_ok + files.rows_quarantined + files.blank_lines).all()
