"""The pull server: each municipality reads its own files and the county files of a publication.

Only paths listed in the publication's manifest are served, after a strict syntax check and a
resolve-inside-root check, so traversal in any encoding and symlinks out of the folder are refused.
Tokens arrive only in the Authorization header and are never logged (the access log names the
token id and municipality).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lagesbild.publication.layout import visible_to
from lagesbild.publication.target import LATEST, PUBLICATION_ID_RE, check_relpath
from lagesbild.pull.tokens import TokenStore

log = logging.getLogger("lagesbild.pull.access")
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive), None to ignore the header (multiple ranges), or "unsatisfiable"."""
    if "," in header:
        return None
    m = RANGE_RE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return "unsatisfiable"
    if not m.group(1):  # suffix: the last n bytes
        n = int(m.group(2))
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else "unsatisfiable"
    start = int(m.group(1))
    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


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
        raw_path = request.scope.get("raw_path", b"").decode("latin-1")
        if entry is None:
            response = _error(401, "missing or unknown token")
        else:
            response = self._serve(request, entry.municipality)
        log.info(
            "%s %s %s municipality=%s token_id=%s",
            request.method,
            raw_path or request.url.path,
            response.status_code,
            entry.municipality if entry else "-",
            entry.token_id if entry else "-",
        )
        return response

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
        path = self.root / pub_id / relpath
        if path.is_symlink() or not path.resolve().is_relative_to(self.root / pub_id):
            return _error(404, "no such file in this publication")
        return self._file(request, path, entry)

    def _manifest(self, manifest: dict, municipality: str) -> Response:
        visible = dict(manifest)
        visible["files"] = {p: e for p, e in manifest["files"].items() if visible_to(p, municipality)}
        return JSONResponse(visible, headers={"Cache-Control": "no-cache"})

    def _file(self, request: Request, path: Path, entry: dict) -> Response:
        etag = f'"{entry["sha256"]}"'
        size = path.stat().st_size
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
        media = "application/vnd.apache.parquet" if path.suffix == ".parquet" else _media(path)
        if (inm := request.headers.get("if-none-match")) and _etag_matches(inm, etag):
            return Response(status_code=304, headers=headers)
        status, start, end = 200, 0, size - 1
        if (rng := request.headers.get("range")) is not None:
            parsed = _parse_range(rng, size)
            if parsed == "unsatisfiable":
                return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
            if parsed is not None:
                status, (start, end) = 206, parsed
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        headers["Content-Length"] = str(length)
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type=media)
        with open(path, "rb") as fh:
            fh.seek(start)
            body = fh.read(length)
        return Response(body, status_code=status, headers=headers, media_type=media)


def _media(path: Path) -> str:
    return {
        ".json": "application/json",
        ".html": "text/html; charset=utf-8",
        ".svg": "image/svg+xml",
        ".csv": "text/csv; charset=utf-8",
    }.get(path.suffix, "application/octet-stream")


def create_app(publications: Path | str, tokens: Path | str) -> Starlette:
    app = PullApp(publications, tokens)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def not_found(request: Request, exc) -> Response:
        return _error(404, "not found")

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/v1/publications/{pub_id}/{path:path}", app.handle, methods=["GET", "HEAD"]),
        ],
        exception_handlers={404: not_found},
    )


def serve(publications: Path | str, tokens: Path | str, host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(create_app(publications, tokens), host=host, port=port, access_log=False)
