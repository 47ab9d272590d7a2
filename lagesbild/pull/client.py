"""Pull the latest publication a municipality may see into a local folder.

The local folder (``dest``) is a symbolic link to one complete, verified copy of a publication in
``.<dest>.pulls/`` beside it. A pull builds the new copy in a staging folder there: files whose
sha256 already matches are hard-linked from the current copy, the others downloaded (with
If-None-Match carrying the local hash); every file is checked against the manifest, the manifest is
written, the staging folder is renamed to its final name and only then is ``dest`` switched to it by
replacing the link in one ``os.replace``. A reader of ``dest`` therefore sees the old publication or
the new one, whole, whatever happens to the pull; an interrupted pull leaves ``dest`` untouched.
Downloads stream into ``.parts-<id>/`` and a file gets its name in the staging folder only whole and
verified; staging and part folders are named by the publication, so the next pull of the same
publication resumes (whole files kept, a partial one continued with ``Range`` + ``If-Range``), and
those of other publications are swept. A publication pruned on the server during the pull (404 for a
listed file) makes the pull start again on the new latest. One pull at a time per ``dest`` (a lock
file in the ``.pulls`` folder); the previous copy is kept for readers still inside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tenacity import wait_exponential

from lagesbild.fsutil import exclusive_lock, fsync_dir, replace_symlink
from lagesbild.publication.target import PUBLICATION_ID_RE, check_file_set, check_relpath
from lagesbild.retry import retrying

STAGING_PREFIX = ".staging-"
PARTS_PREFIX = ".parts-"
KEEP_COPIES = 2  # the current copy and the one before it


class PullError(RuntimeError):
    pass


class _LocalWriteError(PullError):
    """Writing the copy failed (disk full, I/O error, read-only): what was written is kept, so the
    next pull continues where this one stopped."""


@dataclass
class PullResult:
    publication_id: str
    downloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


#: The one retry policy (lagesbild.retry), four attempts with a short backoff: a person is waiting.
_retry = retrying(4, wait=wait_exponential(multiplier=0.2, max=5))


def _sha256_file(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@_retry.wraps
def _get(client: httpx.Client, url: str, headers: dict | None = None) -> httpx.Response:
    response = client.get(url, headers=headers or {})
    if response.status_code in (401, 403):
        raise PullError(
            f"{url}: the server refused the token ({response.status_code}): {response.text[:200]}"
        )
    if response.status_code != 304:
        response.raise_for_status()
    return response


def copies_folder(dest: Path | str) -> Path:
    """Where the copies behind ``dest`` live: ``.<name>.pulls`` beside it."""
    dest = Path(dest)
    return dest.with_name(f".{dest.name}.pulls")


@contextlib.contextmanager
def _pull_lock(copies: Path) -> Iterator[None]:
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(exclusive_lock(copies / ".lock", wait=False, mode=0o600))
        except BlockingIOError:
            raise PullError(f"another pull into {copies.parent} is running") from None
        yield


def _current_copy(dest: Path) -> Path | None:
    """The folder ``dest`` shows now (a link into the copies folder, or a plain folder from an older
    client), or None."""
    if dest.is_symlink() or dest.is_dir():
        return dest.resolve() if dest.exists() else None
    return None


def _sweep(copies: Path, keep: set[Path], resume: str | None = None) -> None:
    """Remove copies no longer current or previous, and the staging and part folders of interrupted
    pulls, except those of publication ``resume`` (about to be pulled: what they hold is reused)."""
    copies_now = sorted(
        (p for p in copies.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    old = [p for p in copies_now if p not in keep][: max(0, len(copies_now) - KEEP_COPIES)]
    spare = {f"{STAGING_PREFIX}{resume}", f"{PARTS_PREFIX}{resume}"} if resume else set()
    leftovers = [
        p
        for p in copies.iterdir()
        if p.name.startswith((STAGING_PREFIX, PARTS_PREFIX)) and p.name not in spare
    ]
    for p in [*old, *leftovers]:
        shutil.rmtree(p, ignore_errors=True)


def _switch(dest: Path, new_copy: Path) -> None:
    """Point ``dest`` at ``new_copy`` in one rename (a relative link, so the pair can be moved)."""
    if dest.is_dir() and not dest.is_symlink():
        # a plain folder from an older client: move it among the copies first (the only moment
        # dest is absent; it happens once per folder)
        os.rename(dest, copies_folder(dest) / f"legacy-{uuid.uuid4().hex[:8]}")
    replace_symlink(dest, os.path.relpath(new_copy, dest.parent))
    fsync_dir(dest.parent)


class _PublicationGone(Exception):
    """A file the manifest lists is 404: the publication was pruned on the server during the pull."""

    def __init__(self, pub_id: str, relpath: str):
        super().__init__(relpath)
        self.pub_id, self.relpath = pub_id, relpath


#: How often a pull starts over with the new latest publication when the one it was pulling is pruned.
RESTARTS = 3


def pull(server: str, token: str, dest: Path | str, client: httpx.Client | None = None) -> PullResult:
    """Bring ``dest`` up to the latest publication; raises PullError on any mismatch (``dest`` is then
    unchanged)."""
    dest = Path(dest).absolute()
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
    client.headers["Authorization"] = f"Bearer {token}"
    base = server.rstrip("/") + "/v1/publications"
    copies = copies_folder(dest)
    try:
        with _pull_lock(copies):
            for restart in range(RESTARTS + 1):
                try:
                    return _pull_latest(client, base, dest, copies)
                except _PublicationGone as gone:
                    now = json.loads(_get(client, f"{base}/latest/manifest.json").content)
                    now = now.get("id") if isinstance(now, dict) else None
                    if now == gone.pub_id:
                        raise PullError(
                            f"{gone.relpath}: listed in the manifest of {gone.pub_id} but not served (404); "
                            f"{dest} unchanged"
                        ) from None
                    if restart == RESTARTS:
                        raise PullError(
                            f"{gone}: the publication was replaced {RESTARTS + 1} times during the pull; "
                            f"{dest} unchanged, try again"
                        ) from None
    except httpx.HTTPError as exc:
        raise PullError(f"pull from {server} failed: {exc}") from exc
    except ValueError as exc:
        raise PullError(f"pull from {server} failed: {exc}") from exc
    except OSError as exc:  # the local disk (full, failing, read-only) outside a download
        raise PullError(
            f"{dest}: {exc.strerror or type(exc).__name__} while writing the copy; {dest} unchanged"
        ) from None
    finally:
        if own:
            client.close()
    raise AssertionError("unreachable")


def _pull_latest(client: httpx.Client, base: str, dest: Path, copies: Path) -> PullResult:
    """One attempt at the publication ``latest`` names now. Its staging folder and partly downloaded
    files (``.staging-<id>``, ``.parts-<id>``) are named by the publication, so a pull interrupted in
    any way (killed, network gone) resumes where it stopped: whole files already verified are kept,
    a partial one is continued with ``Range`` + ``If-Range`` (the server sends the whole file if it is
    no longer that version). Leftovers of other publications are removed."""
    current = _current_copy(dest)
    manifest_bytes = _get(client, f"{base}/latest/manifest.json").content
    manifest = json.loads(manifest_bytes)
    pub_id = manifest.get("id") if isinstance(manifest, dict) else None
    if not isinstance(pub_id, str) or not PUBLICATION_ID_RE.match(pub_id):
        # the id names a folder here and a URL there: a hostile one must not choose either
        raise PullError(f"{base}/latest/manifest.json: not a publication id: {str(pub_id)[:40]!r}")
    _check_files(manifest.get("files"))
    staging, parts = copies / f"{STAGING_PREFIX}{pub_id}", copies / f"{PARTS_PREFIX}{pub_id}"
    _sweep(copies, {current} if current else set(), resume=pub_id)
    result = PullResult(pub_id)
    staging.mkdir(exist_ok=True)
    try:
        for relpath, entry in sorted(manifest["files"].items()):
            check_relpath(relpath)
            try:
                _pull_file(client, f"{base}/{pub_id}/{relpath}", staging, parts, current, entry, result, relpath)
            except OSError as exc:  # the local disk, not the server: keep what is written, to resume
                raise _LocalWriteError(
                    f"{relpath}: {exc.strerror or type(exc).__name__} while writing the copy; {dest} unchanged, "
                    "the next pull continues from there"
                ) from None
        _verify(staging, manifest)
    except _LocalWriteError:
        raise
    except PullError:
        shutil.rmtree(staging, ignore_errors=True)  # a mismatch: start afresh next time
        shutil.rmtree(parts, ignore_errors=True)
        raise
    (staging / "manifest.json").unlink(missing_ok=True)  # an interrupted pull may have written it
    _write_file(staging / "manifest.json", manifest_bytes)
    fsync_dir(staging)
    final = copies / f"{pub_id}-{uuid.uuid4().hex[:8]}"
    os.rename(staging, final)
    shutil.rmtree(parts, ignore_errors=True)
    _switch(dest, final)
    _sweep(copies, {final, current} if current else {final})
    return result


_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def _check_files(files) -> None:
    """The manifest's file list can be written as one folder on any disk (``check_file_set``), with a
    sha256 for each file."""
    if not isinstance(files, dict):
        raise PullError("the manifest lists no files")
    for relpath, entry in files.items():
        if not isinstance(entry, dict) or not _SHA256_RE.fullmatch(str(entry.get("sha256"))):
            raise PullError(f"{relpath}: the manifest gives no sha256")
    try:
        check_file_set([*files, "manifest.json"])
    except ValueError as exc:
        raise PullError(f"the manifest's file list: {exc}") from None


def _write_file(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _verify(staging: Path, manifest: dict) -> None:
    """Every file of the manifest is in the staging folder with its sha256, and nothing else is."""
    for relpath, entry in manifest["files"].items():
        if _sha256_file(staging / relpath) != entry["sha256"]:
            raise PullError(
                f"{relpath}: sha256 mismatch in the staged copy; {staging.parent.parent} unchanged"
            )
    present = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()}
    if extra := present - set(manifest["files"]) - {"manifest.json"}:
        raise PullError(f"unexpected files in the staged copy: {sorted(extra)[:5]}")


def _pull_file(
    client: httpx.Client,
    url: str,
    staging: Path,
    parts: Path,
    current: Path | None,
    entry: dict,
    result: PullResult,
    relpath: str,
) -> None:
    target = staging / relpath
    local_path = current / relpath if current is not None else None
    local = _sha256_file(local_path) if local_path is not None else None
    if _sha256_file(target) == entry["sha256"]:  # kept by an interrupted pull of this publication
        (result.unchanged if local == entry["sha256"] else result.downloaded).append(relpath)
        return
    target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if local == entry["sha256"]:
        try:
            os.link(local_path, target)
        except OSError:
            shutil.copy2(local_path, target)
        result.unchanged.append(relpath)
        return
    part = parts / relpath
    part.parent.mkdir(parents=True, exist_ok=True)
    _download(client, url, part, entry["sha256"], local, relpath)
    got = _sha256_file(part)
    if got != entry["sha256"]:
        part.unlink(missing_ok=True)
        raise PullError(
            f"{relpath}: sha256 mismatch (manifest {entry['sha256'][:12]}…, received {str(got)[:12]}…); "
            "the local folder was left as it was"
        )
    with open(part, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(part, target)  # the file gets its name in the copy only whole and verified
    result.downloaded.append(relpath)


@_retry.wraps
def _download(
    client: httpx.Client, url: str, part: Path, sha256: str, local: str | None, relpath: str
) -> None:
    """Stream ``url`` into ``part``; bytes already there are kept and only the rest is asked for
    (``Range``, with ``If-Range`` naming the version the manifest lists). Retried: each attempt
    continues where the last one stopped."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"If-None-Match": f'"{local}"'} if local else {}
    if have:
        headers |= {"Range": f"bytes={have}-", "If-Range": f'"{sha256}"'}
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416:  # the part is not a prefix of this file: start again
            part.unlink()
            raise httpx.TransportError(f"{relpath}: range not satisfiable, starting again")
        if response.status_code == 404:
            raise _PublicationGone(url.rsplit("/v1/publications/", 1)[-1].split("/", 1)[0], relpath)
        if response.status_code in (401, 403):
            response.read()
            raise PullError(
                f"{url}: the server refused the token ({response.status_code}): {response.text[:200]}"
            )
        if response.status_code == 304:
            raise PullError(
                f"{relpath}: server says the local copy is current, but it does not match the manifest"
            )
        response.raise_for_status()
        append = response.status_code == 206 and _range_start(response) == have
        if response.status_code == 206 and not append:
            raise PullError(f"{relpath}: the server answered a range that was not asked for")
        with open(part, "ab" if append else "wb") as fh:
            for chunk in response.iter_bytes():
                fh.write(chunk)


def _range_start(response: httpx.Response) -> int | None:
    """The first byte of a 206 answer (``Content-Range: bytes a-b/n``), or None."""
    value = response.headers.get("content-range", "")
    unit, _, spec = value.partition(" ")
    start = spec.split("-", 1)[0]
    return int(start) if unit == "bytes" and start.isdigit() else None
