"""The token store under concurrency and misuse: serialisable changes, expiry, labels, CLI errors."""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lagesbild.cli import main as cli_main
from lagesbild.pull.tokens import TokenStore


def test_twenty_rounds_of_concurrent_create_and_revoke_equal_the_serial_order(tmp_path):
    """Each round: 8 creates and 4 revokes of existing tokens at once (separate store objects, so
    separate lock descriptors, as separate processes would have). The store must hold exactly what
    any serial order gives: the previous tokens minus the revoked plus the created."""
    path = tmp_path / "tokens.json"
    expected: set[str] = set()
    seed = TokenStore(path)
    for _ in range(8):
        expected.add(seed.create("0580")[0].token_id)
    with ThreadPoolExecutor(max_workers=12) as pool:
        for round_no in range(20):
            victims = sorted(expected)[:4]
            barrier = threading.Barrier(12)

            def create(_, barrier=barrier, round_no=round_no):
                barrier.wait(timeout=10)
                return TokenStore(path).create("0581", label=f"round {round_no}")[0].token_id

            def revoke(token_id, barrier=barrier):
                barrier.wait(timeout=10)
                return TokenStore(path).revoke(token_id=token_id)

            created = pool.map(create, range(8))
            revoked = pool.map(revoke, victims)
            created, revoked = list(created), list(revoked)
            assert revoked == [1, 1, 1, 1], f"round {round_no}: a revoke missed its token"
            expected = (expected - set(victims)) | set(created)
            stored = [e.token_id for e in TokenStore(path).entries()]
            assert len(stored) == len(set(stored)) and set(stored) == expected, f"round {round_no}"


def test_revoked_token_is_refused_by_a_long_lived_store_at_once(tmp_path):
    """The server keeps one store object; it must see a revocation made by another process."""
    path = tmp_path / "tokens.json"
    server_view = TokenStore(path)
    entry, token = TokenStore(path).create("0580", label="Linköping")
    assert server_view.authenticate(token).label == "Linköping"
    assert TokenStore(path).revoke(token_id=entry.token_id) == 1
    assert server_view.authenticate(token) is None


def test_rotate_replaces_the_token_in_one_step(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    old, old_token = store.create("0580", label="Linköping analys")
    new, new_token = store.rotate(old.token_id)
    assert store.authenticate(old_token) is None
    assert store.authenticate(new_token) == new and new.label == "Linköping analys"
    assert [e.token_id for e in store.entries()] == [new.token_id]
    with pytest.raises(KeyError):
        store.rotate("nosuchid")


def test_expired_token_is_refused(tmp_path):
    path = tmp_path / "tokens.json"
    store = TokenStore(path)
    entry, token = store.create("0580", ttl_days=30)
    assert store.authenticate(token) is not None
    raw = json.loads(path.read_text())
    raw["tokens"][0]["expires_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(raw))
    assert store.authenticate(token) is None
    assert store.entries()[0].expired()


def test_token_cli_list_shows_labels_and_expiry_but_no_secret(tmp_path, capsys):
    tokens = str(tmp_path / "t.json")
    assert (
        cli_main(["token", "create", "--municipality", "0580", "--label", "Linköping", "--tokens", tokens])
        == 0
    )
    token = capsys.readouterr().out.strip()
    assert cli_main(["token", "list", "--tokens", tokens]) == 0
    listing = capsys.readouterr().out
    assert "Linköping" in listing and "0580" in listing and "active" in listing
    assert token not in listing and token.split("_")[-1] not in listing
    assert TokenStore(tokens).entries()[0].sha256 not in listing
    token_id = TokenStore(tokens).entries()[0].token_id
    assert cli_main(["token", "rotate", "--id", token_id, "--tokens", tokens]) == 0
    assert capsys.readouterr().out.strip() != token


def test_token_revoke_without_arguments_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["token", "revoke", "--tokens", str(tmp_path / "t.json")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err
    assert cli_main(["token", "create", "--municipality", "580", "--tokens", str(tmp_path / "t.json")]) == 2


@pytest.mark.parametrize("code", ["０５８０", "٠٥٨٠", "05８0", "0580\n", " 0580", "058"])
def test_municipality_codes_are_ascii_digits_only(tmp_path, code):
    """Unicode digits (fullwidth, Arabic-Indic) match ``\\d`` in Python: a token scoped to "０５８０"
    would not be the municipality 0580, nor refused."""
    with pytest.raises(ValueError, match="municipality must be"):
        TokenStore(tmp_path / "t.json").create(code)


def test_a_change_the_file_metadata_does_not_show_is_still_seen(tmp_path):
    """The server's store re-reads the file when it changed. A rotate gives a file of the same size,
    and a new file can get a freed inode back within one tick of the coarse mtime clock; simulated
    here by rewriting in place and restoring the mtime. The revoked token must still be refused."""
    import os

    path = tmp_path / "tokens.json"
    writer, server = TokenStore(path), TokenStore(path)
    entry, token = writer.create("0580")
    writer.create("0581")
    assert server.authenticate(token) == entry
    before = os.stat(path)
    data = json.loads(path.read_text())
    data["tokens"][0]["sha256"] = "0" * 64  # same size: the token is no longer stored
    with open(path, "r+") as fh:
        fh.write(json.dumps(data, indent=2))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    assert server.authenticate(token) is None


def test_processes_creating_and_revoking_at_once_lose_nothing_and_readers_see_whole_files(tmp_path):
    """Four processes create 15 tokens each and one revokes the seed tokens, all at once, while this
    process parses the store continuously: every read is a whole store, and the end holds exactly the
    60 created tokens, never a clear token."""
    import subprocess
    import sys

    path = tmp_path / "tokens.json"
    seed = TokenStore(path)
    seeds = [seed.create("0580")[0].token_id for _ in range(10)]
    create = "import sys\nfrom lagesbild.pull.tokens import TokenStore\n" + (
        "for _ in range(15): print(TokenStore(sys.argv[1]).create('0581')[1], flush=True)"
    )
    revoke = "import sys\nfrom lagesbild.pull.tokens import TokenStore\n" + (
        "for t in sys.argv[2:]: TokenStore(sys.argv[1]).revoke(token_id=t)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", create, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    procs.append(
        subprocess.Popen([sys.executable, "-c", revoke, str(path), *seeds], stdout=subprocess.PIPE, text=True)
    )
    reads = 0
    while any(p.poll() is None for p in procs):
        json.loads(path.read_text())  # never half a file
        reads += 1
    clear = [t for p in procs for t in p.communicate(timeout=60)[0].split()]
    assert [p.returncode for p in procs] == [0] * 5 and reads > 0
    entries = TokenStore(path).entries()
    assert len(entries) == 60 and all(e.municipality == "0581" for e in entries)
    text = path.read_text()
    assert len(clear) == 60 and not any(t in text for t in clear)
    assert all(TokenStore(path).authenticate(t) is not None for t in clear)


def _edit_entry(**change):
    def edit(text: str) -> str:
        data = json.loads(text)
        data["tokens"][0].update(change)
        return json.dumps(data)

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        _edit_entry(municipality=""),  # visible_to("municipalities/0581/x", "") was True
        _edit_entry(municipality="0"),
        _edit_entry(municipality="05 "),
        _edit_entry(municipality=None),
        _edit_entry(municipality=580),
        _edit_entry(expires_at="garbage"),
        _edit_entry(expires_at="2099-01-01T00:00:00"),  # no offset: cannot be compared with now
        _edit_entry(sha256=None),
        _edit_entry(label=["x"]),
        _edit_entry(valid_from="2000-01-01T00:00:00+00:00"),  # a field this version does not know
    ],
)
def test_a_hand_edited_entry_fails_closed_and_the_others_still_work(tmp_path, edit):
    """An entry that is not what ``create`` writes (a hand edit, another version) authenticates
    nothing: a scope of "" or "0" would make every municipality's files visible (``visible_to``
    matches by prefix), a broken expiry was an exception (500). The other entries keep working."""
    from lagesbild.publication.layout import visible_to

    path = tmp_path / "tokens.json"
    store = TokenStore(path)
    _, token = store.create("0580")
    other, other_token = store.create("0581")
    path.write_text(edit(path.read_text()))
    assert store.authenticate(token) is None
    assert store.authenticate(other_token) == other
    for scope in ("", "0", "05 ", "0580\n"):
        assert not visible_to("municipalities/0581/mart.parquet", scope)
    malformed = json.loads(path.read_text())["tokens"][0]
    store.create("0582")  # a change keeps the malformed entry as it was, for whoever repairs it
    assert json.loads(path.read_text())["tokens"][-1] == malformed and store.authenticate(token) is None


@pytest.mark.parametrize(
    "content",
    ['{"tokens": [{"token_id": "ab', "[]", '{"tokens": null}', '{"tokens": {}}', "\x00" * 8, "\ufeff{}", None],
)
def test_a_truncated_or_corrupt_store_fails_closed_with_a_clear_error(tmp_path, content):
    """A store that is not a token list is refused as a whole (TokenStoreError, the server answers 503
    and logs it), never read as some tokens; changing it is refused too (create would otherwise
    overwrite the tokens a repair could bring back). The message names the file, not its content."""
    from lagesbild.pull.tokens import TokenStoreError

    path = tmp_path / "tokens.json"
    store = TokenStore(path)
    _, token = store.create("0580")
    if content is None:  # unreadable (a folder in its place; permissions, which root here ignores)
        path.unlink()
        path.mkdir()
    else:
        path.write_text(content)
    with pytest.raises(TokenStoreError, match="tokens.json") as err:
        store.authenticate(token)
    assert token not in str(err.value) and "token_id" not in str(err.value)
    with pytest.raises(TokenStoreError):
        store.create("0581")
    assert path.is_dir() if content is None else path.read_text() == content


def test_the_server_and_the_token_commands_refuse_a_corrupt_store_plainly(tmp_path, capsys, caplog):
    """The server answers 503 (the pull client retries; a 401 would tell a municipality its token is
    wrong), logs why, never 500; ``token list`` and ``token create`` exit 1 naming the file."""
    import httpx

    from lagesbild.publication import LocalFolderTarget, publish
    from tests.pull.pull_server import serving

    pubs, path = tmp_path / "pubs", tmp_path / "tokens.json"
    publish(LocalFolderTarget(pubs), {"county/a.csv": b"a"}, {})
    _, token = TokenStore(path).create("0580")
    path.write_text(path.read_text()[:40])
    with serving(pubs, path) as port, caplog.at_level("INFO", logger="lagesbild.pull"):
        r = httpx.get(
            f"http://127.0.0.1:{port}/v1/publications/latest/county/a.csv",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert r.status_code == 503 and token not in r.text
    assert any("token store unreadable" in m for m in caplog.messages)
    assert all(token not in m for m in caplog.messages)
    for command in (["list"], ["create", "--municipality", "0581"]):
        assert cli_main(["token", *command, "--tokens", str(path)]) == 1
        assert "tokens.json is not valid JSON" in capsys.readouterr().err
