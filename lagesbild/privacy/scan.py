"""Look for raw identifiers in files that left ingest: Parquet, DuckDB and text files.

The privacy promise is that no raw phone number, case number or personal identity number reaches
the warehouse or a published file. A byte grep is not enough for Parquet and DuckDB (their pages
are compressed), so those are read and every value is searched; other files are searched as
bytes (UTF-8). Findings name the file, the column and which kind of identifier, never the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from lagesbild.privacy.pseudonymise import normalise_case_number, normalise_phone

TEXT_SUFFIXES = {
    ".csv",
    ".json",
    ".jsonl",
    ".html",
    ".htm",
    ".svg",
    ".txt",
    ".md",
    ".yml",
    ".yaml",
    ".log",
    ".xml",
}


@dataclass(frozen=True)
class Finding:
    path: Path
    where: str  # column or "bytes"
    kind: str  # "phone" or "case_number" or the caller's label

    def __str__(self) -> str:  # safe to log: no value
        return f"{self.path} ({self.where}): a raw {self.kind}"


def phone_variants(raw_phones: Iterable[str]) -> set[str]:
    """Each raw number as written plus its E.164, E.164 without '+', and national (0...) forms."""
    variants = set()
    for raw in raw_phones:
        if raw and raw.strip():
            variants.add(raw.strip())
        e164 = normalise_phone(raw)
        if e164:
            variants |= {e164, e164[1:], "0" + e164[3:] if e164.startswith("+46") else e164}
    return variants


def case_number_variants(raw_case_numbers: Iterable[str]) -> set[str]:
    variants = set()
    for raw in raw_case_numbers:
        if raw and raw.strip():
            normalised = normalise_case_number(raw)
            variants |= {raw.strip(), normalised, normalised.replace(" ", "")}
    return variants


class Needles:
    """The identifiers searched for, indexed by their first ``width`` characters (``width`` = the
    shortest needle's length), so a text is read once, one dictionary lookup per position, instead
    of once per needle: a demo run's files against ~4,000 phone and case-number forms took minutes
    with a substring test per (value, needle) pair and take seconds this way."""

    def __init__(self, needles: dict[str, str]):
        wanted = {n: kind for n, kind in needles.items() if n}
        self.width = min((len(n) for n in wanted), default=0)
        self._by_prefix: dict[str, list[tuple[str, str]]] = {}
        for needle, kind in sorted(wanted.items()):
            self._by_prefix.setdefault(needle[: self.width], []).append((needle, kind))

    def find(self, text: str) -> str | None:
        """The kind of the first needle found in ``text``, or None."""
        width, candidates = self.width, self._by_prefix.get
        if not width:
            return None
        for i in range(len(text) - width + 1):
            for needle, kind in candidates(text[i : i + width], ()):
                if text.startswith(needle, i):
                    return kind
        return None

    def as_bytes(self) -> Needles:
        """The same needles for a byte search: UTF-8 bytes read as Latin-1 (one character a byte)."""
        return Needles(
            {n.encode("utf-8").decode("latin-1"): k for group in self._by_prefix.values() for n, k in group}
        )


def _scan_values(values: Iterable, needles: Needles) -> str | None:
    """Distinct values joined by a separator no needle holds, searched once."""
    text = "\x00".join({str(v) for v in values if v is not None})
    return needles.find(text)


def _scan_parquet(path: Path, needles: Needles) -> list[Finding]:
    table = pq.read_table(path)
    found = []
    for name in table.column_names:
        kind = _scan_values(table.column(name).unique().to_pylist(), needles)
        if kind:
            found.append(Finding(path, name, kind))
    return found


def _scan_duckdb(path: Path, needles: Needles) -> list[Finding]:
    from lagesbild.warehouse import connect

    found = []
    with connect(path, read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"'
            ).fetchall()
            kind = _scan_values((v[0] for v in values), needles)
            if kind:
                found.append(Finding(path, f"{schema}.{table}.{column}", kind))
    return found


def _is_sqlite(path: Path) -> bool:
    """Dagster's event log and run storage are SQLite files: their text is searched as bytes."""
    with path.open("rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def find_identifiers(
    paths: Iterable[Path],
    phones: Iterable[str] = (),
    case_numbers: Iterable[str] = (),
    extra: dict[str, str] | None = None,
) -> list[Finding]:
    """Every place one of the raw identifiers (or its normalised forms) occurs in ``paths``.

    Directories are walked. Parquet and DuckDB files are read value by value; files with a text
    suffix are searched as UTF-8 bytes; other files are searched as raw bytes too.
    """
    wanted = {v: "phone" for v in phone_variants(phones)}
    wanted |= {v: "case_number" for v in case_number_variants(case_numbers)}
    wanted |= extra or {}
    needles = Needles(wanted)
    byte_needles = needles.as_bytes()
    files = []
    for path in map(Path, paths):
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    found: list[Finding] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            found += _scan_parquet(path, needles)
        elif suffix in (".duckdb", ".db") and not _is_sqlite(path):
            found += _scan_duckdb(path, needles)
        else:
            kind = byte_needles.find(path.read_bytes().decode("latin-1"))
            if kind:
                found.append(Finding(path, "bytes", kind))
    return found
