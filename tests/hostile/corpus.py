"""The hostile corpus: input files of the kinds real captures and analysts' exports produce.

Nothing personal-looking is committed: every file is written at test time by :func:`write_corpus`
from the synthetic identifiers below (phone numbers from PTS's range reserved for fiction,
070-17 40 6xx; personal identity numbers dated 2099 or in a shape with an impossible person;
the name "Anna Testsson"). ``cases.csv`` beside this file gives each case's expected outcome.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import unicodedata
from datetime import date, datetime
from pathlib import Path

WEEK = date(2024, 3, 4)  # a Monday inside the demo's range
A, B = "annonsportal-a", "annonsportal-b"
CASES_CSV = Path(__file__).with_name("cases.csv")


def phone(i: int) -> str:
    """A synthetic Swedish mobile number from the range reserved for fiction."""
    return f"070-17 40 6{i:02d}"


PNR_CENTURY = "20990101-1234"  # century and separator, a date no person has
PNR_BAD_LUHN = "9901011235"  # no century, no separator, wrong check digit
SAMORDNING = "990161-2345"  # day + 60
PERSON = "Anna Testsson"
CASE_NUMBERS = ["B 9901-99", "B 9902-99", "B 9903-99", "B 9904-99", "B 9905-99", "B 9906-99"]

#: Every identifier planted anywhere in the corpus (raw form; the scan adds digits-only and E.164 forms).
PLANTED_PHONES: list[str] = []
PLANTED_OTHER = [PNR_CENTURY, PNR_BAD_LUHN, SAMORDNING, PERSON]


def _phone(i: int) -> str:
    number = phone(i)
    if number not in PLANTED_PHONES:
        PLANTED_PHONES.append(number)
    return number


def ts(day: int = 5, hour: int = 10, minute: int = 0, offset: str = "+01:00") -> str:
    return f"2024-03-{day:02d}T{hour:02d}:{minute:02d}:00{offset}"


def rec(case: str, n: int = 1, site: str = A, day: int = 5, **fields) -> dict:
    record = {
        "site": site,
        "ad_id": f"h{case}-{n}",
        "captured_at": ts(day),
        "posted_at": ts(day, 8),
        "location": "Linköping",
        "phone": _phone(int(case[1:]) % 100),
        "stated_age": 25,
        "category": "escort",
        "advertiser_gender": "kvinna",
        "title": "Hej",
        "text": "text",
    }
    record.update(fields)
    return record


def jl(*records, end: str = "\n") -> bytes:
    return (end.join(json.dumps(r, ensure_ascii=False) for r in records) + end).encode("utf-8")


def name(site: str, day: int, minute: int, gz: bool = False) -> str:
    return f"{site}_202403{day:02d}T10{minute:02d}Z.jsonl" + (".gz" if gz else "")


class Link(bytes):
    """A symbolic link in place of a file, to ``target`` (a file holding these bytes, or with ``folder`` a folder
    holding it as ``capture.jsonl``) written beside the archive root, outside it."""

    def __new__(cls, data: bytes, folder: bool = False):
        link = super().__new__(cls, data)
        link.folder = folder
        return link


# --- snapshot cases: id -> [(path relative to the archive root, bytes)] --------------------------


def _snapshot_cases() -> dict[str, list[tuple[str, bytes]]]:
    c: dict[str, list[tuple[str, bytes]]] = {}
    c["S01"] = [(f"{A}/export (2).jsonl", jl(rec("S01", 1), rec("S01", 2)))]
    c["S02"] = [(f"{A}/README.txt", b"notes about the capture, no JSON here\n")]
    c["S03"] = [(f"{A}/{name(A, 5, 3)}", b"")]
    c["S04"] = [(f"{A}/capture-empty.jsonl", b"")]
    full = jl(*[rec("S05", i) for i in range(1, 30)])
    c["S05"] = [(f"{A}/{name(A, 5, 5, gz=True)}", gzip.compress(full)[:-40])]
    c["S06"] = [(f"{A}/{name(A, 5, 6)}", gzip.compress(jl(rec("S06", 1), rec("S06", 2))))]
    latin = (json.dumps(rec("S07", 1, location="Norrköping"), ensure_ascii=False) + "\n").encode("cp1252")
    c["S07"] = [(f"{A}/{name(A, 5, 7)}", latin + jl(rec("S07", 2)))]
    c["S08"] = [(f"{A}/{name(A, 5, 8)}", b"\xef\xbb\xbf" + jl(rec("S08", 1), rec("S08", 2)))]
    c["S09"] = [(f"{A}/{name(A, 5, 9)}", jl(rec("S09", 1), rec("S09", 2), rec("S09", 3), end="\r"))]
    c["S10"] = [(f"{A}/{name(A, 5, 10)}", jl(rec("S10", 1), rec("S10", 2), end="\r\n"))]
    cut = jl(rec("S11", 1), rec("S11", 2))
    c["S11"] = [(f"{A}/{name(A, 5, 11)}", cut + jl(rec("S11", 3))[:50])]
    c["S12"] = [(f"{A}/{name(A, 5, 12)}", jl(rec("S12", 1)) + b"\n  \n" + jl(rec("S12", 2)))]
    c["S13"] = [(name(A, 5, 13), jl(rec("S13", 1)))]
    c["S14"] = [(f"{A}/{name(B, 5, 14)}", jl(rec("S14", 1, site=B)))]
    c["S15"] = [(f"{A}/{name(A, 5, 15)}", jl(rec("S15", 1, location=f"Linköping, ring {_phone(15)}"), rec("S15", 2)))]
    c["S16"] = [(f"{A}/{name(A, 5, 16)}", jl(rec("S16", 1, category="noll sju noll ett sju fyra noll sex ett sex!")))]
    c["S17"] = [(f"{A}/{name(A, 5, 17)}", jl(rec("S17", 1, ad_id=_phone(17).replace(" ", ""))))]
    c["S18"] = [(f"{A}/{name(A, 5, 18)}", jl(rec("S18", 1, location=f"Motala {PNR_CENTURY}")))]
    c["S19"] = [(f"{A}/{name(A, 5, 19)}", jl(rec("S19", 1, category=PNR_BAD_LUHN)))]
    c["S20"] = [(f"{A}/{name(A, 5, 20)}", jl(rec("S20", 1, advertiser_gender=SAMORDNING)))]
    c["S21"] = [(f"{A}/{name(A, 5, 21)}", jl(rec("S21", 1, category=PERSON)))]
    c["S22"] = [(f"{A}/{name(A, 5, 22)}", jl(rec("S22", 1, location="Linköping " * 104858), rec("S22", 2)))]
    c["S23"] = [(f"{A}/{name(A, 5, 23)}", jl(*[rec("S23", age, stated_age=age) for age in range(10, 15)]))]
    c["S24"] = [(f"{A}/{name(A, 5, 24)}", jl(*[rec("S24", age, stated_age=age) for age in range(15, 18)]))]
    c["S25"] = [(f"{A}/{name(A, 5, 25)}", jl(rec("S25", 1, stated_age="16 år")))]
    c["S26"] = [(f"{A}/{name(A, 5, 26)}", jl(rec("S26", 1), rec("S26", 1)))]
    c["S27"] = [(f"{B}/{name(B, 5, 27)}", jl(rec("S27", 1, site=B, captured_at=ts(5, 15, 45, "+05:45"))))]
    c["S28"] = [(f"{B}/{name(B, 5, 28)}", jl(rec("S28", 1, site=B, captured_at="2024-03-05T10:00:00")))]
    c["S29"] = [(f"{B}/{name(B, 5, 29)}", jl(rec("S29", 1, site=B, phone="ring noll sju noll ett sju fyra noll sex två nio!")))]
    c["S30"] = [(f"{B}/{name(B, 5, 30)}", jl(rec("S30", 1, site=B, contact=_phone(30), seller=PERSON)))]
    c["S31"] = [(f"{B}/{name(B, 5, 31)}", jl(rec("S31", 1, site=B, location="O7O-l7 4O 63l")))]
    c["S32"] = [(f"{B}/{name(B, 5, 32)}", jl(rec("S32", 1, site=B, title=PERSON, text=f"{PNR_CENTURY} {_phone(32)}")))]
    c["S33"] = [(f"{B}/{name(B, 5, 33)}", b'["an array, not an object"]\n' + jl(rec("S33", 1, site=B)))]
    c["S34"] = [(f"{B}/{name(B, 5, 34)}", jl(rec("S34", 1, site=B, stated_age=16, ad_id="")))]
    # values that are echoed nowhere: a phone number as the site or the capture time, a personnummer as the age
    c["S35"] = [(f"{B}/{name(B, 5, 35)}", jl(rec("S35", 1, site=_phone(35)), rec("S35", 2, site=B)))]
    c["S36"] = [(f"{B}/{name(B, 5, 36)}", jl(rec("S36", 1, site=B, captured_at=_phone(36)),
                                              rec("S36", 2, site=B, posted_at=_phone(37))))]
    c["S37"] = [(f"{B}/{name(B, 5, 37)}", jl(rec("S37", 1, site=B, stated_age=int(PNR_CENTURY.replace("-", "")))))]
    # lines Python's JSON parser refuses with other errors than a syntax error, and a time out of range in UTC
    c["S38"] = [(f"{B}/{name(B, 5, 38)}", jl(rec("S38", 1, site=B)) + b"[" * 100_000 + b"]" * 100_000 + b"\n")]
    c["S39"] = [(f"{B}/{name(B, 5, 39)}", b'{"site": "' + B.encode() + b'", "stated_age": ' + b"9" * 5000 + b"}\n"
                 + jl(rec("S39", 1, site=B)))]
    c["S40"] = [(f"{B}/{name(B, 5, 40)}", json.dumps(rec("S40", 1, site=B, ad_id="\ud800")).encode() + b"\n" + jl(rec("S40", 2, site=B)))]
    c["S41"] = [(f"{B}/{name(B, 5, 41)}", jl(rec("S41", 1, site=B, captured_at="9999-12-31T23:59:59-14:00"),
                                              rec("S41", 2, site=B, posted_at="0001-01-01T00:00:00+14:00")))]
    c["S42"] = [(f"{B}/capture-deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n")]
    c["S44"] = [(f"{B}/{name(B, 5, 44, gz=True)}", jl(rec("S44", 1, site=B), rec("S44", 2, site=B)))]
    c["S45"] = [(f"{B}/capture-cut.jsonl.gz", gzip.compress(jl(rec("S45", 1, site=B)))[:10])]
    c["S46"] = [(f"{B}/{name(B, 5, 46)}", jl(rec("S46", 1, site=B, **{_phone(46): "x", PNR_CENTURY: 1})))]
    c["S47"] = [(f"{B}/{name(B, 5, 47)}", jl(rec("S47", 1, site=B, category=[PERSON]),
                                              rec("S47", 2, site=B, advertiser_gender={"namn": PERSON}),
                                              rec("S47", 3, site=B, ad_id=["070", "174", "06", "47"]),
                                              rec("S47", 4, site=B)))]
    c["S43"] = [(f"{A}/2024/03/{name(A, 5, 43)}", jl(rec("S43", 1))), (f"{A}/2024/{name(A, 5, 44)}", jl(rec("S43", 2)))]
    # lines pyarrow counts differently, other Unicode encodings, captures joined with cat
    one, two, three = (json.dumps(rec("S48", n), ensure_ascii=False) for n in (1, 2, 3))
    c["S48"] = [(f"{A}/{name(A, 6, 48)}", f"{one} {two}\n \t \n{three}\n".encode())]
    utf16 = "".join(json.dumps(rec("S49", n), ensure_ascii=False) + "\r\n" for n in (1, 2))
    c["S49"] = [(f"{A}/{name(A, 6, 49)}", utf16.encode("utf-16"))]
    c["S50"] = [(f"{A}/{name(A, 6, 50)}", b"\xef\xbb\xbf" + jl(rec("S50", 1)) + b"\xef\xbb\xbf" + jl(rec("S50", 2)))]
    utf32 = "".join(json.dumps(rec("S51", n, site=B), ensure_ascii=False) + "\n" for n in (1, 2))
    be, le = ("".join(json.dumps(rec("S52", n, site=B), ensure_ascii=False) + "\n" for n in ns) for ns in ((1,), (2,)))
    c["S52"] = [(f"{B}/{name(B, 6, 52)}", be.encode("utf-16-be")), (f"{B}/capture-utf16.jsonl", le.encode("utf-16-le"))]
    nfd = unicodedata.normalize("NFD", "annonsportal-ö")  # as macOS stores the folder and file names
    c["S53"] = [(f"{nfd}/{nfd}_20240306T1053Z.jsonl", jl(rec("S53", 1, site="annonsportal-ö")))]
    c["S54"] = [(f"{B}/{name(B, 6, 54)}", jl(rec("S54", 1, site=B, stated_age=16, ad_id=_phone(54).replace(" ", "")),
                                              rec("S54", 2, site=B, stated_age=15, ad_id=f"{PERSON} {_phone(55)}")))]
    first = json.dumps(rec("S55", 1, site=B, location=_phone(56)), ensure_ascii=False)[:-1] + ', "location": "Motala"}'
    second = json.dumps(rec("S55", 2, site=B), ensure_ascii=False)[:-1] + ', "stated_age": 16}'
    c["S55"] = [(f"{B}/{name(B, 6, 55)}", f"{first}\n{second}\n".encode())]
    c["S56"] = [(f"{A}/{_phone(57).replace(' ', '')}.txt", b"notes\n"), (f"{A}/{PERSON}.jsonl", b"not json\n"),
                (f"{A}/{PNR_CENTURY}.csv", b"x\n")]
    c["S51"] = [(f"{B}/{name(B, 6, 51, gz=True)}", gzip.compress(utf32.encode("utf-32")))]
    cased = [{k.title() if k in ("stated_age", "location", "phone") else k: v for k, v in r.items()}
             for r in (rec("S60", 1, day=7, stated_age=16), rec("S60", 2, day=7, location=f"ring {_phone(60)}"))]
    c["S61"] = [(f"{B}/export-cased.jsonl", jl({("Captured_At" if k == "captured_at" else k): v
                                                for k, v in rec("S61", 1, site=B, day=8).items()}))]
    copied = jl(rec("S62", 1, site=B, day=8), rec("S62", 2, site=B, day=8))
    c["S62"] = [(f"{B}/{name(B, 8, 1)}", copied), (f"{B}/{name(B, 8, 1)[:-6]} - Kopia.jsonl", copied),
                (f"{B}/{name(B, 8, 1).replace('Z.', '.')}", copied)]
    e164_digits = int("46" + _phone(63).replace(" ", "").replace("-", "")[1:])  # 46701740663: E.164 without '+'
    c["S63"] = [(f"{B}/{name(B, 8, 2)}", jl(rec("S63", 1, site=B, day=8, ad_id=e164_digits),
                                             rec("S63", 2, site=B, day=8, ad_id=str(e164_digits), stated_age=16),
                                             rec("S63", 3, site=B, day=8, ad_id=46123456789)))]
    c["S60"] = [(f"{A}/{name(A, 8, 0)}", jl(*cased, {**rec("S60", 3, day=7), "Stated_Age": 16}))]
    # links out of the archive, control characters in names, one capture kept twice
    c["S57"] = [(f"{A}/{name(A, 7, 57)}", Link(jl(rec("S57", 1, day=7)))),
                (f"{A}/older", Link(jl(rec("S57", 2, day=7)), folder=True))]
    c["S58"] = [(f"{A}/{name(A, 7, 58)}\n", jl(rec("S58", 1, day=7))), (f"{A}/capture\t58.jsonl", jl(rec("S58", 2, day=7)))]
    kept = jl(*[rec("S59", n, day=7) for n in range(1, 4)])
    c["S59"] = [(f"{B}/{name(B, 7, 59)}", kept.replace(b"annonsportal-a", B.encode())),
                (f"{B}/{name(B, 7, 59, gz=True)}", gzip.compress(kept.replace(b"annonsportal-a", B.encode()))),
                (f"{B}/{name(B, 7, 58)}", kept.replace(b"annonsportal-a", B.encode()).replace(b"S59", b"S5X")),
                (f"{B}/{name(B, 7, 58, gz=True)}",
                 gzip.compress(kept.replace(b"annonsportal-a", B.encode()).replace(b"S59", b"S5X"))[:-30])]
    # a capture that found no ad but wrote line ends and spaces (plain and gzip)
    c["S64"] = [(f"{A}/{name(A, 9, 1)}", b"\n \r\n\t\n"), (f"{A}/{name(A, 9, 2, gz=True)}", gzip.compress(b"  \n\n"))]
    # numbers as a float column writes them (pandas' to_json: 25.0), with a decimal comma, and RFC 3339's lower-case z
    c["S65"] = [(f"{A}/{name(A, 9, 3)}", jl(rec("S65", 1, stated_age=25.0), rec("S65", 2, stated_age="31,0"),
                                             rec("S65", 3, stated_age=16.0), rec("S65", 4, captured_at="2024-03-05T09:00:00z"),
                                             rec("S65", 5, stated_age=25.5)))]
    # stated_age in two cases on one line (two schemas merged): an empty contract field, and a conflicting one
    c["S66"] = [(f"{B}/{name(B, 9, 4)}", jl({**rec("S66", 1, site=B, stated_age=None), "Stated_Age": 16},
                                             {**rec("S66", 2, site=B, stated_age=25), "Stated_Age": 16}))]
    # captures compressed with another tool under a .jsonl[.gz] name: read (bzip2, xz, a zip of one file) or refused
    import bz2
    import lzma
    import zipfile

    def zipped(*names: str) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for n, member in enumerate(names, start=1):
                archive.writestr(member, jl(rec("S67", 10 + n)))
        return out.getvalue()

    c["S67"] = [(f"{A}/{name(A, 9, 5, gz=True)}", bz2.compress(jl(rec("S67", 1)))),
                (f"{A}/{name(A, 9, 6)}", lzma.compress(jl(rec("S67", 2)))),
                (f"{A}/{name(A, 9, 7, gz=True)}", zipped("capture.jsonl")),
                (f"{A}/{name(A, 9, 8)}", b"\x28\xb5\x2f\xfd" + bytes(24)),
                (f"{A}/{name(A, 9, 9, gz=True)}", zipped("a.jsonl", "b.jsonl"))]
    # a capture written as one JSON array of objects (JSON.stringify(ads)): pretty-printed, and on one line
    pretty = json.dumps([rec("S68", 1, site=B), rec("S68", 2, site=B, stated_age=16)], indent=2, ensure_ascii=False)
    c["S68"] = [(f"{B}/{name(B, 9, 10)}", pretty.encode()),
                (f"{B}/{name(B, 9, 11)}", (json.dumps([rec("S68", 3, site=B), rec("S68", 4, site=B)]) + "\n").encode())]
    # a line that is JSON null (a tool writing None for an ad it failed to read): first, and between two ads
    c["S69"] = [(f"{B}/{name(B, 9, 12)}", b"null\n" + jl(rec("S69", 1, site=B))),
                (f"{B}/{name(B, 9, 13)}", jl(rec("S69", 2, site=B)) + b"null\n" + jl(rec("S69", 3, site=B)))]
    return c


# --- verdict register cases: id -> [(file name, bytes)] -------------------------------------------

SV_HEADERS = ["Målnummer", "Domstol", "Beslutstyp", "Beslutsdatum", "Brottsdatum", "Ålder vid brottet",
              "Hemkommun", "Brottskommun", "Kontaktväg", "Påföljd", "Fullbordat"]


def vrow(case_no: str, court: str = "Linköpings tingsrätt", sanction: str = "dagsböter", age: str = "41") -> list[str]:
    return [case_no, court, "dom", "2024-02-20", "2024-01-10", age, "Linköping", "Linköping", "annonssajt",
            sanction, "fullbordat"]


def _csv(rows: list[list[str]], headers=SV_HEADERS, sep=";", encoding="utf-8-sig", quote=True) -> bytes:
    if not quote:
        return ("\n".join(sep.join(r) for r in [headers, *rows]) + "\n").encode(encoding)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerows([headers, *rows])
    return out.getvalue().encode(encoding)


def _xlsx(sheets: dict[str, list[list]], merged_title: str | None = None, hidden: str | None = None,
          epoch_1904: bool = False) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils.datetime import MAC_EPOCH

    book = Workbook()
    book.remove(book.active)
    if epoch_1904:  # the 1904 date system (Excel for Mac before 2011): serial day 0 is 1904-01-01
        book.epoch = MAC_EPOCH
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        sheet.sheet_state = "veryHidden" if title == hidden else "visible"
        if merged_title and not sheet.max_row > 1 and rows:
            sheet.append([merged_title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _merged_register() -> bytes:
    """A register starting at B3 below a title merged across the header (B2), one court merged over three
    verdicts (C4:C6) and one decision date over two (E5:E6), as analysts lay out verdicts of one court session."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.cell(2, 2, "Domar 2024")
    sheet.merge_cells(start_row=2, start_column=2, end_row=2, end_column=1 + len(SV_HEADERS))
    for row, values in enumerate([SV_HEADERS, *[vrow(n) for n in CASE_NUMBERS[:4]]], start=3):
        for column, value in enumerate(values, start=2):
            sheet.cell(row, column, value)
    for cells in ("C4:C6", "E5:E6"):
        sheet.merge_cells(cells)  # openpyxl empties the covered cells, as Excel does
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _merged_across_register() -> bytes:
    """Four verdicts; in the first, Hemkommun is merged over Brottskommun (G2:H2, as an analyst shows "the same
    place"); in the second a note beside the register is merged over two columns without a header (L3:M3)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row, values in enumerate([SV_HEADERS, *[vrow(n) for n in CASE_NUMBERS[:4]]], start=1):
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    sheet.cell(3, 12, "se akten")
    for cells in ("G2:H2", "L3:M3"):
        sheet.merge_cells(cells)  # openpyxl empties the covered cells, as Excel does
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _verdict_cases() -> dict[str, list[tuple[str, bytes]]]:
    c: dict[str, list[tuple[str, bytes]]] = {}
    c["V01"] = [("tomt.csv", b"")]
    c["V02"] = [("komma.csv", _csv([vrow(CASE_NUMBERS[0]), vrow(CASE_NUMBERS[1], court="Linköpings tingsrätt, avd 2")],
                                 sep=",", quote=False))]
    c["V03"] = [("tva_blad.xlsx", _xlsx({"2023": [SV_HEADERS, vrow(CASE_NUMBERS[0])],
                                         "2024": [SV_HEADERS, vrow(CASE_NUMBERS[1]), vrow(CASE_NUMBERS[2])]}))]
    c["V04"] = [("med_anteckningar.xlsx", _xlsx({"Domar": [SV_HEADERS, vrow(CASE_NUMBERS[3])],
                                                 "Anteckningar": [["Kommentar"], ["se separat lista"]],
                                                 "Tom": []}))]
    c["V05"] = [("a_tom.csv", b""), ("b_saknar_kolumn.csv", _csv([vrow(CASE_NUMBERS[0])[1:]], headers=SV_HEADERS[1:]))]
    c["V06"] = [("pnr_i_domstol.csv", _csv([vrow(CASE_NUMBERS[0], court=f"Linköpings tingsrätt {PNR_CENTURY}"),
                                             vrow(CASE_NUMBERS[1])]))]
    c["V07"] = [("namn_i_pafoljd.csv", _csv([vrow(CASE_NUMBERS[2], sanction=f"dagsböter, {PERSON}"),
                                              vrow(CASE_NUMBERS[3], sanction="villkorlig dom och dagsböter"),
                                              vrow(CASE_NUMBERS[4], sanction=f"se akt {_phone(70)}")]))]
    c["V08"] = [("utan_rubrik.csv", _csv([vrow(CASE_NUMBERS[0]) + [PNR_BAD_LUHN]], headers=SV_HEADERS + [""]))]
    c["V09"] = [("sammanslagen_rubrik.xlsx", _xlsx({"Blad1": [SV_HEADERS, vrow(CASE_NUMBERS[0])]},
                                                   merged_title="Domar 2024"))]
    c["V10"] = [("ansi.csv", _csv([vrow(CASE_NUMBERS[5], court="Norrköpings tingsrätt")], encoding="cp1252"))]
    c["V11"] = [("dubbletter.csv", _csv([vrow(CASE_NUMBERS[0]), vrow(CASE_NUMBERS[0])]))]
    c["V12"] = [("telefon_i_domstol.csv", _csv([vrow(CASE_NUMBERS[1], court=f"ring {_phone(71)}")]))]
    c["V13"] = [("dubbel_kolumn.csv", _csv([vrow(CASE_NUMBERS[0]) + ["avd 2"], vrow(CASE_NUMBERS[1]) + [""]],
                                          headers=SV_HEADERS + ["Domstol"]))]
    c["V14"] = [("dubbel_kolumn.xlsx", _xlsx({"Blad1": [SV_HEADERS + ["Målnummer"], vrow(CASE_NUMBERS[2]) + ["x"]]}))]
    c["V15"] = [("utan_rubrikrad.csv", _csv([vrow(CASE_NUMBERS[4])], headers=vrow(CASE_NUMBERS[3])))]
    typed = [vrow(CASE_NUMBERS[0]), vrow(CASE_NUMBERS[1]), vrow(CASE_NUMBERS[2]), vrow(CASE_NUMBERS[3])]
    typed[1][6], typed[2][7], typed[3][6] = True, 580.5, 580  # a true/false cell, a fraction, a number cell
    c["V16"] = [("kommun_som_tal.xlsx", _xlsx({"Blad1": [SV_HEADERS, *typed]}))]
    c["V17"] = [("kommun_upphojd.csv", _csv([vrow(CASE_NUMBERS[4])[:6] + ["²"] + vrow(CASE_NUMBERS[4])[7:]]))]
    c["V20"] = [("unicode_text.csv", _csv([vrow(CASE_NUMBERS[2])], sep="\t", encoding="utf-16"))]
    c["V21"] = [("utan_bom.csv", _csv([vrow(CASE_NUMBERS[3])], encoding="utf-16-le"))]
    c["V22"] = [("excel_sep.csv", b"sep=;\n" + _csv([vrow(CASE_NUMBERS[0])], encoding="utf-8"))]
    c["V23"] = [("med_titelrad.csv", b"Domar 2024;;;;;;;;;;\n" + _csv([vrow(CASE_NUMBERS[1])], encoding="utf-8"))]
    c["V24"] = [("osynliga_tecken.csv", _csv([vrow(CASE_NUMBERS[2])],
                                             headers=["\u200b" + SV_HEADERS[0], *SV_HEADERS[1:-1], SV_HEADERS[-1] + "\ufeff"]))]
    joined = _csv([vrow(CASE_NUMBERS[3])]) + _csv([vrow(CASE_NUMBERS[4])], encoding="utf-8-sig")
    c["V25"] = [("sammanfogade.csv", joined)]
    c["V26"] = [(f"{PERSON} {CASE_NUMBERS[5]}.csv", _csv([vrow(CASE_NUMBERS[5])]))]
    c["V18"] = [("rubrik_med_nummer.csv", _csv([vrow(CASE_NUMBERS[5]) + ["x", "y"]],
                                               headers=SV_HEADERS + [CASE_NUMBERS[4], _phone(72)]))]
    # rows in two encodings, implausible and text dates, a hidden sheet of persons
    ansi_row = ";".join(vrow(CASE_NUMBERS[1], court="Norrköpings tingsrätt")).encode("cp1252") + b"\n"
    c["V27"] = [("blandad_kodning.csv", _csv([vrow(CASE_NUMBERS[0])], encoding="utf-8") + ansi_row)]
    dated = [vrow(n) for n in CASE_NUMBERS[2:6]]
    dated[0][3] = "2924-02-20"  # decision in the future (a typo for 2024)
    dated[1][3:5] = ["1998-02-20", "1998-01-10"]  # before the ban on buying sex
    dated[2][3] = "2024-02-20 kl 10"  # text after the date
    dated[3][3] = "45342"  # an Excel serial day saved as text: 2024-02-20
    c["V28"] = [("datum.csv", _csv(dated))]
    c["V29"] = [("dolt_blad.xlsx", _xlsx({"Domar": [SV_HEADERS, vrow(CASE_NUMBERS[0])],
                                          "Personer": [["Personnummer"], [PNR_CENTURY]]}, hidden="Personer"))]
    # Excel's Sort without "My data has headers": the header row sorted in among the verdicts
    sorted_rows = [vrow(n) for n in CASE_NUMBERS[:5]]
    c["V30"] = [("sorterad.xlsx", _xlsx({"Blad1": [["Domar 2024"], *sorted_rows[:2], SV_HEADERS, *sorted_rows[2:]]}))]
    c["V31"] = [("sorterad.csv", b"sep=;\n" + _csv(sorted_rows[:1], headers=sorted_rows[1], encoding="utf-8")
                 + _csv(sorted_rows[2:], encoding="utf-8"))]
    # a workbook in the 1904 date system with serial days in General cells (and one date cell)
    mac = [vrow(n) for n in CASE_NUMBERS[:3]]
    mac[0][3:5] = [45342 - 1462, 45301 - 1462]  # 2024-02-20 and 2024-01-10; read in 1900's system: 2020
    mac[1][3:5] = [45342 - 1462, datetime(2024, 1, 10)]  # a serial and a date cell: read in 1900's, before the offence
    mac[2][3:5] = [datetime(2024, 2, 20), datetime(2024, 1, 10)]  # date cells: openpyxl applies the system
    c["V32"] = [("mac_1904.xlsx", _xlsx({"Blad1": [SV_HEADERS, *mac]}, epoch_1904=True))]
    # Excel error values: a failed lookup (#N/A) in the case number and a municipality, #REF! in the sanction
    failed = [vrow(n) for n in CASE_NUMBERS[:4]]
    failed[0][0], failed[1][9], failed[2][7] = "#N/A", "#REF!", "#N/A"
    c["V33"] = [("felvarden.xlsx", _xlsx({"Blad1": [SV_HEADERS, *failed]}))]
    c["V34"] = [("felvarden.csv", _csv(failed))]
    # one verdict in two registers, its case number typed without the space and with AutoCorrect's en dash
    retyped = vrow(CASE_NUMBERS[0].replace(" ", "").replace("-", "\u2013"))
    c["V35"] = [("lan_2024.csv", _csv([vrow(CASE_NUMBERS[0])])), ("kommun_2024.xlsx", _xlsx({"Blad1": [SV_HEADERS, retyped]}))]
    # municipality codes as other tools write them: a float as text, code and name (and a code and name that differ)
    coded = [vrow(n) for n in CASE_NUMBERS[:4]]
    coded[0][6], coded[1][7], coded[2][6], coded[3][7] = "580.0", "0581 Norrköping", "0581\u00a0– Norrköping", "0580 Motala"
    c["V36"] = [("kommunkoder.csv", _csv(coded))]
    c["V38"] = [("med_pivot.xlsx", _xlsx({"Domar": [SV_HEADERS, vrow(CASE_NUMBERS[0]), vrow(CASE_NUMBERS[1])],
                                          "Sammanställning": [["Hemkommun", "Antal domar"], ["Linköping", 2]],
                                          "Per år": [["Beslutsdatum", "Antal"], [2024, 2]]}))]
    # Excel for Mac's "CSV (Macintosh)": Mac Roman, where 'ö' is the byte Windows-1252 reads as 'š'
    mac_rows = [vrow(CASE_NUMBERS[0], court="Norrköpings tingsrätt"), vrow(CASE_NUMBERS[1])]
    mac_rows[1][6:8] = ["Norrköping", "Söderköping"]
    c["V39"] = [("mac_csv.csv", _csv(mac_rows, encoding="mac_roman"))]
    c["V37"] = [("sammanslagna_celler.xlsx", _merged_register())]
    c["V44"] = [("sammanslagna_kolumner.xlsx", _merged_across_register())]
    # a title line of 200 kB above the header (notes pasted into the title): the csv module's 128 KiB field limit
    c["V43"] = [("lang_titel.csv", ("Domar 2024 " + "x" * 200_000 + "\n").encode() + _csv([vrow(CASE_NUMBERS[3])],
                                                                                      encoding="utf-8"))]
    # a register written by a script: formulas (a municipality looked up, a court copied) without calculated values
    scripted = [vrow(n) for n in CASE_NUMBERS[:3]]
    scripted[0][6], scripted[1][1] = "=VLOOKUP(A2,Koder!A:B,2,FALSE)", "=B2"
    c["V42"] = [("skript.xlsx", _xlsx({"Blad1": [SV_HEADERS, *scripted]}))]
    # two registers joined, the second with its dates and its municipalities in the other order (its own header)
    order = [0, 1, 2, 4, 3, 5, 7, 6, 8, 9, 10]
    other = [[row[i] for i in order] for row in (SV_HEADERS, vrow(CASE_NUMBERS[1]), vrow(CASE_NUMBERS[2]))]
    other[1][6] = other[2][6] = "Norrköping"  # bought in Norrköping, home Linköping
    c["V41"] = [("sammanfogade_ordning.csv", _csv([vrow(CASE_NUMBERS[0])]) + _csv(other[1:], headers=other[0],
                                                                                 encoding="utf-8"))]
    # the register continued on a second sheet without its header row, beside a summary sheet
    c["V40"] = [("fortsattning.xlsx", _xlsx({"Domar": [SV_HEADERS, vrow(CASE_NUMBERS[0]), vrow(CASE_NUMBERS[1])],
                                             "Domar forts": [vrow(n) for n in CASE_NUMBERS[2:5]],
                                             "Summering": [["Hemkommun", "Antal domar"], ["Linköping", 5]]}))]
    c["V19"] = [("blad_med_namn.xlsx", _xlsx({PERSON: [SV_HEADERS, vrow(CASE_NUMBERS[0])],
                                              PNR_CENTURY: [SV_HEADERS, vrow(CASE_NUMBERS[1])],
                                              f"Tom {PNR_BAD_LUHN}": []}))]
    return c


def snapshot_cases() -> dict[str, list[tuple[str, bytes]]]:
    return _snapshot_cases()


def verdict_cases() -> dict[str, list[tuple[str, bytes]]]:
    return _verdict_cases()


def read_table() -> list[dict]:
    with CASES_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_corpus(root: Path, cases: dict[str, list[tuple[str, bytes]]]) -> dict[str, list[Path]]:
    """Write the cases' files under ``root``; returns the paths per case."""
    written = {}
    for case, files in cases.items():
        written[case] = []
        for rel, data in files:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, Link):  # the target beside the root, outside the archive
                outside = root.parent / f"{root.name}-outside" / case / path.name
                target = outside / "capture.jsonl" if data.folder else outside
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bytes(data))
                path.symlink_to(outside, target_is_directory=data.folder)
            else:
                path.write_bytes(data)
            written[case].append(path)
    return written


def planted_identifiers() -> dict[str, str]:
    """Every planted identifier in raw, digits-only and E.164 forms -> a label (never printed with the value)."""
    from lagesbild.privacy.pseudonymise import normalise_phone

    snapshot_cases()
    verdict_cases()  # fills PLANTED_PHONES
    needles: dict[str, str] = {}
    for raw in PLANTED_PHONES:
        e164 = normalise_phone(raw)
        digits = "".join(ch for ch in raw if ch.isdigit())
        needles |= {raw: "phone", digits: "phone", e164: "phone", e164[1:]: "phone"}
    for raw in PLANTED_OTHER:
        needles[raw] = "personal identifier"
        digits = "".join(ch for ch in raw if ch.isdigit())
        if digits and digits != raw:
            needles[digits] = "personal identifier"
    for raw in CASE_NUMBERS:
        needles |= {raw: "case number", raw.replace(" ", ""): "case number"}
    return needles
