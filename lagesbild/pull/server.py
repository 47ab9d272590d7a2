"""The pull server: each municipality reads its own files and the county files of a publication.

Only paths listed in the publication's manifest are served, after a strict syntax check; then every
path component from the publications folder down is checked with ``lstat``: directories and a
regular file, never a symbolic link, so a link inside a publication (``municipalities/0580/sub ->
../0581``) is refused rather than followed. Files go out through Starlette's ``FileResponse``, which
implements Range and If-Range (the ETag is the file's sha256, so a resumed download of a
``latest/...`` URL after ``LATEST`` moved gets the whole new file, not a mix). Request headers are
bounded (431, logged). Tokens arrive only in the Authorization header and are never logged: the
access log names the token id, its label and the municipality, the path, status and bytes sent.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from lagesbild.publication.layout import visible_to
from lagesbild.publication.target import LATEST, PUBLICATION_ID_RE, check_relpath
from lagesbild.pull.tokens import TokenStore

log = logging.getLogger("lagesbild.pull.access")
#: Longest accepted request header value, and all header bytes together: a Range or If-Range of
#: thousands of characters is misuse, answered 431 and logged, never parsed.
MAX_HEADER_VALUE = 1024
MAX_HEADERS_TOTAL = 8192
ACCESS_SCOPE_KEY = "lagesbild.access"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _regular_file_inside(root: Path, relparts: list[str]) -> os.stat_result | None:
    """lstat of ``root/relparts`` when every component below ``root`` is a real directory and the
    last a regular file (no symbolic link anywhere); else None."""
    current = root
    for n, part in enumerate(relparts):
        current = current / part
        try:
            st = os.lstat(current)
        except OSError:
            return None
        last = n == len(relparts) - 1
        if (last and not stat.S_ISREG(st.st_mode)) or (not last and not stat.S_ISDIR(st.st_mode)):
            return None
    return st


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


class PullApp:
    def __init__(self, publications: Path | str, tokens: Path | str):
        self.root = Path(publications).resolve()
        self.tokens = TokenStore(tokens)

    def _auth(self, request: Request):
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            return None
        return self.tokens.authenticate(header[7:].strip())

    def _publication(self, pub_id: str) -> tuple[str, dict] | None:
        if pub_id == "latest":
            try:
                pub_id = (self.root / LATEST).read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                return None
        if not PUBLICATION_ID_RE.match(pub_id) or not (self.root / pub_id).is_dir():
            return None
        return pub_id, json.loads((self.root / pub_id / "manifest.json").read_text(encoding="utf-8"))

    async def handle(self, request: Request) -> Response:
        entry = self._auth(request)
        if entry is None:
            return _error(401, "missing, unknown, revoked or expired token")
        request.scope[ACCESS_SCOPE_KEY] = {
            "municipality": entry.municipality,
            "token_id": entry.token_id,
            "label": entry.label,
        }
        return self._serve(request, entry.municipality)

    def _serve(self, request: Request, municipality: str) -> Response:
        pub_id, relpath = request.path_params["pub_id"], request.path_params["path"]
        raw = request.scope.get("raw_path", b"")
        if b"%" in raw.split(b"/v1/publications/", 1)[-1] or b"\\" in raw:
            return _error(400, "encoded or backslash characters are not allowed in paths")
        try:
            check_relpath(relpath)
        except ValueError:
            return _error(400, "invalid path")
        found = self._publication(pub_id)
        if found is None:
            return _error(404, "no such publication")
        pub_id, manifest = found
        if relpath == "manifest.json":
            return self._manifest(manifest, municipality)
        entry = manifest["files"].get(relpath)
        if entry is None:
            return _error(404, "no such file in this publication")
        if not visible_to(relpath, municipality):
            return _error(403, "this token may not read that file")
        st = _regular_file_inside(self.root, [pub_id, *relpath.split("/")])
        if st is None:
            return _error(404, "no such file in this publication")
        return self._file(request, self.root / pub_id / relpath, st, entry)

    def _manifest(self, manifest: dict, municipality: str) -> Response:
        visible = dict(manifest)
        visible["files"] = {p: e for p, e in manifest["files"].items() if visible_to(p, municipality)}
        return JSONResponse(visible, headers={"Cache-Control": "no-cache"})

    def _file(self, request: Request, path: Path, st: os.stat_result, entry: dict) -> Response:
        etag = f'"{entry["sha256"]}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        media = "application/vnd.apache.parquet" if path.suffix == ".parquet" else _media(path)
        if (inm := request.headers.get("if-none-match")) and _etag_matches(inm, etag):
            return Response(status_code=304, headers={**headers, "Accept-Ranges": "bytes"})
        # Starlette's FileResponse: Range (single, suffix, multiple as multipart), 416, If-Range
        # against our ETag, HEAD without a body.
        return FileResponse(path, headers=headers, media_type=media, stat_result=st)


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
