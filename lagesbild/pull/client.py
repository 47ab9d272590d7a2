"""Pull the latest publication a municipality may see into a local folder.

Only files whose sha256 differs from the local copy are fetched (with If-None-Match carrying the
local hash); every download is verified against the manifest before it replaces anything, files the
previous pull brought that the new publication no longer has are removed, and the manifest is
written last, so a local folder is never a mix that claims to be consistent.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tenacity import wait_exponential

from lagesbild.publication.target import check_relpath
from lagesbild.retry import retrying


class PullError(RuntimeError):
    pass


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


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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


def pull(server: str, token: str, dest: Path | str, client: httpx.Client | None = None) -> PullResult:
    """Bring ``dest`` up to the latest publication; raises PullError on any mismatch."""
    dest = Path(dest)
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
    client.headers["Authorization"] = f"Bearer {token}"
    base = server.rstrip("/") + "/v1/publications"
    try:
        manifest_bytes = _get(client, f"{base}/latest/manifest.json").content
        manifest = json.loads(manifest_bytes)
        pub_id = manifest["id"]
        result = PullResult(pub_id)
        for relpath, entry in sorted(manifest["files"].items()):
            _pull_file(
                client, f"{base}/{pub_id}/{relpath}", dest / check_relpath(relpath), entry, result, relpath
            )
        _remove_stale(dest, manifest)
        _write_atomic(dest / "manifest.json", manifest_bytes)
        return result
    except httpx.HTTPError as exc:
        raise PullError(f"pull from {server} failed: {exc}") from exc
    finally:
        if own:
            client.close()


def _remove_stale(dest: Path, manifest: dict) -> None:
    """Delete files the previous local manifest listed and the new one does not (nothing else)."""
    try:
        previous = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for relpath in set(previous.get("files", {})) - set(manifest["files"]):
        try:
            (dest / check_relpath(relpath)).unlink(missing_ok=True)
        except ValueError:
            continue


def _pull_file(
    client: httpx.Client, url: str, target: Path, entry: dict, result: PullResult, relpath: str
) -> None:
    local = _sha256_file(target)
    if local == entry["sha256"]:
        result.unchanged.append(relpath)
        return
    headers = {"If-None-Match": f'"{local}"'} if local else {}
    response = _get(client, url, headers)
    if response.status_code == 304:
        raise PullError(
            f"{relpath}: server says the local copy is current, but it does not match the manifest"
        )
    got = hashlib.sha256(response.content).hexdigest()
    if got != entry["sha256"]:
        raise PullError(
            f"{relpath}: sha256 mismatch (manifest {entry['sha256'][:12]}…, received {got[:12]}…); "
            "nothing was written for this file"
        )
    _write_atomic(target, response.content)
    result.downloaded.append(relpath)
