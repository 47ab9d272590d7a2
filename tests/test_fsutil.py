"""lagesbild.fsutil: a file is replaced whole or not at all, with its mode from the first byte."""

from __future__ import annotations

import stat

import pytest

from lagesbild.fsutil import atomic_path, write_atomic


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_atomic(target, "först\n")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_mode_is_set_from_the_first_byte(tmp_path):
    target = write_atomic(tmp_path / "secret.csv", "a,b\n", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8") == "a,b\n"


def test_an_error_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
