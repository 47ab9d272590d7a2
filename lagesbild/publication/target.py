"""Where publications live. One interface; a local folder now, an object store by configuration later.

The publish protocol only needs: write files under a staging name, read them back, promote the
staging area to a final id, switch a pointer atomically, list/delete publications, sweep leftovers.
An object store implements promotion as "write the manifest last" and the pointer as a single
object PUT; the local folder uses rename and ``os.replace``.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

PUBLICATION_ID_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{4}Z-[0-9a-f]{8}$")
STAGING_PREFIX = ".staging-"
LATEST = "LATEST"


def check_relpath(relpath: str) -> str:
    """A relative POSIX path with no way out of its root, or ValueError."""
    parts = relpath.split("/")
    if (
        not relpath
        or relpath.startswith("/")
        or "\\" in relpath
        or "\x00" in relpath
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise ValueError(f"unsafe relative path {relpath!r}")
    return relpath


@runtime_checkable
class PublicationTarget(Protocol):
    def sweep_staging(self) -> list[str]: ...
    def write_staged(self, pub_id: str, relpath: str, data: bytes) -> None: ...
    def read_staged(self, pub_id: str, relpath: str) -> bytes: ...
    def promote(self, pub_id: str) -> None: ...
    def read(self, pub_id: str, relpath: str) -> bytes: ...
    def set_latest(self, pub_id: str) -> None: ...
    def get_latest(self) -> str | None: ...
    def list_publications(self) -> list[str]: ...
    def delete(self, pub_id: str) -> None: ...


class LocalFolderTarget:
    """Publications as folders under ``root``; ``root/LATEST`` holds the current id."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _staging(self, pub_id: str) -> Path:
        return self.root / f"{STAGING_PREFIX}{pub_id}"

    def path(self, pub_id: str) -> Path:
        if not PUBLICATION_ID_RE.match(pub_id):
            raise ValueError(f"not a publication id: {pub_id!r}")
        return self.root / pub_id

    def sweep_staging(self) -> list[str]:
        """Remove what a crashed publish left behind (staging folders, temporary pointer files)."""
        swept = []
        if not self.root.exists():
            return swept
        for p in self.root.iterdir():
            if p.name.startswith(STAGING_PREFIX) or p.name.startswith(f".{LATEST}."):
                _make_writable(p)
                shutil.rmtree(p) if p.is_dir() else p.unlink()
                swept.append(p.name)
        return swept

    def write_staged(self, pub_id: str, relpath: str, data: bytes) -> None:
        target = self._staging(pub_id) / check_relpath(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def read_staged(self, pub_id: str, relpath: str) -> bytes:
        return (self._staging(pub_id) / check_relpath(relpath)).read_bytes()

    def promote(self, pub_id: str) -> None:
        """Make every file read-only, then rename the staging folder to its final name (one step)."""
        staging = self._staging(pub_id)
        for p in staging.rglob("*"):
            if p.is_file():
                p.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(staging, self.path(pub_id))
        _fsync_dir(self.root)

    def read(self, pub_id: str, relpath: str) -> bytes:
        return (self.path(pub_id) / check_relpath(relpath)).read_bytes()

    def set_latest(self, pub_id: str) -> None:
        tmp = self.root / f".{LATEST}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(pub_id + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / LATEST)
        _fsync_dir(self.root)

    def get_latest(self) -> str | None:
        try:
            pub_id = (self.root / LATEST).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return pub_id if PUBLICATION_ID_RE.match(pub_id) else None

    def list_publications(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and PUBLICATION_ID_RE.match(p.name))

    def delete(self, pub_id: str) -> None:
        path = self.path(pub_id)
        _make_writable(path)
        shutil.rmtree(path)


def _make_writable(path: Path) -> None:
    if path.is_dir():
        for p in path.rglob("*"):
            if p.is_file():
                p.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
