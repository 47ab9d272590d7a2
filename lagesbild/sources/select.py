"""Pick each source's reader from Settings, so the Dagster assets stay one line per source.

Demo mode reads the generated demo under ``<data_dir>/demo/inputs``; ``LAGESBILD_SOURCE_MODE=real``
reads the configured endpoints and refuses to start without them (and without a pseudonymisation key,
see ``Settings.resolved_pseudonym_key``). The ``demo_dir``/``offline_dir`` arguments override the demo
location (tests, the benchmark).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from lagesbild.fsutil import file_signature, modified_recently
from lagesbild.settings import Settings
from lagesbild.sources.pxweb import PxWebClient, read_offline_population
from lagesbild.sources.reference import municipalities_of_county
from lagesbild.sources.snapshots import FolderArchive, HttpArchive

REGISTER_SUFFIXES = (".csv", ".xlsx", ".xlsm")


def demo_inputs(settings: Settings) -> Path:
    """Where ``make run`` generates the demo inputs."""
    return Path(settings.data_dir) / "demo" / "inputs"


def snapshot_archive(settings: Settings, demo_dir: Path | None = None) -> FolderArchive | HttpArchive:
    """HTTP archive if LAGESBILD_SNAPSHOTS_URL is set, else the folder (LAGESBILD_SNAPSHOTS_DIR or the demo's)."""
    demo_dir = demo_dir or demo_inputs(settings) / "snapshots"
    if settings.snapshots_url:
        return HttpArchive(settings.snapshots_url)
    if settings.snapshots_dir:  # a capture younger than the settle time may still be copied in
        return FolderArchive(settings.snapshots_dir, settle_seconds=settings.snapshot_settle_seconds)
    if settings.source_mode == "demo" and demo_dir is not None:
        return FolderArchive(demo_dir)  # written by the demo run itself, just before
    raise RuntimeError(
        "no snapshot source: set LAGESBILD_SNAPSHOTS_URL (HTTP archive) or LAGESBILD_SNAPSHOTS_DIR"
    )


def verdict_inbox(settings: Settings, demo_dir: Path | None = None) -> Path:
    """The register file or inbox folder: what the verdict asset reads and the inbox sensor watches."""
    if settings.verdicts_path:
        return Path(settings.verdicts_path)
    if settings.source_mode == "demo":
        return Path(demo_dir or demo_inputs(settings) / "verdicts")
    raise RuntimeError("no verdict register: set LAGESBILD_VERDICTS_PATH to a CSV/XLSX file or an inbox folder")


def _inbox_files(settings: Settings, demo_dir: Path | None) -> tuple[Path, list[Path]]:
    """(the configured path, the register file or the folder's files); Excel's lock files ``~$...`` are
    never inputs."""
    path = verdict_inbox(settings, demo_dir)
    if path.is_file():
        return path, [path]
    if not path.is_dir():
        raise FileNotFoundError(f"verdict register {path} does not exist (LAGESBILD_VERDICTS_PATH)")
    return path, sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("~$"))


def verdict_paths(settings: Settings, demo_dir: Path | None = None) -> list[Path]:
    """The register file, or every CSV/XLSX in the inbox folder (Excel lock files ``~$...`` skipped)."""
    path, files = _inbox_files(settings, demo_dir)
    files = [p for p in files if p == path or (p.suffix.lower() in REGISTER_SUFFIXES and not _hidden(p))]
    if not files:
        raise FileNotFoundError(f"no .csv or .xlsx register in {path}")
    return files


def verdict_inbox_ignored(settings: Settings, demo_dir: Path | None = None) -> list[Path]:
    """The inbox folder's other files, which ``verdict_paths`` does not read (an old .xls, an .ods, a .txt):
    the ingest lists them as refused, so a register saved in another format is not missed silently. Hidden
    files are not read: those named like a register (macOS's ``._register.xlsx`` metadata beside a copied
    file) are listed too; other hidden files (``.DS_Store``, LibreOffice's ``.~lock.<name>#``) are not. Folders in
    the inbox (an archive of old registers, a register saved one level down) are listed, their files not read."""
    path, files = _inbox_files(settings, demo_dir)
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not _hidden(p)) if path.is_dir() else []
    # neither file nor folder: a link to a share that is not mounted, a pipe; was not listed at all
    others = sorted(p for p in path.iterdir() if not p.is_file() and not p.is_dir() and not _hidden(p)) \
        if path.is_dir() else []
    return [p for p in files
            if p != path and (_hidden(p) if p.suffix.lower() in REGISTER_SUFFIXES else not _hidden(p))] + folders + others


class InboxNotSettled(RuntimeError):
    """The verdict inbox kept changing while the run waited for it or read it: nothing was ingested."""


T = TypeVar("T")
#: How often ``read_verdict_inbox`` reads the inbox again when a file changed during the read, and how
#: many settle periods it waits at most for files that keep being modified.
READ_ATTEMPTS = 3
MAX_SETTLE_PERIODS = 12


def _signature(path: Path) -> tuple[int, int, int, int]:
    return file_signature(os.stat(path))


def _shown(path: Path, number: int) -> str:
    from lagesbild.sources.verdicts import file_label  # the ingest's names: an identifier is withheld

    return file_label(path.name, f"register file {number}")


def read_verdict_inbox(
    settings: Settings,
    read: Callable[[list[Path], list[Path]], T],
    demo_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Path], T]:
    """``read(files, ignored)`` over the register files once the inbox has settled, and only a read
    during which no file changed: (files, what ``read`` returned).

    The inbox sensor waits for a file to settle, but the run it launches (and the weekly schedule's)
    reads the inbox later, when an analyst may be saving or copying a register again: a CSV cut at a
    line end reads as a smaller valid register. So the run waits until no register file was modified
    during the last ``verdict_settle_seconds`` (at most ``MAX_SETTLE_PERIODS`` of them), reads, and
    compares each file's inode, size, mtime and ctime with those before the read; on a change it
    starts again (``READ_ATTEMPTS`` reads), then raises ``InboxNotSettled``. The demo's own inbox,
    written by the demo run itself just before, is not waited for."""
    settle = settings.verdict_settle_seconds if settings.verdicts_path else 0.0
    changed: list[str] = []
    for _ in range(READ_ATTEMPTS):
        files = verdict_paths(settings, demo_dir)
        before = _settled(files, settle, sleep)
        result = read(files, verdict_inbox_ignored(settings, demo_dir))
        try:
            changed = [_shown(p, n) for n, p in enumerate(files, start=1) if _signature(p) != before[p]]
        except FileNotFoundError:
            changed = ["a register file (removed)"]
        if not changed:
            return files, result
    raise InboxNotSettled(
        f"verdict inbox: {', '.join(changed)} kept changing while it was read ({READ_ATTEMPTS} reads): "
        "nothing ingested; the next run (or the inbox sensor, once it settles) reads it"
    )


def _settled(files: list[Path], settle: float, sleep: Callable[[float], None]) -> dict[Path, tuple]:
    """The files' signatures once none was modified during the last ``settle`` seconds."""
    for _ in range(MAX_SETTLE_PERIODS + 1):
        signatures = {p: _signature(p) for p in files}
        now = time.time()
        young = [sig[2] / 1e9 for sig in signatures.values() if modified_recently(sig[2] / 1e9, settle, now)]
        if not young:
            return signatures
        sleep(settle - (now - max(young)))
    young = [_shown(p, n) for n, p in enumerate(files, start=1) if modified_recently(p.stat().st_mtime, settle)]
    raise InboxNotSettled(
        f"verdict inbox: {', '.join(young) or 'a register file'} kept changing for {MAX_SETTLE_PERIODS} "
        f"settle periods of {settle:g} s: nothing ingested; the next run reads it"
    )


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def population(settings: Settings, years: list[int], offline_dir: Path | None = None) -> pd.DataFrame:
    """Real mode: the county and its municipalities from PxWeb; otherwise the offline json-stat2 folder."""
    directory = settings.population_file_dir or offline_dir or demo_inputs(settings) / "population"
    if settings.source_mode != "real":
        return read_offline_population(directory)
    county = municipalities_of_county(settings.county_code)
    regions = [settings.county_code, *county["municipality_code"]]
    return PxWebClient(settings.pxweb_base_url).fetch_population(regions, years)
