"""Pull server over real loopback HTTP (uvicorn in a thread) and the pull command end to end."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import stat
import time

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from mart_frames import weekly_prevalence
from pull_server import raw_get, serving

from lagesbild.cli import main as cli_main
from lagesbild.disclosure import load_policy
from lagesbild.publication import LocalFolderTarget, publish_marts
from lagesbild.pull.tokens import TokenStore


def _marts() -> dict[str, pd.DataFrame]:
    return {"mart_prevalence_weekly": weekly_prevalence(3, {"0580": 14, "0581": 12, "0509": 3})}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("pull")
    pubs, tokens = root / "publications", root / "tokens.json"
    extra = {
        "reports/municipalities/0581/rapport.html": b"<p>0581</p>",
        "reports/county/rapport.html": b"<p>lan</p>",
        "reports/0581.html": b"<p>0581</p>",
        "reports/05.html": b"<p>lan</p>",
    }
    info = publish_marts(LocalFolderTarget(pubs), _marts(), load_policy(), "05", extra_files=extra)
    (pubs / info.id / "evil").symlink_to("/etc")
    store = TokenStore(tokens)
    _, t0580 = store.create("0580", label="Linköping")
    _, t0581 = store.create("0581")
    with serving(pubs, tokens) as port:
        yield {
            "url": f"http://127.0.0.1:{port}",
            "port": port,
            "id": info.id,
            "pubs": pubs,
            "tokens": tokens,
            "t0580": t0580,
            "t0581": t0581,
            "manifest": info.manifest,
        }


def _get(site, path, token=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(site["url"] + path, headers=headers, timeout=10)


def _raw(site, path, token):
    """A request with the path sent exactly as given (httpx would normalise dot segments)."""
    return raw_get(site["port"], path, token)


def test_own_and_county_files_readable_others_forbidden(site):
    base = f"/v1/publications/{site['id']}"
    own = _get(site, f"{base}/municipalities/0580/mart_prevalence_weekly.parquet", site["t0580"])
    assert own.status_code == 200
    assert own.headers["etag"] == f'"{hashlib.sha256(own.content).hexdigest()}"'
    assert _get(site, f"{base}/county/mart_prevalence_weekly.parquet", site["t0580"]).status_code == 200
    assert _get(site, f"{base}/reports/county/rapport.html", site["t0580"]).status_code == 200
    assert (
        _get(site, f"{base}/municipalities/0581/mart_prevalence_weekly.parquet", site["t0580"]).status_code
        == 403
    )
    assert _get(site, f"{base}/reports/municipalities/0581/rapport.html", site["t0580"]).status_code == 403
    assert _get(site, f"{base}/reports/municipalities/0581/rapport.html", site["t0581"]).status_code == 200
    assert _get(site, f"{base}/reports/0581.html", site["t0580"]).status_code == 403
    assert _get(site, f"{base}/reports/0581.html", site["t0581"]).status_code == 200
    assert _get(site, f"{base}/reports/05.html", site["t0580"]).status_code == 200
    assert _get(site, f"{base}/county/mart_prevalence_weekly.parquet").status_code == 401
    assert _get(site, f"{base}/county/mart_prevalence_weekly.parquet", "lbt_bogus_token").status_code == 401


def test_manifest_is_filtered(site):
    manifest = _get(site, "/v1/publications/latest/manifest.json", site["t0580"]).json()
    assert manifest["id"] == site["id"]
    assert not [p for p in manifest["files"] if "0581" in p or "0509" in p]
    assert "municipalities/0580/mart_prevalence_weekly.parquet" in manifest["files"]
    assert manifest["disclosure"]["suppression"]["mart_prevalence_weekly"]["active_advertisers"]["rate"] > 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/publications/latest/../../tokens.json",
        "/v1/publications/latest/county/../../../tokens.json",
        "/v1/publications/latest/%2e%2e/%2e%2e/tokens.json",
        "/v1/publications/latest/%2E%2E%2F%2E%2E%2Ftokens.json",
        "/v1/publications/latest/%252e%252e/%252e%252e/tokens.json",
        "/v1/publications/latest/..%5c..%5ctokens.json",
        "/v1/publications/latest/..\\..\\tokens.json",
        "/v1/publications/latest//etc/passwd",
        "/v1/publications/latest/evil/passwd",
        "/v1/publications/..%2f..%2ftokens.json/x",
        "/v1/publications/latest/municipalities/0580/../0581/mart_prevalence_weekly.parquet",
    ],
)
def test_traversal_attempts_fail(site, path):
    status, body = _raw(site, path, site["t0580"])
    assert status in (400, 403, 404), (status, body[:100])
    assert set(json.loads(body)) == {"error"}  # an error message, never file content


def test_symlink_out_of_the_publication_is_not_followed(site):
    listed = site["pubs"] / site["id"] / "reports/county/rapport.html"
    saved = listed.read_bytes()
    listed.chmod(0o644)
    listed.unlink()
    listed.symlink_to(site["tokens"])
    try:
        status, body = _raw(site, f"/v1/publications/{site['id']}/reports/county/rapport.html", site["t0580"])
        assert status == 404 and b"sha256" not in body
    finally:
        listed.unlink()
        listed.write_bytes(saved)
        listed.chmod(0o444)


def test_range_etag_and_head(site):
    path = f"/v1/publications/{site['id']}/county/mart_prevalence_weekly.parquet"
    full = _get(site, path, site["t0580"])
    size = len(full.content)
    part = _get(site, path, site["t0580"], Range="bytes=0-3")
    assert part.status_code == 206 and part.content == b"PAR1" == full.content[:4]
    assert part.headers["content-range"] == f"bytes 0-3/{size}"
    tail = _get(site, path, site["t0580"], Range="bytes=-8")
    assert tail.status_code == 206 and tail.content == full.content[-8:]
    assert _get(site, path, site["t0580"], Range=f"bytes={size}-").status_code == 416
    assert _get(site, path, site["t0580"], **{"If-None-Match": full.headers["etag"]}).status_code == 304
    assert _get(site, path, site["t0580"], **{"If-None-Match": '"deadbeef"'}).status_code == 200
    head = httpx.head(site["url"] + path, headers={"Authorization": f"Bearer {site['t0580']}"}, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == size and head.headers["etag"] == full.headers["etag"]


def test_access_log_names_who_what_status_bytes_and_no_tokens(site, caplog):
    path = f"/v1/publications/{site['id']}/county/mart_prevalence_weekly.parquet"
    with caplog.at_level(logging.INFO, logger="lagesbild.pull.access"):
        size = len(_get(site, path, site["t0580"]).content)
        _get(site, "/v1/publications/latest/manifest.json", "lbt_wrong_secretsecret")
        deadline = time.monotonic() + 5
        while "status=401" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    text = "\n".join(r.getMessage() for r in caplog.records)
    # GET: a line of an earlier test's HEAD of the same file may be written after that test returned
    line = next(
        x for x in text.splitlines() if x.startswith("GET") and "county/mart_prevalence_weekly.parquet" in x
    )
    assert "status=200" in line and f"bytes={size}" in line and "municipality=0580" in line
    assert 'label="Linköping"' in line
    assert "status=401" in text
    assert site["t0580"] not in text and "secretsecret" not in text
    assert oct(stat.S_IMODE(os.stat(site["tokens"]).st_mode)) == "0o600"
    assert site["t0580"] not in site["tokens"].read_text()


def test_pull_command_end_to_end(site, tmp_path, monkeypatch, capsys):
    dest = tmp_path / "linkoping"
    monkeypatch.setenv("LAGESBILD_PULL_TOKEN", site["t0580"])
    argv = ["pull", "--server", site["url"], "--dest", str(dest)]
    assert cli_main(argv) == 0
    first = capsys.readouterr().out
    df = pd.read_parquet(dest / "municipalities/0580/mart_prevalence_weekly.parquet")
    assert set(df["region_code"]) == {"0580", "05"}
    assert pq.read_table(dest / "county/mart_prevalence_weekly.parquet").num_rows == 3
    assert not (dest / "municipalities/0581").exists()
    assert "unchanged" in first
    assert cli_main(argv) == 0  # second pull: nothing changed, nothing downloaded
    assert "0 downloaded" in capsys.readouterr().out
    (dest / "county/mart_prevalence_weekly.parquet").write_bytes(b"local damage")
    assert cli_main(argv) == 0 and "1 downloaded" in capsys.readouterr().out


def test_tampered_file_on_server_fails_the_pull(site, tmp_path, monkeypatch, capsys):
    victim = site["pubs"] / site["id"] / "county/mart_prevalence_weekly.parquet"
    original = victim.read_bytes()
    victim.chmod(0o644)
    victim.write_bytes(original[:-10] + b"0123456789")
    try:
        monkeypatch.setenv("LAGESBILD_PULL_TOKEN", site["t0580"])
        code = cli_main(["pull", "--server", site["url"], "--dest", str(tmp_path / "d")])
        err = capsys.readouterr().err
        assert code == 1 and "sha256 mismatch" in err and "county/mart_prevalence_weekly.parquet" in err
        assert not (tmp_path / "d/county/mart_prevalence_weekly.parquet").exists()
        assert not (tmp_path / "d/manifest.json").exists()
    finally:
        victim.write_bytes(original)
        victim.chmod(0o444)


def test_token_commands(tmp_path, capsys):
    tokens = tmp_path / "t.json"
    assert cli_main(["token", "create", "--municipality", "0580", "--tokens", str(tokens)]) == 0
    token = capsys.readouterr().out.strip()
    store = TokenStore(tokens)
    assert store.authenticate(token).municipality == "0580"
    token_id = store.entries()[0].token_id
    assert cli_main(["token", "revoke", "--id", token_id, "--tokens", str(tokens)]) == 0
    assert store.authenticate(token) is None
    with pytest.raises(ValueError):
        store.create("580")


def test_multiple_ranges_come_as_multipart(site):
    path = f"/v1/publications/{site['id']}/county/mart_prevalence_weekly.parquet"
    full = _get(site, path, site["t0580"])
    both = _get(site, path, site["t0580"], Range="bytes=0-3,8-9")
    assert both.status_code == 206 and both.headers["content-type"].startswith("multipart/byteranges")
    assert full.content[:4] in both.content and full.content[8:10] in both.content


def test_if_range_with_another_version_gets_the_whole_file(site):
    """A resumed download whose If-Range names an older version (LATEST moved) must not get a 206
    with the new version's bytes spliced onto the old ones."""
    path = "/v1/publications/latest/county/mart_prevalence_weekly.parquet"
    full = _get(site, path, site["t0580"])
    same = _get(site, path, site["t0580"], Range="bytes=4-", **{"If-Range": full.headers["etag"]})
    assert same.status_code == 206 and same.content == full.content[4:]
    other = _get(site, path, site["t0580"], Range="bytes=4-", **{"If-Range": '"' + "0" * 64 + '"'})
    assert other.status_code == 200 and other.content == full.content


def test_symlinked_folder_inside_a_publication_does_not_cross_municipalities(site):
    """municipalities/0580/sub -> ../0581: a path through the link is listed in no manifest, and
    even a manifest entry naming it is not followed."""
    pub = site["pubs"] / site["id"]
    mine = pub / "municipalities/0580"
    mine.chmod(0o755)
    link = mine / "sub"
    link.symlink_to("../0581")
    manifest_path = pub / "manifest.json"
    saved = manifest_path.read_bytes()
    manifest = json.loads(saved)
    manifest["files"]["municipalities/0580/sub/mart_prevalence_weekly.parquet"] = manifest["files"][
        "municipalities/0581/mart_prevalence_weekly.parquet"
    ]
    manifest_path.chmod(0o644)
    manifest_path.write_text(json.dumps(manifest))
    try:
        url = f"/v1/publications/{site['id']}/municipalities/0580/sub/mart_prevalence_weekly.parquet"
        status, body = _raw(site, url, site["t0580"])
        assert status in (403, 404) and b"PAR1" not in body
    finally:
        link.unlink()
        manifest_path.write_bytes(saved)
        manifest_path.chmod(0o444)


def test_oversized_range_header_is_a_logged_4xx(site, caplog):
    path = f"/v1/publications/{site['id']}/county/mart_prevalence_weekly.parquet"
    with caplog.at_level(logging.INFO, logger="lagesbild.pull.access"):
        r = _get(site, path, site["t0580"], Range="bytes=" + "9" * 5000 + "-")
        deadline = time.monotonic() + 5
        while "status=431" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert r.status_code == 431 and set(r.json()) == {"error"}
    assert "status=431" in caplog.text and "header too large" in caplog.text
    assert site["t0580"] not in caplog.text
    # a malformed but short Range is a clean 4xx too, never a 500
    assert _get(site, path, site["t0580"], Range="bytes=x-y").status_code in (200, 400, 416)


def test_revoke_applies_to_a_running_server_and_a_new_publication_is_pulled(tmp_path, monkeypatch, capsys):
    pubs, tokens = tmp_path / "pubs", tmp_path / "tokens.json"
    target = LocalFolderTarget(pubs)
    marts = _marts()
    publish_marts(target, marts, load_policy(), "05", extra_files={"reports/0580.html": b"<p>v1</p>"})
    store = TokenStore(tokens)
    entry, token = store.create("0580")
    with serving(pubs, tokens) as port:
        url, dest = f"http://127.0.0.1:{port}", tmp_path / "dest"
        monkeypatch.setenv("LAGESBILD_PULL_TOKEN", token)
        assert cli_main(["pull", "--server", url, "--dest", str(dest)]) == 0
        assert (dest / "reports/0580.html").read_bytes() == b"<p>v1</p>"
        # a new publication: one mart changes, the report is gone
        marts["mart_prevalence_weekly"].loc[0, "active_advertisers"] = 20
        second = publish_marts(target, marts, load_policy(), "05")
        capsys.readouterr()
        assert cli_main(["pull", "--server", url, "--dest", str(dest)]) == 0
        out = capsys.readouterr().out
        assert second.id in out and "unchanged" in out
        assert not (dest / "reports/0580.html").exists()
        assert json.loads((dest / "manifest.json").read_text())["id"] == second.id
        store.revoke(token_id=entry.token_id)
        assert cli_main(["pull", "--server", url, "--dest", str(dest)]) == 1
        assert "401" in capsys.readouterr().err


class _HttpRangeFile(io.RawIOBase):
    """A read-only file over HTTP Range requests, the way DuckDB/Arrow remote readers fetch Parquet."""

    def __init__(self, url: str, token: str):
        self.url, self.headers, self.pos, self.requests = url, {"Authorization": f"Bearer {token}"}, 0, 0
        head = httpx.head(url, headers=self.headers, timeout=10)
        self.size = int(head.headers["content-length"])

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        self.pos = {io.SEEK_SET: offset, io.SEEK_CUR: self.pos + offset, io.SEEK_END: self.size + offset}[
            whence
        ]
        return self.pos

    def readinto(self, buffer):
        if self.pos >= self.size:
            return 0
        end = min(self.pos + len(buffer), self.size) - 1
        r = httpx.get(self.url, headers={**self.headers, "Range": f"bytes={self.pos}-{end}"}, timeout=10)
        assert r.status_code == 206
        self.requests += 1
        buffer[: len(r.content)] = r.content
        self.pos += len(r.content)
        return len(r.content)


def test_parquet_reads_over_range_requests(site):
    url = f"{site['url']}/v1/publications/{site['id']}/municipalities/0580/mart_prevalence_weekly.parquet"
    remote = _HttpRangeFile(url, site["t0580"])
    table = pq.ParquetFile(remote).read(columns=["region_code", "active_advertisers"])
    assert table.num_rows == 6 and remote.requests >= 2
    assert set(table.column("region_code").to_pylist()) == {"0580", "05"}
