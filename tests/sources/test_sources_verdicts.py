"""Verdict register: CSV and XLSX, Swedish and English headers, privacy refusals, quarantine."""

from datetime import date

import pandas as pd
import pytest

from lagesbild.demo.verdicts import SWEDISH_HEADERS
from lagesbild.privacy.detect import PersonalDataError
from lagesbild.sources.reference import load_municipalities
from lagesbild.sources.verdicts import RegisterFormatError, ingest_register

KEY = b"test-key"
# The demo register's Swedish headers plus a column the ingest must drop (a case officer's name).
SV_HEADERS = [*SWEDISH_HEADERS, "Handläggare"]
# A row the ingest accepts in itself; the quarantined rows below are it with one thing wrong.
_VALID = [
    "B 56-24",
    "Linköpings tingsrätt",
    "dom",
    "2024-05-01",
    "2024-03-01",
    "33",
    "",
    "0580",
    "0580",
    "annat",
    "",
    "fullbordat",
    "",
]
# The first row of the register, accepted.
_FIRST = [
    "B 1234-24",
    "Linköpings tingsrätt",
    "dom",
    "2024-05-02",
    "2024-01-15",
    "37",
    "",
    "Linköping",
    "0580",
    "annonssajt",
    "dagsböter",
    "fullbordat",
    "x",
]


def _changed(row: list[str], changes: dict[str, str]) -> list[str]:
    """``row`` with the cells of the headers in ``changes`` replaced."""
    return [changes.get(header, value) for header, value in zip(SV_HEADERS, row, strict=True)]


ROWS = [
    _FIRST,
    [
        "B 1234-24",
        "Linköpings tingsrätt",
        "dom",
        "2024-05-02",
        "2024-01-15",
        "52",
        "",
        "norrkoping",
        "Norrköping",
        "gatan",
        "dagsböter",
        "försök",
        "x",
    ],
    [
        "AM 77-25",
        "Norrköpings tingsrätt",
        "strafföreläggande",
        "2025-03-01",
        "2025-02-01",
        "",
        "1990",
        "0581",
        "",
        "",
        "",
        "fullbordat",
        "",
    ],
    _changed(_VALID, {"Målnummer": "B 55-24", "Beslutsdatum": "2024-02-01", "Ålder vid brottet": "40"}),
    _changed(_VALID, {"Ålder vid brottet": "7"}),
    _changed(_VALID, {"Målnummer": "B 57-24", "Hemkommun": "Atlantis"}),
    # a duplicate of the first row: its case number, codes and English values spelled otherwise
    _changed(
        _FIRST,
        {
            "Målnummer": "b  1234-24",
            "Hemkommun": "0580",
            "Brottskommun": "Linköping",
            "Kontaktväg": "ad_site",
            "Fullbordat": "completed",
            "Handläggare": "",
        },
    ),
    _changed(
        _VALID,
        {
            "Målnummer": "",
            "Beslutsdatum": "2024-05-02",
            "Brottsdatum": "2024-01-15",
            "Ålder vid brottet": "37",
        },
    ),
]


@pytest.fixture(scope="module")
def municipalities():
    return load_municipalities()


def write_csv(path, headers, rows, sep=";", encoding="utf-8-sig"):
    lines = [sep.join(headers)] + [sep.join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def write_xlsx(path, headers, rows):
    frame = pd.DataFrame(rows, columns=headers)
    for column in ("Beslutsdatum", "Brottsdatum"):
        frame[column] = pd.to_datetime(frame[column]).dt.to_pydatetime()
    for column in ("Ålder vid brottet", "Födelseår"):
        frame[column] = pd.to_numeric(frame[column].replace("", None)).astype("Int64")
    frame.to_excel(path, index=False)
    return path


def test_csv_swedish_headers(tmp_path, municipalities):
    result = ingest_register([write_csv(tmp_path / "register.csv", SV_HEADERS, ROWS)], KEY, municipalities)
    rows, q = result.rows, result.quarantine
    assert len(rows) == 3
    assert q.set_index("position").reason.to_dict() == {
        4: "decision_before_offence",
        5: "impossible_age",
        6: "unknown_municipality",
        7: "duplicate",
        8: "missing_field",
    }
    first = rows.iloc[0]
    assert (
        first.decision_type == "judgment"
        and first.home_municipality_code == "0580"
        and first.contact_channel == "ad_site"
    )
    assert first.decision_date == date(2024, 5, 2) and first.completed and first.source_row == 1
    second = rows.iloc[1]
    assert (
        second.home_municipality_code == "0581"
        and second.purchase_municipality_code == "0581"
        and not second.completed
    )
    third = rows.iloc[2]
    assert (
        third.buyer_age == 35 and third.age_source == "birth_year" and third.decision_type == "summary_order"
    )
    assert third.purchase_municipality_code is None or pd.isna(third.purchase_municipality_code)
    assert third.contact_channel == "unknown"
    assert rows.iloc[0].case_key == rows.iloc[1].case_key  # same case, two buyers
    assert result.metadata["unknown_columns"] == {"register.csv": ["Handläggare"]}
    assert "case_number" not in rows.columns
    dump = rows.astype(str).to_csv() + q.astype(str).to_csv()
    assert "1234-24" not in dump and "77-25" not in dump


def test_csv_and_xlsx_give_identical_rows(tmp_path, municipalities):
    from_csv = ingest_register(
        [write_csv(tmp_path / "r.csv", SV_HEADERS, ROWS, sep=",", encoding="utf-8")], KEY, municipalities
    )
    from_xlsx = ingest_register([write_xlsx(tmp_path / "r.xlsx", SV_HEADERS, ROWS)], KEY, municipalities)
    columns = [c for c in from_csv.rows.columns if c != "source_file"]
    pd.testing.assert_frame_equal(from_csv.rows[columns], from_xlsx.rows[columns])
    assert from_csv.quarantine.reason.tolist() == from_xlsx.quarantine.reason.tolist()


def test_english_headers_any_case(tmp_path, municipalities):
    headers = [
        "CASE_NUMBER",
        "Court",
        "decision type",
        "Decision_Date",
        "offence date",
        "Buyer Age",
        "birth year",
        "home municipality",
        "Purchase Municipality",
        "contact channel",
        "sanction",
        "completed",
        "note",
    ]
    result = ingest_register(
        [write_csv(tmp_path / "en.csv", headers, ROWS[:3], sep=",")], KEY, municipalities
    )
    assert len(result.rows) == 3 and result.quarantine.empty


def test_personnummer_column_fails_naming_column_and_row(tmp_path, municipalities):
    headers = SV_HEADERS + ["Id"]
    rows = [r + [v] for r, v in zip(ROWS[:3], ["", "19811218-9876", ""], strict=True)]
    with pytest.raises(PersonalDataError) as err:
        ingest_register([write_csv(tmp_path / "pnr.csv", headers, rows)], KEY, municipalities)
    assert "'Id', row 2" in str(err.value) and "9876" not in str(err.value)


def test_name_column_fails(tmp_path, municipalities):
    headers = SV_HEADERS + ["Namn"]
    rows = [r + ["Erik Johansson"] for r in ROWS[:2]]
    with pytest.raises(PersonalDataError, match="'Namn'"):
        ingest_register([write_csv(tmp_path / "namn.csv", headers, rows)], KEY, municipalities)


def test_missing_required_column_is_a_clear_error(tmp_path, municipalities):
    headers = [h for h in SV_HEADERS if h != "Beslutsdatum"]
    rows = [[v for h, v in zip(SV_HEADERS, r, strict=True) if h != "Beslutsdatum"] for r in ROWS[:1]]
    with pytest.raises(RegisterFormatError, match="decision_date"):
        ingest_register([write_csv(tmp_path / "x.csv", headers, rows)], KEY, municipalities)


def _quoted_csv(path, rows, headers=SV_HEADERS):
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\n").writerows([headers, *rows])
    return path


def test_a_wrong_row_after_a_cell_with_a_line_break_is_named_by_its_line(tmp_path, municipalities):
    """A cell with Alt+Enter is written as a quoted value over two lines: the rows after it are one line
    further down in the file than their row number says, and the detail names the file's line."""
    rows = [_changed(_FIRST, {"Domstol": "Linköpings\ntingsrätt"}), _VALID, [*_VALID[:3], "x;y", *_VALID[3:]]]
    path = _quoted_csv(tmp_path / "r.csv", rows)
    result = ingest_register([path], KEY, municipalities)
    [bad] = result.quarantine.to_dict("records")
    assert (bad["position"], bad["reason"]) == (3, "wrong_field_count")
    assert bad["detail"].startswith("line 5 has 14 fields"), bad["detail"]


def test_a_quote_that_is_not_closed_names_the_lines_it_swallowed(tmp_path, municipalities):
    path = tmp_path / "r.csv"
    lines = [";".join(SV_HEADERS), ";".join(_FIRST), '"' + ";".join(_VALID), ";".join(_VALID), ";".join(_VALID)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest_register([path], KEY, municipalities)
    [bad] = result.quarantine.to_dict("records")
    assert bad["reason"] == "wrong_field_count" and bad["detail"].startswith("lines 3-5 (one row)"), bad["detail"]
    assert result.metadata["ledger"]["r.csv"] == {"lines_in": 2, "accepted": 1, "quarantined": 1, "blank": 0}


def test_a_value_longer_than_the_csv_modules_field_limit_is_quarantined(tmp_path, municipalities):
    """The csv module refuses fields over 128 KiB by default (_csv.Error): the row is too_long instead."""
    path = _quoted_csv(tmp_path / "r.csv", [_FIRST, _changed(_VALID, {"Domstol": "x" * 200_000})])
    result = ingest_register([path], KEY, municipalities)
    assert len(result.rows) == 1
    assert result.quarantine[["position", "reason"]].values.tolist() == [[2, "too_long"]]


def test_xlsx_rows_after_empty_rows_keep_their_number_and_the_empty_rows_are_counted(tmp_path, municipalities):
    """An analyst leaves two rows empty between verdicts: the row after them is data row 5 (Excel row 6),
    as the quarantine must say, and the two empty rows are blank rows of the ledger."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in ([None], SV_HEADERS, _FIRST, [None] * 13, [None] * 13, _VALID,
                _changed(_VALID, {"Målnummer": "B 57-24", "Ålder vid brottet": "300"}), [None] * 13):
        sheet.append(row)
    book.save(tmp_path / "r.xlsx")
    result = ingest_register([tmp_path / "r.xlsx"], KEY, municipalities)
    assert result.rows.source_row.tolist() == [1, 4]
    assert result.quarantine[["position", "reason"]].values.tolist() == [[5, "impossible_age"]]
    assert result.metadata["ledger"]["r.xlsx"] == {"lines_in": 5, "accepted": 2, "quarantined": 1, "blank": 2}


def test_utf16_without_a_byte_order_mark_is_named_as_such(tmp_path, municipalities):
    """Windows-1252 decodes UTF-16 too (letters and NULs), which then failed as 'required column(s) missing'."""
    path = _quoted_csv(tmp_path / "r.csv", [_FIRST])
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))
    with pytest.raises(RegisterFormatError, match=r"r\.csv: text with NUL bytes \(UTF-16 without a byte order mark"):
        ingest_register([path], KEY, municipalities)


def test_a_personnummer_after_a_line_set_aside_is_named_by_its_own_row(tmp_path, municipalities):
    """The line with a wrong field count is not in the table the scan sees: the personnummer in data row 4
    (line 5) was reported as row 3."""
    rows = [_FIRST, [*_VALID, "extra"], _VALID, _changed(_VALID, {"Påföljd": "19811218-9876"})]
    path = _quoted_csv(tmp_path / "r.csv", rows)
    with pytest.raises(PersonalDataError, match=r"column 'Påföljd', row 4 looks like a personal identity number"):
        ingest_register([path], KEY, municipalities)


def test_a_phone_number_in_the_age_column_is_not_repeated_in_the_quarantine(tmp_path, municipalities):
    """The personal-data scan looks for personnummer and names, not phone numbers: 073-123 45 67 in the
    age column reached the impossible_age detail as 'buyer age 731234567'."""
    path = _quoted_csv(tmp_path / "r.csv", [_FIRST, _changed(_VALID, {"Ålder vid brottet": "0731234567"}),
                                            _changed(_VALID, {"Målnummer": "B 58-24", "Ålder vid brottet": "120"})])
    result = ingest_register([path], KEY, municipalities)
    assert result.quarantine[["position", "reason", "detail"]].values.tolist() == [
        [2, "impossible_age", "buyer age (a number of more than three digits) is outside 15-100"],
        [3, "impossible_age", "buyer age 120 is outside 15-100"],
    ]


def test_a_chart_sheet_is_listed_as_refused_not_passed_over(tmp_path):
    """pandas reads worksheets only: a chart sheet (a diagram an analyst put on a sheet of its own) vanished
    without a trace; every sheet is read or refused with a reason."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    from lagesbild.sources.reference import load_municipalities
    from lagesbild.sources.verdicts import ingest_register

    book = Workbook()
    sheet = book.active
    sheet.title = "Domar"
    sheet.append(["Målnummer", "Domstol", "Beslutstyp", "Beslutsdatum", "Brottsdatum", "Ålder", "Fullbordat"])
    sheet.append(["B 1-24", "Linköpings tingsrätt", "dom", "2024-05-02", "2024-04-01", 40, "ja"])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=6, min_row=1, max_row=2), titles_from_data=True)
    book.create_chartsheet("Diagram").add_chart(chart)
    book.save(tmp_path / "register.xlsx")
    result = ingest_register([tmp_path / "register.xlsx"], b"k", load_municipalities())
    assert len(result.rows) == 1
    assert [(r["sheet"], r["reason"]) for r in result.metadata["refused_files"]] == [("Diagram", "not_a_register")]


def test_a_workbook_inflating_past_the_limit_is_not_opened(tmp_path, municipalities, monkeypatch):
    """A zip "bomb" named .xlsx: its inflated size is read from the zip directory before openpyxl
    inflates anything, and the register is refused with the reason, not read into memory."""
    import zipfile

    import openpyxl

    import lagesbild.sources.verdicts as verdicts

    path = write_xlsx(tmp_path / "r.xlsx", SV_HEADERS, ROWS)
    plain = len(ingest_register([path], KEY, municipalities).rows)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/media/padding.bin", b"\0" * 3_000_000)  # 3 MB in ~3 KB
    assert path.stat().st_size < 100_000
    assert plain > 0 and len(ingest_register([path], KEY, municipalities).rows) == plain  # under the limit
    monkeypatch.setattr(verdicts, "MAX_WORKBOOK_BYTES", 1_000_000)
    opened = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a))
    with pytest.raises(RegisterFormatError, match=r"r\.xlsx: the workbook inflates to [\d,]+ bytes, more than 1,000,000"):
        ingest_register([path], KEY, municipalities)
    assert opened == []
    # a CSV past the limit is not read into memory either
    big = tmp_path / "r.csv"
    big.write_bytes(b"x" * 1_000_001)
    with pytest.raises(RegisterFormatError, match=r"r\.csv: the file is 1,000,001 bytes, more than 1,000,000"):
        ingest_register([big], KEY, municipalities)


def test_serial_days_of_a_1904_workbook_are_read_in_its_date_system(tmp_path, municipalities):
    """Excel for Mac's 1904 date system: openpyxl applies it to date cells only; a serial day in a General cell
    was read in the 1900 system, four years and a day early, without a trace (corpus case V32)."""
    from tests.hostile.corpus import verdict_cases, write_corpus

    [path] = write_corpus(tmp_path, {"V32": verdict_cases()["V32"]})["V32"]
    rows = ingest_register([path], KEY, municipalities).rows.sort_values("source_row")
    assert [tuple(r) for r in rows[["decision_date", "offence_date"]].values] == [
        (date(2024, 2, 20), date(2024, 1, 10))] * 3


@pytest.mark.parametrize(("data", "said"), [
    (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504), "password-protected (encrypted) workbook or an old .xls"),
    ("ods", "an OpenDocument spreadsheet (.ods) named .xlsx"),
])
def test_a_workbook_that_is_no_xlsx_says_what_it_is(tmp_path, municipalities, data, said):
    """Excel saves a workbook with a password as an OLE file (an old .xls is one too); the error said only
    'BadZipFile', which an analyst cannot act on."""
    import zipfile

    path = tmp_path / "register.xlsx"
    if data == "ods":
        with zipfile.ZipFile(path, "w") as book:
            book.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            book.writestr("content.xml", "<office:document-content/>")
    else:
        path.write_bytes(data)
    with pytest.raises(RegisterFormatError, match=r"register\.xlsx: not a readable XLSX workbook \(") as err:
        ingest_register([path], KEY, municipalities)
    assert said in str(err.value)
