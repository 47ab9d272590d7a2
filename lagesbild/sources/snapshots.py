"""The ad-snapshot archive: one JSON Lines file (optionally gzip) per capture and site.

Two archives with one interface: a folder (``root/<site>/<site>_<YYYYMMDDTHHMM>Z.jsonl[.gz]``)
and an HTTP archive that lists its files in ``index.json`` and serves them under ``files/``.
``ingest_week`` reads one partition week (Monday start, Europe/Stockholm), pseudonymises the phone
number, drops free text and quarantines every bad line with a reason.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import os
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from lagesbild.fsutil import FileBeingWritten, read_settled
from lagesbild.privacy.identifiers import MAX_FIELD_CHARS, identifier_kind
from lagesbild.privacy.pseudonymise import normalise_phone as _normalise_phone
from lagesbild.privacy.pseudonymise import phone_key
from lagesbild.sources.http import make_client, request_with_retries
from lagesbild.sources.quarantine import (
    DATE,
    STR,
    TIMESTAMP,
    IngestResult,
    quarantine_frame,
    summarise,
    typed_frame,
)

#: libphonenumber is ~75 % of the ingest's CPU and ads repeat their phone as written week after week
#: (60 % of lines at national scale): parse each written form once per process. Memory: ~60 MB at most.
normalise_phone = functools.lru_cache(maxsize=1 << 18)(_normalise_phone)

SOURCE = "ad_snapshots"
#: ``\Z``, not ``$``: ``$`` also matches before a final line break, and a name ending in one was read as a capture.
FILE_NAME_RE = re.compile(r"^(?P<site>.+)_(?P<stamp>\d{8}T\d{4})Z?\.jsonl(?P<gz>\.gz)?\Z")
REQUIRED_FIELDS = ("site", "ad_id", "captured_at")
OPTIONAL_FIELDS = ("posted_at", "location", "phone", "stated_age", "category", "advertiser_gender")
DROPPED_FIELDS = ("title", "text")  # free text: read, never stored
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS + DROPPED_FIELDS)
#: Stated ages outside this range are implausible (a typo, a broken capture or a child) and the line is
#: quarantined with reason ``impossible_age``; the raw_ad_snapshots suite checks the same range. Every
#: line stating an age under ``ADULT_AGE`` (10, 13, 16 ...) is an under-age alert candidate *before*
#: that check (``IngestResult.under_age``), so a quarantined or gate-blocked line still alerts.
AGE_RANGE = (15, 99)
ADULT_AGE = 18
_WHOLE_TEXT_RE = re.compile(r"^\s*([+-]?\d+)(?:[.,]0+)?\s*$")
_AGE_TEXT_RE = re.compile(r"^\s*(\d{1,3})\s*(?:år|ar|years?|yrs?|y)?\.?\s*$", re.IGNORECASE)
UNDER_AGE_SCHEMA = {
    "site": STR,
    "ad_id": STR,
    "week_start": DATE,
    "stated_age": "Int16",
    "implausible": "bool",
    "snapshot_file": STR,
    "line_no": "int32",
}


#: Kept text fields, scanned at the door (length first, then identifiers), in this order.
SCANNED_FIELDS = ("ad_id", "location", "category", "advertiser_gender")
#: Fields where a category is expected: a person-like name there is an identifier.
NAME_FIELDS = ("category", "advertiser_gender")


def field_problem(field: str, value) -> tuple[str, str] | None:
    """(reason, detail) when a kept field is over-long or holds an identifier; the detail never holds the value."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > MAX_FIELD_CHARS:
        return "too_long", f"{field} is {len(text)} characters long (limit {MAX_FIELD_CHARS})"
    kind = identifier_kind(text, field != "ad_id", field in NAME_FIELDS)
    if kind:
        return "identifier_in_field", f"{field} holds a {kind.replace('_', ' ')}"
    return None


#: Unknown field names longer than this are reported by their length (schema drift goes to the metadata).
MAX_DRIFT_NAME = 64


@functools.lru_cache(maxsize=1 << 12)
def drift_name(field: str) -> str:
    """An unknown field's name as schema drift reports it: itself, or a stand-in when it is long or holds an
    identifier (a capture keyed by phone number would otherwise put the numbers in the metadata)."""
    if len(field) > MAX_DRIFT_NAME:
        return f"<a field name of {len(field)} characters>"
    kind = identifier_kind(field)
    return f"<a field name holding a {kind.replace('_', ' ')}>" if kind else field


def alert_ad_id_ok(ad_id) -> bool:
    """Whether an under-age candidate may carry the line's ``ad_id``: not when it is empty, not a text value, over
    long or holding an identifier (the line is quarantined for it, and the restricted alert list is past the
    door too); the alert then carries the line's locator ``<file>#line<n>``."""
    return ad_id not in (None, "") and not isinstance(ad_id, (list, dict)) and field_problem("ad_id", ad_id) is None


_FIELD_BY_FOLDED = {field.casefold(): field for field in KNOWN_FIELDS}


def contract_case(record: dict) -> dict:
    """The line with a contract field written in another case (``Stated_Age``, ``PHONE``: a capture tool's own
    naming) under the contract's name, when the line does not also have the field as written in the contract.
    Such a field used to be schema drift only: a ``Stated_Age`` of 16 raised no alert, and a ``Location`` holding a
    phone number was dropped unread rather than refused. The name as written is still reported as drift."""
    if all(field in KNOWN_FIELDS for field in record):
        return record
    out = dict(record)
    for field, value in record.items():
        canonical = _FIELD_BY_FOLDED.get(field.casefold()) if field not in KNOWN_FIELDS else None
        # an empty contract field does not hide a filled one in another case ({"stated_age": null, "Stated_Age":
        # 16}, two schemas merged): the empty one won, and the 16 raised no alert
        if canonical and (canonical not in out or (_empty(out[canonical]) and not _empty(value))):
            del out[field]
            out[canonical] = value
    return out


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def stated_ages(record: dict) -> list:
    """Every value the line gives for ``stated_age``, in any case (``Stated_Age`` beside ``stated_age``)."""
    return [value for field, value in record.items() if field.casefold() == "stated_age"]


def whole_number(value) -> int | None:
    """A whole number as a capture writes one: 25, 25.0 (a float column: pandas' ``to_json`` writes every age of a
    column with a gap as 25.0), or text "25", "25.0", "25,0" (Swedish decimal comma); None otherwise (true, 25.5,
    "25 år", NaN)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        match = _WHOLE_TEXT_RE.match(value)
        return int(match[1]) if match else None
    return None


def lenient_age(value) -> int | None:
    """The age a value states, read leniently for alerting ("16", 16, 16.0, "16,0", "16 år"); None if none."""
    if value is None:
        return None
    number = whole_number(value)
    if number is not None or not isinstance(value, str):
        return number
    match = _AGE_TEXT_RE.match(value)
    return int(match[1]) if match else None

ROW_SCHEMA = {
    "site": STR,
    "ad_id": STR,
    "captured_at": TIMESTAMP,
    "posted_at": TIMESTAMP,
    "location_raw": STR,
    "phone_key": STR,
    "phone_status": STR,
    "stated_age": "Int16",
    "category": STR,
    "advertiser_gender": STR,
    "week_start": DATE,
    "snapshot_file": STR,
    "line_no": "int32",
}
FILE_SCHEMA = {
    "site": STR,
    "snapshot_file": STR,
    "captured_at": TIMESTAMP,
    "rows_read": "int64",
    "rows_ok": "int64",
    "rows_quarantined": "int64",
    "week_start": DATE,
    # the file ledger: lines_in = rows_ok + rows_quarantined + blank_lines, on every run
    "lines_in": "int64",
    "blank_lines": "int64",
    "status": STR,  # complete | partial (truncated gzip, cut last line) | empty | wrong_encoding
    "status_detail": STR,
    "capture_time_from": STR,  # name | lines (see docs/sources.md)
}
#: Files of an archive that were not read, with the reason (archive-wide, rewritten every run).
REFUSED_SCHEMA = {"source": STR, "site": STR, "file": STR, "sheet": STR, "reason": STR, "detail": STR}
BOM = b"\xef\xbb\xbf"
NOT_A_FILE = "not a regular file (a broken link, a socket or a device)"
IDENTIFIER_IN_NAME = (
    "the file name (no capture time in it) is a phone number, identity number or person's name; rename the "
    "file to <site>_<YYYYMMDDTHHMM>Z.jsonl so no identifier is recorded past ingest"
)
NOT_UTF8_NAME = "the name of the file or of its site folder is not UTF-8 text (another encoding?): rename it"
CONTROL_IN_NAME = "the name holds a control character (a line break, a tab): rename it"
LINK_OUTSIDE = "a symbolic link to a file outside the snapshot folder: not read (copy the capture into its site folder)"
GZIP_MAGIC = b"\x1f\x8b"
#: The most a capture may inflate to (its lines are held in memory while its week is read). A capture
#: of one site and one day is a few MB even nationally; a gzip "bomb" of a few MB inflating to many
#: GB would take the ingest's memory with it. A capture above this is refused as ``too_large``.
MAX_CAPTURE_BYTES = 256 * 2**20


class CaptureTooLarge(ValueError):
    """A gzip capture that inflates past ``MAX_CAPTURE_BYTES`` (the message states the limit only)."""


class DuplicateCapture(Exception):
    """A listed file that is a copy of another listed capture: refused as ``duplicate_capture`` when found."""


class UnreadableCapture(ValueError):
    """A capture in a container the reader cannot unpack (zstd, 7-Zip, a zip of several files): refused."""


#: Other compressions a capture arrives in under a .jsonl[.gz] name (a compression job set to another tool, a file
#: zipped on Windows and renamed): by their magic bytes. Read as lines, each was a few lines of binary garbage (a
#: "partial" capture of 2 malformed lines, far under the quarantine threshold): its ads were lost nearly unseen.
OTHER_MAGIC = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip", b"\x28\xb5\x2f\xfd": "zstd",
               b"7z\xbc\xaf\x27\x1c": "7-Zip"}


def other_compression(data: bytes) -> str | None:
    return next((kind for magic, kind in OTHER_MAGIC.items() if data.startswith(magic)), None)


def _unpack_other(data: bytes, kind: str) -> tuple[bytes, bool]:
    """A bzip2 or xz stream (all of its streams) or a zip archive of one file, inflated as far as
    ``MAX_CAPTURE_BYTES``: (bytes, truncated?). ``UnreadableCapture`` for zstd, 7-Zip or a zip of several files."""
    import bz2
    import io as _io
    import lzma

    limit = MAX_CAPTURE_BYTES
    if kind == "zip":
        try:
            with zipfile.ZipFile(_io.BytesIO(data)) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) != 1:
                    raise UnreadableCapture(f"a zip archive of {len(members)} files, not one capture: unzip it")
                if members[0].file_size > limit:
                    raise CaptureTooLarge(f"inflates to more than {limit:,} bytes (MAX_CAPTURE_BYTES)")
                return archive.read(members[0]), False
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
            raise UnreadableCapture(f"a zip archive that cannot be read ({type(err).__name__})") from None
    if kind not in ("bzip2", "xz"):
        raise UnreadableCapture(f"a {kind} archive, not gzip: compress captures with gzip")
    out, size, rest = [], 0, data
    while rest:
        decomp = bz2.BZ2Decompressor() if kind == "bzip2" else lzma.LZMADecompressor()
        pending = rest
        try:
            while not decomp.eof:
                piece = decomp.decompress(pending, limit - size + 1)
                size += len(piece)
                if size > limit:
                    raise CaptureTooLarge(f"inflates to more than {limit:,} bytes (MAX_CAPTURE_BYTES)")
                out.append(piece)
                pending = b""
                if not piece and decomp.needs_input:
                    return b"".join(out), True  # the stream ends early
        except (OSError, EOFError, lzma.LZMAError):
            return b"".join(out), True
        rest = decomp.unused_data.lstrip(b"\x00")
    return b"".join(out), False
ROW_COLUMNS, FILE_COLUMNS = list(ROW_SCHEMA), list(FILE_SCHEMA)


@dataclass(frozen=True)
class SnapshotFileRef:
    site: str
    name: str
    captured_at: datetime  # UTC, from the file name (or from its lines, see capture_time_from)
    capture_time_from: str = "name"


def refused(site: str | None, name: str, reason: str, detail: str) -> dict:
    return {"source": SOURCE, "site": site, "file": name, "sheet": None, "reason": reason, "detail": detail}


#: Byte order marks of the Unicode encodings a Windows tool may write instead of UTF-8 (PowerShell 5's
#: ``>`` and ``Out-File`` write UTF-16 LE with a BOM); UTF-32's first, as UTF-32 LE's starts with UTF-16 LE's.
UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


#: Without a byte order mark, JSON's first character is ASCII ('{' here), so the NUL bytes around it give
#: the encoding away (RFC 4627, section 3); UTF-32 first, as its pattern starts with UTF-16's.
_NUL_PATTERNS = (
    (b"\x00\x00\x00{", "utf-32-be"),
    (b"{\x00\x00\x00", "utf-32-le"),
    (b"\x00{", "utf-16-be"),
    (b"{\x00", "utf-16-le"),
)


def unicode_bom(data: bytes) -> str | None:
    """"UTF-16"/"UTF-32" when ``data`` starts with that encoding's byte order mark, "UTF-16-LE" (…) when it starts
    with a JSON object in that encoding without one; None when it does not decode as that encoding."""
    found = next((enc for bom, enc in UNICODE_BOMS if data.startswith(bom)), None)
    found = found or next((enc for start, enc in _NUL_PATTERNS if data.startswith(start)), None)
    if found is None:
        return None
    try:
        data.decode(found)
    except UnicodeDecodeError:
        return None
    return found.upper()


def normalise_bytes(data: bytes) -> bytes:
    """UTF-16/UTF-32 with a byte order mark re-encoded as UTF-8; a UTF-8 BOM dropped at the start and at the
    start of any line (captures joined with ``cat``); CRLF and CR-only line endings turned into LF.

    A raw CR cannot occur inside a valid JSON line (strings escape it), so every CR ends a line; nor can a
    BOM start a JSON value.
    """
    encoding = unicode_bom(data)
    if encoding:
        data = data.decode(encoding.lower()).encode("utf-8")
    if data.startswith(BOM):
        data = data[len(BOM):]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b"\n" + BOM in data:
        data = data.replace(b"\n" + BOM, b"\n")
    return data


_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")


def array_as_lines(data: bytes) -> tuple[bytes, int] | None:
    """A capture that is one JSON array of objects (``JSON.stringify(ads)``, pretty-printed or on one line) as JSON
    Lines, one object a line, and the number of objects; None for anything else. Read as lines, the array on one
    line was one malformed_json line for all of its ads (far under the quarantine threshold, status complete), and
    pretty-printed each of its physical lines was one."""
    if data.lstrip()[:1] != b"[":
        return None
    record, problem = parse_line(data)
    if problem or not isinstance(record, list) or not record or not all(isinstance(e, dict) for e in record):
        return None
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in record).encode("utf-8"), len(record)


def parse_line(raw: bytes) -> tuple[object, str | None]:
    """(the line's JSON value, None), or (None, why it is not valid JSON) without the value.

    Besides a syntax error or bytes that are not UTF-8, a line is refused for nesting deeper than the
    interpreter's recursion limit (RecursionError), for an integer of more than 4,300 digits (ValueError)
    and for an escaped lone surrogate (``"\\ud800"``), which parses into a string no later step can encode.
    """
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"not valid JSON ({type(err).__name__})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    except ValueError:
        return None, "not valid JSON (a number too long to read)"
    if _SURROGATE_ESCAPE_RE.search(raw):
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, "not valid JSON (a \\u escape is an unpaired surrogate, not a character)"
    return record, None


def capture_time_from_lines(site: str, name: str, data: bytes) -> tuple[SnapshotFileRef | None, str, str]:
    """The documented rule for a file whose name carries no capture time.

    The file (gunzipped when it starts with the gzip magic) is read as UTF-8 JSON Lines; the first
    non-blank line that is a JSON object with ``captured_at`` (ISO 8601 with offset) and a ``site`` that
    is absent or equals the folder's site gives the capture time. Returns (ref, "", "") or
    (None, reason, detail) when the file cannot be placed.
    """
    if not data:
        return None, "empty", "the file is empty"
    if data.startswith(GZIP_MAGIC):
        try:
            data, truncated = _decompress(data)
        except CaptureTooLarge as err:
            return None, "too_large", str(err)
        if truncated and not data.strip():
            return None, "unreadable", "a gzip stream that ends before its first line"
    elif kind := other_compression(data):
        try:
            data, truncated = _unpack_other(data, kind)
        except CaptureTooLarge as err:
            return None, "too_large", str(err)
        except UnreadableCapture as err:
            return None, "unreadable", str(err)
        if truncated and not data.strip():
            return None, "unreadable", f"a {kind} stream that ends before its first line"
    try:
        data = normalise_bytes(data)
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "wrong_encoding", "name without a capture time, and the content is not UTF-8"
    array = array_as_lines(data)
    if array is not None:  # one JSON array of objects: its first object gives the time
        text = array[0].decode("utf-8")
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record, problem = parse_line(line.encode("utf-8"))
        record = contract_case(record) if isinstance(record, dict) else record
        try:
            captured = _parse_ts(record.get("captured_at")) if isinstance(record, dict) and not problem else None
        except ValueError:
            captured = None
        if captured is None:
            return None, "unrecognised_name", (
                f"name is not <site>_<YYYYMMDDTHHMM>Z.jsonl[.gz] and line {line_no} gives no captured_at"
            )
        if record.get("site") not in (None, "", site):
            return None, "unrecognised_name", f"name without a capture time; line {line_no} names another site"
        return SnapshotFileRef(site, name, captured, "lines"), "", ""
    return None, "empty", "the file holds no line"


def parse_file_name(name: str) -> SnapshotFileRef | None:
    """``<site>_<YYYYMMDDTHHMM>Z.jsonl[.gz]`` -> ref (time read as UTC), or None if it does not match."""
    match = FILE_NAME_RE.match(name)
    if not match:
        return None
    try:
        stamp = datetime.strptime(match["stamp"], "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return SnapshotFileRef(site=match["site"], name=name, captured_at=stamp)


def _is_utf8(name: str) -> bool:
    """False for a file name that is not UTF-8 on disk (Python holds its bytes as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_control(name: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in name)


def _shown(name: str | None) -> str | None:
    """A file or folder name as text that can be stored on one line: bytes that are not UTF-8 become U+FFFD, a
    control character (a line break in a name) its escape (``\\n``, ``\\x07``)."""
    if name is None:
        return name
    if not _is_utf8(name):
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if _has_control(name):
        name = "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) == "Cc" else ch
                       for ch in name)
    return name


def identifier_in_file_name(name: str) -> str | None:
    """What a file name's stem is, when it is a phone number or personal identity number as written
    (digits and separators) or holds a person's name: ``"a phone number"``, ``"an identity number"``,
    ``"a person"``; else None. Read as ``ad_id`` is, so dates and capture stamps are not identifiers."""
    from lagesbild.privacy.detect import looks_like_person_name

    stem = Path(name).name.split(".")[0] or name
    kind = identifier_kind(stem, False) or ("person_name" if looks_like_person_name(stem) else None)
    if kind is None:
        return None
    return {"phone_number": "a phone number", "personal_identity_number": "an identity number"}.get(kind, "a person")


def withheld_file_name(name: str | None, number: int) -> str | None:
    """A refused file's name, or ``refused file <n> (withheld: …)`` when the name is an identifier
    (``identifier_in_file_name``): the refused list reaches the quality report and the publication."""
    what = identifier_in_file_name(name) if name else None
    return name if what is None else f"refused file {number} (withheld: {what})"


class FolderArchive:
    """Snapshot files under ``root/<site>/``; names that do not follow the contract are listed in ``skipped``."""

    def __init__(self, root: Path, settle_seconds: float = 0.0):
        self.root = Path(root)
        #: a capture modified more recently is refused as ``being_written`` (a copy in progress)
        self.settle_seconds = settle_seconds
        self.skipped: list[str] = []
        self.refused: list[dict] = []
        self._listed: list[SnapshotFileRef] | None = None
        self._paths: dict[tuple[str, str], Path] = {}  # (site, name) as listed -> the file on disk

    def list_files(self) -> list[SnapshotFileRef]:
        """Every capture file, listed once per archive object (an asset run makes a new one): a backfill
        of 260 weeks would otherwise parse every file name 260 times."""
        if self._listed is None:
            self._listed = self._list()
        return list(self._listed)

    def _list(self) -> list[SnapshotFileRef]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"snapshot folder {self.root} does not exist (LAGESBILD_SNAPSHOTS_DIR)")
        refs, self.skipped, self.refused = [], [], []
        for path in sorted(self.root.iterdir()):
            if path.is_file():  # a capture must sit in its site's folder
                self._refuse(None, path.name, "outside_site_folder", "file in the archive root, not in a site folder")
            elif not path.is_dir():
                self._refuse(None, path.name, "unreadable", NOT_A_FILE)
        self._paths = {}
        for path in self._site_files():
            # names as the lines write them (NFC): macOS stores 'ö' in folder and file names decomposed (NFD)
            site, name = unicodedata.normalize("NFC", path.parent.name), unicodedata.normalize("NFC", path.name)
            if _has_control(name):  # a line break in a name would be stored in snapshot_file and every locator
                self._refuse(site, name, "unrecognised_name", CONTROL_IN_NAME)
                continue
            ref = parse_file_name(name)
            if ref is not None and ref.site != site:
                self._refuse(site, name, "site_mismatch", "the site in the name is not the folder's site")
                continue
            if ref is None:
                try:
                    ref, reason, detail = capture_time_from_lines(site, name, _read_bounded(path))
                except OSError as err:
                    ref, reason, detail = None, "unreadable", f"cannot be read ({type(err).__name__})"
                except CaptureTooLarge as err:
                    ref, reason, detail = None, "too_large", str(err)
                if ref is None:
                    self._refuse(site, name, reason, detail)
                    continue
                if identifier_in_file_name(name) is not None:
                    # a name outside the contract that is a phone number, identity number or person's
                    # name: read, it would be recorded past ingest (snapshot_file, quarantine locators)
                    self._refuse(site, name, "identifier_in_name", IDENTIFIER_IN_NAME)
                    continue
            self._paths[(ref.site, ref.name)] = path
            refs.append(ref)
        refs = self._one_copy_per_capture(refs)
        return sorted(refs, key=lambda r: (r.captured_at, r.site, r.name))

    def _one_copy_per_capture(self, refs: list[SnapshotFileRef]) -> list[SnapshotFileRef]:
        """A capture kept as ``X.jsonl`` and ``X.jsonl.gz`` (``gzip -k``, a compression job that stopped before it
        removed the original) is read once: when both hold the same lines, or one holds the first lines of the
        other (a copy still being written, a cut gzip stream), the shorter (the ``.gz`` when equal) is refused
        as ``duplicate_capture``. Read twice, every line of the second copy was a ``duplicate`` and the
        quarantine share of the week doubled. Copies that differ otherwise are both read."""
        names = {(ref.site, ref.name): ref for ref in refs}
        drop = set()
        for (site, name), ref in names.items():
            plain = names.get((site, name[: -len(".gz")])) if name.endswith(".gz") else None
            if plain is None:
                continue
            try:
                packed, plain_bytes = self.read_bytes(ref), self.read_bytes(plain)
                inflated = _decompress(packed)[0] if packed.startswith(GZIP_MAGIC) else packed
            except (OSError, CaptureTooLarge):
                continue  # read as usual: the reader refuses or quarantines it with its own reason
            if plain_bytes.startswith(inflated):
                drop.add((ref, plain, len(inflated) == len(plain_bytes)))
            elif inflated.startswith(plain_bytes):
                drop.add((plain, ref, False))
        drop |= self._byte_copies([ref for ref in refs if ref not in {copy for copy, _, _ in drop}])
        for copy, kept, equal in sorted(drop, key=lambda found: (found[0].site, found[0].name)):
            what = "the same lines as" if equal else "the first lines of"
            self._refuse(copy.site, copy.name, "duplicate_capture", f"{what} {kept.name}, which is read")
        dropped = {copy for copy, _, _ in drop}
        return [ref for ref in refs if ref not in dropped]

    def _byte_copies(self, refs: list[SnapshotFileRef]) -> set[tuple]:
        """Files of one site with the same bytes under another name (Windows' "X - Kopia.jsonl", Finder's
        "X copy.jsonl", a copy named without the ``Z``): the one named by the contract (with its ``Z``; else the first
        by name) is read, the others are ``duplicate_capture``. Only files of equal size are read to compare them."""
        groups: dict[tuple[str, int], list[SnapshotFileRef]] = {}
        for ref in refs:
            try:
                size = self._paths[(ref.site, ref.name)].stat().st_size
            except (KeyError, OSError):
                continue
            if size:
                groups.setdefault((ref.site, size), []).append(ref)
        found = set()
        for same_size in groups.values():
            if len(same_size) < 2:
                continue
            same_size.sort(key=lambda r: (r.capture_time_from != "name", "Z.jsonl" not in r.name, r.name))
            contents: dict[bytes, SnapshotFileRef] = {}
            for ref in same_size:
                try:
                    data = self.read_bytes(ref)
                except (OSError, CaptureTooLarge):
                    continue
                kept = contents.setdefault(hashlib.sha256(data).digest(), ref)
                two_times = kept.capture_time_from == ref.capture_time_from == "name" and kept.captured_at != ref.captured_at
                if kept is not ref and not two_times:  # two names with two capture times are two captures
                    found.add((ref, kept, True))
        return found

    def _site_files(self) -> list[Path]:
        """The regular files directly in the site folders, in site and name order. Everything else there is
        refused, so no file under the root goes unrecorded: a file in a subfolder (``in_subfolder``, named
        by its path inside the site folder) and an entry that is not a regular file, such as a broken link
        (``unreadable``)."""
        files = []
        root = self.root.resolve()
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(folder.iterdir()):
                if path.is_symlink() and path.is_file() and not any(
                        path.resolve().is_relative_to(top) for top in (root, folder.resolve())):
                    self._refuse(folder.name, path.name, "link_outside_archive", LINK_OUTSIDE)
                elif path.is_file() and not (_is_utf8(folder.name) and _is_utf8(path.name)):
                    self._refuse(folder.name, path.name, "unrecognised_name", NOT_UTF8_NAME)
                elif path.is_file():
                    files.append(path)
                elif path.is_symlink() and path.is_dir():  # not walked: it may lead anywhere ("/", its own root)
                    outside = not any(path.resolve().is_relative_to(top) for top in (root, folder.resolve()))
                    self._refuse(folder.name, f"{path.name}/", "link_outside_archive" if outside else "in_subfolder",
                                 LINK_OUTSIDE.replace("a file", "a folder") if outside else
                                 "a symbolic link to a folder (not followed); captures sit directly in the site folder")
                elif path.is_dir():
                    for parent, _, names in sorted(os.walk(path)):
                        for name in sorted(names):
                            inside = (Path(parent) / name).relative_to(folder).as_posix()
                            self._refuse(folder.name, inside, "in_subfolder",
                                         "file in a subfolder of the site folder; captures sit directly in it")
                else:
                    self._refuse(folder.name, path.name, "unreadable", NOT_A_FILE)
        return files

    def _refuse(self, site, name, reason, detail) -> None:
        site, name = _shown(site), _shown(name)
        name = withheld_file_name(name, len(self.refused) + 1)
        self.skipped.append(f"{site}/{name}" if site else name)
        self.refused.append(refused(site, name, reason, detail))

    def read_bytes(self, ref: SnapshotFileRef) -> bytes:
        """The capture, whole and unchanged while read (``FileBeingWritten`` otherwise, an OSError);
        ``CaptureTooLarge`` for a file past ``MAX_CAPTURE_BYTES``, before it is read."""
        path = self._paths.get((ref.site, ref.name), self.root / ref.site / ref.name)
        _check_size(path)
        return read_settled(path, self.settle_seconds)


def _check_size(path: Path) -> None:
    """``CaptureTooLarge`` when the file is past ``MAX_CAPTURE_BYTES``: a plain capture is read whole into memory,
    so a capture tool writing without end (or a disk image dropped in a site folder) took the ingest's memory."""
    size = os.stat(path).st_size
    if size > MAX_CAPTURE_BYTES:
        raise CaptureTooLarge(f"is {size:,} bytes, more than {MAX_CAPTURE_BYTES:,} bytes (MAX_CAPTURE_BYTES)")


def _read_bounded(path: Path) -> bytes:
    _check_size(path)
    return path.read_bytes()


_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


def _index_entry_problem(entry: dict) -> str | None:
    """Why an index entry's optional ``size``/``sha256`` cannot be used to check the download, if so."""
    size, sha256 = entry.get("size"), entry.get("sha256")
    if size is not None and not (
        (isinstance(size, int) and not isinstance(size, bool) and size >= 0)
        or (isinstance(size, float) and size.is_integer() and size >= 0)
        or (isinstance(size, str) and size.isascii() and size.isdigit())
    ):
        return "size is not a whole number of bytes"
    if sha256 not in (None, "") and not (isinstance(sha256, str) and _SHA256_RE.fullmatch(sha256)):
        return "sha256 is not 64 hexadecimal digits"
    return None


class HttpArchive:
    """An archive over HTTP: ``GET {base}/index.json`` lists files, ``GET {base}/files/<site>/<name>`` serves one."""

    def __init__(self, base_url: str, client: httpx.Client | None = None, **retry_kw):
        self.base_url = base_url.rstrip("/")
        self.client = client or make_client()
        self.retry_kw = retry_kw
        self.skipped: list[str] = []
        self.refused: list[dict] = []
        self._expected: dict[tuple[str, str], dict] = {}
        self._listed: list[SnapshotFileRef] | None = None
        self._fetched: dict[tuple[str, str], bytes] = {}  # downloaded to compare copies, handed to the first read
        self._groups: dict[SnapshotFileRef, list[SnapshotFileRef]] = {}  # entries of one site and capture time
        self._copies: dict[SnapshotFileRef, SnapshotFileRef] = {}  # a refused copy -> the capture read

    def list_files(self) -> list[SnapshotFileRef]:
        """The index's captures, listed once per archive object (an asset run makes a new one), as a folder's:
        every week of a run listed it again."""
        if self._listed is None:
            self._listed = self._list()
        return list(self._listed)

    def _list(self) -> list[SnapshotFileRef]:
        url = f"{self.base_url}/index.json"
        response = request_with_retries(self.client, "GET", url, **self.retry_kw)
        try:
            entries = response.json()["files"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f'{url}: not a snapshot index (expected {{"files": [...]}})') from err
        if not isinstance(entries, list):
            kind = {dict: "an object", str: "a string", type(None): "null"}.get(type(entries), "a number")
            raise ValueError(f'{url}: not a snapshot index ("files" is {kind}, not a list)')
        refs, self.skipped, self.refused, self._expected = [], [], [], {}
        for position, entry in enumerate(entries, start=1):
            problem = "not an object" if not isinstance(entry, dict) else _index_entry_problem(entry)
            if problem:
                self.skipped.append(f"index entry {position}")
                self.refused.append(refused(None, f"index entry {position}", "bad_index_entry", problem))
                continue
            # names as the lines write them (NFC), as a folder's: an object key written on macOS holds 'ö' decomposed,
            # and every line of such a site was a site_mismatch; the URL keeps the key as listed
            ref = parse_file_name(unicodedata.normalize("NFC", str(entry.get("name", ""))))
            site = entry.get("site")
            site = unicodedata.normalize("NFC", site) if isinstance(site, str) else site
            if ref is not None and any("/" in part or "\\" in part or _has_control(part) or part in (".", "..")
                                       for part in (ref.site, ref.name)):
                # a path of its own ("../x_20240305T1000Z.jsonl"), a line break: a folder could not hold it
                self._refuse(None, str(entry.get("name")), "unrecognised_name",
                             "index entry whose site or name holds a path separator or a control character")
                continue
            if ref is None or ref.site != site:
                reason = "unrecognised_name" if ref is None else "site_mismatch"
                self._refuse(str(entry.get("site")), str(entry.get("name")), reason,
                             "index entry not named <site>_<YYYYMMDDTHHMM>Z.jsonl[.gz] under its site")
                continue
            if (ref.site, ref.name) in self._expected:  # listed twice (an index built by appending): read once
                self.skipped.append(f"index entry {position}")
                self.refused.append(refused(None, f"index entry {position}", "bad_index_entry",
                                            "the same site and file as an earlier entry: read once"))
                continue
            self._expected[(ref.site, ref.name)] = entry
            refs.append(ref)
        refs = self._one_copy_per_capture(refs)
        return sorted(refs, key=lambda r: (r.captured_at, r.site, r.name))

    def _one_copy_per_capture(self, refs: list[SnapshotFileRef]) -> list[SnapshotFileRef]:
        """Entries of one site with the same capture time: maybe one capture listed under two names, as a folder's
        (``X.jsonl`` and ``X.jsonl.gz`` left by ``gzip -k``, or the name with and without its ``Z``). They are
        compared when the first of them is read (``_compare``), so a run downloads only the copies of the weeks it
        reads, not every pair of the archive's history at each listing."""
        groups: dict[tuple[str, datetime], list[SnapshotFileRef]] = {}
        for ref in refs:
            groups.setdefault((ref.site, ref.captured_at), []).append(ref)
        self._groups = {ref: group for group in groups.values() if len(group) > 1 for ref in group}
        self._copies = {}
        return refs

    def _compare(self, group: list[SnapshotFileRef]) -> None:
        """When one copy holds the lines of the other, or their first lines, the shorter (when equal: the ``.gz``,
        then the name without ``Z``) is refused as ``duplicate_capture`` and not read: read twice, every line of the
        second copy was a ``duplicate`` and the week's quarantine share doubled. The copies that are read are kept
        for their read; copies that differ otherwise are both read."""
        for ref in group:
            self._groups.pop(ref, None)
        group = sorted(group, key=lambda r: (r.name.endswith(".gz"), "Z.jsonl" not in r.name, r.name))
        lines = {}
        for ref in group:
            try:
                data = self._fetched[(ref.site, ref.name)] = self._download(ref)
                lines[ref] = _decompress(data)[0] if data.startswith(GZIP_MAGIC) else data
            except (OSError, RuntimeError, CaptureTooLarge):
                continue  # read as usual: the reader fails or refuses it with its own reason
        drop: dict[SnapshotFileRef, tuple[SnapshotFileRef, bool]] = {}
        for index, ref in enumerate(group):
            for kept in group[:index]:
                if ref not in lines or kept not in lines or kept in drop or ref in drop:
                    continue
                if lines[kept].startswith(lines[ref]):
                    drop[ref] = (kept, len(lines[ref]) == len(lines[kept]))
                elif lines[ref].startswith(lines[kept]):
                    drop[kept] = (ref, False)
        for copy, (kept, equal) in sorted(drop.items(), key=lambda found: found[0].name):
            what = "the same lines as" if equal else "the first lines of"
            self._refuse(copy.site, copy.name, "duplicate_capture", f"{what} {kept.name}, which is read")
            self._fetched.pop((copy.site, copy.name), None)
            self._copies[copy] = kept

    def _refuse(self, site, name, reason, detail) -> None:
        """Listed like a refused file of a folder: a name that is an identifier by a stand-in, a control character
        escaped."""
        site, name = _shown(site), _shown(name)
        name = withheld_file_name(name, len(self.refused) + 1)
        self.skipped.append(f"{site}/{name}")
        self.refused.append(refused(site, name, reason, detail))

    def read_bytes(self, ref: SnapshotFileRef) -> bytes:
        """The capture's bytes; ``DuplicateCapture`` (already refused) for a copy of another listed capture."""
        if ref in self._groups:
            self._compare(self._groups[ref])
        if ref in self._copies:
            raise DuplicateCapture(f"a copy of {self._copies[ref].name}")
        fetched = self._fetched.pop((ref.site, ref.name), None)
        if fetched is not None:  # downloaded to be compared with its other copy
            return fetched
        return self._download(ref)

    def _download(self, ref: SnapshotFileRef) -> bytes:
        # each name one path segment: a '#' or '?' in a site ("sajt #2") cut the URL there and fetched another
        # resource, and a '%' read as an escape
        listed = self._expected.get((ref.site, ref.name), {})
        site, name = str(listed.get("site", ref.site)), str(listed.get("name", ref.name))
        url = f"{self.base_url}/files/{quote(site, safe='')}/{quote(name, safe='')}"
        # the file's bytes as the server holds them: a .jsonl.gz stored with Content-Encoding: gzip (S3 object
        # metadata) arrived inflated, so its index size and sha256 never matched and every run failed
        response = request_with_retries(self.client, "GET", url, raw=True, **self.retry_kw)
        data = response.content
        if _is_html(response.headers.get("content-type"), data):
            host = response.request.url.host
            moved = f", redirected to {host}" if host != httpx.URL(url).host else ""
            raise OSError(f"{url}: an HTML page instead of the capture (a login or error page{moved}?): not read")
        expected = self._expected.get((ref.site, ref.name), {})
        if expected.get("size") is None and not expected.get("sha256"):
            return data
        copies = [data]
        if data.startswith(GZIP_MAGIC):  # a server that compressed the file on its way, asked or not
            try:
                inflated, cut = _decompress(data)
                copies += [] if cut else [inflated]
            except CaptureTooLarge:
                pass
        for copy in copies:
            if (expected.get("size") is None or int(expected["size"]) == len(copy)) and (
                    not expected.get("sha256") or hashlib.sha256(copy).hexdigest() == expected["sha256"].lower()):
                return copy
        if expected.get("size") is not None and int(expected["size"]) != len(data):
            raise OSError(
                f"{url}: got {len(data)} bytes, index says {expected['size']} (incomplete download)"
            )
        raise OSError(f"{url}: sha256 differs from index.json (corrupt or changed file)")


def _is_html(content_type: str | None, data: bytes) -> bool:
    """An HTML page (a login page behind a redirect, a proxy's error page, served with status 200): a JSON Lines
    capture or gzip never starts with '<'. Read, each of its lines was a malformed_json line of a capture."""
    head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    said = (content_type or "").split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")
    return head.startswith((b"<!doctype html", b"<html")) or (said and head.startswith(b"<"))


def ledger_summary(files) -> dict:
    """Per-week file ledger totals for metadata: lines in, accepted, quarantined, blank, unreconciled files."""
    frame = files if hasattr(files, "columns") else typed_frame(files, FILE_SCHEMA)
    off = frame[frame["lines_in"] != frame["rows_ok"] + frame["rows_quarantined"] + frame["blank_lines"]]
    return {
        "lines_in": int(frame["lines_in"].sum()),
        "lines_accepted": int(frame["rows_ok"].sum()),
        "lines_quarantined": int(frame["rows_quarantined"].sum()),
        "lines_blank": int(frame["blank_lines"].sum()),
        "unreconciled_files": sorted(off["snapshot_file"].tolist()),
        "file_status": {k: int(v) for k, v in frame["status"].value_counts().sort_index().items()},
    }


def week_bounds(week_start: date, tz: str = "Europe/Stockholm") -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) local time, as UTC datetimes (DST-aware)."""
    if week_start.weekday() != 0:
        raise ValueError(f"week_start {week_start} is not a Monday")
    zone = ZoneInfo(tz)
    start = datetime.combine(week_start, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(week_start + timedelta(days=7), datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def files_for_week(archive, week_start: date, tz: str = "Europe/Stockholm") -> list[SnapshotFileRef]:
    start, end = week_bounds(week_start, tz)
    return [ref for ref in archive.list_files() if start <= ref.captured_at < end]


def _decompress(data: bytes) -> tuple[bytes, bool]:
    """Gunzip (all members); returns (bytes read, truncated?). Raises ``CaptureTooLarge`` as soon as the
    output passes ``MAX_CAPTURE_BYTES``, before it is held."""
    limit = MAX_CAPTURE_BYTES
    out, size, rest = [], 0, data
    while rest:
        decomp = zlib.decompressobj(wbits=47)
        pending = rest
        try:
            while pending:
                piece = decomp.decompress(pending, limit - size + 1)
                size += len(piece)
                if size > limit:
                    raise CaptureTooLarge(f"inflates to more than {limit:,} bytes (MAX_CAPTURE_BYTES)")
                out.append(piece)
                pending = decomp.unconsumed_tail
        except zlib.error:
            return b"".join(out), True
        if not decomp.eof:
            out.append(decomp.flush())
            return b"".join(out), True
        rest = decomp.unused_data.lstrip(b"\x00")
    return b"".join(out), False


def _parse_ts(value) -> datetime | None:
    """ISO 8601 with an offset -> UTC datetime; None when absent; ValueError when unusable."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.strip()
    if text[-1:] == "z":  # RFC 3339 allows a lower-case z (and t, which fromisoformat reads)
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # its message repeats the value, which may be anything (a phone number)
        raise ValueError("not a date and time") from None
    if parsed.tzinfo is None:
        raise ValueError("no UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-14:00 and 0001-01-01T00:00+14:00
        raise ValueError("outside the years 1-9999 in UTC") from None


def age_detail(age: int) -> str:
    """The impossible_age detail: the age only when it has at most three digits (a long number may be a
    personal identity number or a phone number written in the age field)."""
    lo, hi = AGE_RANGE
    if -1000 < age < 1000:
        return f"stated_age {age} outside {lo}-{hi}"
    return f"stated_age outside {lo}-{hi} (a number of more than three digits)"


class _WeekReader:
    """State for one week's ingest: rows, quarantine, duplicates seen, schema drift."""

    def __init__(self, week_start: date, key: bytes, tz: str):
        self.week_start = week_start
        self.key = key
        self.start, self.end = week_bounds(week_start, tz)
        self.rows: list[dict] = []
        self.quarantine: list[dict] = []
        self.files: list[dict] = []
        self.under_age: list[dict] = []
        self.seen: set[tuple[str, str, datetime]] = set()
        self.drift: dict[str, int] = {}
        self.blank_lines = 0
        self.phone_status: dict[str, int] = {"ok": 0, "missing": 0, "unparseable": 0}

    def _q(self, ref: SnapshotFileRef, line_no: int, reason: str, detail: str) -> None:
        self.quarantine.append(
            {
                "source": SOURCE,
                "site": ref.site,
                "file": ref.name,
                "position": line_no,
                "reason": reason,
                "detail": detail,
                "week_start": self.week_start,
            }
        )

    def read_file(self, ref: SnapshotFileRef, data: bytes) -> None:
        q_before, ok_before, blank_before = len(self.quarantine), len(self.rows), self.blank_lines
        truncated, status, detail = False, "complete", None
        packed = "gzip"
        # gzip is recognised by its magic bytes, whatever the name; under a .gz name without them, a zlib
        # stream is inflated and anything else read as plain lines (not lost as one truncated stream)
        if data.startswith(GZIP_MAGIC):
            data, truncated = _decompress(data)
        elif packed := other_compression(data):  # raises before it records anything of the file
            data, truncated = _unpack_other(data, packed)
            detail = f"{packed}, not gzip: read"
        elif ref.name.endswith(".gz") and data:
            inflated, failed = _decompress(data)
            if failed:
                detail = "named .gz but not gzip: read as plain text"
            else:
                data = inflated
        encoding = unicode_bom(data)
        if encoding:
            mark = "byte order mark" if encoding in ("UTF-16", "UTF-32") else "no byte order mark"
            detail = f"{encoding} text ({mark}): read as UTF-8"
        data = normalise_bytes(data)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            status, detail = "wrong_encoding", "not UTF-8: the lines that do not decode are quarantined"
        else:
            array = None if truncated else array_as_lines(data)
            if array is not None:  # positions are the objects' numbers in the array
                data, detail = array[0], f"a JSON array of {array[1]} objects, not JSON Lines: each read as a line"
        lines = data.split(b"\n")
        last_complete = len(lines) - 1 if truncated else len(lines)
        first_captured = None
        for index, raw in enumerate(lines[:last_complete], start=1):
            if not raw.strip():
                # the empty piece after the final newline is not a line
                self.blank_lines += 0 if (index == len(lines) and raw == b"") else 1
                continue
            captured = self._read_line(ref, index, raw)
            first_captured = first_captured or captured
        if truncated:
            partial = lines[-1]
            gz_detail = f"{packed or 'gzip'} stream ends early after {len(lines) - 1} complete lines" + (
                "; the partial last line was not read" if partial.strip() else ""
            )
            self._q(ref, len(lines), "truncated_gzip", gz_detail)
            status, detail = "partial", gz_detail
        elif data and not data.endswith(b"\n") and self.quarantine[q_before:] and (
            self.quarantine[-1]["position"] == len(lines) and self.quarantine[-1]["reason"] == "malformed_json"
        ):
            status, detail = "partial", f"the last line ({len(lines)}) is cut: no newline and not valid JSON"
        rows_ok, rows_q = len(self.rows) - ok_before, len(self.quarantine) - q_before
        blank = self.blank_lines - blank_before
        # counted from the bytes, independently of the reader: the reconciliation can fail
        lines_in = len(lines) if truncated else (0 if not data else len(lines) - (lines[-1] == b""))
        if lines_in == 0:
            status, detail = "empty", "the file holds no line"
        elif blank == lines_in and not truncated:  # a capture that found no ad but wrote line ends, or spaces
            status, detail = "empty", f"the file holds only blank or whitespace lines ({blank})"
        self.files.append(
            {
                "site": ref.site,
                "snapshot_file": ref.name,
                "captured_at": first_captured or ref.captured_at,
                "rows_read": rows_ok + rows_q,
                "rows_ok": rows_ok,
                "rows_quarantined": rows_q,
                "week_start": self.week_start,
                "lines_in": lines_in,
                "blank_lines": blank,
                "status": status,
                "status_detail": detail,
                "capture_time_from": ref.capture_time_from,
            }
        )

    def _read_line(self, ref: SnapshotFileRef, line_no: int, raw: bytes) -> datetime | None:
        record, problem = parse_line(raw)
        if problem:
            self._q(ref, line_no, "malformed_json", problem)
            return None
        if not isinstance(record, dict):
            self._q(ref, line_no, "malformed_json", "line is JSON but not an object")
            return None
        for extra in sorted({drift_name(f) for f in set(record) - KNOWN_FIELDS}):
            self.drift[extra] = self.drift.get(extra, 0) + 1
        variants = stated_ages(record)
        record = contract_case(record)
        self._under_age_candidate(ref, line_no, record, variants)
        missing = [f for f in REQUIRED_FIELDS if record.get(f) in (None, "")]
        if missing:
            self._q(ref, line_no, "missing_field", f"required field(s) missing: {', '.join(missing)}")
            return None
        return self._validate(ref, line_no, record)

    def _under_age_candidate(self, ref: SnapshotFileRef, line_no: int, record: dict, variants=()) -> None:
        """Any object line stating an age under 18 is an alert candidate, whatever else is wrong with it: also in a
        ``stated_age`` written in another case beside the contract's (``Stated_Age``: 16 beside 25)."""
        ages = [a for a in (lenient_age(v) for v in [record.get("stated_age"), *variants]) if a is not None]
        young = [a for a in ages if 0 <= a < ADULT_AGE]
        if not young:
            return
        age = min(young)
        ad_id = record.get("ad_id")
        self.under_age.append(
            {
                "site": ref.site,
                "ad_id": str(ad_id) if alert_ad_id_ok(ad_id) else f"{ref.name}#line{line_no}",
                "week_start": self.week_start,
                "stated_age": age,
                "implausible": age < AGE_RANGE[0],
                "snapshot_file": ref.name,
                "line_no": line_no,
            }
        )

    def _validate(self, ref: SnapshotFileRef, line_no: int, record: dict) -> datetime | None:
        for name in ("site", *SCANNED_FIELDS):
            # an array or object is not a kept text value: as text ("['Anna Andersson']") it would pass the
            # identifier scan, which reads values as written
            if isinstance(record.get(name), (list, dict)):
                kind = "an array" if isinstance(record[name], list) else "an object"
                self._q(ref, line_no, "bad_value", f"{name} is {kind}, not a text value")
                return None
        site, ad_id = str(record["site"]), str(record["ad_id"])
        if site != ref.site:
            self._q(ref, line_no, "site_mismatch", f"line names another site than its file's site '{ref.site}'")
            return None
        try:
            captured = _parse_ts(record["captured_at"])
        except ValueError as err:
            self._q(ref, line_no, "bad_timestamp", f"captured_at is not ISO 8601 with an offset ({err})")
            return None
        try:
            posted = _parse_ts(record.get("posted_at"))
        except ValueError as err:
            self._q(ref, line_no, "bad_timestamp", f"posted_at is not ISO 8601 with an offset ({err})")
            return None
        if not (self.start <= captured < self.end):
            self._q(
                ref,
                line_no,
                "outside_partition",
                f"captured_at {captured.isoformat()} is outside the week starting {self.week_start}",
            )
            return None
        age = record.get("stated_age")
        if age not in (None, ""):
            age = whole_number(age)  # 25.0 and "25,0" too: a float column's ages were all bad_value
            if age is None:
                self._q(ref, line_no, "bad_value", "stated_age is not an integer")
                return None
            if not AGE_RANGE[0] <= age <= AGE_RANGE[1]:
                self._q(ref, line_no, "impossible_age", age_detail(age))
                return None
        else:
            age = None
        for name in SCANNED_FIELDS:
            problem = field_problem(name, record.get(name))
            if problem:
                self._q(ref, line_no, *problem)
                return None
        dedup = (site, ad_id, captured)
        if dedup in self.seen:
            self._q(ref, line_no, "duplicate", "ad_id already read for this site and capture time")
            return None
        self.seen.add(dedup)
        self.rows.append(self._row(ref, line_no, record, captured, posted, age))
        return captured

    def _row(self, ref, line_no, record, captured, posted, age) -> dict:
        raw_phone = record.get("phone")
        if raw_phone in (None, "") or not str(raw_phone).strip():
            status, key = "missing", None
        else:
            e164 = normalise_phone(str(raw_phone))
            status, key = ("ok", phone_key(e164, self.key)) if e164 else ("unparseable", None)
        self.phone_status[status] += 1

        def text(name):
            value = record.get(name)
            return None if value in (None, "") else str(value)

        return {
            "site": ref.site,
            "ad_id": str(record["ad_id"]),
            "captured_at": captured,
            "posted_at": posted,
            "location_raw": text("location"),
            "phone_key": key,
            "phone_status": status,
            "stated_age": age,
            "category": text("category"),
            "advertiser_gender": text("advertiser_gender"),
            "week_start": self.week_start,
            "snapshot_file": ref.name,
            "line_no": line_no,
        }


def ingest_week(archive, week_start: date, key: bytes, tz: str = "Europe/Stockholm") -> IngestResult:
    """Read every snapshot file of one partition week into raw/ad_snapshots rows plus quarantine."""
    reader = _WeekReader(week_start, key, tz)
    refs = []
    for ref in files_for_week(archive, week_start, tz):
        try:
            data = archive.read_bytes(ref)
        except DuplicateCapture:  # refused when its copies were compared
            continue
        except CaptureTooLarge as err:  # a plain capture past the limit, refused before it is read
            archive._refuse(ref.site, ref.name, "too_large", str(err))
            continue
        except OSError as err:
            # gone or unreadable since the folder was listed (a capture tool rotating its files): refused.
            # Over HTTP a download that differs from the index stays fatal (docs/sources.md).
            if not isinstance(archive, FolderArchive):
                raise
            if isinstance(err, FileBeingWritten):  # a later run of the week reads it whole
                archive._refuse(ref.site, ref.name, "being_written", f"{err.strerror}: a copy in progress? not read")
            else:
                archive._refuse(ref.site, ref.name, "unreadable", f"cannot be read ({type(err).__name__})")
            continue
        try:
            reader.read_file(ref, data)  # raises before it records anything of the file
        except CaptureTooLarge as err:
            archive._refuse(ref.site, ref.name, "too_large", str(err))
            continue
        except UnreadableCapture as err:
            archive._refuse(ref.site, ref.name, "unreadable", str(err))
            continue
        refs.append(ref)
    quarantine = quarantine_frame(reader.quarantine)
    files = typed_frame(reader.files, FILE_SCHEMA)
    metadata = summarise(
        len(reader.rows),
        quarantine,
        week_start=week_start.isoformat(),
        files_read=len(refs),
        sites=sorted({ref.site for ref in refs}),
        schema_drift=dict(sorted(reader.drift.items())),
        blank_lines=reader.blank_lines,
        phone_status=reader.phone_status,
        skipped_file_names=list(getattr(archive, "skipped", [])),
        refused_files=list(getattr(archive, "refused", [])),
        partial_files=sorted(f["snapshot_file"] for f in reader.files if f["status"] == "partial"),
        ledger=ledger_summary(files),
        under_age_lines=len(reader.under_age),
    )
    return IngestResult(
        rows=typed_frame(reader.rows, ROW_SCHEMA),
        quarantine=quarantine,
        files=files,
        metadata=metadata,
        under_age=typed_frame(reader.under_age, UNDER_AGE_SCHEMA),
    )
