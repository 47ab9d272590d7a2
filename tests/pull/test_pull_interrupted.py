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


def half_then_killed(response: httpx.Response) -> httpx.Response:
    """The response with its first half of the body, then the process "killed" mid-body."""
    body = response.read()

    class Half(httpx.SyncByteStream):
        def __iter__(self):
            yield body[: len(body) // 2]
            raise Killed("mid body")

    return httpx.Response(response.status_code, headers=response.headers, stream=Half())


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
        return half_then_killed(self.inner.handle_request(request))

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
    # an interrupted last trial leaves its staging and part folders for the next pull to resume
    assert pull(url, token, dest).publication_id == target.get_latest()
    assert not [p for p in copies_folder(dest).iterdir() if p.name.startswith((".staging-", ".parts-"))]
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


class Recording(httpx.BaseTransport):
    """Forwards to a real transport and records (path, Range, status); the request for ``die_on`` dies
    halfway through its body, and ``before`` runs before the request for ``before_on``."""

    def __init__(self, die_on=None, before_on=None, before=None):
        self.inner, self.seen = httpx.HTTPTransport(), []
        self.die_on, self.before_on, self.before = die_on, before_on, before

    def handle_request(self, request):
        if self.before_on and request.url.path.endswith(self.before_on) and self.before:
            self.before()
            self.before = None
        response = self.inner.handle_request(request)
        self.seen.append((request.url.path, request.headers.get("range"), response.status_code))
        if self.die_on and request.url.path.endswith(self.die_on):
            return half_then_killed(response)
        return response

    def close(self):
        self.inner.close()


def test_an_interrupted_pull_resumes_with_a_range_and_never_names_a_partial_file(server, tmp_path):
    url, token, target, (v1, v2) = server["url"], server["token"], server["target"], server["ids"]
    dest = tmp_path / "d"
    target.set_latest(v1)
    pull(url, token, dest)
    target.set_latest(v2)
    with (
        httpx.Client(transport=Recording(die_on="quality/index.html"), timeout=10) as client,
        pytest.raises(Killed),
    ):
        pull(url, token, dest, client=client)
    assert _whole(dest) == v1
    manifest = json.loads(target.read(v2, "manifest.json"))
    staged = copies_folder(dest) / f".staging-{v2}"
    for p in staged.rglob("*"):  # what carries a final name is whole and verified
        if p.is_file():
            rel = p.relative_to(staged).as_posix()
            assert hashlib.sha256(p.read_bytes()).hexdigest() == manifest["files"][rel]["sha256"], rel
    half = (copies_folder(dest) / f".parts-{v2}" / "quality/index.html").stat().st_size
    assert 0 < half < manifest["files"]["quality/index.html"]["bytes"]
    recording = Recording()
    with httpx.Client(transport=recording, timeout=10) as client:
        result = pull(url, token, dest, client=client)
    assert result.publication_id == v2 and _whole(dest) == v2
    assert (f"/v1/publications/{v2}/quality/index.html", f"bytes={half}-", 206) in recording.seen
    fetched = {path.rsplit("/", 1)[-1] for path, _, _ in recording.seen}
    assert "rates.csv" not in fetched  # already whole in the staging folder: not fetched again
    assert sorted(result.downloaded + result.unchanged) == sorted(manifest["files"])
    assert not [p for p in copies_folder(dest).iterdir() if p.name.startswith((".staging-", ".parts-"))]


def test_a_publication_pruned_during_the_pull_restarts_it_on_the_new_one(server, tmp_path):
    """Between the manifest and the first file, a publish with keep=1 deletes the publication the pull
    was fetching: the pull starts again on the new latest and ends whole, with its files."""
    url, token, target, (v1, _) = server["url"], server["token"], server["target"], server["ids"]
    dest = tmp_path / "d"
    target.set_latest(v1)
    newer = {}

    def republish():
        newer["id"] = publish(target, _files(3), {"note": "v3"}, keep=1).id

    with httpx.Client(transport=Recording(before_on="county/rates.csv", before=republish), timeout=10) as c:
        result = pull(url, token, dest, client=c)
    assert target.list_publications() == [newer["id"]]
    assert result.publication_id == newer["id"] and _whole(dest) == newer["id"]
    assert (dest / "reports/only-in-v3.html").read_bytes() == b"<p>3</p>"


def test_a_listed_file_the_server_does_not_serve_is_a_clear_error(server, tmp_path):
    url, token, target, (_, v2) = server["url"], server["token"], server["target"], server["ids"]
    dest = tmp_path / "d"
    victim = target.path(v2) / "county/rates.csv"
    victim.chmod(0o644)
    victim.unlink()
    with pytest.raises(PullError, match=f"county/rates.csv: listed in the manifest of {v2} but not served"):
        pull(url, token, dest)
    assert not dest.exists()


PULL_SCRIPT = (
    "import sys\nfrom lagesbild.pull.client import pull\n"
    "print('ready', flush=True)\n"
    "print(pull(sys.argv[1], sys.argv[2], sys.argv[3]).publication_id, flush=True)"
)


def test_pull_processes_killed_at_random_moments_leave_the_folder_whole_and_resume(tmp_path):
    """A real pull process SIGKILLed after a random delay, 10 times, alternating between two large
    publications: ``dest`` always shows one whole publication, everything with a final name in the
    staging folder verifies, and a last pull completes.

    The delay runs from the moment the child starts pulling (it says when it is ready, so its start-up
    is not counted) over 1.5 times a whole pull as measured here: most kills land mid-pull, on a fast
    machine and a slow one alike."""
    import signal
    import subprocess
    import sys
    import time

    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    big = {v: {f"county/f{i}.bin": os.urandom(1 << 20) * 4 for i in range(8)} for v in (1, 2)}
    ids = [publish(target, big[v], {"note": f"v{v}"}).id for v in (1, 2)]
    _, token = TokenStore(tokens).create("0580")
    rng = random.Random(5)
    dest, outcomes = tmp_path / "dest", []
    with serving(pubs, tokens) as port:
        url = f"http://127.0.0.1:{port}"
        target.set_latest(ids[0])
        started = time.perf_counter()
        pull(url, token, dest)
        whole_pull = time.perf_counter() - started
        for trial in range(10):
            target.set_latest(ids[(trial // 3) % 2])  # a few tries at one, then the other
            proc = subprocess.Popen(
                [sys.executable, "-c", PULL_SCRIPT, url, token, str(dest)], stdout=subprocess.PIPE, text=True
            )
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0, 1.5 * whole_pull))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            outcomes.append(bool(proc.stdout.read()))
            proc.stdout.close()
            assert _whole(dest) in ids
            for staged in copies_folder(dest).glob(".staging-*"):
                pub = staged.name.removeprefix(".staging-")
                manifest = json.loads(target.read(pub, "manifest.json"))
                for p in staged.rglob("*"):
                    if p.is_file() and p.name != "manifest.json":
                        rel = p.relative_to(staged).as_posix()
                        assert hashlib.sha256(p.read_bytes()).hexdigest() == manifest["files"][rel]["sha256"]
        assert pull(url, token, dest).publication_id == target.get_latest()
    assert outcomes.count(False) > 0, "some kills must land mid-pull"
    assert _whole(dest) == target.get_latest()
    assert not [p for p in copies_folder(dest).iterdir() if p.name.startswith((".staging-", ".parts-"))]


@pytest.mark.parametrize("fault", ["ENOSPC", "EROFS"])  # EIO takes the path of ENOSPC
def test_a_full_or_failing_disk_during_a_pull_is_a_plain_error_and_the_next_pull_resumes(
    server, tmp_path, monkeypatch, fault
):
    """The disk fills up (or fails, or is read-only) while a file is downloaded: the pull exits with
    a message naming the file and the error (it was a traceback), ``dest`` stays whole, and once
    there is room the next pull continues the partial file with a Range."""
    import errno

    from lagesbild.pull import client as client_module

    url, token, target, (v1, v2) = server["url"], server["token"], server["target"], server["ids"]
    dest = tmp_path / "d"
    target.set_latest(v1)
    pull(url, token, dest)
    target.set_latest(v2)
    code = getattr(errno, fault)

    class FillsUp:
        def __init__(self, fh):
            self.fh, self.room = fh, 100

        def write(self, data):
            if self.room < len(data):
                self.fh.write(data[: self.room])  # what fits is written, like a real disk
                self.room = 0
                raise OSError(code, os.strerror(code))
            self.room -= len(data)
            return self.fh.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def faulty_open(path, mode="r", *args, **kwargs):
        if ".parts-" in str(path) and "quality" in str(path) and mode in ("ab", "wb"):
            if fault == "EROFS":
                raise OSError(code, os.strerror(code), str(path))
            return FillsUp(open(path, mode, *args, **kwargs))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(client_module, "open", faulty_open, raising=False)
    with pytest.raises(PullError, match=f"quality/index.html: {os.strerror(code)}") as err:
        pull(url, token, dest)
    assert token not in str(err.value) and "unchanged" in str(err.value)
    assert _whole(dest) == v1
    monkeypatch.undo()
    recording = Recording()
    with httpx.Client(transport=recording, timeout=10) as client:
        assert pull(url, token, dest, client=client).publication_id == v2
    assert _whole(dest) == v2
    if fault != "EROFS":
        assert (f"/v1/publications/{v2}/quality/index.html", "bytes=100-", 206) in recording.seen
