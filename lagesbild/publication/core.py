"""Publish: staging -> verify -> move into place -> switch the LATEST pointer -> prune.

A crash at any step leaves ``LATEST`` on a complete earlier publication: files are only ever written
under the staging name, the move is one rename, and the pointer is written aside and ``os.replace``d.
``LAGESBILD_TEST_PAUSE_AT`` (tests only) stops the process at a named step so a test can SIGKILL it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from lagesbild.publication.target import (
    PUBLICATION_ID_RE,
    LocalFolderTarget,
    PublicationInUse,
    PublicationTarget,
    check_file_set,
    check_relpath,
)
from lagesbild.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
PAUSE_POINTS = (
    "mid_staging",
    "after_staging",
    "after_move",
    "before_pointer",
    "after_pointer",
    "mid_prune",
)


@dataclass(frozen=True)
class PublicationInfo:
    id: str
    created_at: str
    manifest: dict
    path: Path | None = None  # the folder, for targets that have one
    #: Whether LATEST now names it: False when its data is older than the latest's (``watermark_behind``).
    is_latest: bool = True
    #: Why LATEST was left where it was (names the latest publication and the older inputs), else None.
    not_latest_reason: str | None = None

    @property
    def publication_id(self) -> str:
        return self.id


class PublicationError(RuntimeError):
    pass


def _pause(point: str) -> None:
    """Test hook: announce the step on stderr and wait to be killed."""
    if Settings.from_env().test_pause_at == point:
        print(f"PAUSED {point}", file=sys.stderr, flush=True)
        time.sleep(120)


def new_publication_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.strftime('%Y-%m-%dT%H%MZ')}-{secrets.token_hex(4)}"


def code_version() -> str:
    """``git describe`` when running from a checkout, else the installed package version."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        if out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return metadata.version("lagesbild")
    except metadata.PackageNotFoundError:
        return "unknown"


def describe_file(relpath: str, data: bytes) -> dict:
    """sha256 and size; for Parquet also the row count and the schema."""
    entry: dict = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    if relpath.endswith(".parquet"):
        import pyarrow.parquet as pq  # lazily: a publish without Parquet needs no pyarrow

        pf = pq.ParquetFile(io.BytesIO(data))
        entry["rows"] = pf.metadata.num_rows
        entry["schema"] = [{"name": f.name, "type": str(f.type)} for f in pf.schema_arrow]
    return entry


def _to_bytes(item) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    if hasattr(item, "to_parquet"):  # a DataFrame; pandas is imported only by whoever made it
        from lagesbild.warehouse import parquet_bytes

        return parquet_bytes(item)  # defined row order, fixed writer settings
    return Path(item).read_bytes()


def _json_default(obj):
    if hasattr(obj, "to_manifest"):
        return obj.to_manifest()
    return str(obj)


def _disclosure_check(manifest_fields: dict):
    """When the manifest names a disclosure policy, verify the published marts against it."""
    policy = (manifest_fields.get("disclosure") or {}).get("policy")
    if policy is None:
        return None
    from lagesbild.disclosure import DisclosurePolicy
    from lagesbild.publication.disclosed import publication_check

    if isinstance(policy, dict):
        policy = DisclosurePolicy.from_dict(policy)
    return publication_check(policy)


def _verify_staged(target: PublicationTarget, pub_id: str, manifest: dict, check) -> None:
    back = {}
    for relpath, entry in manifest["files"].items():
        back[relpath] = target.read_staged(pub_id, relpath)
        if hashlib.sha256(back[relpath]).hexdigest() != entry["sha256"]:
            raise PublicationError(f"publication {pub_id}: {relpath} does not read back as written")
    if check is not None and (problems := list(check(back))):
        shown = "; ".join(map(str, problems[:10]))
        raise PublicationError(f"publication {pub_id} refused, {len(problems)} problem(s): {shown}")


def _order(target: PublicationTarget, pub_id: str) -> tuple[int, str]:
    """Where a publication stands in publish order: its ``sequence`` (0 for publications from before
    sequences), then ``created_at``. Not the clock alone: after a step back (NTP) the publications
    made before it would look newest, and pruning would delete the one just published before."""
    try:
        manifest = json.loads(target.read(pub_id, MANIFEST))
        sequence = manifest.get("sequence", 0)
        return (sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else 0,
                str(manifest.get("created_at", "")))
    except (OSError, ValueError, AttributeError):
        return 0, ""


def _prune(target: PublicationTarget, keep: int, current: str) -> list[str]:
    """Delete the oldest publications beyond ``keep``: never ``current`` (just published) nor the one
    LATEST names (they differ when ``current`` was not made the latest)."""
    pubs = sorted(target.list_publications(), key=lambda p: (*_order(target, p), p))
    kept = {current, target.get_latest()}
    old = [p for p in pubs if p not in kept][: max(0, len(pubs) - max(keep, 1, len(kept & set(pubs))))]
    deleted = []
    for p in old:
        try:
            if isinstance(target, LocalFolderTarget):
                target.delete(p, pause=lambda: _pause("mid_prune"))
            else:
                target.delete(p)
        except PublicationInUse:
            log.info("publication %s is being read: kept, pruned by a later publish", p)
            continue
        deleted.append(p)
    return deleted


#: The manifest field naming the newest of each input a publication holds (``watermark_behind``).
WATERMARK = "watermark"


def watermark_behind(new: dict | None, current: dict | None) -> dict[str, tuple]:
    """The inputs of which a publication with watermark ``new`` holds older data than one with
    ``current``: ``{name: (new value, current value)}`` for each name both carry with comparable
    values (ISO dates or years as strings, or integers) where the new one is smaller. Empty when
    either has no watermark (publications from before watermarks)."""
    if not isinstance(new, dict) or not isinstance(current, dict):
        return {}
    behind = {}
    for name, value in sorted(new.items()):
        other = current.get(name)
        same_kind = (isinstance(value, str) and isinstance(other, str)) or (
            type(value) is int and type(other) is int
        )
        if same_kind and value < other:
            behind[name] = (value, other)
    return behind


def publish(
    target: PublicationTarget,
    files: dict[str, bytes | Path | pd.DataFrame],
    manifest_fields: dict,
    keep: int = 5,
    check: Callable[[dict[str, bytes]], list] | None = None,
    publication_id: str | None = None,
    allow_older: bool = False,
) -> PublicationInfo:
    """Write ``files`` ({relative path: bytes or path}) as a new publication and make it the latest.

    ``manifest_fields`` adds e.g. model_version, source_coverage, quality, disclosure (policy and
    suppression rates); ``id``, ``sequence``, ``created_at``, ``code_version`` and ``files`` are set here.
    ``check`` gets the staged files as read back and returns problems; any problem refuses the
    publication (the staging folder is left for the next run to sweep, ``LATEST`` is untouched).
    Without ``check``, a ``manifest_fields["disclosure"]["policy"]`` makes the disclosure
    verification of the published marts the check. DataFrame values are written as Parquet.

    LATEST never moves to older data: when ``manifest_fields["watermark"]`` (the newest week, year,
    ... of each input the publication holds) is behind the current latest publication's on any input
    both name (a backfill of old weeks that finishes after this week's run), the publication is
    written, verified and kept, but LATEST stays; the manifest says so under ``not_latest``, as do
    the returned ``PublicationInfo`` (``is_latest``, ``not_latest_reason``), the log and the
    publications folder's ``publish_log.jsonl``. ``allow_older=True`` switches anyway (a deliberate
    republication of less data).
    """
    if MANIFEST in files:
        raise ValueError("publish: manifest.json is written by publish itself")
    check_file_set([*files, MANIFEST])  # one folder on any disk, so every municipality can pull it
    lock = target.lock() if hasattr(target, "lock") else contextlib.nullcontext()
    with lock:  # one publish at a time per target: sweeping and pruning see no one else's work
        return _publish_locked(target, files, manifest_fields, keep, check, publication_id, allow_older)


def _older_than_latest(target: PublicationTarget, watermark) -> tuple[str | None, dict]:
    """The latest publication's id and the inputs a publication with ``watermark`` holds older data of."""
    current = target.get_latest()
    if current is None or watermark is None:
        return current, {}
    try:
        theirs = read_manifest(target, current).get(WATERMARK)
    except (OSError, ValueError, AttributeError):
        return current, {}  # an unreadable latest manifest is nothing to keep LATEST on
    return current, watermark_behind(watermark, theirs)


def _publish_locked(target, files, manifest_fields, keep, check, publication_id, allow_older) -> PublicationInfo:
    target.sweep_staging()
    now = dt.datetime.now(dt.UTC)
    pub_id = publication_id or new_publication_id(now)
    if not PUBLICATION_ID_RE.match(pub_id) or pub_id in target.list_publications():
        raise ValueError(f"publish: {pub_id!r} is not a fresh publication id")
    check = check or _disclosure_check(manifest_fields)
    # publish order, given under the lock: one more than any publication in the target
    sequence = 1 + max((_order(target, p)[0] for p in target.list_publications()), default=0)
    # decided under the lock, before the manifest is written: only a publish moves LATEST
    latest_before, behind = _older_than_latest(target, manifest_fields.get(WATERMARK))
    reason = None
    if behind and not allow_older:
        reason = f"its data is older than the latest publication {latest_before}'s: " + ", ".join(
            f"{name} {mine} < {theirs}" for name, (mine, theirs) in behind.items()
        )
    manifest = {
        **manifest_fields,
        "id": pub_id,
        "sequence": sequence,
        "created_at": now.isoformat(timespec="microseconds"),
        "code_version": manifest_fields.get("code_version") or code_version(),
        "files": {},
    }
    if reason is not None:
        manifest["not_latest"] = {
            "latest": latest_before,
            "older": {name: {"this": mine, "latest": theirs} for name, (mine, theirs) in behind.items()},
        }
    for n, (relpath, item) in enumerate(sorted(files.items())):
        data = _to_bytes(item)
        target.write_staged(pub_id, check_relpath(relpath), data)
        manifest["files"][relpath] = describe_file(relpath, data)
        if n == 0:
            _pause("mid_staging")
    target.write_staged(
        pub_id,
        MANIFEST,
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default).encode(),
    )
    manifest = json.loads(target.read_staged(pub_id, MANIFEST))
    _pause("after_staging")
    _verify_staged(target, pub_id, manifest, check)
    target.promote(pub_id)
    _pause("after_move")
    _pause("before_pointer")
    if reason is None:
        target.set_latest(pub_id)
    else:
        log.warning("publication %s kept but not made the latest: %s", pub_id, reason)
    _pause("after_pointer")
    _log_publish(target, manifest, latest_before, reason)
    _prune(target, keep, pub_id)
    return PublicationInfo(
        pub_id, manifest["created_at"], manifest, _folder(target, pub_id), reason is None, reason
    )


def _log_publish(target: PublicationTarget, manifest: dict, latest_before: str | None, reason: str | None) -> None:
    """One line per publish in the target's publication log (``publish_log.jsonl`` in a local folder):
    which publication, whether it became the latest, and why not. A failure to log is a warning: the
    publication is made and LATEST already switched (or deliberately not)."""
    if not hasattr(target, "log_publish"):
        return
    entry = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "id": manifest["id"],
        "sequence": manifest["sequence"],
        "latest": reason is None,
        "latest_before": latest_before,
        WATERMARK: manifest.get(WATERMARK),
        "not_latest_reason": reason,
    }
    try:
        target.log_publish(entry)
    except OSError as exc:
        log.warning("publication log not written: %s", exc.strerror or exc)


def _folder(target: PublicationTarget, pub_id: str) -> Path | None:
    return target.path(pub_id) if hasattr(target, "path") else None


def read_manifest(target: PublicationTarget, pub_id: str) -> dict:
    return json.loads(target.read(pub_id, MANIFEST))


def latest(target: PublicationTarget) -> PublicationInfo | None:
    pub_id = target.get_latest()
    if pub_id is None:
        return None
    manifest = read_manifest(target, pub_id)
    return PublicationInfo(pub_id, manifest["created_at"], manifest, _folder(target, pub_id))


def verify_publication(target: PublicationTarget, pub_id: str) -> list[str]:
    """Problems with a promoted publication (missing files, hash mismatches); empty when intact."""
    problems = []
    manifest = read_manifest(target, pub_id)
    for relpath, entry in manifest["files"].items():
        try:
            data = target.read(pub_id, relpath)
        except OSError as exc:
            problems.append(f"{relpath}: {exc.strerror}")
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{relpath}: sha256 mismatch")
    return problems
