"""The leak scan (lagesbild.privacy.scan) finds exactly what a substring test per needle finds."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from lagesbild.privacy.scan import Needles, find_identifiers

ALPHABET = "0127+- Bå\x00"


def _naive(text: str, needles: dict[str, str]) -> set[str]:
    return {kind for needle, kind in needles.items() if needle and needle in text}


@given(
    st.dictionaries(
        st.text(ALPHABET, min_size=1, max_size=6), st.sampled_from(["phone", "case"]), max_size=8
    ),
    st.text(ALPHABET, max_size=60),
)
def test_the_index_finds_a_needle_exactly_when_a_substring_test_does(needles, text):
    found = Needles(needles).find(text)
    expected = _naive(text, needles)
    assert (found is None) == (not expected)
    assert found is None or found in expected


def test_a_needle_is_found_anywhere_and_beside_a_longer_one_with_its_prefix():
    needles = Needles({"0701234567": "phone", "07012345678": "phone", "B 123-24": "case_number"})
    assert Needles({}).find("anything") is None
    assert needles.find("tel 07012345") is None
    assert needles.find("x070123456789") == "phone"
    assert needles.find("dom B 123-24.") == "case_number"
    assert needles.as_bytes().find("Målnr B 123-24".encode().decode("latin-1")) == "case_number"


def test_files_are_scanned_by_column_and_as_bytes_with_non_ascii(tmp_path):
    pq.write_table(
        pa.table({"ok": ["a", "b"], "leak": ["x", "ring 070-123 45 67 nu"]}), tmp_path / "t.parquet"
    )
    (tmp_path / "page.html").write_text("<p>Målnummer Ö 55-21</p>", encoding="utf-8")
    (tmp_path / "clean.txt").write_text("inget här", encoding="utf-8")
    findings = find_identifiers([tmp_path], extra={"070-123 45 67": "phone", "Ö 55-21": "case_number"})
    assert sorted((f.path.name, f.where, f.kind) for f in findings) == [
        ("page.html", "bytes", "case_number"),
        ("t.parquet", "leak", "phone"),
    ]
