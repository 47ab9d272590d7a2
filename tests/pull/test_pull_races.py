"""Access control and publication under races: real threads, a real loopback server (uvicorn in a
thread), publishes running while clients read, tokens revoked while a download is running, and a
hostile server answering the pull command."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time

import httpx
import pytest
from pull_server import raw_get, serving

from lagesbild.publication import LocalFolderTarget, publish
from lagesbild.pull.client import PullError, copies_folder, pull
from lagesbild.pull.server import RECHECK_SECONDS
from lagesbild.pull.tokens import TokenStore

BIG = 24 * 1024 * 1024  # well beyond what loopback socket buffers hold


@pytest.fixture
def big_site(tmp_path):
    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    info = publish(LocalFolderTarget(pubs), {"county/big.bin": b"x" * BIG}, {})
    store = TokenStore(tokens)
    entry, token = store.create("0580")
    with serving(pubs, tokens) as port:
        yield {
            "url": f"http://127.0.0.1:{port}",
            "id": info.id,
            "store": store,
            "entry": entry,
            "token": token,
        }


def _bytes_received_when_access_ends(site, token: str, end_access) -> int:
    """Start downloading the big file, call ``end_access()`` after its first chunk, wait longer than
    the server's recheck interval (the promise: access ends within ``RECHECK_SECONDS``; a fast
    machine drains 24 MiB of loopback in less), then read on: the server must cut the connection
    off. Returns the bytes that arrived."""
    url = f"{site['url']}/v1/publications/{site['id']}/county/big.bin"
    received = 0
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert r.status_code == 200
        chunks = r.iter_raw(65536)
        received += len(next(chunks))
        end_access()
        time.sleep(2 * RECHECK_SECONDS)
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in chunks:
                received += len(chunk)
    return received


def test_a_token_revoked_during_a_download_cuts_the_download_off(big_site):
    def revoke():
        big_site["store"].revoke(token_id=big_site["entry"].token_id)

    assert _bytes_received_when_access_ends(big_site, big_site["token"], revoke) < BIG


def test_a_token_that_expires_during_a_download_cuts_the_download_off(big_site):
    entry, token = big_site["store"].create("0580", ttl_days=2 / 86400)  # two seconds

    def wait_for_expiry():
        left = (dt.datetime.fromisoformat(entry.expires_at) - dt.datetime.now(dt.UTC)).total_seconds()
        time.sleep(max(0.0, left) + 0.2)

    assert _bytes_received_when_access_ends(big_site, token, wait_for_expiry) < BIG


def test_a_revoked_token_is_refused_on_a_kept_alive_connection(big_site):
    url = f"{big_site['url']}/v1/publications/latest/manifest.json"
    headers = {"Authorization": f"Bearer {big_site['token']}"}
    with httpx.Client(timeout=10) as client:
        assert client.get(url, headers=headers).status_code == 200
        big_site["store"].revoke(token_id=big_site["entry"].token_id)
        refused = client.get(url, headers=headers)
        assert refused.status_code == 401
        assert big_site["token"] not in refused.text


def _version(v: int) -> dict[str, bytes]:
    return {
        "county/a.bin": f"a{v}".encode() * 40_000,
        "county/b.bin": f"b{v}".encode() * 40_000,
        "municipalities/0580/c.bin": f"c{v}".encode() * 40_000,
    }


def test_readers_never_get_an_error_or_a_mix_while_publishes_prune_with_keep_1(tmp_path):
    """keep=1: every publish deletes the one before, while readers resolve ``latest``. A reader gets a
    whole file of one publication (its body matches its ETag) or a clean 404 for an id that is gone;
    never a 5xx, a cut body or a file that does not match the manifest it read."""
    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    publish(target, _version(0), {}, keep=1)
    _, token = TokenStore(tokens).create("0580")
    problems: list[str] = []
    stop = threading.Event()

    def reader(base):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=10, headers=headers) as client:
            while not stop.is_set():
                try:
                    m = client.get(f"{base}/v1/publications/latest/manifest.json")
                    if m.status_code != 200:
                        problems.append(f"manifest {m.status_code}")
                        continue
                    manifest = m.json()
                    for rel in ("county/a.bin", "municipalities/0580/c.bin"):
                        for pub in ("latest", manifest["id"]):
                            r = client.get(f"{base}/v1/publications/{pub}/{rel}")
                            if r.status_code == 404 and pub != "latest":
                                continue  # pruned since: a clean answer
                            if r.status_code != 200:
                                problems.append(f"{pub}/{rel} {r.status_code}")
                                continue
                            sha = hashlib.sha256(r.content).hexdigest()
                            if r.headers["etag"] != f'"{sha}"':
                                problems.append(f"{pub}/{rel} body does not match its ETag")
                            if pub != "latest" and sha != manifest["files"][rel]["sha256"]:
                                problems.append(f"{pub}/{rel} does not match its manifest")
                except httpx.HTTPError as exc:
                    problems.append(f"{type(exc).__name__}")

    with serving(pubs, tokens) as port:
        base = f"http://127.0.0.1:{port}"
        threads = [threading.Thread(target=reader, args=(base,)) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for v in range(1, 25):
                publish(target, _version(v), {}, keep=1)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
    assert problems == [], sorted(set(problems))
    assert target.list_publications() == [target.get_latest()]


# The pull command against a hostile or changing server ------------------------------------------


def _serving_manifest(manifest: dict, files: dict[str, bytes]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/latest/manifest.json"):
            return httpx.Response(200, json=manifest)
        for rel, data in files.items():
            if path.endswith("/" + rel):
                return httpx.Response(200, content=data)
        return httpx.Response(404)

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "pub_id",
    [
        "../../escaped",
        "/tmp/escaped",
        "..",
        "2026-01-01T0000Z-0000000/../x",
        "2026-01-01T0000Z-0000000a\n",
        "２026-01-01T0000Z-0000000a",
        7,
    ],
)
def test_a_hostile_manifest_id_cannot_place_the_copy_outside_the_pulls_folder(tmp_path, pub_id):
    dest = tmp_path / "work" / "dest"
    dest.parent.mkdir()
    manifest = {"id": pub_id, "files": {"county/a.csv": {"sha256": hashlib.sha256(b"a").hexdigest()}}}
    with pytest.raises(PullError, match="publication id"):
        pull("http://server", "t", dest, client=_serving_manifest(manifest, {"county/a.csv": b"a"}))
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if "escaped" in p.name or p.name == "x") == []
    assert [p.name for p in copies_folder(dest).iterdir() if not p.name.startswith(".")] == []


def test_a_file_of_another_publication_mid_pull_is_refused_and_dest_kept(tmp_path):
    """The server switched publication between the manifest and a file: the file does not match."""
    dest = tmp_path / "dest"
    a = {"county/a.csv": b"v1", "county/b.csv": b"v1b"}
    manifest = {
        "id": "2026-01-01T0000Z-00000001",
        "files": {p: {"sha256": hashlib.sha256(d).hexdigest()} for p, d in a.items()},
    }
    pull("http://server", "t", dest, client=_serving_manifest(manifest, a))
    before = json.loads((dest / "manifest.json").read_text())["id"]
    manifest2 = {
        "id": "2026-01-02T0000Z-00000002",
        "files": {p: {"sha256": hashlib.sha256(d + b"2").hexdigest()} for p, d in a.items()},
    }
    mixed = {"county/a.csv": b"v12", "county/b.csv": b"v3b"}  # a from the new one, b from a third
    with pytest.raises(PullError, match="county/b.csv: sha256 mismatch"):
        pull("http://server", "t", dest, client=_serving_manifest(manifest2, mixed))
    assert json.loads((dest / "manifest.json").read_text())["id"] == before
    assert (dest / "county/b.csv").read_bytes() == b"v1b"
    assert not [p for p in copies_folder(dest).iterdir() if p.name.startswith(".staging-")]


# Hostile HTTP clients ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    pubs, tokens = root / "pubs", root / "tokens.json"
    files = {
        "county/a.bin": bytes(range(256)) * 40,
        "municipalities/0580/b.bin": b"0580" * 1000,
        "municipalities/0581/b.bin": b"0581" * 1000,
    }
    info = publish(LocalFolderTarget(pubs), files, {})
    _, token = TokenStore(tokens).create("0580")
    with serving(pubs, tokens) as port:
        yield {"url": f"http://127.0.0.1:{port}", "id": info.id, "token": token, "files": files}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Token {t}",
        "Bearer {t}x",
        "Bearer x{t}",
        "Bearer {t_short}",
        "Bearer {t},Bearer {t}x",
        "Bearer\t{t}x",
        "Bearer {t_upper}",
    ],
)
def test_wrong_missing_or_malformed_authorization_gets_one_plain_401(small_site, authorization):
    t = small_site["token"]
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(t=t, t_short=t[:-1], t_upper=t.upper())
    r = httpx.get(f"{small_site['url']}/v1/publications/latest/county/a.bin", headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.json() == {"error": "missing, unknown, revoked or expired token"}
    assert r.headers["www-authenticate"] == "Bearer"
    assert t[8:] not in r.text


def test_a_token_in_the_query_string_is_not_accepted(small_site):
    r = httpx.get(
        f"{small_site['url']}/v1/publications/latest/county/a.bin", params={"token": small_site["token"]}
    )
    assert r.status_code == 401


def _authed(site, path, **headers):
    headers["Authorization"] = f"Bearer {site['token']}"
    return httpx.get(f"{site['url']}/v1/publications/{site['id']}/{path}", headers=headers, timeout=10)


def test_overlapping_ranges_do_not_multiply_the_body(small_site):
    """``bytes=0-,0-,0-,...`` (as many as fit in the header limit) must not send the file that many
    times: the body stays about one file plus part headers."""
    size = len(small_site["files"]["county/a.bin"])
    r = _authed(small_site, "county/a.bin", Range="bytes=" + ",".join(["0-"] * 150))
    assert r.status_code in (200, 206, 416)
    assert len(r.content) < 3 * size


@pytest.mark.parametrize(
    ("range_header", "statuses"),
    [
        ("bytes=5-1", (400, 416)),
        ("bytes=-0", (400, 416)),
        ("bytes=999999-", (416,)),
        ("bytes=", (400,)),
        ("bytes=a-b", (400,)),
        ("bytes=0-1,,2-3", (206, 400)),
        ("items=0-1", (200, 400)),
        ("bytes=0-0,-1", (206,)),
    ],
)
def test_invalid_or_odd_ranges_get_a_definite_answer(small_site, range_header, statuses):
    r = _authed(small_site, "county/a.bin", Range=range_header)
    assert r.status_code in statuses
    if r.status_code == 416:
        assert r.headers["content-range"] == f"bytes */{len(small_site['files']['county/a.bin'])}"


def test_another_municipality_is_403_whether_or_not_the_file_exists(small_site):
    there = _authed(small_site, "municipalities/0581/b.bin")
    absent = _authed(small_site, "municipalities/0581/nothing.bin")
    assert there.status_code == absent.status_code == 403
    assert there.content == absent.content


@pytest.mark.parametrize(
    "path",
    [
        "/v1/publications/latest/municipalities/0580/../0581/b.bin",
        "/v1/publications/latest/municipalities/0580/%2e%2e/0581/b.bin",
        "/v1/publications/latest/municipalities/0580/%252e%252e/0581/b.bin",
        "/v1/publications/latest/municipalities%2f0581%2fb.bin",
        "/v1/publications/latest/municipalities\\0581\\b.bin",
        "/v1/publications/latest//etc/passwd",
        "/v1/publications/latest/municipalities/0580/%c0%ae%c0%ae/0581/b.bin",
        "/v1/publications/%2e%2e/%2e%2e/etc/passwd",
        "/v1/publications/../../etc/passwd",
        "/v1/publications/latest/MUNICIPALITIES/0581/b.bin",
        "/v1/publications/latest/municipalities/0581/B.BIN",
        "/v1/publications/latest/municipalities/0581./b.bin",
        # held: NUL, dot and trailing segments, a path through the manifest, an encoded digit
        "/v1/publications/latest/municipalities/0581%00/b.bin",
        "/v1/publications/latest/./municipalities/0581/b.bin",
        "/v1/publications/latest/municipalities/0581/b.bin/",
        "/v1/publications/latest/manifest.json/../municipalities/0581/b.bin",
        "/v1/publications/latest/municipalities/%30581/b.bin",
        "/v1/publications/latest/municipalities/0581/b.bin;x",
    ],
)
def test_traversal_encoding_and_case_tricks_never_give_another_municipality(small_site, path):
    status, body = raw_get(int(small_site["url"].rsplit(":", 1)[1]), path, small_site["token"])
    assert status in (400, 403, 404)
    assert b"0581" * 10 not in body and b"root:" not in body


def test_if_range_with_a_date_never_splices_two_publications(tmp_path):
    """Last-Modified has one-second resolution: two publishes in one second give their files the same
    date. A client resuming ``latest/...`` with ``If-Range: <date of the old file>`` must get the new
    file whole (200), not a range of it to append to the old file's first bytes."""
    import os

    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    a = publish(target, {"county/x.bin": b"A" * 5000}, {})
    b = publish(target, {"county/x.bin": b"B" * 5000}, {})
    st = os.stat(pubs / a.id / "county/x.bin")
    os.utime(pubs / b.id / "county/x.bin", ns=(st.st_atime_ns, st.st_mtime_ns))  # the same second
    _, token = TokenStore(tokens).create("0580")
    with serving(pubs, tokens) as port:
        base, auth = f"http://127.0.0.1:{port}/v1/publications", {"Authorization": f"Bearer {token}"}
        old = httpx.get(f"{base}/{a.id}/county/x.bin", headers=auth)
        assert "last-modified" in old.headers
        r = httpx.get(
            f"{base}/latest/county/x.bin",
            headers={**auth, "Range": "bytes=2500-", "If-Range": old.headers["last-modified"]},
        )
        assert r.status_code == 200 and r.content == b"B" * 5000
        same = httpx.get(
            f"{base}/latest/county/x.bin",
            headers={
                **auth,
                "Range": "bytes=2500-",
                "If-Range": f'"{b.manifest["files"]["county/x.bin"]["sha256"]}"',
            },
        )
        assert same.status_code == 206 and same.content == b"B" * 2500


def _raw_exchange(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize(
    "headers",
    [
        b"Authorization: Bearer " + b"x" * 5000 + b"\r\n",
        b"".join(b"X-H%d: %s\r\n" % (i, b"y" * 200) for i in range(60)),
        b"Authorization: Bearer \xff\xfe\x00\x01\r\n",
        b"Authorization: Bearer \xc3\xa5\xc3\xa4\xc3\xb6\r\n",
        b"This is not a header\r\n",
        b"Range: bytes=" + b"0-0," * 2000 + b"\r\n",
        b"Authorization: Bearer {t}\r\nRange: bytes="
        + b",".join(b"%d-%d" % (i, i) for i in range(200))
        + b"\r\n",
        b"Authorization: Bearer {t}\r\nIf-None-Match: " + b'"x",' * 400 + b"\r\n",
    ],
)
def test_huge_or_malformed_headers_get_a_4xx_and_the_server_stays_up(small_site, headers):
    port = int(small_site["url"].rsplit(":", 1)[1])
    headers = headers.replace(b"{t}", small_site["token"].encode())
    request = b"GET /v1/publications/latest/county/a.bin HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    answer = _raw_exchange(port, request)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    assert status is None or 400 <= status < 500, answer[:200]  # a refusal, or the connection closed
    assert httpx.get(f"{small_site['url']}/healthz", timeout=10).status_code == 200


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "files",
    [
        {"county/a": b"1", "county/a/b": b"2"},  # a file and a folder of one name
        {"County/a.csv": b"1", "county/a.csv": b"2"},  # one file on a case-insensitive disk
        {"county/\u00e5.csv": b"1", "county/a\u030a.csv": b"2"},  # NFC and NFD of one name
        {"manifest.json": b"{}"},  # would be overwritten by the manifest
        {"county/../../x": b"1"},
        {"county/a.csv": b"1", "extra": {"sha256": "not a hash"}},
    ],
)
def test_a_hostile_manifest_is_a_pull_error_and_dest_is_untouched(tmp_path, files):
    dest = tmp_path / "dest"
    listed = {
        p: (d if isinstance(d, dict) else {"sha256": _sha(d), "bytes": len(d)}) for p, d in files.items()
    }
    manifest = {"id": "2026-01-01T0000Z-00000001", "files": listed}
    served = {p: d for p, d in files.items() if isinstance(d, bytes)}
    with pytest.raises(PullError):
        pull("http://server", "t", dest, client=_serving_manifest(manifest, served))
    assert not dest.exists() and not (tmp_path / "x").exists()


def test_aborted_and_refused_downloads_leave_no_open_file_behind(big_site):
    """Clients that hang up after the first chunk, HEAD, 304 and Range requests: the server (in this
    process) holds no more descriptors afterwards than before."""
    import os
    import time

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    url = f"{big_site['url']}/v1/publications/{big_site['id']}/county/big.bin"
    auth = {"Authorization": f"Bearer {big_site['token']}"}
    with httpx.Client(timeout=10) as client:
        client.get(url, headers={**auth, "Range": "bytes=0-0"})  # warm up (connections, threads)
        before = open_fds()
        for _ in range(30):
            with httpx.Client(timeout=10) as c, c.stream("GET", url, headers=auth) as r:
                next(r.iter_raw(65536))
        for _ in range(10):
            client.head(url, headers=auth)
            etag = client.get(url, headers={**auth, "Range": "bytes=0-9,20-29"}).headers["etag"]
            assert client.get(url, headers={**auth, "If-None-Match": etag}).status_code == 304
    deadline = time.monotonic() + 10
    while open_fds() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_fds() <= before


def test_if_match_naming_another_publication_is_412_not_its_bytes(tmp_path):
    """A client resuming ``latest/...`` with ``If-Match`` (the version it has half of) gets 412 once
    LATEST names a publication with another file, never bytes of that one to splice on."""
    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    a = publish(target, {"county/x.bin": b"A" * 5000}, {})
    _, token = TokenStore(tokens).create("0580")
    with serving(pubs, tokens) as port:
        url, auth = (
            f"http://127.0.0.1:{port}/v1/publications/latest/county/x.bin",
            {"Authorization": f"Bearer {token}"},
        )
        etag_a = httpx.head(url, headers=auth).headers["etag"]
        assert httpx.get(url, headers={**auth, "If-Match": etag_a, "Range": "bytes=10-"}).status_code == 206
        publish(target, {"county/x.bin": b"B" * 5000}, {})
        r = httpx.get(url, headers={**auth, "If-Match": etag_a, "Range": "bytes=10-"})
        assert r.status_code == 412 and r.content == b""
        assert httpx.get(url, headers={**auth, "If-Match": f"W/{etag_a}"}).status_code == 412
        assert httpx.get(url, headers={**auth, "If-Match": "*"}).status_code == 200
        assert a.id != target.get_latest()


def test_conditional_gets_across_publications_compare_content_not_publication(tmp_path):
    """ETag = sha256 of the bytes: after a new publication, If-None-Match with the old ETag is 304 for
    a file that did not change and 200 with the new bytes for one that did; HEAD and GET agree."""
    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    publish(target, {"county/same.bin": b"S" * 3000, "county/changed.bin": b"1" * 3000}, {})
    _, token = TokenStore(tokens).create("0580")
    with serving(pubs, tokens) as port:
        base, auth = f"http://127.0.0.1:{port}/v1/publications/latest", {"Authorization": f"Bearer {token}"}
        old = {
            n: httpx.head(f"{base}/county/{n}.bin", headers=auth).headers["etag"] for n in ("same", "changed")
        }
        publish(target, {"county/same.bin": b"S" * 3000, "county/changed.bin": b"2" * 3000}, {})
        same = httpx.get(f"{base}/county/same.bin", headers={**auth, "If-None-Match": old["same"]})
        assert same.status_code == 304 and same.headers["etag"] == old["same"]
        changed = httpx.get(f"{base}/county/changed.bin", headers={**auth, "If-None-Match": old["changed"]})
        assert changed.status_code == 200 and changed.content == b"2" * 3000
        assert (
            changed.headers["etag"] == httpx.head(f"{base}/county/changed.bin", headers=auth).headers["etag"]
        )
        assert changed.headers["etag"] == f'"{_sha(b"2" * 3000)}"'
