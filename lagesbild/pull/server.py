"""The pull server: each municipality reads its own files and the county files of a publication.

Only paths listed in the publication's manifest are served, after a strict syntax check; the
publication folder is opened first, its manifest and then the file read through it one component
at a time (``openat``, ``O_NOFOLLOW``): directories and a regular file, never a symbolic link, so a
link inside a publication (``municipalities/0580/sub -> ../0581``) is refused rather than followed,
and manifest and file are of one publication even while publishes prune old ones (a ``latest``
request whose publication was pruned meanwhile resolves ``LATEST`` again). The token is checked
again every 0.1 s of a body (``RECHECK_SECONDS``), so a revoke or an expiry cuts a running download.
Files go out through Starlette's ``FileResponse``, which
implements Range and If-Range (the ETag is the file's sha256, so a resumed download of a
``latest/...`` URL after ``LATEST`` moved gets the whole new file, not a mix). Request headers are
bounded (431, logged). Tokens arrive only in the Authorization header and are never logged: the
access log names the token id, its label and the municipality, the path, status and bytes sent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import anyio
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from lagesbild.publication.layout import in_county, visible_to
from lagesbild.publication.target import LATEST, PUBLICATION_ID_RE, check_relpath
from lagesbild.pull.tokens import TokenStore, TokenStoreError

log = logging.getLogger("lagesbild.pull.access")
#: Longest accepted request header value, and all header bytes together: a Range or If-Range of
#: thousands of characters is misuse, answered 431 and logged, never parsed.
MAX_HEADER_VALUE = 1024
MAX_HEADERS_TOTAL = 8192
ACCESS_SCOPE_KEY = "lagesbild.access"
#: How often a running download checks that its token is still valid (seconds): a revoke or an
#: expiry stops it within this time (checking every 64 KiB chunk cost a third of the throughput).
RECHECK_SECONDS = 0.1


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _etag_matches(header: str, etag: str, strong: bool = False) -> bool:
    """Whether ``header`` (a list of entity tags, or ``*``) names ``etag``; weak comparison for
    If-None-Match, strong (a ``W/`` tag never matches) for If-Match."""
    tags = [t.strip() for t in header.split(",")]
    if not strong:
        tags = [t.removeprefix("W/") for t in tags]
    return "*" in tags or etag in tags


class _AccessEnded(Exception):
    """The token was revoked or expired while its download was running: the transfer stops."""


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _open_inside(dir_fd: int, relparts: list[str]) -> BinaryIO | None:
    """Open ``relparts`` below the folder ``dir_fd`` one component at a time (``openat`` with
    ``O_NOFOLLOW``): real folders and a regular file, never a symbolic link, and no window between a
    check and the open. Once open, the file is served whole even if its publication is deleted."""
    fds = [os.dup(dir_fd)]
    try:
        for part in relparts[:-1]:
            fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1]))
        fd = os.open(relparts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fds[-1])
    except OSError:
        return None
    finally:
        for f in fds:
            os.close(f)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


class _OpenFileResponse(FileResponse):
    """Starlette's FileResponse (Range, multipart ranges, If-Range, 416, HEAD) over a file opened
    beforehand, re-checking every ``RECHECK_SECONDS`` of a transfer that the token is still valid."""

    def __init__(self, path: Path, fh: BinaryIO, still_allowed: Callable[[], bool], **kwargs):
        super().__init__(path, stat_result=os.fstat(fh.fileno()), **kwargs)
        self._fh, self._still_allowed = fh, still_allowed

    # The one private hook taken: Starlette opens ``self.path`` itself, and a publication pruned
    # mid-transfer would then be a 404 or a cut body; serving the handle opened before the answer
    # needs its file opener. tests/pull/test_pull_races.py fails if a Starlette upgrade drops it.
    @contextlib.asynccontextmanager
    async def _open_file(self):
        yield anyio.wrap_file(self._fh)  # closed in __call__, once, whatever the ranges

    async def __call__(self, scope, receive, send):
        # Only the strong ETag (the sha256) validates a resumed range. Starlette also accepts the
        # Last-Modified date, whose one-second resolution cannot tell apart two publications written
        # in one second: a resumed ``latest/...`` download would splice two files. An If-Range that
        # is not the ETag asks for the whole file (RFC 9110, 13.1.5), so the request goes on
        # without its Range.
        if_range = Headers(scope=scope).get("if-range")
        if if_range is not None and if_range != self.headers["etag"]:
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]}
        checked = time.monotonic()

        async def guarded(message):
            nonlocal checked
            if message["type"] == "http.response.body" and time.monotonic() - checked >= RECHECK_SECONDS:
                if not self._still_allowed():
                    raise _AccessEnded
                checked = time.monotonic()
            await send(message)

        try:
            await super().__call__(scope, receive, guarded)
        finally:
            self._fh.close()


class AccessLog:
    """ASGI middleware: one line per request (who, what, status, bytes), bounded request headers.

    The handler puts the authenticated token's id, label and municipality into the scope; the line
    is written when the response is finished (or failed: status 500), so every request is logged.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = {"status": 500, "bytes": 0}

        async def counting_send(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        headers = scope.get("headers", [])
        too_big = any(len(v) > MAX_HEADER_VALUE for _, v in headers) or (
            sum(len(k) + len(v) for k, v in headers) > MAX_HEADERS_TOTAL
        )
        try:
            if too_big:
                scope[ACCESS_SCOPE_KEY] = {"note": "header too large"}
                await _error(431, "request header too large")(scope, receive, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        except _AccessEnded:  # the connection is closed mid-body: the client sees a cut transfer
            scope.setdefault(ACCESS_SCOPE_KEY, {})["note"] = "token revoked or expired during transfer"
        finally:
            _log_access(scope, sent["status"], sent["bytes"])


def _log_access(scope, status: int, nbytes: int) -> None:
    who = scope.get(ACCESS_SCOPE_KEY) or {}
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    path = raw.decode("latin-1")
    path = json.dumps(path[:300] + ("…" if len(path) > 300 else ""), ensure_ascii=True)
    log.info(
        "%s %s status=%s bytes=%d municipality=%s token_id=%s label=%s%s",
        scope.get("method", "-"),
        path,
        status,
        nbytes,
        who.get("municipality", "-"),
        who.get("token_id", "-"),
        json.dumps(who.get("label", ""), ensure_ascii=False),
        f" note={json.dumps(who['note'])}" if "note" in who else "",
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        return None
    return header[7:].strip()


class PullApp:
    def __init__(self, publications: Path | str, tokens: Path | str):
        self.root = Path(publications).resolve()
        self.tokens = TokenStore(tokens)

    def _resolve(self, pub_id: str, relpath: str) -> tuple[str, dict, BinaryIO | None] | None:
        """(id, manifest, open file or None) of ``pub_id`` (an id or ``latest``), or None.

        The publication folder is opened first and the manifest and the file read through it, so the
        manifest and the file are of one publication. A publication pruned meanwhile is gone for an
        explicit id (None: 404); for ``latest`` it means LATEST has moved on, so it is read again."""
        for _ in range(5):
            name = pub_id
            if pub_id == "latest":
                try:
                    name = (self.root / LATEST).read_text(encoding="utf-8").strip()
                except FileNotFoundError:
                    return None
            if not PUBLICATION_ID_RE.match(name):
                return None
            try:
                dir_fd = os.open(self.root / name, _DIR_FLAGS)
            except OSError:
                if pub_id == "latest":
                    continue
                return None
            try:
                manifest_file = _open_inside(dir_fd, ["manifest.json"])
                if manifest_file is None:
                    if pub_id == "latest":
                        continue
                    return None
                with manifest_file:
                    manifest = json.loads(manifest_file.read())
                if relpath == "manifest.json" or relpath not in manifest["files"]:
                    return name, manifest, None
                fh = _open_inside(dir_fd, relpath.split("/"))
                if fh is None and pub_id == "latest" and not os.path.isdir(self.root / name):
                    continue  # pruned between the manifest and the file
                return name, manifest, fh
            finally:
                os.close(dir_fd)
        return None

    async def handle(self, request: Request) -> Response:
        token = _bearer(request)
        try:
            entry = self.tokens.authenticate(token) if token else None
        except TokenStoreError as exc:  # fail closed, and say so: not "your token is wrong" (401)
            request.scope[ACCESS_SCOPE_KEY] = {"note": "token store unreadable"}
            log.error("%s", exc)
            return _error(503, "the server cannot check tokens now; try again later")
        if entry is None:
            response = _error(401, "missing, unknown, revoked or expired token")
            response.headers["WWW-Authenticate"] = "Bearer"  # RFC 6750; no detail on what was wrong
            return response
        request.scope[ACCESS_SCOPE_KEY] = {
            "municipality": entry.municipality,
            "token_id": entry.token_id,
            "label": entry.label,
        }

        def still_allowed() -> bool:
            try:
                now = self.tokens.authenticate(token)
            except TokenStoreError:
                return False
            return now is not None and now.token_id == entry.token_id

        return self._serve(request, entry.municipality, still_allowed)

    def _serve(self, request: Request, municipality: str, still_allowed: Callable[[], bool]) -> Response:
        pub_id, relpath = request.path_params["pub_id"], request.path_params["path"]
        raw = request.scope.get("raw_path", b"")
        if b"%" in raw.split(b"/v1/publications/", 1)[-1] or b"\\" in raw:
            return _error(400, "encoded or backslash characters are not allowed in paths")
        try:
            check_relpath(relpath)
        except ValueError:
            return _error(400, "invalid path")
        if relpath != "manifest.json" and not visible_to(relpath, municipality):
            return _error(403, "this token may not read that file")
        found = self._resolve(pub_id, relpath)
        if found is None:
            return _error(404, "no such publication")
        pub_id, manifest, fh = found
        if not in_county(municipality, manifest.get("county_code")):  # another county's publication
            if fh is not None:
                fh.close()
            return _error(403, "this token may not read that file")
        if relpath == "manifest.json":
            return self._manifest(manifest, municipality)
        entry = manifest["files"].get(relpath)
        if entry is None or fh is None:
            if fh is not None:
                fh.close()
            return _error(404, "no such file in this publication")
        return self._file(request, self.root / pub_id / relpath, fh, entry, still_allowed)

    def _manifest(self, manifest: dict, municipality: str) -> Response:
        visible = dict(manifest)
        visible["files"] = {p: e for p, e in manifest["files"].items() if visible_to(p, municipality)}
        return JSONResponse(visible, headers={"Cache-Control": "no-cache"})

    def _file(self, request: Request, path: Path, fh: BinaryIO, entry: dict, still_allowed) -> Response:
        etag = f'"{entry["sha256"]}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        media = "application/vnd.apache.parquet" if path.suffix == ".parquet" else _media(path)
        if (im := request.headers.get("if-match")) is not None and not _etag_matches(im, etag, strong=True):
            fh.close()  # RFC 9110: a client that names the version it wants gets that one or nothing
            return Response(status_code=412, headers=headers)
        if (inm := request.headers.get("if-none-match")) and _etag_matches(inm, etag):
            fh.close()
            return Response(status_code=304, headers={**headers, "Accept-Ranges": "bytes"})
        # Starlette's FileResponse: Range (single, suffix, multiple as multipart), 416, If-Range
        # against our ETag, HEAD without a body.
        return _OpenFileResponse(path, fh, still_allowed, headers=headers, media_type=media)


def _media(path: Path) -> str:
    return {
        ".json": "application/json",
        ".html": "text/html; charset=utf-8",
        ".svg": "image/svg+xml",
        ".csv": "text/csv; charset=utf-8",
    }.get(path.suffix, "application/octet-stream")


def create_app(publications: Path | str, tokens: Path | str) -> AccessLog:
    app = PullApp(publications, tokens)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def not_found(request: Request, exc) -> Response:
        return _error(404, "not found")

    starlette = Starlette(
        routes=[
            Route("/healthz", health),
            Route("/v1/publications/{pub_id}/{path:path}", app.handle, methods=["GET", "HEAD"]),
        ],
        exception_handlers={404: not_found},
    )
    return AccessLog(starlette)


def serve(
    publications: Path | str,
    tokens: Path | str,
    host: str = "127.0.0.1",
    port: int = 8765,
    access_log: Path | str | None = None,
) -> None:
    """Run the server; the access log goes to stderr and, when given, appended to ``access_log``."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if access_log is not None:
        Path(access_log).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(access_log, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    uvicorn.run(create_app(publications, tokens), host=host, port=port, access_log=False)
