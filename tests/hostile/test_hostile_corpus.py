"""The hostile corpus (cases.csv): every case gives its expected outcome, every file reconciles.

Each case is ingested on its own, by the line reader and the columnar reader (which must agree), so
an outcome belongs to exactly one case. ``HOSTILE_OUTCOMES=<path>`` writes the actual table.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from lagesbild.privacy.detect import PersonalDataError
from lagesbild.sources.reference import load_municipalities
from lagesbild.sources.snapshots import FolderArchive, _shown, ingest_week
from lagesbild.sources.snapshots_fast import _read_week, ingest_week_fast, ingest_weeks_fast, same_result
from lagesbild.sources.verdicts import RegisterFormatError, ingest_register
from tests.hostile import corpus

KEY = b"hostile-test-key"
TABLE = {row["case"]: row for row in corpus.read_table()}
SNAPSHOTS = corpus.snapshot_cases()
VERDICTS = corpus.verdict_cases()
ACTUAL: dict[str, dict] = {}


def test_the_table_lists_every_case_and_there_are_at_least_30():
    assert set(TABLE) == set(SNAPSHOTS) | set(VERDICTS)
    assert len(TABLE) >= 30


def _lines(accepted: int, reasons: Counter, extra: list[str] = ()) -> str:
    parts = ([f"accepted={accepted}"] if accepted or not reasons else []) + [
        f"{r}={n}" for r, n in sorted(reasons.items())
    ]
    return ";".join(parts + list(extra))


def snapshot_outcome(root: Path, written: list[Path]) -> dict:
    slow = ingest_week(FolderArchive(root), corpus.WEEK, KEY)
    fast = ingest_week_fast(FolderArchive(root), corpus.WEEK, KEY)
    assert same_result(slow, fast) == [], "the columnar reader must give the line reader's result"
    files = slow.files.set_index("snapshot_file")
    refused = {r["file"]: r for r in slow.metadata["refused_files"]}
    # a refused file named by an identifier is listed by a stand-in, in listing order
    withheld = [name for name in refused if name.startswith("refused file ")]
    file_out, accepted, reasons, ledger = [], 0, Counter(), []
    for path in written:
        path = path.with_name(unicodedata.normalize("NFC", path.name))  # the names the ingest reports
        # refused by name, or by its path inside the site folder (a file in a subfolder), or withheld
        shown = _shown(path.name) + ("/" if path.is_symlink() and path.is_dir() else "")  # as the refused list shows it
        key = shown if shown in refused else "/".join(path.relative_to(root).parts[1:])
        if key not in refused and withheld and path.name not in set(slow.files.snapshot_file):
            key = withheld.pop(0)
        if key in refused:
            file_out.append(f"refused:{refused[key]['reason']}")
            assert refused[key]["detail"], "a refusal states its reason"
            continue
        assert path.name in files.index, f"{path.name} is neither read nor refused"
        f = files.loc[path.name]
        out = f.status + (";from=lines" if f.capture_time_from == "lines" else "")
        out += f";blank={f.blank_lines}" if f.blank_lines else ""
        file_out.append(out)
        # the reconciliation, per file: lines in = accepted + quarantined + blank
        assert f.lines_in == f.rows_ok + f.rows_quarantined + f.blank_lines, path.name
        ledger.append((int(f.lines_in), int(f.rows_ok), int(f.rows_quarantined), int(f.blank_lines)))
        accepted += int(f.rows_ok)
        reasons += Counter(slow.quarantine.loc[slow.quarantine.file == path.name, "reason"])
    extra = []
    unparseable = int((slow.rows.phone_status == "unparseable").sum())
    if unparseable:
        extra.append(f"phone_unparseable={unparseable}")
    return {
        "file_outcome": " + ".join(file_out),
        "line_outcome": _lines(accepted, reasons, extra) if ledger else "-",
        "alerts": str(len(slow.under_age)),
        "ledger": ledger,
        "result": slow,
    }


def _check_case(case: str, cases: dict, outcome, tmp_path: Path) -> dict:
    """Write ``case`` of ``cases``, read it with ``outcome``, keep it for the table, compare it with the table."""
    written = corpus.write_corpus(tmp_path, {case: cases[case]})[case]
    actual = outcome(tmp_path, written)
    ACTUAL[case] = actual
    got = {k: actual[k] for k in ("file_outcome", "line_outcome", "alerts")}
    assert got == {k: TABLE[case][k] for k in got}
    return actual


def _leaks(result) -> list[str]:
    """The planted identifiers found in what the ingest keeps or reports (rows, quarantine, metadata, files, alerts)."""
    kept = result.rows.astype(str).to_csv() + result.quarantine.astype(str).to_csv() + str(result.metadata)
    if result.files is not None:
        kept += result.files.astype(str).to_csv()
    if result.under_age is not None:  # the restricted alert list is past the door too
        kept += result.under_age.astype(str).to_csv()
    return [label for needle, label in corpus.planted_identifiers().items() if needle in kept]


@pytest.mark.parametrize("case", sorted(SNAPSHOTS))
def test_snapshot_case(case, tmp_path):
    actual = _check_case(case, SNAPSHOTS, snapshot_outcome, tmp_path)
    assert _leaks(actual["result"]) == []  # nothing the ingest keeps or reports holds a planted identifier


def test_every_snapshot_case_in_one_run_equals_the_line_reader(tmp_path):
    """The whole corpus in one archive, ingested as one run with weeks without captures around it."""
    corpus.write_corpus(tmp_path, SNAPSHOTS)
    weeks = [corpus.WEEK - timedelta(weeks=1), corpus.WEEK, corpus.WEEK + timedelta(weeks=1)]
    got = list(ingest_weeks_fast(FolderArchive(tmp_path), weeks, KEY))
    assert [week for week, _ in got] == weeks
    archive = FolderArchive(tmp_path)
    for week, result in got:
        assert same_result(ingest_week(archive, week, KEY), result) == [], week
    assert len(got[1][1].quarantine) >= 20


def test_the_cases_the_columnar_path_reads_in_one_batch_equal_the_line_reader(tmp_path):
    """Every case whose files the columnar path reads itself (no line-reader fallback), all in one batch:
    identifiers in fields, over-long fields, odd offsets, under-age ads, duplicates, spelled phones."""
    columnar = {}
    for case, files in SNAPSHOTS.items():
        alone = tmp_path / "alone" / case
        corpus.write_corpus(alone, {case: files})
        week = _read_week(FolderArchive(alone), corpus.WEEK, KEY, "Europe/Stockholm")
        if week.result is None:
            columnar[case] = files
    assert len(columnar) >= 15, sorted(columnar)
    together = tmp_path / "together"
    corpus.write_corpus(together, columnar)
    expected = ingest_week(FolderArchive(together), corpus.WEEK, KEY)
    [(_, result)] = ingest_weeks_fast(FolderArchive(together), [corpus.WEEK], KEY)
    assert same_result(expected, result) == []
    reasons = set(expected.quarantine.reason)
    assert {"identifier_in_field", "too_long", "duplicate", "impossible_age"} <= reasons, reasons
    assert len(expected.under_age) > 0


def verdict_outcome(inbox: Path, written: list[Path]) -> dict:
    try:
        result = ingest_register(sorted(written), KEY, load_municipalities())
    except (RegisterFormatError, PersonalDataError) as err:
        message = str(err)
        bad = [p.name for p in written]
        assert all(name in message for name in bad), "the error names every bad file"
        assert not [n for n in corpus.planted_identifiers() if n in message], "never the value"
        return {"file_outcome": f"error:{type(err).__name__}", "line_outcome": "-", "alerts": "0",
                "ledger": [], "message": message}
    refused = result.metadata["refused_files"]
    ledger = result.metadata["ledger"]
    sheets = len(ledger)
    outcome = ["read" if sheets == 1 and not refused and not any("#" in k for k in ledger) else f"read:sheets={sheets}"]
    if len(written) == 1 and written[0].suffix == ".xlsx" and outcome == ["read"]:
        outcome = ["read:sheets=1"]
    outcome += [f"refused:{r['reason']}" for r in refused]
    for name, c in ledger.items():
        assert c["lines_in"] == c["accepted"] + c["quarantined"] + c["blank"], name
    extra = []
    if result.rows.sanction.notna().any() and set(result.rows.sanction.dropna()) != {"dagsböter"}:
        extra.append("sanctions=" + "|".join(sorted(set(result.rows.sanction.dropna()))))
    return {
        "file_outcome": ";".join(outcome),
        "line_outcome": _lines(len(result.rows), Counter(result.quarantine.reason), extra),
        "alerts": "0",
        "ledger": [(c["lines_in"], c["accepted"], c["quarantined"], c["blank"]) for c in ledger.values()],
        "result": result,
    }


@pytest.mark.parametrize("case", sorted(VERDICTS))
def test_verdict_case(case, tmp_path):
    actual = _check_case(case, VERDICTS, verdict_outcome, tmp_path)
    if "result" in actual:
        assert _leaks(actual["result"]) == []


def test_write_actual_table():
    """With HOSTILE_OUTCOMES set, the actual outcomes and ledger figures as a Markdown table (for reports)."""
    target = os.environ.get("HOSTILE_OUTCOMES")
    if not target:
        return
    lines = ["| case | description | expected | actual | ledger (in/ok/quarantined/blank) |", "|---|---|---|---|---|"]
    for case, row in TABLE.items():
        got = ACTUAL.get(case)
        actual = f"{got['file_outcome']} / {got['line_outcome']} / alerts {got['alerts']}" if got else "not run"
        expected = f"{row['file_outcome']} / {row['line_outcome']} / alerts {row['alerts']}"
        ledger = ", ".join("/".join(map(str, t)) for t in got["ledger"]) if got else ""
        lines.append(f"| {case} | {row['description']} | {expected} | {actual} | {ledger} |")
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
