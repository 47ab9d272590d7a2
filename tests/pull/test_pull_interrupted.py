"""A pull interrupted at a random point leaves the local folder whole: the old or the new
publication, never a mix (real loopback HTTP, uvicorn in a thread)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from pathlib import Path

import httpx
import pytest
from pull_server import serving

from lagesbild.publication import LocalFolderTarget, publish
from lagesbild.pull.client import PullError, copies_folder, pull
from lagesbild.pull.tokens import TokenStore


class Killed(BaseException):
    """Stands for the process dying: nothing in the client may catch it or retry."""


class Interrupting(httpx.BaseTransport):
    """Forwards to a real transport; request number ``at`` dies before the response or halfway
    through its body."""

    def __init__(self, at: int, mid_body: bool):
        self.inner, self.at, self.mid_body, self.count = httpx.HTTPTransport(), at, mid_body, 0

    def handle_request(self, request):
        self.count += 1
        if self.count != self.at:
            return self.inner.handle_request(request)
        if not self.mid_body:
            raise Killed(f"before response {self.at}")
        response = self.inner.handle_request(request)
        body = response.read()

        class Half(httpx.SyncByteStream):
            def __iter__(self):
                yield body[: len(body) // 2]
                raise Killed("mid body")

        return httpx.Response(response.status_code, headers=response.headers, stream=Half())

    def close(self):
        self.inner.close()


def _files(version: int) -> dict[str, bytes]:
    return {
        "county/rates.csv": f"week,rate\n1,{version}\n".encode(),
        "county/static.csv": b"never changes\n",
        "municipalities/0580/rates.csv": f"0580,{version}\n".encode() * 50,
        "municipalities/0580/static.csv": b"0580 static\n",
        f"reports/only-in-v{version}.html": f"<p>{version}</p>".encode(),
        "quality/index.html": f"<p>quality {version}</p>".encode() * 100,
    }


def _whole(dest) -> str:
    """The publication id ``dest`` shows, after checking every file against its manifest."""
    root = Path(os.path.realpath(dest))
    manifest = json.loads((root / "manifest.json").read_bytes())
    present = set()
    for dirpath, _, names in os.walk(root):
        for name in names:
            present.add(os.path.relpath(os.path.join(dirpath, name), root))
    assert present == {*manifest["files"], "manifest.json"}, "extra or missing files"
    for relpath, entry in manifest["files"].items():
        data = (root / relpath).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], relpath
    return manifest["id"]


@pytest.fixture
def server(tmp_path):
    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    ids = [publish(target, _files(v), {"note": f"v{v}"}).id for v in (1, 2)]
    _, token = TokenStore(tokens).create("0580", label="test")
    with serving(pubs, tokens) as port:
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "target": target, "ids": ids}


def test_pull_interrupted_at_random_points_leaves_the_folder_whole(server, tmp_path):
    rng = random.Random(16)
    url, token, target, (v1, v2) = server["url"], server["token"], server["target"], server["ids"]
    dest = tmp_path / "linkoping"
    target.set_latest(v1)
    assert pull(url, token, dest).publication_id == v1 and _whole(dest) == v1

    stop, seen, reader_errors = threading.Event(), set(), []

    def reader():  # someone reading the local folder all the time
        while not stop.is_set():
            try:
                seen.add(_whole(dest))
            except (AssertionError, OSError, ValueError) as exc:
                reader_errors.append(repr(exc))

    reading = threading.Thread(target=reader, daemon=True)
    reading.start()
    outcomes = []
    try:
        for trial in range(20):
            old = _whole(dest)
            new = v2 if old == v1 else v1
            target.set_latest(new)
            # requests: the manifest plus the 4 files that differ; at = 6 lets the pull finish
            at, mid_body = rng.randint(1, 6), rng.random() < 0.5
            transport = Interrupting(at, mid_body)
            with httpx.Client(transport=transport, timeout=10) as client:
                try:
                    result = pull(url, token, dest, client=client)
                    finished = True
                except Killed:
                    finished = False
            shown = _whole(dest)
            assert shown == (new if finished else old), f"trial {trial}: at={at} mid_body={mid_body}"
            if finished:
                assert len(result.downloaded) == 4 and len(result.unchanged) == 2
            outcomes.append(finished)
    finally:
        stop.set()
        reading.join(timeout=10)
    assert not reader_errors, reader_errors[:3]
    assert seen <= {v1, v2}
    assert 0 < sum(outcomes) < 20, "the random points must include finished and interrupted pulls"
    assert not [p for p in copies_folder(dest).iterdir() if p.name.startswith(".staging-")]
    assert len([p for p in copies_folder(dest).iterdir() if not p.name.startswith(".")]) <= 2


def test_pull_after_a_kill_sweeps_the_staging_folder(server, tmp_path):
    url, token = server["url"], server["token"]
    dest = tmp_path / "d"
    pull(url, token, dest)
    leftover = copies_folder(dest) / ".staging-deadbeef"  # what a SIGKILL mid-pull leaves
    (leftover / "county").mkdir(parents=True)
    (leftover / "county/rates.csv").write_bytes(b"half")
    pull(url, token, dest)
    assert not leftover.exists() and _whole(dest) == server["ids"][1]


def test_failed_verification_leaves_the_folder_as_it_was(server, tmp_path):
    url, token, target, (v1, v2) = server["url"], server["token"], server["target"], server["ids"]
    dest = tmp_path / "d"
    target.set_latest(v1)
    pull(url, token, dest)
    victim = target.path(v2) / "county/rates.csv"
    victim.chmod(0o644)
    victim.write_bytes(b"tampered\n")
    target.set_latest(v2)
    with pytest.raises(PullError, match="sha256 mismatch"):
        pull(url, token, dest)
    assert _whole(dest) == v1
