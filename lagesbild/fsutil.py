"""Files written aside, verified and moved into place: the one way lagesbild replaces a file or a link;
and the one exclusive lock (``exclusive_lock``) that serialises writers across processes.

A reader sees the old file or the new one, never half of one: the content goes to a unique hidden
temporary file in the target's folder (same file system, so the rename is atomic), is flushed to
disk, and only then renamed over the target. On any error the temporary file is removed and the
target is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path


def temporary_name(target: Path) -> Path:
    """A unique hidden name beside ``target`` (``.<name>.<hex>.tmp``)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


@contextlib.contextmanager
def atomic_path(target: Path | str, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write ``target``'s new content to; on leaving the block without an
    error it is flushed to disk and renamed over ``target`` (created 0600 etc. when ``mode`` is given)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target)
    if mode is not None:  # the mode from the first byte, not after the content is there
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(target: Path | str, data: bytes | str, mode: int | None = None) -> Path:
    """Replace ``target`` with ``data`` (str is written as UTF-8, newlines as given) atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(target, mode) as tmp, open(tmp, "r+b" if mode is not None else "wb") as fh:
        fh.write(payload)
        fh.truncate()
    return Path(target)


def replace_symlink(link: Path | str, points_to: Path | str) -> Path:
    """Point the symlink ``link`` at ``points_to`` in one rename: a new link is made under a unique
    name beside it and renamed over it, so a reader follows the old target or the new one."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex}.link")
    tmp.symlink_to(points_to, target_is_directory=True)
    try:
        os.replace(tmp, link)
    finally:
        if tmp.is_symlink():
            tmp.unlink()
    return link


def fsync_dir(path: Path | str) -> None:
    """Flush a folder's entries (a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(
    path: Path | str, *, folder: bool = False, wait: bool = True, mode: int = 0o600
) -> Iterator[None]:
    """Hold an exclusive ``flock`` for the block: on the folder ``path`` itself (``folder=True``, created
    if missing) or on the lock file ``path`` (created with ``mode``). Blocks until the holder is done,
    or with ``wait=False`` raises ``BlockingIOError`` at once. The kernel releases the lock when its
    holder exits however it exits (killed, out of memory), so it is never left behind."""
    path = Path(path)
    if folder:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)


class FileBeingWritten(OSError):
    """A file modified too recently, or while it was read: what was read may be half of it."""


def file_signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when a file is written to, rewritten in place or replaced: inode, size, mtime and
    ctime (ctime also when a writer sets the mtime back)."""
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def modified_recently(mtime: float, settle_seconds: float, now: float | None = None) -> bool:
    """Whether a file with this mtime (seconds) may still be being written: modified during the last
    ``settle_seconds``. A file being written has an mtime of about now, so an mtime further ahead of
    the clock (the clock stepped back since the save, NTP; a copy that kept the time of a machine whose
    clock is ahead) is a finished file, not one to wait for until the clock catches up. (On a network
    disk whose server's clock runs ahead by more than the settle time this cannot tell: there, write
    under a temporary name and rename.)"""
    return abs((time.time() if now is None else now) - mtime) < settle_seconds


def read_settled(path: Path | str, settle_seconds: float = 0.0) -> bytes:
    """The whole content of ``path``, read once and unchanged throughout, or ``FileBeingWritten``: the
    file was modified during the last ``settle_seconds`` (a copy in progress reads as a shorter, valid
    file: no content check can tell), or changed, or was replaced, while it was read."""
    with open(path, "rb") as fh:
        before = os.fstat(fh.fileno())
        if modified_recently(before.st_mtime, settle_seconds):
            raise FileBeingWritten(errno.EBUSY, f"modified in the last {settle_seconds:g} s")
        data = fh.read()
        after = os.fstat(fh.fileno())
    try:
        now = os.stat(path)
    except FileNotFoundError:
        now = None
    if now is None or not file_signature(before) == file_signature(after) == file_signature(now) or (
        len(data) != after.st_size
    ):
        raise FileBeingWritten(errno.EBUSY, "changed while it was read")
    return data
