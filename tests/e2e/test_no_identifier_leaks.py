"""No raw phone number or case number that went in is found anywhere after a demo run."""

from __future__ import annotations

import csv
import gzip
import json

import pytest

from lagesbild.privacy.scan import find_identifiers

pytestmark = pytest.mark.slow


def _input_phones(inputs) -> set[str]:
    phones = set()
    for path in (inputs / "snapshots").rglob("*.jsonl*"):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, EOFError):
                    continue
                if isinstance(record, dict) and record.get("phone"):
                    phones.add(str(record["phone"]))
    return phones


def _input_case_numbers(inputs) -> set[str]:
    with open(inputs / "verdicts_csv" / "register.csv", encoding="utf-8") as fh:
        return {row["case_number"] for row in csv.DictReader(fh) if row["case_number"]}


def test_warehouse_and_published_files_hold_no_raw_identifiers(demo_run):
    inputs = demo_run.data_dir / "demo" / "inputs"
    phones, cases = _input_phones(inputs), _input_case_numbers(inputs)
    assert len(phones) > 100 and len(cases) > 50
    scanned = [
        demo_run.data_dir / "raw",
        demo_run.data_dir / "warehouse",
        demo_run.data_dir / "marts",
        demo_run.data_dir / "intermediate",
        demo_run.data_dir / "disclosed",
        demo_run.data_dir / "publications",
        demo_run.data_dir / "restricted",
    ]
    findings = find_identifiers([p for p in scanned if p.exists()], phones=phones, case_numbers=cases)
    assert findings == [], [str(f) for f in findings[:10]]
    # The scan is real: it finds the identifiers in the inputs themselves.
    assert find_identifiers([inputs / "verdicts_csv"], case_numbers=cases)
