"""The columnar snapshot ingest of a run: many weeks at once, each week the same result as ``snapshots.ingest_week``.

``ingest_weeks_fast(archive, weeks, key)`` yields ``(week, IngestResult)`` in week order, each exactly
what ``lagesbild.sources.snapshots.ingest_week`` (the line reader, its test oracle) returns for that
week: rows, quarantine, file list, under-age candidates and metadata. It parses each capture with
pyarrow's JSON reader and then validates, types and pseudonymises the lines of *many weeks together*
(up to ``BATCH_LINES`` lines at a time, so memory stays bounded however long the history is): the
pandas and pyarrow work, the phone batch and the casts to the contract are paid once per batch, not
once per week, and the per-value Python work once per *distinct* value (capture times, posting times,
phone forms), not once per line.

Clean files take this path. A week with anything unusual (a line that is not a JSON object, a field of
an unexpected type, an unknown field, a blank line, a truncated gzip, no capture at all) is handed to
the line reader as a whole, so its quarantine reasons and metadata stay exactly those of
``ingest_week``; the columnar path never has to re-implement the rare cases.

Measured in docs/bench.md (`python -m bench.fast_ingest` compares both readers on real inputs).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from lagesbild.privacy.identifiers import MAX_FIELD_CHARS, scan_array
from lagesbild.privacy.phone_batch import e164_many
from lagesbild.privacy.pseudonymise import phone_key
from lagesbild.sources import snapshots as slow
from lagesbild.sources.quarantine import (
    QUARANTINE_SCHEMA,
    TIMESTAMP,
    IngestResult,
    cast_to_schema,
    summarise,
    typed_frame,
)

#: The contract's fields as the captures write them; anything else sends the week to the slow path.
LINE_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("ad_id", pa.string()),
        ("captured_at", pa.string()),
        ("posted_at", pa.string()),
        ("location", pa.string()),
        ("phone", pa.string()),
        ("stated_age", pa.int64()),
        ("category", pa.string()),
        ("advertiser_gender", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
    ]
)
PARSE = pj.ParseOptions(explicit_schema=LINE_SCHEMA, unexpected_field_behavior="error")
#: Lines validated together: weeks are read until the batch holds at least this many lines (a week is
#: never split), so memory does not grow with the history: the ingest of 1M and of 10M rows peaked at
#: 506 and 588 MB max RSS, imports included (docs/bench.md, "Ingest in one pass").
BATCH_LINES = 100_000
PHONE_STATUSES = ("ok", "missing", "unparseable")


class _SlowPath(Exception):
    """This week needs the line-by-line reader."""


def _phones(written: pd.Series, key: bytes) -> tuple[pd.Series, pd.Series]:
    """(phone_status, phone_key) per line: libphonenumber's answer per distinct written form, in one batch."""
    codes, uniques = pd.factorize(written)
    forms = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    e164 = e164_many(forms)
    blank = np.array([not form.strip() for form in forms], dtype=bool)
    status = np.where(blank, "missing", np.where(e164.isna(), "unparseable", "ok")).astype(object)
    # one HMAC per distinct number (a number is written in several forms); no number: the sentinel -1
    numbers, distinct = pd.factorize(e164)
    hashed = np.array([phone_key(number, key) for number in distinct] + [None], dtype=object)
    keys = hashed[numbers]
    return (pd.Series(status[codes], index=written.index, dtype=object),
            pd.Series(keys[codes], index=written.index, dtype=object))


#: The form the sites write (seconds, an offset or Z): parsed column-wise; any other form, per value by the
#: slow path's parser, so its errors and its leniency (fractions, padding) stay the same.
#: The range of Python's datetime in UTC, which the line reader's parser enforces.
FIRST_UTC = pd.Timestamp("0001-01-01T00:00:00", tz="UTC").as_unit("us")
LAST_UTC = pd.Timestamp("9999-12-31T23:59:59.999999", tz="UTC").as_unit("us")
ISO_SECONDS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)$"


def _timestamps(values: pd.Series, field: str) -> tuple[pd.Series, pd.Series]:
    """Parsed UTC timestamps and the error detail per line (other forms parsed once per distinct value)."""
    plain = values.str.match(ISO_SECONDS).fillna(False).astype(bool)
    parsed = pd.to_datetime(values.where(plain), format="ISO8601", utc=True, errors="coerce").astype(TIMESTAMP)
    # pandas reads 9999-12-31T23:59:59-14:00 as year 10000; Python's datetime (the line reader) cannot
    parsed = parsed.where((parsed >= FIRST_UTC) & (parsed <= LAST_UTC))
    errors = pd.Series(None, index=values.index, dtype=object)
    rest = values.notna() & parsed.isna()
    if rest.any():
        others = values[rest]
        times, problems = {}, {}
        for value in others.unique():
            try:
                times[value] = pd.Timestamp(slow._parse_ts(value)).as_unit("us")
            except ValueError as err:
                problems[value] = f"{field} is not ISO 8601 with an offset ({err})"
        parsed[rest] = pd.to_datetime(others.map(times), utc=True).astype(TIMESTAMP)
        errors[rest] = others.map(problems)
    return parsed, errors


#: A line between two others that is empty or only whitespace (the line reader's blank line, ``bytes.strip``).
#: A line whose first character (after spaces) does not open a JSON object: `null`, a number, an array, text.
_NOT_AN_OBJECT_RE = re.compile(rb"\n[ \t]*[^{ \t]")  # and the first line: _NOT_AN_OBJECT_START_RE
_NOT_AN_OBJECT_START_RE = re.compile(rb"[ \t]*[^{ \t]")
_BLANK_BETWEEN_RE = re.compile(rb"\n[ \t\x0b\x0c]*\n")


def _has_blank_line(body: bytes) -> bool:
    """Whether a line of ``body`` (the file without its final newline) is empty or whitespace. pyarrow's reader
    skips such a line without a row, so with a line holding two objects the row count would still match and
    every line number after it would shift: the line reader must read such a file."""
    first, last = body[: body.find(b"\n") % (len(body) + 1)], body[body.rfind(b"\n") + 1 :]
    return not first.strip() or not last.strip() or _BLANK_BETWEEN_RE.search(body) is not None


def _read_capture(ref, data: bytes) -> pd.DataFrame:
    if slow.other_compression(data):
        raise _SlowPath("bzip2, xz, zip or another compression: the line reader unpacks or refuses it")
    if data.lstrip()[:1] == b"[":
        raise _SlowPath("a JSON array (one document): the line reader reads its objects")
    if ref.name.endswith(".gz"):
        if not data.startswith(slow.GZIP_MAGIC):
            raise _SlowPath("named .gz but not gzip")
        try:
            data, truncated = slow._decompress(data)
        except slow.CaptureTooLarge:
            raise _SlowPath("too large: the line reader refuses it") from None
        if truncated:
            raise _SlowPath("truncated gzip")
    body = data[:-1] if data.endswith(b"\n") else data
    if not body or _has_blank_line(body) or data.startswith((slow.BOM, slow.GZIP_MAGIC)) or b"\r" in data:
        raise _SlowPath("empty file or blank lines")
    if data.startswith((b"{\x00", b"\x00")):  # UTF-16/32 without a byte order mark (NULs are UTF-8)
        raise _SlowPath("UTF-16 or UTF-32")
    try:
        data.decode("utf-8")  # pyarrow's JSON reader does not check the encoding (~1 GB/s)
    except UnicodeDecodeError:
        raise _SlowPath("not UTF-8") from None
    if _NOT_AN_OBJECT_START_RE.match(body) or _NOT_AN_OBJECT_RE.search(body):
        # pyarrow's reader takes a line of `null` for a row of nulls (missing_field, where the line reader says
        # malformed_json), and one in the first line crashed the process (a segmentation fault in pyarrow 26)
        raise _SlowPath("a line that does not start a JSON object")
    try:
        table = pj.read_json(io.BytesIO(data), parse_options=PARSE)
    except pa.ArrowException as err:  # invalid JSON, a wrong type, bytes that are not UTF-8
        raise _SlowPath(str(err)) from None
    if table.num_rows != body.count(b"\n") + 1:
        raise _SlowPath("line count differs")
    frame = table.drop_columns(["title", "text"]).to_pandas()
    frame.insert(0, "line_no", np.arange(1, len(frame) + 1, dtype=np.int32))
    frame.insert(0, "snapshot_file", ref.name)
    frame.insert(0, "file_site", ref.site)
    return frame


@dataclass
class _Week:
    """A week of the batch: its files and, once read, its lines (None: the result is already there)."""

    week: date
    refs: list
    lines: pd.DataFrame | None = None
    #: Per line, the position of its file in ``refs``.
    file_no: np.ndarray | None = None
    result: IngestResult | None = None


def _validate(lines: pd.DataFrame, weeks: list[_Week], week_no: np.ndarray, bounds) -> tuple[pd.Series, ...]:
    """(reason, detail, captured, posted) per line, checks in the order of the slow reader."""
    reason = pd.Series(None, index=lines.index, dtype=object)
    detail = pd.Series(None, index=lines.index, dtype=object)

    def flag(mask, code, text) -> None:
        mask = mask & reason.isna()
        reason[mask] = code
        detail[mask] = text[mask] if isinstance(text, pd.Series) else text

    absent = {f: lines[f].isna() | (lines[f] == "") for f in slow.REQUIRED_FIELDS}
    missing_text = pd.Series("", index=lines.index, dtype=object)
    for f in slow.REQUIRED_FIELDS:
        missing_text = missing_text.where(~absent[f], missing_text + np.where(missing_text == "", "", ", ") + f)
    flag(missing_text != "", "missing_field", "required field(s) missing: " + missing_text)
    flag(lines["site"] != lines["file_site"],
         "site_mismatch", "line names another site than its file's site '" + lines["file_site"] + "'")
    captured, captured_error = _timestamps(lines["captured_at"].where(~absent["captured_at"]), "captured_at")
    flag(captured_error.notna(), "bad_timestamp", captured_error)
    posted_raw = lines["posted_at"].where(lines["posted_at"] != "")
    posted, posted_error = _timestamps(posted_raw, "posted_at")
    flag(posted_error.notna(), "bad_timestamp", posted_error)
    # Per distinct (capture time, week) (a capture has one time and one week), not per line.
    raw = lines["captured_at"]
    valid = (captured_error.isna() & raw.notna()).to_numpy()
    pairs = pd.DataFrame({"raw": raw[valid], "week": week_no[valid]}).drop_duplicates()
    outside = {}
    for value, number in zip(pairs["raw"], pairs["week"], strict=True):
        moment = slow._parse_ts(value)
        start, end = bounds[number]
        if moment is not None and not start <= moment < end:
            outside[(value, number)] = f"captured_at {moment.isoformat()} is outside the week starting {weeks[number].week}"
    if outside:
        found = pd.DataFrame({"raw": [v for v, _ in outside], "week": [n for _, n in outside],
                              "text": list(outside.values())})
        every = pd.DataFrame({"raw": raw.to_numpy(dtype=object), "week": week_no})
        outside_text = every.merge(found, on=["raw", "week"], how="left")["text"]
        outside_text.index = lines.index
        flag(outside_text.notna(), "outside_partition", outside_text.astype(object))
    age = lines["stated_age"]
    lo, hi = slow.AGE_RANGE
    implausible = age.notna() & ~age.between(lo, hi)
    age_text = pd.Series(None, index=lines.index, dtype=object)
    age_text[implausible] = [slow.age_detail(int(a)) for a in age[implausible]]
    flag(implausible, "impossible_age", age_text)
    for name in slow.SCANNED_FIELDS:
        array = pa.array(lines[name], type=pa.string(), from_pandas=True)
        length = pc.fill_null(pc.utf8_length(array), 0).to_numpy(zero_copy_only=False)
        long = length > MAX_FIELD_CHARS
        if long.any():
            text = pd.Series([f"{name} is {n} characters long (limit {MAX_FIELD_CHARS})" for n in length],
                             index=lines.index, dtype=object)
            flag(pd.Series(long, index=lines.index), "too_long", text)
            array = pc.if_else(pa.array(long), pa.scalar(None, pa.string()), array)
        kinds = scan_array(array, text_field=name != "ad_id", names=name in slow.NAME_FIELDS)
        hit = pd.notna(kinds)
        if hit.any():
            text = pd.Series([f"{name} holds a {k.replace('_', ' ')}" if k else None for k in kinds],
                             index=lines.index, dtype=object)
            flag(pd.Series(hit, index=lines.index), "identifier_in_field", text)
    # A week's accepted capture times lie inside it, so the key names the week too.
    accepted = reason.isna()
    keys = pd.DataFrame({"site": lines["site"], "ad_id": lines["ad_id"], "captured": captured})[accepted]
    duplicate = keys.duplicated(keep="first").reindex(lines.index, fill_value=False)
    flag(duplicate, "duplicate", "ad_id already read for this site and capture time")
    return reason, detail, captured.where(reason.isna()), posted


def _cuts(sorted_week_no: np.ndarray, weeks: int) -> np.ndarray:
    """Where each week's run of rows starts and ends in rows ordered by week (``weeks + 1`` cuts)."""
    return np.searchsorted(sorted_week_no, np.arange(weeks + 1), side="left")


def _week_column(weeks: list[_Week], week_no: np.ndarray) -> pd.Series:
    return pd.Series(np.array([w.week for w in weeks], dtype=object)[week_no], dtype=object)


def _ingest_batch(archive, weeks: list[_Week], key: bytes, tz: str) -> None:
    """Validate, type and pseudonymise the lines of every read week of the batch together; each week's result."""
    read = [w for w in weeks if w.result is None]
    if not read:
        return
    lines = pd.concat([w.lines for w in read], ignore_index=True)
    sizes = np.array([len(w.lines) for w in read])
    week_no = np.repeat(np.arange(len(read)), sizes)
    file_no = np.concatenate([w.file_no for w in read])
    for w in read:
        w.lines = w.file_no = None
    bounds = [slow.week_bounds(w.week, tz) for w in read]
    under_age, young_week_no = _under_age(lines, read, week_no)
    reason, detail, captured, posted = _validate(lines, read, week_no, bounds)
    ok = reason.isna().to_numpy()
    good = lines[ok]
    status, phone_keys = _phones(good["phone"].fillna(""), key)
    text = {c: good[c].where(good[c] != "") for c in ("location", "category", "advertiser_gender")}
    rows = cast_to_schema(
        pd.DataFrame(
            {
                "site": good["file_site"],
                "ad_id": good["ad_id"],
                "captured_at": captured[ok],
                "posted_at": posted[ok],
                "location_raw": text["location"],
                "phone_key": phone_keys,
                "phone_status": status,
                "stated_age": good["stated_age"],
                "category": text["category"],
                "advertiser_gender": text["advertiser_gender"],
                "week_start": _week_column(read, week_no[ok]).to_numpy(),
                "snapshot_file": good["snapshot_file"],
                "line_no": good["line_no"],
            }
        ),
        slow.ROW_SCHEMA,
    )
    bad = lines[~ok]
    quarantine = cast_to_schema(
        pd.DataFrame(
            {
                "source": slow.SOURCE,
                "site": bad["file_site"],
                "file": bad["snapshot_file"],
                "position": bad["line_no"],
                "reason": reason[~ok],
                "detail": detail[~ok],
                "week_start": _week_column(read, week_no[~ok]).to_numpy(),
            }
        ),
        QUARANTINE_SCHEMA,
    )
    files = _file_rows(read, week_no, file_no, ok, captured)
    status_no = pd.Categorical(status, categories=PHONE_STATUSES).codes
    phone_counts = np.zeros((len(read), len(PHONE_STATUSES)), dtype=np.int64)
    np.add.at(phone_counts, (week_no[ok], status_no), 1)
    cut_rows, cut_bad = _cuts(week_no[ok], len(read)), _cuts(week_no[~ok], len(read))
    cut_files = np.cumsum([0] + [len(w.refs) for w in read])
    cut_young = _cuts(young_week_no, len(read))
    for number, w in enumerate(read):
        week_rows = rows.iloc[cut_rows[number]:cut_rows[number + 1]].reset_index(drop=True)
        week_quarantine = quarantine.iloc[cut_bad[number]:cut_bad[number + 1]].reset_index(drop=True)
        week_files = files.iloc[cut_files[number]:cut_files[number + 1]].reset_index(drop=True)
        week_young = under_age.iloc[cut_young[number]:cut_young[number + 1]].reset_index(drop=True)
        metadata = summarise(
            len(week_rows),
            week_quarantine,
            week_start=w.week.isoformat(),
            files_read=len(w.refs),
            sites=sorted({ref.site for ref in w.refs}),
            schema_drift={},
            blank_lines=0,
            phone_status={s: int(n) for s, n in zip(PHONE_STATUSES, phone_counts[number], strict=True)},
            skipped_file_names=list(getattr(archive, "skipped", [])),
            refused_files=list(getattr(archive, "refused", [])),
            partial_files=[],
            ledger=slow.ledger_summary(week_files),
            under_age_lines=len(week_young),
        )
        w.result = IngestResult(rows=week_rows, quarantine=week_quarantine, files=week_files, metadata=metadata,
                                under_age=week_young)


def _under_age(lines: pd.DataFrame, weeks: list[_Week], week_no: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Every line stating an age under 18, before validation (as ``snapshots._WeekReader._under_age_candidate``),
    and the week number of each."""
    age = lines["stated_age"]
    young_mask = (age.notna() & (age >= 0) & (age < slow.ADULT_AGE)).to_numpy()
    young = lines[young_mask]
    locator = young["snapshot_file"] + "#line" + young["line_no"].astype(str)
    usable = np.array([slow.alert_ad_id_ok(value) if pd.notna(value) else False for value in young["ad_id"]], dtype=bool)
    ad_id = young["ad_id"].where(pd.Series(usable, index=young.index), locator)
    return cast_to_schema(
        pd.DataFrame(
            {
                "site": young["file_site"],
                "ad_id": ad_id,
                "week_start": _week_column(weeks, week_no[young_mask]).to_numpy(),
                "stated_age": young["stated_age"],
                "implausible": young["stated_age"] < slow.AGE_RANGE[0],
                "snapshot_file": young["snapshot_file"],
                "line_no": young["line_no"],
            }
        ),
        slow.UNDER_AGE_SCHEMA,
    ), week_no[young_mask]


def _file_rows(weeks: list[_Week], week_no, file_no, ok, captured) -> pd.DataFrame:
    """One ledger row per capture file of the batch, in week and file order."""
    offsets = np.cumsum([0] + [len(w.refs) for w in weeks])
    batch_file = offsets[week_no] + file_no
    total = offsets[-1]
    read = np.bincount(batch_file, minlength=total)
    accepted = np.bincount(batch_file[ok], minlength=total)
    first = captured[ok].groupby(batch_file[ok], sort=False).first()
    out = []
    for number, w in enumerate(weeks):
        for position, ref in enumerate(w.refs):
            at = offsets[number] + position
            out.append(
                {
                    "site": ref.site,
                    "snapshot_file": ref.name,
                    "captured_at": first[at] if at in first.index else ref.captured_at,
                    "rows_read": int(read[at]),
                    "rows_ok": int(accepted[at]),
                    "rows_quarantined": int(read[at] - accepted[at]),
                    "week_start": w.week,
                    "lines_in": int(read[at]),
                    "blank_lines": 0,
                    "status": "complete",
                    "status_detail": None,
                    "capture_time_from": ref.capture_time_from,
                }
            )
    return typed_frame(out, slow.FILE_SCHEMA)


def _read_week(archive, week: date, key: bytes, tz: str) -> _Week:
    """A week's capture files read into lines, or its whole result from the line reader when it needs it."""
    refs = slow.files_for_week(archive, week, tz)
    try:
        frames = [_read_capture(ref, archive.read_bytes(ref)) for ref in refs]
    except (_SlowPath, slow.CaptureTooLarge, slow.DuplicateCapture):  # the line reader refuses those
        frames = []
    except OSError:  # a folder file gone since the listing: the line reader refuses it
        if not isinstance(archive, slow.FolderArchive):
            raise
        frames = []
    if not frames:  # a messy file, or no capture at all
        return _Week(week, refs, result=slow.ingest_week(archive, week, key, tz))
    sizes = [len(frame) for frame in frames]
    return _Week(week, refs, lines=pd.concat(frames, ignore_index=True),
                 file_no=np.repeat(np.arange(len(frames)), sizes))


def ingest_weeks_fast(
    archive, weeks: Iterable[date], key: bytes, tz: str = "Europe/Stockholm", batch_lines: int = BATCH_LINES
) -> Iterator[tuple[date, IngestResult]]:
    """``(week, result)`` for every week, in order; each result equals ``snapshots.ingest_week``'s."""
    batch: list[_Week] = []
    held = 0
    for week in weeks:
        read = _read_week(archive, week, key, tz)
        batch.append(read)
        held += 0 if read.lines is None else len(read.lines)
        if held >= batch_lines:
            yield from _done(archive, batch, key, tz)
            batch, held = [], 0
    yield from _done(archive, batch, key, tz)


def _done(archive, batch: list[_Week], key: bytes, tz: str) -> Iterator[tuple[date, IngestResult]]:
    _ingest_batch(archive, batch, key, tz)
    for w in batch:
        yield w.week, w.result
        w.result = None  # the caller holds it as long as it needs


def ingest_week_fast(archive, week_start: date, key: bytes, tz: str = "Europe/Stockholm") -> IngestResult:
    """One week by the columnar reader: the same result as ``snapshots.ingest_week``."""
    return next(result for _, result in ingest_weeks_fast(archive, [week_start], key, tz))


def same_result(a: IngestResult, b: IngestResult) -> list[str]:
    """Differences between two ingest results (empty = identical frames and metadata)."""
    problems = []
    for name in ("rows", "quarantine", "files", "under_age"):
        x, y = getattr(a, name), getattr(b, name)
        if not x.reset_index(drop=True).equals(y.reset_index(drop=True)):
            problems.append(f"{name} differ")
    if a.metadata != b.metadata:
        problems.append(f"metadata differ: {a.metadata} vs {b.metadata}")
    return problems
