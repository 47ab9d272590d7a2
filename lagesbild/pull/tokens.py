"""Per-municipality tokens, stored only as sha256 hashes, with a label and an expiry.

Tokens are 32 random bytes, so a plain sha256 is enough (no password stretching needed) and lets the
server find a token without a per-entry salt. Comparison is constant-time over every entry.

Every change (create, revoke, rotate) reads, modifies and writes the store while holding an
exclusive ``fcntl.flock`` on a lock file beside it, and the new store is written aside and
``os.replace``d, so concurrent commands are serialisable and a reader never sees a half-written
file. A running server reads the store on every request (and every 0.1 s of a download) and
parses it again when its bytes changed, so a revocation applies at once, without a restart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from lagesbild.fsutil import exclusive_lock, write_atomic

#: A municipality (0580) or, for county-level users, a county (05).
#: ASCII digits only, the whole string (``\d`` would take fullwidth or Arabic-Indic digits, and ``$``
#: a trailing newline): matched with ``fullmatch``.
MUNICIPALITY_RE = re.compile(r"[0-9]{2}(?:[0-9]{2})?")
LABEL_MAX = 80
DEFAULT_TTL_DAYS = 365
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
log = logging.getLogger(__name__)


class TokenStoreError(RuntimeError):
    """The store file is not a token list (truncated, hand-edited, another format): nothing in it is
    trusted, and it is not changed. The message names the file and the position, never its content."""


@dataclass(frozen=True)
class TokenEntry:
    token_id: str
    municipality: str
    sha256: str
    created_at: str
    label: str = ""
    expires_at: str | None = None  # ISO timestamp (UTC); None: never expires

    def expired(self, now: dt.datetime | None = None) -> bool:
        if not self.expires_at:
            return False
        return (now or dt.datetime.now(dt.UTC)) >= dt.datetime.fromisoformat(self.expires_at)


_FIELDS = {f.name for f in fields(TokenEntry)}


def _entry(raw) -> TokenEntry | None:
    """The entry ``raw`` as ``create`` writes it, or None."""
    if not isinstance(raw, dict) or not set(raw) <= _FIELDS:
        return None
    text = ("token_id", "municipality", "sha256", "created_at", "label")
    if not all(isinstance(raw.get(k, ""), str) for k in text) or not {"token_id", "municipality", "sha256"} <= set(raw):
        return None
    if not MUNICIPALITY_RE.fullmatch(raw["municipality"]) or not _SHA256_RE.fullmatch(raw["sha256"]):
        return None
    expires = raw.get("expires_at")
    if expires is not None:
        try:
            if not isinstance(expires, str) or dt.datetime.fromisoformat(expires).tzinfo is None:
                return None
        except ValueError:
            return None
    return TokenEntry(**{"created_at": "", **raw})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _check_label(label: str) -> str:
    label = label.strip()
    if len(label) > LABEL_MAX or any(ch in label for ch in "\t\r\n"):
        raise ValueError(f"label must be one line of at most {LABEL_MAX} characters")
    return label


class TokenStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock_path = self.path.with_name(f".{self.path.name}.lock")
        self._cache: tuple[bytes, list[TokenEntry]] | None = None
        self._cache_lock = threading.Lock()

    # reading -------------------------------------------------------------------------------------
    def _read(self) -> list[TokenEntry]:
        return self._parse(self._bytes())

    def _bytes(self) -> bytes:
        """The store file's bytes; none when it does not exist; ``TokenStoreError`` when it cannot be
        read (permissions, a folder in its place, an I/O error): fail closed, and say which file."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as err:
            raise TokenStoreError(
                f"token store {self.path} cannot be read ({err.strerror or type(err).__name__}): "
                "no token is accepted until it is repaired"
            ) from None

    def _parse(self, data: bytes, malformed: list | None = None) -> list[TokenEntry]:
        """The store's entries. Fails closed: a file that is not ``{"tokens": [...]}`` raises
        ``TokenStoreError``; an entry that is not what ``create`` writes (a scope of "" or "0" would
        match every municipality by prefix, an expiry without an offset cannot be compared) is left
        out, so it authenticates nothing, and logged by its position (and appended, as it was, to
        ``malformed``: a change to the store keeps it for whoever repairs it)."""
        if not data:
            return []
        try:
            tokens = json.loads(data)["tokens"]
        except json.JSONDecodeError as err:
            raise TokenStoreError(
                f"token store {self.path} is not valid JSON (line {err.lineno}, column {err.colno}): "
                "no token is accepted until it is repaired"
            ) from None
        except (UnicodeDecodeError, TypeError, KeyError):
            tokens = None
        if not isinstance(tokens, list):
            raise TokenStoreError(
                f'token store {self.path} is not {{"tokens": [...]}}: no token is accepted until it is repaired'
            )
        entries = []
        for number, raw in enumerate(tokens, start=1):
            entry = _entry(raw)
            if entry is None:
                log.error("token store %s: entry %d is malformed and authenticates nothing", self.path, number)
                if malformed is not None:
                    malformed.append(raw)
            else:
                entries.append(entry)
        return entries

    def entries(self) -> list[TokenEntry]:
        return self._read()

    def _current(self) -> list[TokenEntry]:
        """The entries as the file holds them now: it is read on every call (a few KiB) and parsed
        again only when its bytes changed. File metadata is not enough: a rotate writes a file of
        the same size, which can get a freed inode back within one tick of the coarse mtime clock."""
        data = self._bytes()
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == data:
                return self._cache[1]
        entries = self._parse(data)
        with self._cache_lock:
            self._cache = (data, entries)
        return entries

    # writing -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[TokenEntry]]:
        """Hold the exclusive store lock; yields the current entries (mutate the list to change them)."""
        with exclusive_lock(self._lock_path, mode=0o600):
            malformed: list = []
            entries = self._parse(self._bytes(), malformed)
            before = list(entries)
            yield entries
            if entries != before:
                self._save(entries, malformed)

    def _save(self, entries: list[TokenEntry], malformed: list = ()) -> None:
        """Write the entries, and the malformed ones as they were (never dropped silently)."""
        tokens = [asdict(e) for e in entries] + list(malformed)
        write_atomic(self.path, json.dumps({"tokens": tokens}, indent=2), mode=0o600)

    @staticmethod
    def _new(municipality: str, label: str, ttl_days: float | None) -> tuple[TokenEntry, str]:
        if not isinstance(municipality, str) or not MUNICIPALITY_RE.fullmatch(municipality):
            raise ValueError(
                f"municipality must be a 4-digit code (or a 2-digit county code), got {municipality!r}"
            )
        if ttl_days is not None and ttl_days <= 0:
            raise ValueError("the token's lifetime must be positive (days)")
        token_id = secrets.token_hex(4)
        token = f"lbt_{token_id}_{secrets.token_urlsafe(32)}"
        now = _now()
        expires = (now + dt.timedelta(days=ttl_days)).isoformat() if ttl_days is not None else None
        entry = TokenEntry(
            token_id, municipality, _hash(token), now.isoformat(), _check_label(label), expires
        )
        return entry, token

    def create(
        self, municipality: str, label: str = "", ttl_days: float | None = DEFAULT_TTL_DAYS
    ) -> tuple[TokenEntry, str]:
        """A new token for ``municipality``; the clear token is returned once and never stored."""
        entry, token = self._new(municipality, label, ttl_days)
        with self._locked() as entries:
            entries.append(entry)
        return entry, token

    def revoke(self, token_id: str | None = None, municipality: str | None = None) -> int:
        """Remove tokens by id or every token of a municipality; returns how many were removed."""
        if not token_id and not municipality:
            raise ValueError("revoke needs a token id or a municipality")
        with self._locked() as entries:
            keep = [e for e in entries if not (e.token_id == token_id or e.municipality == municipality)]
            gone = len(entries) - len(keep)
            entries[:] = keep
        return gone

    def rotate(self, token_id: str, ttl_days: float | None = DEFAULT_TTL_DAYS) -> tuple[TokenEntry, str]:
        """Replace token ``token_id`` by a new one (same municipality and label) in one locked step."""
        with self._locked() as entries:
            old = next((e for e in entries if e.token_id == token_id), None)
            if old is None:
                raise KeyError(f"no token with id {token_id!r}")
            entry, token = self._new(old.municipality, old.label, ttl_days)
            entries[:] = [e for e in entries if e.token_id != token_id] + [entry]
        return entry, token

    def authenticate(self, token: str) -> TokenEntry | None:
        """The entry of ``token`` if it is stored and not expired, compared in constant time against
        every stored hash; the store is re-read when it changed since the last call."""
        digest = _hash(token)
        found = None
        for e in self._current():
            if hmac.compare_digest(digest, e.sha256):
                found = e
        if found is not None and found.expired():
            return None
        return found
