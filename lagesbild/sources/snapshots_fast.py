"""A columnar snapshot ingest: the same result as ``snapshots.ingest_week``, several times less CPU.

``ingest_week_fast(archive, week_start, key)`` returns exactly what
``lagesbild.sources.snapshots.ingest_week`` returns (rows, quarantine, files, metadata) but parses each
capture with pyarrow's JSON reader and validates whole columns at once; the per-value Python work is
done once per *distinct* value (capture times, posting times, phone forms), not once per line.

Clean files take the fast path. A week with anything unusual (a line that is not a JSON object, a
field of an unexpected type, an unknown field, a blank line, a truncated gzip) is handed to the
current line-by-line reader as a whole, so its quarantine reasons and metadata stay exactly those of
``ingest_week``; the fast path never has to re-implement the rare cases.

Measured in docs/bench.md (`python -m bench.fast_ingest` compares both readers on real inputs).
"""

from __future__ import annotations

import io
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
    TIMESTAMP,
    IngestResult,
    cast_to_schema,
    quarantine_frame,
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


class _SlowPath(Exception):
    """This week needs the line-by-line reader."""


def _phones(written: pd.Series, key: bytes) -> tuple[pd.Series, pd.Series]:
    """(phone_status, phone_key) per line: libphonenumber's answer per distinct written form, in one batch."""
    codes, uniques = pd.factorize(written)
    forms = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    e164 = e164_many(forms)
    blank = np.array([not form.strip() for form in forms], dtype=bool)
    status = np.where(blank, "missing", np.where(e164.isna(), "unparseable", "ok")).astype(object)
    keys = np.array([phone_key(number, key) if number is not None else None for number in e164], dtype=object)
    return (pd.Series(status[codes], index=written.index, dtype=object),
            pd.Series(keys[codes], index=written.index, dtype=object))


#: The form the sites write (seconds, an offset or Z): parsed column-wise; any other form, per value by the
#: slow path's parser, so its errors and its leniency (fractions, padding) stay the same.
ISO_SECONDS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)$"


def _timestamps(values: pd.Series, field: str) -> tuple[pd.Series, pd.Series]:
    """Parsed UTC timestamps and the error detail per line (other forms parsed once per distinct value)."""
    plain = values.str.match(ISO_SECONDS).fillna(False).astype(bool)
    parsed = pd.to_datetime(values.where(plain), format="ISO8601", utc=True, errors="coerce").astype(TIMESTAMP)
    errors = pd.Series(None, index=values.index, dtype=object)
    rest = values.notna() & parsed.isna()
    for value in values[rest].unique():
        at = values == value
        try:
            parsed[at] = pd.Timestamp(slow._parse_ts(value)).as_unit("us")
        except ValueError as err:
            errors[at] = f"{field} is not ISO 8601 with an offset ({err})"
    return parsed, errors


def _read_capture(ref, data: bytes) -> pd.DataFrame:
    if ref.name.endswith(".gz"):
        data, truncated = slow._decompress(data)
        if truncated:
            raise _SlowPath("truncated gzip")
    body = data[:-1] if data.endswith(b"\n") else data
    if not body or b"\n\n" in data or data.startswith((b"\n", slow.BOM, slow.GZIP_MAGIC)) or b"\r" in data:
        raise _SlowPath("empty file or blank lines")
    try:
        data.decode("utf-8")  # pyarrow's JSON reader does not check the encoding (~1 GB/s)
    except UnicodeDecodeError:
        raise _SlowPath("not UTF-8") from None
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


def _validate(lines: pd.DataFrame, week_start: date, start, end) -> tuple[pd.Series, ...]:
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
         "site_mismatch", "line names site '" + lines["site"] + "' in a file of site '" + lines["file_site"] + "'")
    captured, captured_error = _timestamps(lines["captured_at"].where(~absent["captured_at"]), "captured_at")
    flag(captured_error.notna(), "bad_timestamp", captured_error)
    posted_raw = lines["posted_at"].where(lines["posted_at"] != "")
    posted, posted_error = _timestamps(posted_raw, "posted_at")
    flag(posted_error.notna(), "bad_timestamp", posted_error)
    # Per distinct capture time (a capture has one), not per line.
    raw = lines["captured_at"]
    distinct = {v: slow._parse_ts(v) for v in raw[captured_error.isna() & raw.notna()].unique()}
    outside = {v: f"captured_at {t.isoformat()} is outside the week starting {week_start}"
               for v, t in distinct.items() if t is not None and not start <= t < end}
    outside_text = raw.map(outside)
    flag(outside_text.notna(), "outside_partition", outside_text)
    age = lines["stated_age"]
    lo, hi = slow.AGE_RANGE
    flag(age.notna() & ~age.between(lo, hi), "impossible_age",
         "stated_age " + age.astype("Int64").astype(str) + f" outside {lo}-{hi}")
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
    accepted = reason.isna()
    keys = pd.DataFrame({"site": lines["site"], "ad_id": lines["ad_id"], "captured": captured})[accepted]
    duplicate = keys.duplicated(keep="first").reindex(lines.index, fill_value=False)
    flag(duplicate, "duplicate", "ad " + lines["ad_id"] + " already read for this capture time")
    return reason, detail, captured.where(reason.isna()), posted


def _week_frames(archive, refs) -> pd.DataFrame:
    frames = [_read_capture(ref, archive.read_bytes(ref)) for ref in refs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["file_site", "snapshot_file"])


def ingest_week_fast(archive, week_start: date, key: bytes, tz: str = "Europe/Stockholm") -> IngestResult:
    """Same result as ``snapshots.ingest_week``; columnar when the week's files are clean."""
    refs = slow.files_for_week(archive, week_start, tz)
    try:
        lines = _week_frames(archive, refs)
    except _SlowPath:
        return slow.ingest_week(archive, week_start, key, tz)
    if lines.empty:
        return slow.ingest_week(archive, week_start, key, tz)
    start, end = slow.week_bounds(week_start, tz)
    under_age = _under_age(lines, week_start)
    reason, detail, captured, posted = _validate(lines, week_start, start, end)
    ok = reason.isna()
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
                "week_start": week_start,
                "snapshot_file": good["snapshot_file"],
                "line_no": good["line_no"],
            }
        ),
        slow.ROW_SCHEMA,
    )
    bad = lines[~ok]
    quarantine = quarantine_frame(
        [
            {"source": slow.SOURCE, "site": s, "file": f, "position": int(n), "reason": r, "detail": d,
             "week_start": week_start}
            for s, f, n, r, d in zip(bad["file_site"], bad["snapshot_file"], bad["line_no"], reason[~ok],
                                     detail[~ok], strict=True)
        ]
    )
    files = typed_frame(_file_rows(refs, lines, ok, captured, week_start), slow.FILE_SCHEMA)
    counts = status.value_counts()
    metadata = summarise(
        len(rows),
        quarantine,
        week_start=week_start.isoformat(),
        files_read=len(refs),
        sites=sorted({ref.site for ref in refs}),
        schema_drift={},
        blank_lines=0,
        phone_status={s: int(counts.get(s, 0)) for s in ("ok", "missing", "unparseable")},
        skipped_file_names=list(getattr(archive, "skipped", [])),
        refused_files=list(getattr(archive, "refused", [])),
        partial_files=[],
        ledger=slow.ledger_summary(files),
        under_age_lines=len(under_age),
    )
    return IngestResult(rows=rows, quarantine=quarantine, files=files, metadata=metadata, under_age=under_age)


def _under_age(lines: pd.DataFrame, week_start: date) -> pd.DataFrame:
    """Every line stating an age under 18, before validation (as ``snapshots._WeekReader._under_age_candidate``)."""
    age = lines["stated_age"]
    young = lines[age.notna() & (age >= 0) & (age < slow.ADULT_AGE)]
    locator = young["snapshot_file"] + "#line" + young["line_no"].astype(str)
    ad_id = young["ad_id"].where(young["ad_id"].notna() & (young["ad_id"] != ""), locator)
    return cast_to_schema(
        pd.DataFrame(
            {
                "site": young["file_site"],
                "ad_id": ad_id,
                "week_start": week_start,
                "stated_age": young["stated_age"],
                "implausible": young["stated_age"] < slow.AGE_RANGE[0],
                "snapshot_file": young["snapshot_file"],
                "line_no": young["line_no"],
            }
        ),
        slow.UNDER_AGE_SCHEMA,
    )


def _file_rows(refs, lines, ok, captured, week_start) -> list[dict]:
    out = []
    for ref in refs:
        mine = lines["snapshot_file"] == ref.name
        first = captured[mine & ok]
        out.append(
            {
                "site": ref.site,
                "snapshot_file": ref.name,
                "captured_at": first.iloc[0] if len(first) else ref.captured_at,
                "rows_read": int(mine.sum()),
                "rows_ok": int((mine & ok).sum()),
                "rows_quarantined": int((mine & ~ok).sum()),
                "week_start": week_start,
                "lines_in": int(mine.sum()),
                "blank_lines": 0,
                "status": "complete",
                "status_detail": None,
                "capture_time_from": ref.capture_time_from,
            }
        )
    return out


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
