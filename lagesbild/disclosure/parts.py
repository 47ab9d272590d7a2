"""The marts in independent parts, each decided on its own, so a weekly run decides only what changed.

No relation of the policy crosses from one part to another: marts are joined only by the policy's
links (``period_of``: a yearly mart and its weekly mart; ``line_sums_of``: the flows and the demand),
and a yearly mart with its weekly mart splits by year, since every relation among their cells (a
region's year = its weeks, a county = its municipalities, the year to date through a week) holds
within one year. So ``apply_policy`` on a part decides exactly what it decides for those cells on all
the marts, and ``verify`` of a part finds exactly the whole's violations among them
(tests/disclosure/test_disclosure_parts.py checks both, on the demo and on random marts).

A part is keyed by the digest of its rows, the policy, the county and the code (``CODE_FILES``): the same
key means the same decision, so a run can carry a part over from the run before instead of deciding
and verifying it again (``orchestration/assets/publication.py``). A week changes the open year's part;
a closed year, the verdict register's flows and demand, and the hidden population do not.

A year is split off only where it is closed or open alike on its own and among all the weeks (its
last week is in the weekly mart, or no later week is): otherwise the group stays one part.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lagesbild.disclosure.apply import DisclosureResult, apply_policy, suppression_rate
from lagesbild.disclosure.constraints import closed_year
from lagesbild.disclosure.policy import DisclosurePolicy
from lagesbild.disclosure.verify import Violation, verify
from lagesbild.fsutil import write_atomic
from lagesbild.warehouse import write_parquet_atomic

#: The source files a part's decision depends on (this package, and the row order ties are broken
#: by: ``lagesbild.warehouse.canonical_order``): a change to any of them is a new key.
CODE_FILES = (*sorted(Path(__file__).parent.glob("*.py")), Path(__file__).parents[1] / "warehouse.py")


@dataclass(frozen=True)
class Part:
    """Rows of one or more marts that no relation ties to the rest: ``rows[mart]`` are positions."""

    name: str
    rows: dict[str, np.ndarray]

    def of(self, marts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return {mart: marts[mart].iloc[pos].reset_index(drop=True) for mart, pos in self.rows.items()}


def _groups(policy: DisclosurePolicy, names: list[str]) -> list[list[str]]:
    """The marts joined by the policy's links, each group in ``names`` order."""
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for name, rules in policy.marts.items():
        for link in (rules.period_of, rules.line_sums_of):
            if link and name in parent and link.get("mart") in parent:
                parent[root(name)] = root(link["mart"])
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(root(name), []).append(name)
    return list(groups.values())


def _years(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    if column not in frame.columns:
        return None
    years = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    return years if np.isfinite(years).all() else None


def _by_year(group: list[str], marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> list[Part] | None:
    """The group split by year, or None where the split could change a decision (see the module)."""
    links = [(name, policy.marts[name].period_of) for name in group if name in policy.marts]
    links = [(name, spec) for name, spec in links if spec]
    if len(links) != 1 or len(group) != 2:
        return None
    yearly, spec = links[0]
    weekly = spec["mart"]
    years = {
        yearly: _years(marts[yearly], spec.get("year_column", "year")),
        weekly: _years(marts[weekly], spec.get("weekly_year_column", "iso_year")),
    }
    if any(v is None for v in years.values()):
        return None
    whole = closed_year(marts, policy)
    parts = []
    for year in sorted(set(years[yearly]) | set(years[weekly])):
        rows = {name: np.flatnonzero(years[name] == year) for name in group}
        part = Part(f"{group[0]}-{int(year)}", rows)
        alone = closed_year(part.of(marts), policy)
        if any(alone((yearly, "", i)) != whole((yearly, "", int(p))) for i, p in enumerate(rows[yearly])):
            return None
        parts.append(part)
    return parts


def independent_parts(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> list[Part]:
    """Every row of every mart in exactly one part."""
    parts: list[Part] = []
    for group in _groups(policy, list(marts)):
        parts += _by_year(group, marts, policy) or [
            Part(group[0], {name: np.arange(len(marts[name])) for name in group})
        ]
    return parts


def _code_digest() -> str:
    """The code's: ``CODE_FILES`` and the numpy and pandas versions (the solver's SVD, the frames)."""
    digest = hashlib.sha256(f"numpy {np.__version__} pandas {pd.__version__}".encode())
    for path in CODE_FILES:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def part_key(frames: dict[str, pd.DataFrame], policy: DisclosurePolicy, county_code: str) -> str:
    """The digest of everything a part's decision depends on: its rows (values, columns, types and
    order), the policy, the county and the code (``_code_digest``)."""
    digest = hashlib.sha256()
    digest.update(_code_digest().encode())
    digest.update(json.dumps(policy.raw, sort_keys=True, default=str).encode())
    digest.update(county_code.encode())
    for name in sorted(frames):
        frame = frames[name]
        digest.update(name.encode() + b"\0")
        digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def merge_stats(pieces: list[dict[str, dict[str, dict]]]) -> dict[str, dict[str, dict]]:
    """The suppression stats of the whole from its parts' (counts add up; the rate is recomputed)."""
    merged: dict[str, dict[str, dict]] = {}
    for stats in pieces:
        for mart, columns in stats.items():
            for col, s in columns.items():
                into = merged.setdefault(mart, {}).setdefault(
                    col, {"cells": 0, "suppressed": 0, "primary": 0, "secondary": 0, "rate": 0.0}
                )
                for field in ("cells", "suppressed", "primary", "secondary"):
                    into[field] += s[field]
    for columns in merged.values():
        for s in columns.values():
            s["rate"] = suppression_rate(s["suppressed"], s["cells"])
    return merged


def assemble(
    marts: dict[str, pd.DataFrame], parts: list[Part], decided: list[DisclosureResult]
) -> DisclosureResult:
    """The whole from its decided parts: each mart's rows back in their order, then the rows a part's
    decision added (zero complements of the flows), part by part."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in marts.items():
        kept, positions, extra = [], [], []
        for part, result in zip(parts, decided, strict=True):
            if name not in part.rows:
                continue
            n = len(part.rows[name])
            kept.append(result.marts[name].iloc[:n])
            positions.append(part.rows[name])
            extra.append(result.marts[name].iloc[n:])
        rows = pd.concat(kept, ignore_index=True) if kept else frame.iloc[:0]
        order = np.argsort(np.concatenate(positions), kind="stable") if positions else np.arange(0)
        out[name] = pd.concat([rows.iloc[order], *extra], ignore_index=True)
    return DisclosureResult(marts=out, stats=merge_stats([r.stats for r in decided]))


def verify_in_parts(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> list[Violation]:
    """``verify`` part by part: the whole's violations (rows of the whole marts), found on smaller
    systems; in national marts several times faster than on all years at once."""
    found: list[Violation] = []
    for part in independent_parts(marts, policy):
        found += [_in_whole(v, part) for v in verify(part.of(marts), policy)]
    return found


def _frame(data: bytes) -> pd.DataFrame:
    return pq.read_table(pa.BufferReader(data)).to_pandas()


class PartStore:
    """Decided and verified parts kept from run to run in ``folder`` (``disclosed/parts``).

    A part's folder holds each mart's decided rows (``<mart>.parquet``) and, written last and only
    once what was read back from them passed ``verify``, ``part.json``: the part's key, its stats and
    the sha256 of each file. A part is carried over only when the key is the same and every file still
    has its sha256; anything else (a missing, torn or changed file, a record of other inputs, a part
    that failed ``verify``) is decided again.
    """

    RECORD = "part.json"

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def load(self, name: str, key: str) -> DisclosureResult | None:
        where = self.folder / name
        try:
            record = json.loads((where / self.RECORD).read_text(encoding="utf-8"))
            if record.get("key") != key:
                return None
            marts = {}
            for mart, sha in record["sha256"].items():
                data = (where / f"{mart}.parquet").read_bytes()  # read once: the bytes checked are the bytes read
                if hashlib.sha256(data).hexdigest() != sha:
                    return None
                marts[mart] = _frame(data)
            return DisclosureResult(marts=marts, stats=record["stats"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(
        self, name: str, key: str, result: DisclosureResult, policy: DisclosurePolicy
    ) -> tuple[DisclosureResult, list[Violation]]:
        """Write the part's marts, read them back and ``verify`` what was read; the record only when
        nothing was found. Returns the part as read back, and the violations."""
        where = self.folder / name
        where.mkdir(parents=True, exist_ok=True)
        (where / self.RECORD).unlink(missing_ok=True)
        sha, back = {}, {}
        for mart, frame in result.marts.items():
            path = where / f"{mart}.parquet"
            write_parquet_atomic(frame, path)
            data = path.read_bytes()
            sha[mart] = hashlib.sha256(data).hexdigest()
            back[mart] = _frame(data)
        violations = verify(back, policy)
        if not violations:
            record = {"key": key, "sha256": sha, "stats": result.stats}
            write_atomic(where / self.RECORD, json.dumps(record, indent=2, sort_keys=True, default=str))
        return DisclosureResult(marts=back, stats=result.stats), violations

    def prune(self, keep: set[str]) -> None:
        """Remove the folders of parts the marts no longer have (a year that left the marts)."""
        if self.folder.is_dir():
            for where in self.folder.iterdir():
                if where.is_dir() and where.name not in keep:
                    shutil.rmtree(where, ignore_errors=True)


@dataclass
class Disclosed:
    """The marts after disclosure, what was decided in this call and what was carried over."""

    result: DisclosureResult
    decided: list[str]
    carried: list[str]
    violations: list[Violation]


def disclose(
    marts: dict[str, pd.DataFrame], policy: DisclosurePolicy, county_code: str, store: PartStore
) -> Disclosed:
    """``apply_policy`` and ``verify`` on the parts whose key ``store`` does not hold; the others as
    they were decided and verified before. Violations name the rows of the whole marts."""
    parts = independent_parts(marts, policy)
    results, decided, carried, violations = [], [], [], []
    for part in parts:
        frames = part.of(marts)
        key = part_key(frames, policy, county_code)
        kept = store.load(part.name, key)
        if kept is None:
            kept, found = store.save(part.name, key, apply_policy(frames, policy, county_code), policy)
            decided.append(part.name)
            violations += [_in_whole(v, part) for v in found]
        else:
            carried.append(part.name)
        results.append(kept)
    store.prune({part.name for part in parts})
    return Disclosed(assemble(marts, parts, results), decided, carried, violations)


def _in_whole(violation: Violation, part: Part) -> Violation:
    rows = part.rows.get(violation.mart)
    if violation.row is None or rows is None:
        return violation
    row = int(rows[violation.row]) if violation.row < len(rows) else None  # None: a row the part added
    return dataclasses.replace(violation, row=row)
