"""Where publications live. One interface; a local folder now, an object store by configuration later.

The publish protocol only needs: write files under a staging name, read them back, promote the
staging area to a final id, switch a pointer atomically, list/delete publications, sweep leftovers.
An object store implements promotion as "write the manifest last" and the pointer as a single
object PUT; the local folder uses rename and ``os.replace``.

The local folder is guarded by one exclusive lock (``flock`` on the folder itself, see ``lock``),
which ``publish`` holds from sweeping leftovers to pruning, so two publishes into one folder run one
after the other and never sweep each other's staging folder (whose names are unique per publish
anyway). A publication is deleted by renaming it into ``.trash/`` first and removing it there, so a
kill mid-delete never leaves a half-deleted folder under a publication id.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import stat
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from lagesbild.fsutil import exclusive_lock, fsync_dir, replace_symlink, write_atomic

#: ASCII digits and an end that is the end (``$`` would accept a trailing newline, ``\d`` other digits).
PUBLICATION_ID_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{4}Z-[0-9a-f]{8}\Z")
STAGING_PREFIX = ".staging-"
TRASH = ".trash"
LATEST = "LATEST"
#: A symlink beside LATEST to the same publication, for browsing (never followed by the pull server).
LATEST_LINK = "latest"
#: The publication log: one JSON line per publish (which publication, whether it became the latest, why not).
PUBLISH_LOG = "publish_log.jsonl"


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


class PublicationInUse(RuntimeError):
    """A reader holds the publication (``LocalFolderTarget.reading``): pruning leaves it for later."""


#: RFC 3986 "unreserved" characters: a name no HTTP client percent-encodes, so the pull server (which
#: refuses percent-encoding) can serve it; a space, ``%``, ``?``, ``#`` or ``å`` cannot be.
SERVABLE_NAME_RE = re.compile(r"[A-Za-z0-9._~-]+")


def check_file_set(relpaths) -> None:
    """ValueError unless ``relpaths`` can be one folder on any disk and served: each a safe relative
    path (``check_relpath``) of unreserved URL characters (``SERVABLE_NAME_RE``), no path that is also another's folder, no two paths that are one file on a
    case- or Unicode-normalisation-insensitive disk (macOS, Windows: ``County/a`` and ``county/a``,
    ``å`` composed and decomposed). Publish checks it, and the pull client on what it is sent, so a
    publication is never one that a municipality cannot pull."""
    seen: dict[str, tuple[str, str]] = {}
    for relpath in relpaths:
        parts = check_relpath(relpath).split("/")
        if not all(SERVABLE_NAME_RE.fullmatch(p) for p in parts):
            raise ValueError(
                f"{relpath!r}: only letters A-Z a-z, digits and . _ ~ - in file and folder names"
            )
        for n in range(len(parts)):
            key = "/".join(parts[: n + 1])
            folded = unicodedata.normalize("NFC", key).casefold()
            kind = "file" if n == len(parts) - 1 else "folder"
            other = seen.get(folded)
            if other is not None and (kind == "file" or other[0] == "file" or other[1] != key):
                raise ValueError(f"{relpath!r} and {other[1]!r} would be one name on some disks")
            seen[folded] = (kind, key)


@runtime_checkable
class PublicationTarget(Protocol):
    def sweep_staging(self) -> list[str]: ...
    def write_staged(self, pub_id: str, relpath: str, data: bytes) -> None: ...
    def read_staged(self, pub_id: str, relpath: str) -> bytes: ...
    def promote(self, pub_id: str) -> None: ...
    def read(self, pub_id: str, relpath: str) -> bytes: ...
    def set_latest(self, pub_id: str) -> None: ...
    def log_publish(self, entry: dict) -> None:
        """Append ``entry`` as one line to the target's publish log (call it holding ``lock``)."""

    def get_latest(self) -> str | None: ...
    def list_publications(self) -> list[str]: ...
    def delete(self, pub_id: str) -> None: ...


class LocalFolderTarget:
    """Publications as folders under ``root``; ``root/LATEST`` holds the current id."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._staging_names: dict[str, str] = {}

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock on the publications folder (blocks until the holder is done; released
        when the holder exits, however it exits)."""
        with exclusive_lock(self.root, folder=True):
            yield

    def _staging(self, pub_id: str) -> Path:
        """This publish's staging folder for ``pub_id``: a name no other publish uses."""
        if pub_id not in self._staging_names:
            self._staging_names[pub_id] = f"{STAGING_PREFIX}{pub_id}-{uuid.uuid4().hex[:8]}"
        return self.root / self._staging_names[pub_id]

    def path(self, pub_id: str) -> Path:
        if not PUBLICATION_ID_RE.match(pub_id):
            raise ValueError(f"not a publication id: {pub_id!r}")
        return self.root / pub_id

    def sweep_staging(self) -> list[str]:
        """Remove what a crashed publish left behind (staging folders, temporary pointer files and
        links, a publication renamed into the trash but not yet deleted). Call it holding ``lock``."""
        swept = []
        if not self.root.exists():
            return swept
        for p in self.root.iterdir():
            if p.name.startswith((STAGING_PREFIX, f".{LATEST}.", f".{LATEST_LINK}.")) or p.name == TRASH:
                if p.is_symlink() or not p.is_dir():  # a temporary pointer file or link
                    p.unlink()
                    swept.append(p.name)
                    continue
                _make_writable(p)
                shutil.rmtree(p)
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
        fsync_dir(self.root)

    def read(self, pub_id: str, relpath: str) -> bytes:
        return (self.path(pub_id) / check_relpath(relpath)).read_bytes()

    def set_latest(self, pub_id: str) -> None:
        """The browsing link first, LATEST (what the server and readers follow) last: a failure (disk
        full, I/O error) leaves LATEST on the previous publication, so an error means not switched."""
        point_latest_link(self.root, pub_id)
        write_atomic(self.root / LATEST, pub_id + "\n")
        fsync_dir(self.root)

    def log_publish(self, entry: dict) -> None:
        """Append ``entry`` as one JSON line to ``publish_log.jsonl`` (call it holding ``lock``)."""
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n").encode("utf-8")
        fd = os.open(self.root / PUBLISH_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

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

    @contextlib.contextmanager
    def reading(self, pub_id: str) -> Iterator[Path]:
        """Hold publication ``pub_id`` for reading: while the block runs, pruning leaves it in place
        (a shared ``flock`` on its folder, which ``delete`` must take exclusively). FileNotFoundError
        when it is gone already (pruned before the lease was taken: read ``LATEST`` again)."""
        path = self.path(pub_id)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:  # the folder may have been moved into the trash between the open and the lock
                same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                raise FileNotFoundError(f"publication {pub_id} was deleted")
            yield path
        finally:
            os.close(fd)

    def delete(self, pub_id: str, pause: Callable[[], None] | None = None) -> None:
        """Rename the publication into ``.trash/`` (one step: it is gone or whole), then remove it.
        ``PublicationInUse`` (nothing changed) while a reader holds it (``reading``)."""
        trash = self.root / TRASH
        fd = os.open(self.path(pub_id), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PublicationInUse(pub_id) from None
            trash.mkdir(exist_ok=True)
            doomed = trash / f"{pub_id}-{uuid.uuid4().hex[:8]}"
            os.rename(self.path(pub_id), doomed)
            fsync_dir(self.root)
        finally:
            os.close(fd)
        if pause is not None:
            pause()
        _make_writable(doomed)
        shutil.rmtree(doomed)
        with contextlib.suppress(OSError):
            trash.rmdir()  # only when empty


def _make_writable(path: Path) -> None:
    if path.is_dir():
        for p in path.rglob("*"):
            if p.is_file():
                p.chmod(stat.S_IRUSR | stat.S_IWUSR)


def point_latest_link(root: Path, publication_id: str) -> Path:
    """``publications/latest``: a symlink to the folder LATEST names, to browse (switched atomically)."""
    return replace_symlink(root / LATEST_LINK, publication_id)
