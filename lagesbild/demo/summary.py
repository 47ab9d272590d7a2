"""What a generator wrote, and the deterministic file writers both generators share.

Determinism is a contract (same seed -> byte-identical files), so every writer here pins what would
otherwise leak the wall clock: gzip headers get ``mtime=0`` and no file name, XLSX archives get fixed
document properties and zip-entry timestamps.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: Fixed timestamp for zip entries and document properties (zip cannot store anything before 1980).
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = b"2024-01-01T00:00:00Z"
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)([^<]*)(</dcterms:)")


@dataclass
class DemoSummary:
    """Counts of what a generator wrote, printed by the CLI and checked by the tests."""

    out_dir: Path
    files: int = 0
    rows: int = 0
    bytes: int = 0
    per_site: dict[str, dict[str, int]] = field(default_factory=dict)
    verdict_rows: int = 0
    extra_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add_snapshot(self, site: str, rows: int, nbytes: int) -> None:
        site_counts = self.per_site.setdefault(site, {"files": 0, "rows": 0, "bytes": 0})
        site_counts["files"] += 1
        site_counts["rows"] += rows
        site_counts["bytes"] += nbytes
        self.files += 1
        self.rows += rows
        self.bytes += nbytes

    def add_file(self, path: Path) -> None:
        self.files += 1
        self.bytes += path.stat().st_size
        self.extra_files.append(str(path.relative_to(self.out_dir)))

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        lines = [
            f"wrote {self.files} files, {self.rows:,} snapshot lines, {self.bytes / 1e6:,.1f} MB under {self.out_dir}"
        ]
        for site, counts in sorted(self.per_site.items()):
            lines.append(
                f"  snapshots/{site}: {counts['files']} files, {counts['rows']:,} lines, "
                f"{counts['bytes'] / 1e6:,.1f} MB"
            )
        lines.append(f"  verdict register: {self.verdict_rows} rows")
        lines.extend(f"  {name}" for name in self.extra_files)
        if self.seconds:
            lines.append(f"  took {self.seconds:.1f} s ({self.rows_per_second:,.0f} lines/s)")
        return "\n".join(lines)


def write_snapshot_bytes(path: Path, payload: bytes, compresslevel: int = 6) -> int:
    """Write one capture file, gzip when the name ends in .gz (mtime=0: reproducible); returns bytes on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        buffer = io.BytesIO()
        # filename="" and mtime=0 keep the header free of anything that changes between runs.
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=compresslevel
        ) as gz:
            gz.write(payload)
        payload = buffer.getvalue()
    path.write_bytes(payload)
    return len(payload)


def normalise_zip(path: Path) -> None:
    """Rewrite a zip (an XLSX) with fixed entry timestamps so that equal content gives equal bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":  # openpyxl stamps the save time into created/modified
                data = _CORE_TIMES.sub(lambda m: m[1] + _FIXED_DOC_TIME + m[3], data)
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())
