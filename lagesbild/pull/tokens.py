"""Per-municipality tokens, stored only as sha256 hashes.

Tokens are 32 random bytes, so a plain sha256 is enough (no password stretching needed) and lets the
server find a token without a per-entry salt. Comparison is constant-time over every entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

MUNICIPALITY_RE = re.compile(
    r"^\d{2}(?:\d{2})?$"
)  # a municipality (0580) or, for county-level users, a county (05)


@dataclass(frozen=True)
class TokenEntry:
    token_id: str
    municipality: str
    sha256: str
    created_at: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)

    def entries(self) -> list[TokenEntry]:
        if not self.path.exists():
            return []
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        return [TokenEntry(**e) for e in raw.get("tokens", [])]

    def _save(self, entries: list[TokenEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"tokens": [e.__dict__ for e in entries]}, fh, indent=2)
        os.replace(tmp, self.path)

    def create(self, municipality: str) -> tuple[TokenEntry, str]:
        """A new token for ``municipality``; the clear token is returned once and never stored."""
        if not MUNICIPALITY_RE.match(municipality):
            raise ValueError(
                f"municipality must be a 4-digit code (or a 2-digit county code), got {municipality!r}"
            )
        token_id = secrets.token_hex(4)
        token = f"lbt_{token_id}_{secrets.token_urlsafe(32)}"
        entry = TokenEntry(
            token_id, municipality, _hash(token), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        )
        self._save([*self.entries(), entry])
        return entry, token

    def revoke(self, token_id: str | None = None, municipality: str | None = None) -> int:
        """Remove tokens by id or every token of a municipality; returns how many were removed."""
        if not token_id and not municipality:
            raise ValueError("revoke needs a token id or a municipality")
        keep, gone = [], 0
        for e in self.entries():
            if e.token_id == token_id or e.municipality == municipality:
                gone += 1
            else:
                keep.append(e)
        self._save(keep)
        return gone

    def authenticate(self, token: str) -> TokenEntry | None:
        """The entry of ``token``, compared in constant time against every stored hash."""
        digest = _hash(token)
        found = None
        for e in self.entries():
            if hmac.compare_digest(digest, e.sha256):
                found = e
        return found
