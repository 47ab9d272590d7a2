"""Copy the national reference files into dbt_project/seeds/reference/ with a source on every row.

    .venv/bin/python scripts/import_reference.py ../shared/reference

Reads municipality_names_se.csv, postal_towns_se.csv, regso_areas_se.csv and
population_by_sex_2019_se.csv (see their README for sources and caveats), checks codes and row
counts, and writes the same rows plus a ``source`` column naming where each row comes from. The
seeds are the files the project uses; this script is only how they were made (seeds/reference/SOURCES.md).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from lagesbild.fsutil import atomic_path
from lagesbild.settings import REFERENCE_DIR

AXELSSON = "GitHub Axelsson2000/data"
SOURCES = {
    "municipality_names_se.csv": (
        f"{AXELSSON} @ 62e9eda Postort-Kommun-Lan.csv (municipality and county columns; codes from Statistics Sweden)"
    ),
    "postal_towns_se.csv": (
        f"{AXELSSON} @ 62e9eda Postort-Kommun-Lan.csv (postal-code register: postort -> kommunkod)"
    ),
    "regso_areas_se.csv": f"{AXELSSON} @ d1a422f LanKommunDeso.csv (Statistics Sweden DeSO/RegSO key, RegSO 2018)",
    "population_by_sex_2019_se.csv": (
        f"SCB table FolkmDesoBakgrKon (population per DeSO by sex, 31 Dec 2019), DeSO rows summed by "
        f"municipality prefix; {AXELSSON} @ 62e9eda FolkmDesoBakgrKon/"
    ),
}
EXPECTED_ROWS = {
    "municipality_names_se.csv": 290,
    "postal_towns_se.csv": 1714,
    "regso_areas_se.csv": 3363,
    "population_by_sex_2019_se.csv": 290,
}


def import_file(source_dir: Path, name: str, out_dir: Path) -> int:
    with (source_dir / name).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f for f in reader.fieldnames or [] if f != "source"]
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        code = row.get("municipality_code", "")
        if len(code) != 4 or not code.isdigit():
            raise ValueError(f"{name} line {line} column municipality_code: not a 4-digit code")
    if len(rows) != EXPECTED_ROWS[name]:
        raise ValueError(f"{name}: expected {EXPECTED_ROWS[name]} rows, got {len(rows)}")
    if name == "population_by_sex_2019_se.csv":
        total = sum(int(r["total"]) for r in rows)
        if total != 10_327_589:
            raise ValueError(f"{name}: sums to {total}, not Sweden's 10,327,589 on 31 Dec 2019")
    target = out_dir / name
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [*fields, "source"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({f: row[f] for f in fields} | {"source": SOURCES[name]})
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source_dir", type=Path)
    parser.add_argument("--out", type=Path, default=REFERENCE_DIR)
    args = parser.parse_args(argv)
    for name in SOURCES:
        print(f"{name}: {import_file(args.source_dir, name, args.out)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
