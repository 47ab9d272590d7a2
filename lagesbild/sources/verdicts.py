"""The verdict register analysts keep in Excel: CSV or XLSX, Swedish or English headers.

Conviction data is sensitive: a column with personal identity numbers or names fails the file
(PersonalDataError naming column and row), the case number becomes a keyed hash here and is never
stored, columns we do not know are reported and not kept, and impossible rows go to quarantine.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import posixpath
import re
import unicodedata
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

from lagesbild.privacy.detect import PersonalDataError, assert_no_personal_data
from lagesbild.privacy.identifiers import MAX_FIELD_CHARS, identifier_kind, scan_column
from lagesbild.privacy.pseudonymise import case_key
from lagesbild.sources.quarantine import DATE, STR, IngestResult, quarantine_frame, summarise, typed_frame

SOURCE = "verdicts"
AGE_RANGE = (15, 100)
#: Sexköpslagen (1998:408) took effect on this day: an earlier offence date is not a sex-purchase conviction.
SEX_PURCHASE_BAN = date(1999, 1, 1)

# canonical column -> accepted headers (compared folded: lower case, no accents, single spaces)
HEADER_ALIASES = {
    "case_number": ["case number", "case no", "malnummer", "mal nr", "malnr", "mal nummer"],
    "court": ["court", "domstol"],
    "decision_type": ["decision type", "beslutstyp", "typ av beslut"],
    "decision_date": ["decision date", "beslutsdatum", "domsdatum"],
    "offence_date": ["offence date", "offense date", "brottsdatum", "gärningsdatum", "garningsdatum"],
    "buyer_age": ["buyer age", "age", "alder vid brottet", "alder", "age at offence"],
    "buyer_birth_year": ["buyer birth year", "birth year", "fodelsear"],
    "home_municipality": ["home municipality", "hemkommun"],
    "purchase_municipality": ["purchase municipality", "brottskommun", "kommun for kopet"],
    "contact_channel": ["contact channel", "kontaktvag"],
    "sanction": ["sanction", "pafoljd"],
    "completed": ["completed", "fullbordat", "fullbordat/forsok"],
}
REQUIRED_COLUMNS = ("case_number", "court", "decision_type", "decision_date", "offence_date", "completed")

DECISION_TYPES = {
    "dom": "judgment",
    "judgment": "judgment",
    "judgement": "judgment",
    "strafforelaggande": "summary_order",
    "summary order": "summary_order",
    "summary_order": "summary_order",
}
CHANNELS = {
    "annonssajt": "ad_site",
    "ad site": "ad_site",
    "ad_site": "ad_site",
    "annan sajt": "other_site",
    "other site": "other_site",
    "other_site": "other_site",
    "gatan": "street",
    "street": "street",
    "annat": "other",
    "other": "other",
    "okand": "unknown",
    "unknown": "unknown",
    "": "unknown",
}
COMPLETED = {
    "fullbordat": True,
    "completed": True,
    "true": True,
    "1": True,
    "ja": True,
    "yes": True,
    "forsok": False,
    "attempt": False,
    "false": False,
    "0": False,
    "nej": False,
    "no": False,
}

#: The sanction as one of a closed list (Swedish terms of BrB ch. 25-32 and RB), most severe first; the
#: register's free text is never kept. Several sanctions in one text ("villkorlig dom och dagsböter")
#: are kept as the recognised ones joined by " och ", in this order; text naming none is "annan".
SANCTIONS = (
    ("rättspsykiatrisk vård", ("rattspsykiatrisk",)),
    ("fängelse", ("fangelse", "prison", "imprisonment")),
    ("sluten ungdomsvård", ("sluten ungdomsvard",)),
    ("skyddstillsyn", ("skyddstillsyn", "probation")),
    ("villkorlig dom", ("villkorlig dom", "conditional")),
    ("samhällstjänst", ("samhallstjanst", "community service")),
    ("ungdomsvård", ("ungdomsvard",)),
    ("ungdomstjänst", ("ungdomstjanst",)),
    ("dagsböter", ("dagsbot", "day fine", "day-fine")),
    ("penningböter", ("penningbot",)),
    ("åtalsunderlåtelse", ("atalsunderlatelse", "waiver of prosecution")),
    ("frikänd", ("frikand", "ogillat", "acquitted")),
)
OTHER_SANCTION = "annan"


def map_sanction(value) -> str | None:
    """The register's sanction text mapped to the closed list (None when empty)."""
    if _blank(value):
        return None
    text = fold(value)
    found = [name for name, keys in SANCTIONS if any(k in text for k in keys)]
    if "skyddstillsyn" in found and "samhällstjänst" in found:
        found.remove("samhällstjänst")  # samhällstjänst is a condition of villkorlig dom / skyddstillsyn
    return " och ".join(found) if found else OTHER_SANCTION


ROW_SCHEMA = {
    "case_key": STR,
    "court": STR,
    "decision_type": STR,
    "decision_date": DATE,
    "offence_date": DATE,
    "buyer_age": "int16",
    "age_source": STR,
    "home_municipality_code": STR,
    "purchase_municipality_code": STR,
    "contact_channel": STR,
    "sanction": STR,
    "completed": "bool",
    "source_file": STR,
    "source_row": "int32",
}
ROW_COLUMNS = list(ROW_SCHEMA)


def fold(text) -> str:
    """Lower case, accents and invisible format characters (a BOM, a zero-width space) removed, whitespace and
    underscores collapsed: 'Ålder_vid  brottet' -> 'alder vid brottet'."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")
    return re.sub(r"[\s_]+", " ", text.strip().lower())


_HEADER_LOOKUP = {
    fold(alias): canon for canon, aliases in HEADER_ALIASES.items() for alias in aliases + [canon]
}


class RegisterFormatError(ValueError):
    """The register file cannot be read as a register (missing columns, unknown format)."""


def withheld(label: str, what: str) -> str:
    """``label`` (a header or a sheet name), or a stand-in naming ``what`` when it holds a phone number, a
    personal identity number or a person's name: labels reach errors, metadata and ``source_file``."""
    return _stand_in(label, what, label)


def file_label(name: str, what: str) -> str:
    """A file's name, or a stand-in naming ``what`` when the name holds a phone number, case number,
    personal identity number or person's name (a judgment saved into the inbox as 'B 1234-21 dom.pdf'):
    file names reach errors, the refused list, ``source_file`` and the publication's quality results."""
    return _stand_in(name, what, Path(name).stem, name)


# not the word "name": a header with it is read as a column of names (privacy.detect)
_WITHHELD = {"phone_number": "a phone number", "personal_identity_number": "an identity number",
             "person_name": "a person"}


def _stand_in(value: str, what: str, *probes: str) -> str:
    """``value``, or "<what> (withheld: <kind>)" when one of ``probes`` holds an identifier."""
    for probe in probes:
        if probe.strip() and (kind := identifier_kind(probe)):
            return f"{what} (withheld: {_WITHHELD[kind]})"
    return value


def unique_headers(headers: list[str]) -> list[str]:
    """Headers made unique: a repeated header is labelled with its column ("Domstol (column 12)"), so it
    is read as a column of its own (not in the contract: reported and dropped, like a second alias of a
    register column). A table with two columns of one label cannot be read column by column."""
    seen, out = set(), []
    for number, header in enumerate(headers, start=1):
        if header in seen:
            header = f"Unnamed: {number - 1}" if not header.strip() else f"{header} (column {number})"
        seen.add(header)
        out.append(header)
    return out


#: Day 0 of Excel's serial days in the 1900 date system (Windows Excel's default; 1900-02-29 is counted, so
#: serial days from 1900-03-01 on count from here), and in the 1904 date system (Excel for Mac before 2011 and
#: workbooks kept from it: the same serial is 1,462 days later).
EPOCH_1900, EPOCH_1904 = date(1899, 12, 30), date(1904, 1, 1)


class RegisterPart:
    """One readable table of a register file: the CSV, or one sheet of a workbook. ``epoch`` is the day serial
    day 0 stands for (a workbook's date system; a CSV's serial days are the 1900 system's)."""

    def __init__(self, file: str, sheet: str | None, frame: pd.DataFrame, bad_lines: list[dict] | None = None,
                 epoch: date = EPOCH_1900):
        frame.columns = unique_headers(
            [withheld(str(c), f"column {number}") for number, c in enumerate(frame.columns, start=1)]
        )
        self.file, self.sheet, self.frame, self.bad_lines = file, sheet, frame, bad_lines or []
        self.epoch = epoch

    @property
    def label(self) -> str:
        return f"{self.file} (sheet '{self.sheet}')" if self.sheet else self.file


#: Byte order marks of the Unicode encodings Excel and other tools write ("Unicode text" is UTF-16 LE
#: with tabs); UTF-32's marks first, as UTF-32 LE's starts with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(raw: bytes, name: str) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                raise RegisterFormatError(f"{name}: starts as {encoding.upper()} text but is not") from None
    if raw[:1000].count(0) * 3 > min(len(raw), 1000):  # Windows-1252 would read UTF-16 as letters and NULs
        raise RegisterFormatError(f"{name}: text with NUL bytes (UTF-16 without a byte order mark?); "
                                  "save it as CSV UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Windows-1252, line by line: a line that is UTF-8 stays UTF-8 (two exports joined, rows pasted from an
    # older file), else one stray byte would turn every 'ö' of the file into 'Ã¶' (every municipality unknown,
    # court names garbled). Swedish Windows-1252 text is never valid UTF-8 by accident ('Ã¶' is not written).
    lines = raw.split(b"\n")
    other = [n for n, line in enumerate(lines) if not _is_utf8(line, n)]
    legacy = _legacy_encoding(b"\n".join(lines[n] for n in other))
    for number, line in enumerate(lines):
        try:
            lines[number] = line.decode("utf-8-sig" if number == 0 else "utf-8")
        except UnicodeDecodeError:
            try:
                lines[number] = line.decode(legacy)
            except UnicodeDecodeError:
                raise RegisterFormatError(f"{name}: line {number + 1} is neither UTF-8 nor Windows-1252 text") from None
    return "\n".join(lines)


def _is_utf8(line: bytes, number: int) -> bool:
    try:
        line.decode("utf-8-sig" if number == 0 else "utf-8")
    except UnicodeDecodeError:
        return False
    return True


_SWEDISH_LETTERS = set("åäöÅÄÖé")


def _legacy_encoding(text: bytes) -> str:
    """Windows-1252, or Mac Roman when the bytes that are not UTF-8 read as more Swedish letters in it: Excel for
    Mac's "CSV (Macintosh)" writes Mac Roman, where 'ö' is the byte Windows-1252 reads as 'š' ("Linkšping": every
    row an unknown municipality, the court names garbled); in Windows-1252 text, Mac Roman reads 'ö' as 'ˆ'."""
    def letters(encoding: str) -> int:
        try:
            return sum(ch in _SWEDISH_LETTERS for ch in text.decode(encoding))
        except UnicodeDecodeError:
            return -1
    return "mac_roman" if letters("mac_roman") > letters("cp1252") else "cp1252"


_SEP_LINE_RE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)


def _csv_layout(lines: list[str]) -> tuple[str, int]:
    """(separator, 0-based header line) from the first lines: Excel's ``sep=;`` line first names the
    separator; the header is the first of the next ten lines with three or more register headers
    (title lines above it are skipped, as in a workbook), else the first line, its separator the most
    frequent of ',', ';' and tab (a tie of ';' and ',' is ',')."""
    forced = _SEP_LINE_RE.match(lines[0]) if lines else None
    skip = 1 if forced else 0
    for index in range(skip, min(skip + 10, len(lines))):
        for sep in (forced[1],) if forced else (",", ";", "\t"):
            cells = next(csv.reader([lines[index]], delimiter=sep), [])
            if sum(1 for cell in cells if _HEADER_LOOKUP.get(fold(cell))) >= 3:
                return sep, index
    header = lines[skip] if len(lines) > skip else ""
    return (forced[1] if forced else max((",", ";", "\t"), key=header.count)), skip


def _read_csv(path: Path) -> list[RegisterPart]:
    """The CSV as strings; a line with more or fewer fields than the header is kept aside (line named)."""
    size = path.stat().st_size
    if size > MAX_WORKBOOK_BYTES:  # read whole into memory, decoded and split: a few GB took the ingest with it
        raise RegisterFormatError(
            f"{path.name}: the file is {size:,} bytes, more than {MAX_WORKBOOK_BYTES:,} (MAX_WORKBOOK_BYTES): not read"
        )
    text = _decode(path.read_bytes(), path.name)
    if not text.strip():
        raise RegisterFormatError(f"{path.name}: the file is empty (no header line)")
    # A quoted value may hold line breaks (Alt+Enter in Excel), and a quote that is never closed runs to
    # the end of the file: one value may be as long as the file (the csv module refuses fields over 128 KiB). Also
    # in the lines read for the header: a title or value over 128 KiB there stopped the run with a bare csv.Error.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    sep, top = _csv_layout(re.split(r"\r\n|\r|\n", text, maxsplit=12)[:12])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    records, above, last = [], [], 0
    for record in reader:  # with the physical lines each row spans, for the messages
        if last >= top:  # lines above the header (Excel's "sep=;", a title) are not rows
            records.append((last + 1, reader.line_num, record))
        else:
            above.append(record)
        last = reader.line_num
    if not records:
        raise RegisterFormatError(f"{path.name}: no header line")
    columns, body = records[0][2], []
    bad = _rows_above_header(above, columns, "line")
    if not any(c.strip() for c in columns):
        raise RegisterFormatError(f"{path.name}: line {records[0][0]} (the header) is empty")
    for row_no, (first, last, record) in enumerate(records[1:], start=1):
        if not any(v.strip() for v in record):
            body.append([""] * len(columns))  # a blank line: counted as a blank row, like Excel's
        elif len(record) != len(columns):
            where = f"line {first} has" if first == last else f"lines {first}-{last} (one row) have"
            shown = "tab" if sep == "\t" else f"'{sep}'"
            guess = f"an unquoted {shown} in a value?" if first == last else "a quote that is not closed?"
            bad.append(
                {
                    "position": row_no,
                    "reason": "wrong_field_count",
                    "detail": f"{where} {len(record)} fields, the header {len(columns)} ({guess})",
                }
            )
            body.append(None)
        else:
            body.append(record)
    keep = [r for r in body if r is not None]
    positions = [i + 1 for i, r in enumerate(body) if r is not None]
    frame = pd.DataFrame(keep, columns=columns, dtype=str) if keep else pd.DataFrame(columns=columns, dtype=str)
    frame.index = positions
    return [RegisterPart(path.name, None, frame, bad)]


#: The most an XLSX register may inflate to (the sum of its parts' sizes as its zip directory states
#: them, which Python's zip reader enforces while it inflates). A register of ten thousand verdicts is a
#: few MB; a workbook "bomb" of a few KB inflating to GBs would take the ingest's memory with it.
MAX_WORKBOOK_BYTES = 256 * 2**20


def _inflated_size(path: Path) -> int:
    """The workbook's size once inflated, 0 when it is no zip (openpyxl then says it is unreadable)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0


def _read_xlsx(path: Path) -> tuple[list[RegisterPart], list[dict]]:
    """Every sheet: read, or refused with a reason (empty). The cells are read with openpyxl's read-only reader
    in one pass (its public API: cached values, an error cell as its error value); merged cells, which that
    reader does not report, from the sheet's part of the zip (``_sheet_merges_and_formulas``)."""
    inflated = _inflated_size(path)
    if inflated > MAX_WORKBOOK_BYTES:
        raise RegisterFormatError(
            f"{path.name}: the workbook inflates to {inflated:,} bytes, more than {MAX_WORKBOOK_BYTES:,} "
            "(MAX_WORKBOOK_BYTES): not read"
        )
    import openpyxl  # here: importing it costs every process that imports this module

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
        try:
            # openpyxl applies the workbook's date system to date-formatted cells only; a serial day in a
            # General cell would otherwise be read in the 1900 system: 4 years and a day early, silently
            epoch = EPOCH_1904 if book.epoch.year == 1904 else EPOCH_1900
            sheets = {sheet.title: _sheet_grid(sheet) for sheet in book.worksheets}
            # worksheets only: a chart sheet (a diagram on a sheet of its own) is listed here
            charts = [name for name in book.sheetnames if name not in sheets]
        finally:
            book.close()
        merges = _sheet_merges_and_formulas(path)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many types for a broken workbook
        raise RegisterFormatError(f"{path.name}: not a readable XLSX workbook ({_what_it_is(path) or type(err).__name__})"
                                  ) from None
    parts, refused = [], []
    for number, chart in enumerate(charts, start=len(sheets) + 1):
        refused.append(_refused(path.name, withheld(str(chart), f"sheet {number}"), "not_a_register",
                                "a chart sheet: no cells to read"))
    for number, (sheet, grid) in enumerate(sheets.items(), start=1):
        merged, uncalculated, across = merges.get(sheet, ([], set(), []))
        _mark_uncalculated(grid, uncalculated)
        _fill_merges(grid, merged)
        sheet = withheld(str(sheet), f"sheet {number}")
        grid = grid.dropna(how="all", axis=1)
        filled = [position for position, full in enumerate(grid.notna().any(axis=1)) if full]
        if not filled:
            refused.append(_refused(path.name, str(sheet), "empty_sheet", "the sheet holds no header and no rows"))
            continue
        # Empty rows above the header are skipped; those between data rows stay, so each row keeps its
        # number below the header (Excel row = header row + source_row) and is counted as a blank row.
        top = filled[_header_row(grid.iloc[filled])]
        header = [str(v) if pd.notna(v) else f"Unnamed: {i}" for i, v in enumerate(grid.iloc[top])]
        above = [["" if pd.isna(v) else str(v) for v in row] for row in grid.iloc[:top].itertuples(index=False)]
        frame = grid.iloc[top + 1 : filled[-1] + 1].copy()
        frame.columns = header
        frame = frame.astype(object).where(frame.notna(), "")
        _mark_merged_across(frame, grid, top, across)
        frame.index = range(1, len(frame) + 1)
        parts.append(RegisterPart(path.name, str(sheet), frame, _rows_above_header(above, header, "row"), epoch))
    return parts, refused


def _cell_value(value):
    """A cell as the register reads it: an empty cell (or empty text) is None; a whole number stored as a float
    (``580.0``) is an int; an error cell is its error value (``#N/A``), so the row is quarantined as
    ``excel_error`` like the same text in a CSV export. Only an empty cell is empty: ``NA``, ``null`` or ``None``
    in a cell stay text, as in a CSV."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sheet_grid(sheet) -> pd.DataFrame:
    """The sheet's values as a grid whose row i and column j are the sheet's row i+1 and column j+1 (the merges
    are placed by that), trailing empty rows and columns cut. The sheet's stated dimension is not trusted: a
    formatted cell at XFD1048576 would make it a billion cells, and a wrong one would cut the register."""
    sheet.reset_dimensions()  # the real extent, found while reading
    rows, last, width = [], -1, 0
    for number, row in enumerate(sheet.iter_rows(values_only=True)):
        values = [_cell_value(v) for v in row]
        while values and values[-1] is None:
            values.pop()
        if values:
            last, width = number, max(width, len(values))
        rows.append(values)
    del rows[last + 1:]
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=range(width), dtype=object)


#: What a file named .xlsx that is no XLSX workbook is, by its first bytes: Excel saves a workbook with a password
#: (encrypted) as an OLE compound file, the format of the old .xls too.
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def _what_it_is(path: Path) -> str | None:
    """Why a workbook could not be opened, when its bytes tell (the detail of the error), else None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
        if head == _OLE_MAGIC:
            return ("a password-protected (encrypted) workbook or an old .xls: save it as .xlsx without a password "
                    "(File > Info > Protect Workbook > Encrypt with Password, empty)")
        with zipfile.ZipFile(path) as archive:
            if "mimetype" in archive.namelist() and b"opendocument" in archive.read("mimetype"):
                return "an OpenDocument spreadsheet (.ods) named .xlsx: save it as .xlsx"
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        return None
    return None


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _relationships(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, target member) of a package part's relationships (ECMA-376 part 2: ``<folder>/_rels/<name>.rels``;
    a target is relative to the part's folder unless it starts with '/')."""
    folder, name = posixpath.dirname(part), posixpath.basename(part)
    tree = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", f"{name}.rels")))
    out = []
    for rel in tree.iter(_RELATIONSHIP):
        target = rel.get("Target", "")
        target = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out.append((rel.get("Id"), rel.get("Type", ""), posixpath.normpath(target)))
    return out


#: A formula cell: its attributes, the formula, and its cached value (``<v>``) if any.
_FORMULA_CELL_RE = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_CELL_REF_RE = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_CALC_PR = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}calcPr"


class _Uncalculated(str):
    """A formula cell the workbook holds no calculated value for (a workbook written by a tool that does not
    calculate, such as a script): read-only openpyxl gives it as empty."""


UNCALCULATED = _Uncalculated("#UNCALCULATED")


class _MergedAcross(str):
    """A cell below the header covered by a cell merged across columns: Excel shows the merged cell's value over
    it, read-only openpyxl gives it as empty, and which of the columns the value is meant for is not known."""


MERGED_ACROSS = _MergedAcross("#MERGED")


def _sheet_merges_and_formulas(
    path: Path,
) -> dict[str, tuple[list[tuple[int, int, int]], set[tuple[int, int]], list[tuple[int, int, int, int]]]]:
    """Sheet name -> (its merged cells of one column over several rows, as (column, first row, last row), its
    formula cells without a calculated value, as (row, column), and its merges across columns, as (first column,
    first row, last column, last row)), 0-based.
    openpyxl's read-only reader does not report merges, so every row of a court or a date merged over several
    verdicts but the first read as empty ("court is empty"); it gives a formula without a value as an empty cell,
    so a municipality looked up by a formula that was never calculated passed as no municipality. Both are read
    from the sheet's own part of the zip, found through the package's relationships, scanned in pieces (a sheet's
    XML may be large; the merges follow its cells). Merges across columns are not filled (``_mark_merged_across``)."""
    from openpyxl.utils import column_index_from_string

    facts = {}
    with zipfile.ZipFile(path) as archive:
        [workbook] = [t for _, kind, t in _relationships(archive, "") if kind.endswith("/officeDocument")]
        targets = {rid: target for rid, _, target in _relationships(archive, workbook)}
        tree = ElementTree.fromstring(archive.read(workbook))
        # a workbook that asks to be calculated when opened may hold no calculated values: a script's (openpyxl
        # writes none, XlsxWriter a 0 for every formula)
        uncalculated_book = any(c.get("fullCalcOnLoad") in ("1", "true") for c in tree.iter(_CALC_PR))
        for sheet in tree.iter(_SHEET):
            target = targets.get(sheet.get(_REL_ID))
            if target is None or target not in archive.namelist():
                continue
            found, formulas, tail = set(), set(), b""
            with archive.open(target) as source:
                while chunk := source.read(1 << 20):
                    found.update(_MERGE_RE.findall(tail + chunk))
                    for attributes, cached in _FORMULA_CELL_RE.findall(tail + chunk):
                        # an empty cached value is a calculated empty text only when typed as text (t="str"); a 0
                        # in a workbook that asks to be calculated is XlsxWriter's stand-in (other values in such a
                        # workbook are taken as calculated: a tool may ask for a recalculation of real values)
                        if (not cached.strip() and b't="str"' not in attributes) or (
                                uncalculated_book and cached.strip() == b"0"):
                            formulas.update(_CELL_REF_RE.findall(attributes))
                    tail = chunk[-(1 << 16):]  # a cell or merge cut between two pieces is whole in the next
            merges = sorted(
                (column_index_from_string(c1.decode()) - 1, int(r1) - 1, int(r2) - 1)
                for c1, r1, c2, r2 in found if c1 == c2 and int(r2) > int(r1))
            across = sorted(
                (column_index_from_string(c1.decode()) - 1, int(r1) - 1, column_index_from_string(c2.decode()) - 1,
                 int(r2) - 1)
                for c1, r1, c2, r2 in found if c1 != c2)
            facts[sheet.get("name")] = (merges, {(int(r) - 1, column_index_from_string(c.decode()) - 1)
                                                 for c, r in formulas}, across)
    return facts


def _mark_uncalculated(grid: pd.DataFrame, cells: set[tuple[int, int]]) -> None:
    """Each formula cell without a calculated value holds ``UNCALCULATED``: its row is quarantined
    (``uncalculated_formula``), not read with that column empty (or 0, XlsxWriter's stand-in value)."""
    for row, column in cells:
        if row < len(grid) and column in grid.columns:
            grid.iat[row, grid.columns.get_loc(column)] = UNCALCULATED


def _mark_merged_across(
    frame: pd.DataFrame, grid: pd.DataFrame, top: int, across: list[tuple[int, int, int, int]]
) -> None:
    """Each cell below the header row covered by a merge across columns whose own cell holds a value gets
    ``MERGED_ACROSS``: a row whose register column it is is quarantined (``merged_across_columns``), not read with
    that column empty (a home municipality merged over the purchase municipality read as "no purchase place").
    Merges in the header row or above it (a title) and merges of empty cells change nothing."""
    for first_column, first_row, last_column, last_row in across:
        if first_row <= top or first_column not in grid.columns or first_row >= len(grid):
            continue
        if pd.isna(grid.iat[first_row, grid.columns.get_loc(first_column)]):
            continue
        for row in range(first_row, min(last_row, top + len(frame)) + 1):
            for column in range(first_column, last_column + 1):
                if (row, column) != (first_row, first_column) and column in grid.columns:
                    frame.iat[row - top - 1, grid.columns.get_loc(column)] = MERGED_ACROSS


def _fill_merges(grid: pd.DataFrame, merges: list[tuple[int, int, int]]) -> None:
    """Each vertical merge's value (its top cell's) in every row it covers, as Excel shows it."""
    for column, first, last in merges:
        if column in grid.columns and first < len(grid) and pd.notna(grid.iat[first, grid.columns.get_loc(column)]):
            at = grid.columns.get_loc(column)
            for row in range(first + 1, min(last, len(grid) - 1) + 1):
                grid.iat[row, at] = grid.iat[first, at]


def _rows_above_header(rows: list[list[str]], header: list[str], unit: str) -> list[dict]:
    """The rows above the header that look like register rows (values in at least half the header's columns, and
    three), quarantined as ``above_header``: a header sorted into the data (Excel's Sort without "My data has
    headers") would otherwise drop the rows above it silently. Titles, notes and Excel's ``sep=;`` line are
    skipped as before. ``position`` counts back from the header: -1 is the row right above it."""
    needed = max(3, -(-sum(1 for h in header if str(h).strip() and not str(h).startswith("Unnamed:")) // 2))
    bad = []
    for back, row in zip(range(len(rows), 0, -1), rows, strict=True):
        values = sum(1 for v in row if str(v).strip())
        if values >= needed:
            bad.append({"position": -back, "reason": "above_header",
                        "detail": f"the {unit} {back} above the header holds {values} values: a register row "
                                  "sorted above its header? (not read)"})
    return bad


def _header_row(grid: pd.DataFrame, look: int = 10) -> int:
    """The header row: the first of the top rows with three or more register headers (a merged title
    row above the headers is skipped), else the first row."""
    for index in range(min(look, len(grid))):
        if sum(1 for v in grid.iloc[index] if pd.notna(v) and _HEADER_LOOKUP.get(fold(v))) >= 3:
            return index
    return 0


def _refused(file: str, sheet: str | None, reason: str, detail: str) -> dict:
    return {"source": SOURCE, "site": None, "file": file, "sheet": sheet, "reason": reason, "detail": detail}


def read_register_file(path: Path) -> tuple[list[RegisterPart], list[dict]]:
    """The file's tables, and its refused sheets (reason per sheet)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path), []
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise RegisterFormatError(f"{path.name}: unknown register format '{suffix}' (use .csv or .xlsx)")


def _header_positions(cells) -> dict[str, int]:
    """Register column -> position, for the cells of a row that are register headers (its first of each)."""
    found: dict[str, int] = {}
    for at, value in enumerate(cells):
        canon = None if _blank(value) else _HEADER_LOOKUP.get(fold(value))
        if canon is not None and canon not in found:
            found[canon] = at
    return found


def _map_headers(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    mapping, unknown = {}, []
    for column in frame.columns:
        canon = _HEADER_LOOKUP.get(fold(column))
        if canon is None or canon in mapping.values():
            unknown.append(str(column))
        else:
            mapping[column] = canon
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping.values()]
    if "buyer_age" not in mapping.values() and "buyer_birth_year" not in mapping.values():
        missing.append("buyer_age or buyer_birth_year")
    if missing:
        raise RegisterFormatError(
            f"{name}: required column(s) missing: {', '.join(missing)} (see the 'Verdict register' table in "
            "docs/architecture.md for accepted Swedish and English headers)"
        )
    mapped = frame[list(mapping)].rename(columns=mapping)
    mapped.attrs["positions"] = {canon: frame.columns.get_loc(column) for column, canon in mapping.items()}
    return mapped, unknown


class _Bad(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""


#: An Excel serial day as text: five digits, maybe a time of day as a fraction ("45342", "45342.5").
_SERIAL_RE = re.compile(r"^\d{5}(?:\.\d+)?$")


def _date(value, column: str, epoch: date = EPOCH_1900) -> date:
    if _blank(value):
        raise _Bad("missing_field", f"{column} is empty")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if _SERIAL_RE.match(text) and not isinstance(value, bool):  # a serial day saved as text (a CSV export)
        value = float(text)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 20000 < value < 80000:  # Excel serial day
        return epoch + timedelta(days=int(value))
    try:  # a date, or a date and time ("2024-02-20 00:00:00" from a spreadsheet); nothing after it ("2024-02-20x")
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        raise _Bad("bad_date", f"{column} is not an ISO date (YYYY-MM-DD)") from None


def _int(value, column: str) -> int | None:
    if _blank(value):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise _Bad("bad_value", f"{column} is not a whole number") from None
    if not math.isfinite(number) or number != int(number):
        raise _Bad("bad_value", f"{column} is not a whole number")
    return int(number)


_WHOLE_TEXT_RE = re.compile(r"^\d{1,4}\.0+$")
_CODE_AND_NAME_RE = re.compile(r"^(\d{3,4})\s*[-–:]?\s+(\D.*)$")


class _Municipalities:
    def __init__(self, municipalities: pd.DataFrame):
        codes = municipalities["municipality_code"].astype(str).str.zfill(4)
        self.codes = set(codes)
        self.by_name = {fold(n): c for n, c in zip(municipalities["municipality_name"], codes, strict=True)}
        for name, code in list(self.by_name.items()):  # "Linköpings kommun" -> "Linköping"
            self.by_name.setdefault(fold(f"{name} kommun"), code)
            self.by_name.setdefault(fold(f"{name}s kommun"), code)

    def code(self, value, column: str) -> str | None:
        if _blank(value):
            return None
        text = str(value).strip()
        if _WHOLE_TEXT_RE.match(text):  # "580.0": a code column written by a tool that read it as a float
            text = text.split(".")[0]
        labelled = _CODE_AND_NAME_RE.match(text)
        if labelled:  # "0581 Norrköping", as Statistics Sweden's lists write them: the code, if the name is its
            code = labelled[1].zfill(4)
            if code in self.codes and self.by_name.get(fold(labelled[2])) == code:
                return code
            raise _Bad("unknown_municipality", f"{column} is a code and a name that are not one municipality")
        if isinstance(value, (int, float)) or text.isdigit():
            # a number cell (580) or digits; not a true/false cell, 580.5, inf or digits float() cannot read ("²")
            try:
                number = float(text) if not isinstance(value, bool) else math.nan
                code = str(int(number)).zfill(4) if number.is_integer() else None
            except (ValueError, OverflowError):
                code = None
            if code in self.codes:
                return code
        elif fold(text) in self.by_name:
            return self.by_name[fold(text)]
        raise _Bad(
            "unknown_municipality", f"{column} is not a municipality name or code in the reference table"
        )


#: Excel's error values (and LibreOffice's ``Err:502``), as an XLSX error cell or a CSV export writes them.
_EXCEL_ERROR_RE = re.compile(
    r"^\s*(?:#NULL!|#DIV/0!|#VALUE!|#REF!|#NAME\?|#NUM!|#N/A|#GETTING_DATA|#SPILL!|#CALC!|#FIELD!|#BLOCKED!"
    r"|#CONNECT!|#BUSY!|#UNKNOWN!|#PYTHON!|Err:\d{3})\s*$",
    re.IGNORECASE,
)


def _convert(record: dict, key: bytes, munis: _Municipalities, epoch: date = EPOCH_1900) -> dict:
    for column, value in record.items():  # a formula never calculated has no value to read
        if isinstance(value, _Uncalculated):
            raise _Bad("uncalculated_formula", f"{column} is a formula the workbook holds no calculated value for "
                       "(saved by a tool that does not calculate: open the workbook in Excel and save it)")
    for column, value in record.items():  # a cell merged over a register column: whose value is it?
        if isinstance(value, _MergedAcross):
            raise _Bad("merged_across_columns", f"{column} is covered by a cell merged across columns (Excel shows "
                       "the merged cell's value over it; which column it is meant for is not known): unmerge the "
                       "cells and fill each")
    for column, value in record.items():  # a failed formula is not a value (a court "#N/A", a case "#REF!")
        if isinstance(value, str) and _EXCEL_ERROR_RE.match(value):
            raise _Bad("excel_error", f"{column} is an Excel error value ({value.strip().upper()})")
    if _blank(record.get("case_number")):
        raise _Bad("missing_field", "case_number is empty")
    if _blank(record.get("court")):
        raise _Bad("missing_field", "court is empty")
    decision_type = DECISION_TYPES.get(fold(record.get("decision_type", "")))
    if decision_type is None:
        raise _Bad("bad_value", "decision_type is not dom/strafföreläggande (judgment/summary_order)")
    decision, offence = (
        _date(record.get("decision_date"), "decision_date", epoch),
        _date(record.get("offence_date"), "offence_date", epoch),
    )
    if decision < offence:
        raise _Bad("decision_before_offence", "decision_date is before offence_date")
    if offence < SEX_PURCHASE_BAN:  # a typo (1024, 2002 for 2022 is still possible) or not this offence
        raise _Bad("implausible_date", f"offence_date is before {SEX_PURCHASE_BAN} (buying sex became an offence then)")
    if decision > date.today():
        raise _Bad("implausible_date", "decision_date is after today")
    age, source = _int(record.get("buyer_age"), "buyer_age"), "age"
    if age is None:
        birth_year = _int(record.get("buyer_birth_year"), "buyer_birth_year")
        if birth_year is None:
            raise _Bad("missing_field", "neither buyer_age nor buyer_birth_year is given")
        age, source = offence.year - birth_year, "birth_year"
    if not AGE_RANGE[0] <= age <= AGE_RANGE[1]:
        # the age only when it is short: a phone number in the age column must not reach the quarantine
        shown = f"buyer age {age}" if -1000 < age < 1000 else "buyer age (a number of more than three digits)"
        raise _Bad("impossible_age", f"{shown} is outside {AGE_RANGE[0]}-{AGE_RANGE[1]}")
    channel = CHANNELS.get(fold(record.get("contact_channel", "")))
    if channel is None:
        raise _Bad("bad_value", "contact_channel is not one of annonssajt/annan sajt/gatan/annat/okänd")
    completed_text = fold(record.get("completed", ""))
    if completed_text == "":
        raise _Bad("missing_field", "completed is empty")
    if completed_text not in COMPLETED:
        raise _Bad("bad_value", "completed is not fullbordat/försök (completed/attempt)")
    court = str(record["court"]).strip()
    if len(court) > MAX_FIELD_CHARS:
        raise _Bad("too_long", f"court is {len(court)} characters long (limit {MAX_FIELD_CHARS})")
    kind = identifier_kind(court)
    if kind:
        raise _Bad("identifier_in_field", f"court holds a {kind.replace('_', ' ')}")
    return {
        "case_key": case_key(str(record["case_number"]), key),
        "court": court,
        "decision_type": decision_type,
        "decision_date": decision,
        "offence_date": offence,
        "buyer_age": age,
        "age_source": source,
        "home_municipality_code": munis.code(record.get("home_municipality"), "home_municipality"),
        "purchase_municipality_code": munis.code(
            record.get("purchase_municipality"), "purchase_municipality"
        ),
        "contact_channel": channel,
        "sanction": map_sanction(record.get("sanction")),
        "completed": COMPLETED[completed_text],
    }


def _sheet_parts(parts: list[RegisterPart], refused: list[dict], errors: list[Exception],
                 headerless: dict[str, list[dict]] | None = None) -> list[RegisterPart]:
    """In a workbook of several sheets, a sheet with none of the register's headers is refused (recorded); if it
    holds personal identity numbers or names (a hidden sheet of persons), the file fails like a register sheet.
    The rows of a refused sheet that look like verdicts (a continuation of the register on a sheet without its
    header row) are put in ``headerless`` (``<file>#<sheet>`` -> quarantine rows, ``no_header``)."""
    if len(parts) < 2:
        return parts

    def headers(part) -> int:
        return sum(1 for c in part.frame.columns if _HEADER_LOOKUP.get(fold(c)))

    # A summary or pivot sheet beside the register ("Hemkommun | Antal") has one or two register headers; read as a
    # register it failed the whole file (required columns missing). A sheet needs three, as a header row does,
    # unless no sheet has three (then the sheets with any are read and their missing columns reported).
    least = 3 if any(headers(part) >= 3 for part in parts) else 1
    registers = [part for part in parts if headers(part) >= least]
    kept = []
    for part in parts:
        if headers(part) < least:
            try:
                assert_no_personal_data(part.frame.reset_index(drop=True), part.label, rows=list(part.frame.index))
            except PersonalDataError as err:
                errors.append(err)
            lost = _headerless_rows(part, registers) if least == 3 and headerless is not None else []
            if lost:
                headerless[f"{part.file}#{part.sheet}"] = lost
            refused.append(_refused(part.file, part.sheet, "not_a_register",
                                    ("no register column in the header" if not headers(part) else
                                     "fewer than three register columns in the header (a summary or pivot sheet?)")
                                    + (f"; {len(lost)} rows that look like verdicts are quarantined as no_header"
                                       if lost else "")))
        else:
            kept.append(part)
    for part in kept:
        part.label_file = f"{part.file}#{part.sheet}" if len(kept) > 1 else part.file
    return kept


def _headerless_rows(part: RegisterPart, registers: list[RegisterPart]) -> list[dict]:
    """The rows of a sheet without a register header that look like verdicts, by the rule for rows above a header
    (values in at least half the register header's columns, and three): the register continued on a sheet of its
    own without the header row. Its first row was taken for its header, so it is row 1. Refused as a sheet only,
    these rows were lost without a count; their columns cannot be matched to the register's safely, so each is
    quarantined (``no_header``) and counted."""
    width = max(sum(1 for c in r.frame.columns if str(c).strip() and not str(c).startswith("Unnamed: "))
                for r in registers)
    needed = max(3, -(-width // 2))
    first = ["" if str(c).startswith("Unnamed: ") else str(c) for c in part.frame.columns]
    rows = [first] + [[str(v) for v in row] for row in part.frame.itertuples(index=False)]
    return [{"position": number, "reason": "no_header",
             "detail": f"a row of sheet '{part.sheet}', which has no register header row (the register continued "
                       "without its header?): not read; copy the header row above it"}
            for number, row in enumerate(rows, start=1) if sum(1 for v in row if v.strip()) >= needed]


def ingest_register(
    paths: list[Path], key: bytes, municipalities: pd.DataFrame, ignored: list[Path] = ()
) -> IngestResult:
    """Read register files into raw/verdicts rows; ``source_row`` is the 1-based data row (header not counted).

    ``ignored``: the inbox's files in other formats (``select.verdict_inbox_ignored``), not read and
    listed as refused (``not_a_register_file``).

    Every file and sheet is read or refused with a reason (metadata ``refused_files``); every file-level
    problem of every file is collected and raised together (``RegisterFormatError``, or
    ``PersonalDataError`` when any is about personal data), naming file, sheet, line and column.
    """
    munis = _Municipalities(municipalities)
    rows, bad, unknown_columns, seen, blank_rows = [], [], {}, set(), 0
    refused: list[dict] = []
    errors: list[Exception] = []
    ledger: dict[str, dict] = {}
    dropped_hits: dict[str, dict[str, int]] = {}
    for number, path in enumerate([Path(p) for p in ignored], start=1):
        label = file_label(path.name, f"ignored file {number}")
        if path.is_dir():
            refused.append(_refused(label, None, "in_subfolder", "a folder in the inbox: the files in it are not "
                                    "read (registers sit directly in the inbox)"))
            continue
        if not path.is_file():  # a link to a share that is not mounted, a named pipe
            refused.append(_refused(label, None, "unreadable", "not a regular file (a broken link, a pipe or a "
                                    "socket): not read"))
            continue
        if path.name.startswith("."):  # macOS's ._<name> metadata beside a copied register, a hidden copy
            refused.append(_refused(label, None, "hidden_file", "a hidden file (name starting with '.'): not read "
                                    "(macOS writes '._' files beside copies; rename a real register)"))
            continue
        refused.append(_refused(label, None, "not_a_register_file",
                                f"'{path.suffix or 'no extension'}' is not .csv, .xlsx or .xlsm: not read "
                                "(save an .xls, .ods or text register as .xlsx or CSV)"))
    labels = [file_label(Path(p).name, f"register file {n}") for n, p in enumerate(paths, start=1)]
    for path, label in zip([Path(p) for p in paths], labels, strict=True):
        try:
            parts, sheets_refused = read_register_file(path)
        except (RegisterFormatError, OSError) as err:
            message = str(err).replace(path.name, label) if isinstance(err, RegisterFormatError) else (
                f"{label}: cannot be read ({type(err).__name__})")
            errors.append(RegisterFormatError(message))
            refused.append(_refused(label, None, "unreadable", message.split(": ", 1)[-1]))
            continue
        for part in parts:
            part.file = label
        refused += [{**r, "file": label} for r in sheets_refused]
        headerless: dict[str, list[dict]] = {}
        kept = _sheet_parts(parts, refused, errors, headerless)
        for name, lost in headerless.items():
            bad += [{"source": SOURCE, "site": None, "file": name, "week_start": None, **line} for line in lost]
            ledger[name] = {"lines_in": len(lost), "accepted": 0, "quarantined": len(lost), "blank": 0}
        for part in kept:
            name = getattr(part, "label_file", part.file)
            try:
                assert_no_personal_data(part.frame.reset_index(drop=True), part.label, rows=list(part.frame.index))
                frame, unknown = _map_headers(part.frame, part.label)
            except (PersonalDataError, RegisterFormatError) as err:
                errors.append(err)
                refused.append(_refused(part.file, part.sheet, "refused", str(err).split(": ", 1)[-1]))
                continue
            if unknown:
                unknown_columns[name] = unknown
                hits = {
                    str(c): int(scan_column(part.frame[c].astype(str).where(part.frame[c].astype(str) != "")).notna().sum())
                    for c in unknown
                }
                if any(hits.values()):
                    dropped_hits[name] = {c: n for c, n in hits.items() if n}
            counts = {"lines_in": len(part.frame) + len(part.bad_lines), "accepted": 0, "quarantined": 0, "blank": 0}
            for line in part.bad_lines:
                bad.append({"source": SOURCE, "site": None, "file": name, "week_start": None, **line})
                counts["quarantined"] += 1
            positions = frame.attrs["positions"]
            for position, cells in zip(frame.index, part.frame.itertuples(index=False), strict=True):
                record = {canon: cells[at] for canon, at in positions.items()}
                if all(_blank(v) for v in record.values()):
                    blank_rows += 1  # an empty spreadsheet row is not a register row; counted, not quarantined
                    counts["blank"] += 1
                    continue
                again = _header_positions(cells)
                if len(again) >= 3:
                    # registers joined by copying whole files: not a verdict with bad dates and types. When the
                    # second register orders its columns otherwise, its rows are read by its own header: read by
                    # the first one, its municipalities or dates were swapped without a word
                    moved = any(positions.get(canon) != at for canon, at in again.items())
                    if moved:
                        positions = again
                    bad.append(_bad_row(name, int(position), "repeated_header",
                                        "the header row again (two registers joined?)" + (
                                            "; its columns are in another order: the rows below it are read by it"
                                            if moved else "")))
                    counts["quarantined"] += 1
                    continue
                try:
                    row = _convert(record, key, munis, part.epoch)
                except _Bad as err:
                    bad.append(_bad_row(name, int(position), err.reason, err.detail))
                    counts["quarantined"] += 1
                    continue
                identity = (
                    row["case_key"],
                    row["buyer_age"],
                    row["home_municipality_code"],
                    row["offence_date"],
                    row["decision_date"],
                    row["purchase_municipality_code"],
                )
                if identity in seen:
                    bad.append(_bad_row(name, int(position), "duplicate",
                                        "same case, buyer age, municipalities and dates as an earlier row"))
                    counts["quarantined"] += 1
                    continue
                seen.add(identity)
                rows.append({**row, "source_file": name, "source_row": int(position)})
                counts["accepted"] += 1
            ledger[name] = counts
    if errors:
        kind = PersonalDataError if any(isinstance(e, PersonalDataError) for e in errors) else RegisterFormatError
        if len(errors) == 1:
            raise errors[0]
        raise kind(f"{len(errors)} register problems:\n" + "\n".join(f"- {e}" for e in errors))
    quarantine = quarantine_frame(bad)
    metadata = summarise(
        len(rows),
        quarantine,
        files=labels,
        unknown_columns=unknown_columns,
        blank_rows=blank_rows,
        refused_files=refused,
        ledger=ledger,
        identifiers_in_dropped_columns=dropped_hits,
    )
    return IngestResult(
        rows=typed_frame(rows, ROW_SCHEMA), quarantine=quarantine, files=None, metadata=metadata
    )


def _bad_row(file: str, position: int, reason: str, detail: str) -> dict:
    return {"source": SOURCE, "site": None, "file": file, "position": position, "reason": reason,
            "detail": detail, "week_start": None}
