import os
from pathlib import Path

import pytest

from lagesbild.settings import Settings
from lagesbild.sources.select import population, snapshot_archive, verdict_paths
from lagesbild.sources.snapshots import FolderArchive, HttpArchive


def test_archive_choice(tmp_path):
    assert isinstance(snapshot_archive(Settings(snapshots_url="https://a.test/x")), HttpArchive)
    assert isinstance(snapshot_archive(Settings(snapshots_dir=tmp_path)), FolderArchive)
    assert isinstance(snapshot_archive(Settings(), demo_dir=tmp_path), FolderArchive)
    with pytest.raises(RuntimeError, match="LAGESBILD_SNAPSHOTS_URL"):
        snapshot_archive(Settings(source_mode="real"), demo_dir=tmp_path)


def test_verdict_inbox_folder(tmp_path):
    for name in ("b.xlsx", "a.csv", "~$a.xlsx", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in verdict_paths(Settings(verdicts_path=tmp_path))] == ["a.csv", "b.xlsx"]
    with pytest.raises(RuntimeError, match="LAGESBILD_VERDICTS_PATH"):
        verdict_paths(Settings(source_mode="real"))
    with pytest.raises(FileNotFoundError):
        verdict_paths(Settings(verdicts_path=Path(tmp_path / "missing.csv")))


def test_real_mode_without_key_refuses():
    with pytest.raises(RuntimeError, match="LAGESBILD_PSEUDONYM_KEY"):
        Settings(source_mode="real").resolved_pseudonym_key()


def test_offline_population_in_demo_mode(tmp_path):
    from lagesbild.settings import REFERENCE_DIR
    from lagesbild.sources.pxweb import build_offline_population

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    frame = population(Settings(), [2024], offline_dir=tmp_path)
    assert frame.dropna(subset=["population"]).query(
        "region_code == '05' and year == 2024"
    ).population.tolist() == [472446]


def test_the_inbox_files_in_other_formats_are_listed_for_refusal(tmp_path):
    """An old .xls or an .ods register is not read, and must not be missed silently: the ingest lists it."""
    from lagesbild.sources.reference import load_municipalities
    from lagesbild.sources.select import verdict_inbox_ignored
    from lagesbild.sources.verdicts import ingest_register

    for name in ("a.csv", "register 2023.xls", "b.ods", "notes.txt", "~$a.xlsx", ".~lock.a.csv#", ".DS_Store",
                 "B 1234-21 dom.pdf"):
        (tmp_path / name).write_text("x")
    settings = Settings(verdicts_path=tmp_path)
    assert [p.name for p in verdict_paths(settings)] == ["a.csv"]
    ignored = verdict_inbox_ignored(settings)
    assert [p.name for p in ignored] == ["B 1234-21 dom.pdf", "b.ods", "notes.txt", "register 2023.xls"]
    assert verdict_inbox_ignored(Settings(verdicts_path=tmp_path / "a.csv")) == []
    (tmp_path / "a.csv").write_text("Målnummer;Domstol;Beslutstyp;Beslutsdatum;Brottsdatum;Ålder;Fullbordat\n")
    result = ingest_register(verdict_paths(settings), b"k", load_municipalities(), ignored=ignored)
    assert [(r["file"], r["reason"]) for r in result.metadata["refused_files"]] == [
        ("ignored file 1 (withheld: a phone number)", "not_a_register_file"),  # a judgment named by its case
        ("b.ods", "not_a_register_file"), ("notes.txt", "not_a_register_file"),
        ("register 2023.xls", "not_a_register_file"),
    ]


def test_hidden_files_named_like_a_register_and_folders_are_refused_not_read(tmp_path):
    """macOS writes '._<name>' (binary metadata) beside every file copied to a share or a USB stick: read as a
    workbook it failed the whole verdict run. Hidden files are not read; those named like a register are
    listed as refused (``hidden_file``), other hidden files (.DS_Store) are not."""
    from lagesbild.sources.reference import load_municipalities
    from lagesbild.sources.select import verdict_inbox_ignored
    from lagesbild.sources.verdicts import ingest_register

    header = "Målnummer;Domstol;Beslutstyp;Beslutsdatum;Brottsdatum;Ålder;Fullbordat\n"
    (tmp_path / "a.csv").write_text(header + "B 1-24;Linköpings tingsrätt;dom;2024-05-02;2024-04-01;40;ja\n")
    (tmp_path / "._a.csv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (tmp_path / "._b.xlsx").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "arkiv 2023").mkdir()  # a folder of old registers: listed once, its files not read
    (tmp_path / "arkiv 2023" / "domar.csv").write_text(header)
    (tmp_path / ".git").mkdir()
    # neither a file nor a folder (a link to a share that is not mounted, a pipe): not listed at all before
    (tmp_path / "domar 2024.xlsx").symlink_to(tmp_path / "unmounted" / "domar 2024.xlsx")
    os.mkfifo(tmp_path / "export.csv")
    settings = Settings(verdicts_path=tmp_path)
    assert [p.name for p in verdict_paths(settings)] == ["a.csv"]
    ignored = verdict_inbox_ignored(settings)
    assert [p.name for p in ignored] == ["._a.csv", "._b.xlsx", "arkiv 2023", "domar 2024.xlsx", "export.csv"]
    result = ingest_register(verdict_paths(settings), b"k", load_municipalities(), ignored=ignored)
    assert len(result.rows) == 1
    assert [(r["file"], r["reason"]) for r in result.metadata["refused_files"]] == [
        ("._a.csv", "hidden_file"), ("._b.xlsx", "hidden_file"), ("arkiv 2023", "in_subfolder"),
        ("domar 2024.xlsx", "unreadable"), ("export.csv", "unreadable")]
    # a hidden register named as the path itself is read (it was asked for)
    assert verdict_paths(Settings(verdicts_path=tmp_path / "._a.csv")) == [tmp_path / "._a.csv"]


def _register_halves(folder: Path) -> tuple[Path, bytes, bytes]:
    """A register cut at a line end (a copy in progress reads as a smaller, valid register)."""
    from lagesbild.demo.verdicts import SWEDISH_HEADERS

    row = "B {n}-24;Linköpings tingsrätt;dom;2024-05-01;2024-03-01;33;;0580;0580;annat;;fullbordat"
    text = "\n".join([";".join(SWEDISH_HEADERS), *(row.format(n=n) for n in range(1, 41))]) + "\n"
    full = text.encode()
    return folder / "register.csv", full, full[: full.index(b"\n", len(full) // 2) + 1]


def _ingest(files, ignored):
    from lagesbild.sources.reference import load_municipalities
    from lagesbild.sources.verdicts import ingest_register

    return ingest_register(files, b"k", load_municipalities(), ignored=ignored)


def test_a_register_still_being_copied_is_never_ingested_as_a_smaller_one(tmp_path):
    """The inbox sensor waits for a register to settle, but the run it launches (or the weekly
    schedule's) reads the inbox later: a copy that started meanwhile was read as half a register, 20
    of its 40 verdicts, without an error. The run waits for the inbox to settle, and reads it again
    when a file changed during the read (here: the copy goes on while the ingest reads)."""
    import os
    import time

    from lagesbild.sources.select import read_verdict_inbox

    register, full, half = _register_halves(tmp_path)
    register.write_bytes(half)
    os.utime(register, (time.time() - 60,) * 2)  # settled as far as the clock tells
    calls = []

    def copy_goes_on(files, ignored):
        calls.append(1)
        result = _ingest(files, ignored)
        if len(calls) == 1:
            with open(register, "ab") as fh:
                fh.write(full[len(half) :])
        return result

    files, result = read_verdict_inbox(Settings(verdicts_path=tmp_path, verdict_settle_seconds=0.05), copy_goes_on)
    assert files == [register] and len(calls) == 2
    assert len(result.rows) == 40 and not len(result.quarantine)


def test_the_run_waits_for_a_fresh_register_and_gives_up_on_one_that_never_settles(tmp_path):
    import os
    import threading
    import time

    from lagesbild.sources.select import InboxNotSettled, read_verdict_inbox

    register, full, half = _register_halves(tmp_path)
    register.write_bytes(half)  # modified just now: an upload in progress
    rest = threading.Timer(0.1, lambda: register.write_bytes(full))
    rest.start()
    started = time.monotonic()
    _, result = read_verdict_inbox(Settings(verdicts_path=tmp_path, verdict_settle_seconds=0.25), _ingest)
    rest.join()
    assert len(result.rows) == 40 and time.monotonic() - started >= 0.3

    os.utime(register, (time.time() + 86400,) * 2)  # an mtime ahead of the clock is no save in progress
    started = time.monotonic()
    read_verdict_inbox(Settings(verdicts_path=tmp_path, verdict_settle_seconds=5), _ingest)
    assert time.monotonic() - started < 2

    def never_settles(files, ignored):
        register.write_bytes(full)  # rewritten on every read, e.g. an editor autosaving
        return _ingest(files, ignored)

    with pytest.raises(InboxNotSettled, match="register.csv kept changing while it was read"):
        read_verdict_inbox(Settings(verdicts_path=tmp_path, verdict_settle_seconds=0.01), never_settles)
