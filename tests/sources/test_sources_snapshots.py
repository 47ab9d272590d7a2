"""Snapshot archive ingest from a folder and over HTTP: gzip, truncation, bad lines, duplicates."""

import gzip
import hashlib
import json
import unicodedata
from datetime import date, timedelta
from urllib.parse import quote

import httpx
import pytest

from lagesbild.sources.http import make_client
from lagesbild.sources.quarantine import (
    QUARANTINE_COLUMNS,
    QuarantineThresholdExceeded,
    enforce_quarantine_threshold,
)
from lagesbild.sources.snapshots import FolderArchive, HttpArchive, files_for_week, ingest_week

KEY = b"test-key"
WEEK = date(2026, 3, 2)  # a Monday
RAW_PHONES = ["070-123 45 67", "O7O 765 43 21", "+46 73 111 22 33"]


def line(ad_id, captured="2026-03-03T10:00:00+01:00", site="annonsportal-a", **extra):
    record = {
        "site": site,
        "ad_id": ad_id,
        "captured_at": captured,
        "posted_at": "2026-03-01T08:00:00+01:00",
        "location": "Linköping",
        "phone": RAW_PHONES[int(ad_id[-1]) % 3],
        "stated_age": 25,
        "category": "escort",
        "advertiser_gender": "woman",
        "title": "Hej",
        "text": "fri text",
        **extra,
    }
    return json.dumps(record, ensure_ascii=False)


def build_files():
    good = "\n".join([line("a1"), line("a2"), line("a3", phone=""), line("a4", phone="ring mig")]) + "\n"
    messy = "\n".join(
        [
            line("b1"),
            "{not json",
            json.dumps({"site": "annonsportal-a", "captured_at": "2026-03-03T10:00:00+01:00"}),  # no ad_id
            line("b2", captured="2026-02-20T10:00:00+01:00"),  # outside the week
            line("b1"),  # duplicate of the first line
            line("b3", stated_age=7),
            line("b4", new_field="x"),  # schema drift: kept, field reported
            "",
        ]
    )
    gz_full = gzip.compress((line("c1") + "\n" + line("c2") + "\n").encode())
    gz_truncated = gzip.compress(("\n".join(line(f"d{i}") for i in range(1, 40)) + "\n").encode())[:-60]
    other_week = line("e1", captured="2026-03-10T10:00:00+01:00") + "\n"
    return {
        ("annonsportal-a", "annonsportal-a_20260303T0900Z.jsonl"): good.encode(),
        ("annonsportal-a", "annonsportal-a_20260304T0900Z.jsonl"): messy.encode(),
        ("annonsportal-b", "annonsportal-b_20260305T0900Z.jsonl.gz"): gzip.compress(
            (line("c1", site="annonsportal-b") + "\n" + line("c2", site="annonsportal-b") + "\n").encode()
        ),
        ("annonsportal-a", "annonsportal-a_20260306T0900Z.jsonl.gz"): gz_full,
        ("annonsportal-a", "annonsportal-a_20260307T0900Z.jsonl.gz"): gz_truncated,
        ("annonsportal-a", "annonsportal-a_20260310T0900Z.jsonl"): other_week.encode(),
        # Sunday 23:30 UTC is Monday 00:30 in Stockholm: next week's partition
        ("annonsportal-a", "annonsportal-a_20260308T2330Z.jsonl"): other_week.encode(),
    }


@pytest.fixture
def folder(tmp_path):
    for (site, name), data in build_files().items():
        (tmp_path / site).mkdir(exist_ok=True)
        (tmp_path / site / name).write_bytes(data)
    (tmp_path / "annonsportal-a" / "notes.txt").write_text("not a snapshot")
    return FolderArchive(tmp_path)


@pytest.fixture
def http_archive():
    files = build_files()
    index = {
        "files": [
            {
                "site": s,
                "name": n,
                "captured_at": n.split("_")[1][:14],
                "size": len(d),
                "sha256": hashlib.sha256(d).hexdigest(),
            }
            for (s, n), d in files.items()
        ]
    }
    state = {"flaky": 1}

    def handler(request):
        path = request.url.path
        if path == "/archive/index.json":
            return httpx.Response(200, json=index)
        if path.startswith("/archive/files/"):
            site, name = path.split("/")[-2:]
            if name.endswith("0306T0900Z.jsonl.gz") and state["flaky"]:
                state["flaky"] -= 1
                return httpx.Response(503)
            return httpx.Response(200, content=files[(site, name)])
        return httpx.Response(404)

    client = make_client(transport=httpx.MockTransport(handler))
    return HttpArchive("http://archive.test/archive", client=client, sleep=lambda s: None)


def check_week(result):
    rows, q, meta = result.rows, result.quarantine, result.metadata
    assert list(q.columns) == QUARANTINE_COLUMNS
    reasons = q.groupby("reason").size().to_dict()
    assert reasons == {
        "malformed_json": 1,
        "missing_field": 1,
        "outside_partition": 1,
        "duplicate": 1,
        "impossible_age": 1,
        "truncated_gzip": 1,
    }
    messy = q[q.file == "annonsportal-a_20260304T0900Z.jsonl"].set_index("reason").position.to_dict()
    assert messy == {
        "malformed_json": 2,
        "missing_field": 3,
        "outside_partition": 4,
        "duplicate": 5,
        "impossible_age": 6,
    }
    truncated = rows[rows.snapshot_file == "annonsportal-a_20260307T0900Z.jsonl.gz"]
    assert 0 < len(truncated) < 39 and truncated.line_no.tolist() == list(range(1, len(truncated) + 1))
    assert set(rows.site) == {"annonsportal-a", "annonsportal-b"}
    assert "title" not in rows.columns and "text" not in rows.columns and "phone" not in rows.columns
    assert meta["schema_drift"] == {"new_field": 1}
    assert meta["rows_ok"] == len(rows) and meta["rows_quarantined"] == len(q) == 6
    assert meta["quarantine_share"] == pytest.approx(6 / (len(rows) + 6))
    assert rows.phone_status.value_counts().to_dict()["missing"] == 1
    assert (rows.phone_status == "unparseable").sum() == 1
    assert rows.loc[rows.phone_status == "ok", "phone_key"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert str(rows.captured_at.dtype) == "datetime64[us, UTC]" and set(rows.week_start) == {WEEK}
    everything = rows.astype(str).to_csv() + q.astype(str).to_csv()
    for raw in RAW_PHONES + ["0701234567", "+46701234567", "fri text"]:
        assert raw not in everything
    files = result.files.set_index("snapshot_file")
    assert files.loc["annonsportal-a_20260304T0900Z.jsonl", "rows_quarantined"] == 5
    assert (files.rows_read == files.rows_ok + files.rows_quarantined).all()
    return rows


def test_folder_archive_week(folder):
    refs = files_for_week(folder, WEEK)
    assert [r.name for r in refs][-1] == "annonsportal-a_20260307T0900Z.jsonl.gz" and len(refs) == 5
    check_week(ingest_week(folder, WEEK, KEY))
    assert folder.skipped == ["annonsportal-a/notes.txt"]


def test_http_archive_gives_the_same_rows_as_the_folder(folder, http_archive):
    from_folder = check_week(ingest_week(folder, WEEK, KEY))
    from_http = check_week(ingest_week(http_archive, WEEK, KEY))
    assert from_folder.equals(from_http)


def test_http_archive_refuses_a_file_that_differs_from_its_index():
    index = {"files": [{"site": "s", "name": "s_20260303T0900Z.jsonl", "size": 3, "sha256": "0" * 64}]}

    def handler(request):
        return (
            httpx.Response(200, json=index)
            if request.url.path.endswith("index.json")
            else httpx.Response(200, content=b"abc")
        )

    archive = HttpArchive("http://a.test", client=make_client(transport=httpx.MockTransport(handler)))
    with pytest.raises(OSError, match="sha256"):
        ingest_week(archive, WEEK, KEY)


def test_phone_keys_link_the_same_number_written_differently(folder):
    rows = ingest_week(folder, WEEK, KEY).rows
    a1 = rows[(rows.ad_id == "a1")].phone_key.iloc[0]
    assert a1 == rows[(rows.ad_id == "c1") & (rows.site == "annonsportal-b")].phone_key.iloc[0]


def test_threshold_fails_with_actionable_message(folder):
    result = ingest_week(folder, WEEK, KEY)
    enforce_quarantine_threshold(result.metadata, 0.5, "ad_snapshots")
    with pytest.raises(
        QuarantineThresholdExceeded,
        match=r"ad_snapshots: 6 of \d+ rows quarantined .*raw/quarantine/ad_snapshots",
    ):
        enforce_quarantine_threshold(result.metadata, 0.01, "ad_snapshots")


def test_non_monday_is_refused(folder):
    with pytest.raises(ValueError, match="not a Monday"):
        ingest_week(folder, date(2026, 3, 3), KEY)


def test_a_duplicate_is_quarantined_without_its_ad_id(tmp_path):
    """ad_id is scanned narrowly (sites write long ids), so the duplicate's detail must not repeat it:
    a name or case number written there would otherwise reach the quarantine table."""
    from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

    (tmp_path / "annonsportal-a").mkdir()
    twice = json.loads(line("x1")) | {"ad_id": "Anna Testsson"}
    lines = [json.dumps(twice), json.dumps(twice)]
    (tmp_path / "annonsportal-a" / "annonsportal-a_20260303T0900Z.jsonl").write_text("\n".join(lines) + "\n")
    result = ingest_week(FolderArchive(tmp_path), WEEK, KEY)
    assert result.quarantine.reason.tolist() == ["duplicate"]
    assert "Anna" not in result.quarantine.detail[0]
    assert same_result(result, ingest_week_fast(FolderArchive(tmp_path), WEEK, KEY)) == []


def test_a_broken_link_in_the_archive_is_refused_not_skipped(tmp_path):
    (tmp_path / "annonsportal-a").mkdir()
    (tmp_path / "annonsportal-a" / "annonsportal-a_20260303T0900Z.jsonl").symlink_to(tmp_path / "gone.jsonl")
    (tmp_path / "gone-too.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    archive = FolderArchive(tmp_path)
    assert archive.list_files() == []
    assert [(r["site"], r["file"], r["reason"]) for r in archive.refused] == [
        (None, "gone-too.jsonl", "unreadable"),
        ("annonsportal-a", "annonsportal-a_20260303T0900Z.jsonl", "unreadable"),
    ]


def test_a_file_name_that_is_not_utf8_is_refused_and_the_refusal_can_be_stored(tmp_path):
    """A Latin-1 name (an old zip tool) reaches Python as lone surrogates, which no Parquet file can hold:
    the file is refused with its name shown with U+FFFD, in a site folder of that kind too."""
    import os

    import pyarrow as pa

    from lagesbild.sources.quarantine import typed_frame
    from lagesbild.sources.snapshots import REFUSED_SCHEMA
    from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

    root = os.fsencode(tmp_path)
    for folder, name in ((b"annonsportal-a", b"annonsportal-a_20260303T0900Z\xe4.jsonl"),
                         (b"annonsportal-a", b"Link\xf6ping.jsonl"), (b"sajt-\xe5", b"sajt-\xe5_20260303T0900Z.jsonl")):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        with open(os.path.join(root, folder, name), "w") as fh:
            fh.write(line("a1") + "\n")
    result = ingest_week(FolderArchive(tmp_path), WEEK, KEY)
    assert len(result.files) == 0
    refused = typed_frame(result.metadata["refused_files"], REFUSED_SCHEMA)
    pa.Table.from_pandas(refused)  # storable
    assert sorted(zip(refused.site, refused.file, refused.reason, strict=True)) == [
        ("annonsportal-a", "Link\ufffdping.jsonl", "unrecognised_name"),
        ("annonsportal-a", "annonsportal-a_20260303T0900Z\ufffd.jsonl", "unrecognised_name"),
        ("sajt-\ufffd", "sajt-\ufffd_20260303T0900Z.jsonl", "unrecognised_name"),
    ]
    assert same_result(result, ingest_week_fast(FolderArchive(tmp_path), WEEK, KEY)) == []


def _index_archive(index, downloads: list | None = None):
    def handler(request):
        if request.url.path.endswith("index.json"):
            return httpx.Response(200, json=index)
        if downloads is not None:
            downloads.append(request.url.path)
        body = (line("a1") + "\n").encode()
        return httpx.Response(200, content=gzip.compress(body) if request.url.path.endswith(".gz") else body)

    return HttpArchive("http://a.test", client=make_client(transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize("files", [None, 5, "x", {"a": 1}])
def test_an_index_whose_files_is_not_a_list_is_an_error_naming_the_url(files):
    with pytest.raises(ValueError, match=r"http://a\.test/index\.json: not a snapshot index \(\"files\" is "):
        _index_archive({"files": files}).list_files()


def test_an_index_entry_with_an_unusable_size_or_sha256_is_refused_not_a_crash():
    """int('abc') and 5 .lower() stopped the run with a ValueError/AttributeError naming no URL."""
    name = "annonsportal-a_20260303T0900Z.jsonl"
    entries = [{"size": "abc"}, {"size": 1.5}, {"size": -3}, {"size": True}, {"sha256": 5}, {"sha256": "abc"},
               {"size": "87", "sha256": "0" * 64}]
    archive = _index_archive({"files": [{"site": "annonsportal-a", "name": name, **e} for e in entries]})
    assert archive.list_files() != []  # the last entry is usable
    assert [(r["file"], r["detail"]) for r in archive.refused] == [
        ("index entry 1", "size is not a whole number of bytes"),
        ("index entry 2", "size is not a whole number of bytes"),
        ("index entry 3", "size is not a whole number of bytes"),
        ("index entry 4", "size is not a whole number of bytes"),
        ("index entry 5", "sha256 is not 64 hexadecimal digits"),
        ("index entry 6", "sha256 is not 64 hexadecimal digits"),
    ]


_NAME = "annonsportal-a_20260303T0900Z.jsonl"


@pytest.mark.parametrize(("names", "refused"), [
    ([_NAME, _NAME], [("index entry 2", "bad_index_entry")]),  # an index built by appending
    ([_NAME, f"{_NAME}.gz"], [(f"{_NAME}.gz", "duplicate_capture")]),  # gzip -k on the server
    ([_NAME.replace("Z.", "."), _NAME], [(_NAME.replace("Z.", "."), "duplicate_capture")]),  # named without the Z
])
def test_a_capture_listed_twice_in_the_index_is_read_once(names, refused):
    """One capture listed twice: the same entry again (an index built by appending), or the capture under two names
    (X.jsonl and X.jsonl.gz, the name with and without its Z). It was downloaded and read twice, every line of the
    second reading a duplicate (the week's quarantine share doubled). A copy compared is downloaded once."""
    downloads = []
    archive = _index_archive({"files": [{"site": "annonsportal-a", "name": n, "size": None} for n in names]},
                             downloads)
    assert {ref.name for ref in archive.list_files()} == set(names) and downloads == []  # compared when read
    result = ingest_week(archive, WEEK, KEY)
    assert [(r["file"], r["reason"]) for r in archive.refused] == refused
    assert result.quarantine.empty and len(result.rows) == 1 and result.metadata["refused_files"] == archive.refused
    assert len(downloads) == len(set(downloads)) == len(set(names))
    assert ingest_week(archive, WEEK - timedelta(weeks=1), KEY).rows.empty and len(downloads) == len(set(names))
    from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

    fresh = _index_archive({"files": [{"site": "annonsportal-a", "name": n} for n in names]})
    assert same_result(result, ingest_week_fast(fresh, WEEK, KEY)) == []


def test_a_capture_gone_between_listing_and_reading_is_refused_not_a_crash(tmp_path):
    """A capture tool that rotates its files can remove one after the archive was listed."""
    from lagesbild.sources.snapshots_fast import ingest_week_fast

    (tmp_path / "annonsportal-a").mkdir()
    for minute in ("00", "30"):
        (tmp_path / "annonsportal-a" / f"annonsportal-a_20260303T09{minute}Z.jsonl").write_text(line("a1") + "\n")
    for ingest in (ingest_week, ingest_week_fast):
        archive = FolderArchive(tmp_path)
        archive.list_files()
        (tmp_path / "annonsportal-a" / "annonsportal-a_20260303T0930Z.jsonl").rename(tmp_path / "moved.jsonl")
        result = ingest(archive, WEEK, KEY)
        (tmp_path / "moved.jsonl").rename(tmp_path / "annonsportal-a" / "annonsportal-a_20260303T0930Z.jsonl")
        assert result.files.snapshot_file.tolist() == ["annonsportal-a_20260303T0900Z.jsonl"], ingest
        assert [(r["file"], r["reason"], r["detail"]) for r in result.metadata["refused_files"]] == [
            ("annonsportal-a_20260303T0930Z.jsonl", "unreadable", "cannot be read (FileNotFoundError)")
        ]
        assert result.metadata["files_read"] == 1


@pytest.mark.parametrize("stem", ["0701234567", "070-123 45 67", "19850101-1234", "Anna Svensson"])
def test_a_readable_capture_named_by_an_identifier_is_refused_and_its_name_withheld(tmp_path, stem):
    """A name without a capture time is read when its lines give one; a name that is a phone number,
    identity number or person would then be stored past ingest (snapshot_file, the locators)."""
    (tmp_path / "annonsportal-a").mkdir()
    (tmp_path / "annonsportal-a" / f"{stem}.jsonl").write_text(line("a1") + "\n", encoding="utf-8")
    (tmp_path / "annonsportal-a" / "export.jsonl").write_text(line("a2") + "\n", encoding="utf-8")
    archive = FolderArchive(tmp_path)
    result = ingest_week(archive, WEEK, KEY)
    assert [r.name for r in archive.list_files()] == ["export.jsonl"]  # read as before
    (refusal,) = archive.refused
    assert refusal["reason"] == "identifier_in_name" and "rename" in refusal["detail"]
    assert refusal["file"].startswith("refused file 1 (withheld: ")
    text = json.dumps(result.metadata, default=str) + result.rows.to_csv() + result.files.to_csv()
    assert stem not in text and stem.replace(" ", "") not in text


def test_an_index_entry_named_by_an_identifier_is_refused_by_a_stand_in():
    archive = _index_archive({"files": [{"site": "annonsportal-a", "name": "0701234567.jsonl"}]})
    assert archive.list_files() == []
    assert [(r["file"], r["reason"]) for r in archive.refused] == [
        ("refused file 1 (withheld: a phone number)", "unrecognised_name")
    ]
    assert "0701234567" not in json.dumps(archive.refused) + " ".join(archive.skipped)


@pytest.mark.parametrize("packed", [True, False], ids=["gzip-bomb", "plain"])
def test_a_capture_past_the_limit_is_refused_by_both_readers(tmp_path, monkeypatch, packed):
    """A compression bomb: the inflating stops at MAX_CAPTURE_BYTES and the file is refused (too_large),
    named, with the rest of the week read; the columnar reader gives the line reader's result. A plain capture
    past the limit (a capture tool writing without end) was read into memory whole: it is refused by its size."""
    import lagesbild.sources.snapshots as snapshots
    from lagesbild.sources.snapshots_fast import ingest_week_fast, same_result

    monkeypatch.setattr(snapshots, "MAX_CAPTURE_BYTES", 50_000)
    site = tmp_path / "annonsportal-a"
    site.mkdir()
    big = (line("a1") + "\n").encode() + b" " * 200_000 + b"\n"
    bomb, gz = (gzip.compress(big), ".gz") if packed else (big, "")
    assert len(bomb) < 5_000 or not packed
    (site / f"annonsportal-a_20260303T0900Z.jsonl{gz}").write_bytes(bomb)
    (site / "annonsportal-a_20260304T0900Z.jsonl").write_text(line("a2") + "\n", encoding="utf-8")
    (site / f"export.jsonl{gz}").write_bytes(bomb)  # no capture time in the name: read from the lines
    slow_archive = FolderArchive(tmp_path)
    result = ingest_week(slow_archive, WEEK, KEY)
    assert list(result.rows.ad_id) == ["a2"]
    refusals = sorted((r["file"], r["reason"]) for r in slow_archive.refused)
    assert refusals == [(f"annonsportal-a_20260303T0900Z.jsonl{gz}", "too_large"), (f"export.jsonl{gz}", "too_large")]
    assert all("more than 50,000 bytes" in r["detail"] for r in slow_archive.refused)
    fast_archive = FolderArchive(tmp_path)
    assert same_result(result, ingest_week_fast(fast_archive, WEEK, KEY)) == []
    assert sorted((r["file"], r["reason"]) for r in fast_archive.refused) == refusals


def test_decompression_stops_at_the_limit_instead_of_inflating_everything(monkeypatch):
    import lagesbild.sources.snapshots as snapshots

    monkeypatch.setattr(snapshots, "MAX_CAPTURE_BYTES", 1_000)
    bomb = gzip.compress(b"\0" * 10_000_000)  # 10 MB of zeros in ~10 KB
    with pytest.raises(snapshots.CaptureTooLarge, match="more than 1,000 bytes"):
        snapshots._decompress(bomb)
    two_members = gzip.compress(b"x" * 600) + gzip.compress(b"y" * 600)  # 1,200 bytes in all
    with pytest.raises(snapshots.CaptureTooLarge):
        snapshots._decompress(two_members)
    assert snapshots._decompress(gzip.compress(b"z" * 1_000)) == (b"z" * 1_000, False)


def test_a_capture_still_being_copied_is_refused_not_read_as_a_shorter_one(tmp_path):
    """A plain capture being copied into the archive, cut at a line end, reads as a complete capture
    of fewer ads (status complete, nothing flagged). A capture modified during the last
    ``snapshot_settle_seconds`` is refused as ``being_written`` by both readers (the files check
    lists it); once settled, a rerun of the week reads it whole."""
    import os
    import time

    from lagesbild.settings import Settings
    from lagesbild.sources.select import snapshot_archive
    from lagesbild.sources.snapshots_fast import ingest_week_fast

    site = tmp_path / "annonsportal-a"
    site.mkdir()
    old, copying = site / "annonsportal-a_20260303T0900Z.jsonl", site / "annonsportal-a_20260304T0900Z.jsonl"
    old.write_text(line("a1") + "\n")
    os.utime(old, (time.time() - 60,) * 2)
    copying.write_text("\n".join(line(f"b{i}") for i in range(1, 11)) + "\n")  # 10 of its 40 lines so far
    settings = Settings(snapshots_dir=tmp_path, snapshot_settle_seconds=30)
    for ingest in (ingest_week, ingest_week_fast):
        result = ingest(snapshot_archive(settings), WEEK, KEY)
        assert result.files.snapshot_file.tolist() == [old.name], ingest
        assert [(r["file"], r["reason"]) for r in result.metadata["refused_files"]] == [
            (copying.name, "being_written")
        ], ingest
    copying.write_text("\n".join(line(f"b{i}") for i in range(1, 41)) + "\n")
    os.utime(copying, (time.time() + 86400,) * 2)  # ahead of the clock (stepped back since): not being written
    for ingest in (ingest_week, ingest_week_fast):
        result = ingest(snapshot_archive(settings), WEEK, KEY)
        assert result.files.rows_read.tolist() == [1, 40] and not result.metadata["refused_files"], ingest


_BODY = (line("a1") + "\n").encode()
_PACKED = gzip.compress(_BODY)
_LOGIN = b"<!DOCTYPE html>\n<html><head><title>Logga in</title></head><body><form></form></body></html>\n"


@pytest.mark.parametrize(("name", "sent", "headers", "listed"), [
    # a .gz stored with Content-Encoding: gzip (S3 object metadata): it arrived inflated, unlike its index entry
    (f"{_NAME}.gz", _PACKED, {"Content-Encoding": "gzip"}, _PACKED),
    # a plain capture compressed by the server on its way
    (_NAME, _PACKED, {"Content-Encoding": "gzip"}, _BODY),
    # a gzip Content-Encoding header on the plain capture (no size in the index): httpx's DecodingError, no URL
    (_NAME, _BODY, {"Content-Encoding": "gzip"}, None),
    # a login page (after a redirect to another host) served with 200: read, every line was malformed_json
    (_NAME, _LOGIN, {"Content-Type": "text/html; charset=utf-8"}, None),
], ids=["gz-with-content-encoding", "compressed-on-the-way", "content-encoding-lies", "html-login-page"])
def test_a_capture_is_read_as_the_server_holds_it(name, sent, headers, listed):
    entry = {"site": "annonsportal-a", "name": name}
    if listed is not None:
        entry |= {"size": len(listed), "sha256": hashlib.sha256(listed).hexdigest()}

    def handler(request):
        if request.url.path.endswith("index.json"):
            return httpx.Response(200, json={"files": [entry]})
        if request.url.host == "a.test":
            return httpx.Response(302, headers={"Location": "https://login.test/sso"}) if sent is _LOGIN else \
                httpx.Response(200, headers=headers, stream=httpx.ByteStream(sent))
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(sent))

    archive = HttpArchive("http://a.test", client=make_client(transport=httpx.MockTransport(handler)))
    if sent is _LOGIN:
        with pytest.raises(OSError, match=rf"http://a\.test/files/annonsportal-a/{_NAME}: an HTML page instead of "
                                          r"the capture \(a login or error page, redirected to login\.test\?\)"):
            ingest_week(archive, WEEK, KEY)
        return
    result = ingest_week(archive, WEEK, KEY)
    assert result.quarantine.empty and len(result.rows) == 1


@pytest.mark.parametrize(("site", "refused"), [
    ("sajt #2", []),  # a '#' cut the URL: /files/sajt was fetched
    ("100%25", []),  # a '%' was read as an escape
    ("../annonsportal-a", [("unrecognised_name", "../annonsportal-a_20260303T0900Z.jsonl")]),
    ("sajt\nb", [("unrecognised_name", "sajt\\nb_20260303T0900Z.jsonl")]),
    ("annonsportal-o\u0308", []),  # an object key written on macOS (NFD); the lines write the site in NFC
], ids=["hash", "percent", "parent-folder", "line-break", "decomposed"])
def test_an_index_name_is_one_path_segment(site, refused):
    name = f"{site}_20260303T0900Z.jsonl"
    served = {f"/files/{quote(site, safe='')}/{quote(name, safe='')}"}

    def handler(request):
        if request.url.path.endswith("index.json"):
            return httpx.Response(200, json={"files": [{"site": site, "name": name}]})
        if request.url.raw_path.decode() in served:
            return httpx.Response(200, content=(line("a1", site=unicodedata.normalize("NFC", site)) + "\n").encode())
        return httpx.Response(404)

    archive = HttpArchive("http://a.test", client=make_client(transport=httpx.MockTransport(handler)))
    result = ingest_week(archive, WEEK, KEY)
    assert [(r["reason"], r["file"]) for r in archive.refused] == refused
    assert len(result.rows) == (0 if refused else 1) and result.quarantine.empty
