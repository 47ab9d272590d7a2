"""Read published marts back and check them against the policy, independently of how they were made.

The publication fails on any violation, so this must not trust the flags alone: it looks at the
values that a reader actually gets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from lagesbild.disclosure.apply import lone_suppressed
from lagesbild.disclosure.constraints import (
    EARLIER,
    Cell,
    Constraint,
    alone_in_a_line,
    at_their_floor,
    build_constraints,
    closed_year,
    determined_cells,
    determined_value,
    earlier_years_to_date,
    public_zeros,
    zero_sum,
)
from lagesbild.disclosure.policy import FLAG_SUFFIX, DisclosurePolicy


@dataclass(frozen=True)
class Violation:
    mart: str
    column: str
    row: int | None
    rule: (
        # small_count, null_not_flagged, derived_small_base, derived_hidden_base, flag_missing,
        # flag_not_null, status_not_set, recoverable
        str
    )
    detail: str

    def __str__(self) -> str:
        where = f"{self.mart}.{self.column}" + (f" row {self.row}" if self.row is not None else "")
        return f"{where}: {self.rule}: {self.detail}"


def _load(marts_or_paths) -> dict[str, pd.DataFrame]:
    if isinstance(marts_or_paths, (str, Path)):
        folder = Path(marts_or_paths)
        marts_or_paths = {p.stem: p for p in sorted(folder.glob("*.parquet"))}
    out = {}
    for name, item in marts_or_paths.items():
        df = item if isinstance(item, pd.DataFrame) else pq.read_table(item).to_pandas()
        out[name] = df.reset_index(drop=True)
    return out


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _cell_checks(
    name: str, df: pd.DataFrame, policy: DisclosurePolicy, cumulative: dict[str, set[int]] | None = None
) -> list[Violation]:
    """``cumulative``: {column: rows} of year-to-date cells, whose rule is their weeks' (``_cumulative_checks``)
    instead of their bases'."""
    rules = policy.marts[name]
    cumulative = cumulative or {}
    out: list[Violation] = []
    for col in rules.protected:
        if col not in df.columns:
            continue
        flag_col = col + FLAG_SUFFIX
        vals = _num(df, col)
        if flag_col in df.columns:
            flags = df[flag_col].fillna(False).to_numpy(dtype=bool)
        else:
            out.append(Violation(name, col, None, "flag_missing", f"column {flag_col} is missing"))
            flags = np.zeros(len(df), dtype=bool)
        for pos in np.flatnonzero(flags & ~np.isnan(vals)):
            out.append(Violation(name, col, int(pos), "flag_not_null", "suppressed but a value is published"))
        if col in rules.counts:
            # a person count is never null unless suppressed (null plus its flag, never read as 0)
            for pos in np.flatnonzero(np.isnan(vals) & ~flags):
                out.append(Violation(name, col, int(pos), "null_not_flagged", "null without its flag"))
            for pos in np.flatnonzero((vals >= 1) & (vals < policy.min_persons)):
                out.append(
                    Violation(name, col, int(pos), "small_count", f"person count {vals[pos]:g} published")
                )
        bases = rules.bases(col)
        if bases and bases[0] in df.columns:
            by_weeks = np.zeros(len(df), dtype=bool)
            by_weeks[list(cumulative.get(col, ()))] = True
            vals = np.where(by_weeks, np.nan, vals)  # year to date: published as its weeks allow
            if col in rules.derived:
                base = _num(df, bases[0])
                small = (base >= 1) & (base < policy.min_persons_for_derived) & ~np.isnan(vals)
                for pos in np.flatnonzero(small):
                    out.append(
                        Violation(name, col, int(pos), "derived_small_base", f"base {bases[0]}={base[pos]:g}")
                    )
            for b in bases:
                if b == col or b + FLAG_SUFFIX not in df.columns:
                    continue
                hidden = df[b + FLAG_SUFFIX].fillna(False).to_numpy(dtype=bool) & ~np.isnan(vals)
                for pos in np.flatnonzero(hidden):
                    out.append(
                        Violation(name, col, int(pos), "derived_hidden_base", f"base {b} is suppressed")
                    )
    out += _status_checks(name, df, rules)
    return out


def _status_checks(name: str, df: pd.DataFrame, rules) -> list[Violation]:
    """Where a column is suppressed, its status column says the policy's value (or is empty)."""
    out: list[Violation] = []
    for status_col, col, value in rules.status:
        flag_col = col + FLAG_SUFFIX
        if status_col not in df.columns or flag_col not in df.columns:
            continue
        flags = df[flag_col].fillna(False).to_numpy(dtype=bool)
        status = df[status_col]
        wrong = status.notna() if value is None else status.ne(value) | status.isna()
        for pos in np.flatnonzero(flags & wrong.to_numpy(dtype=bool)):
            out.append(
                Violation(
                    name,
                    status_col,
                    int(pos),
                    "status_not_set",
                    f"{col} is suppressed but {status_col} is {status.iat[pos]!r}, not {value!r}",
                )
            )
    return out


def _cumulative_checks(constraints, hidden, flagged, in_closed_year) -> list[Violation]:
    """A year-to-date cell is published only where none of its weeks is hidden (``apply.cumulative``):
    else a reader who keeps last week's publication subtracts it and has this week's hidden cell.
    A closed year's total may be published over hidden weeks, but never over exactly one (the total
    minus the published weeks is that week) nor over an empty week that is not suppressed; the rest
    of its rule (no hidden cell follows, with the earlier publications' years to date) is the
    solver's below."""
    out = []
    for con in constraints:
        if con.kind != "period" or con.total is None or hidden(con.total):
            continue
        weeks = [c for c in con.parts if hidden(c)]
        if weeks and in_closed_year(con.total):
            if len(weeks) == 1 or not all(flagged(c) for c in weeks):
                out.append(
                    Violation(
                        *con.total,
                        "closed_year_hidden_week",
                        f"closed year's total published over {len(weeks)} hidden week(s) of "
                        f"{weeks[0][0]}.{weeks[0][1]}, {sum(not flagged(c) for c in weeks)} not suppressed",
                    )
                )
            continue
        if weeks:
            out.append(
                Violation(
                    *con.total,
                    "cumulative_over_hidden",
                    f"year to date published over {len(weeks)} hidden week(s) of {weeks[0][0]}.{weeks[0][1]}",
                )
            )
    return out


def gives_back_zero(cell: Cell, constraint: Constraint, value: Callable[[Cell], float]) -> bool:
    """Whether ``constraint``, with every cell but ``cell`` published, gives ``cell`` back as 0.

    A relation with a total (total - parts = 0) or with coefficients (a signed sum a reader knows to
    be 0: ``weighted``, ``identity``, ``line_sum``) gives the lone cell back as minus the others'
    signed sum over its coefficient: 0 exactly when that sum is 0. A line of a cross table has
    neither: it sums to its margin, assumed known but published nowhere, so what it gives back is
    that margin minus the others, never taken for 0 here.
    """
    if constraint.total is None and constraint.coefficients is None:
        return False
    rest = sum(constraint.coefficient(c) * value(c) for c in constraint.cells if c != cell)
    return rest == 0


def verify(marts_or_paths, policy: DisclosurePolicy) -> list[Violation]:
    """Every way the given (published) marts break the policy; an empty list means they pass.

    ``marts_or_paths``: {mart: DataFrame | path} or a folder of ``<mart>.parquet`` files.
    """
    marts = _load(marts_or_paths)
    constraints = build_constraints(marts, policy)
    in_closed_year = closed_year(marts, policy)
    # year-to-date cells follow their weeks (hidden over a hidden week), not their bases; so does a
    # closed year's total over published weeks only (their sum, published or not)
    missing = {(m, c): df[c].isna().to_numpy() for m, df in marts.items() for c in df.columns}
    cumulative: dict[str, dict[str, set[int]]] = {}
    for con in constraints:
        if con.kind == "period" and con.total is not None:
            if in_closed_year(con.total) and any(missing[p[:2]][p[2]] for p in con.parts):
                continue
            cumulative.setdefault(con.total[0], {}).setdefault(con.total[1], set()).add(con.total[2])
    out: list[Violation] = []
    for name, df in marts.items():
        if name in policy.marts:
            out += _cell_checks(name, df, policy, cumulative.get(name))

    # What a reader sees, per column, as arrays read once: the checks below ask for every cell of
    # every constraint, and a pandas lookup per cell (``df[col].iat[pos]``) was most of their time.
    flags = {
        (m, c.removesuffix(FLAG_SUFFIX)): df[c].to_numpy()
        for m, df in marts.items()
        for c in df.columns
        if c.endswith(FLAG_SUFFIX)
    }

    def hidden(cell) -> bool:
        mask = missing.get(cell[:2])
        return mask is None or bool(mask[cell[2]])

    earlier: set = set()

    def flagged(cell) -> bool:
        flag = flags.get(cell[:2])
        if flag is None:
            return cell in earlier  # an earlier publication's hidden year to date
        return bool(flag[cell[2]])

    out += _cumulative_checks(constraints, hidden, flagged, in_closed_year)
    # the year-to-date cells the publications of a closed year's open weeks hid, with their relations
    # (``apply._close_years``): none may follow from this publication's cells
    before = earlier_years_to_date(marts, constraints, hidden, in_closed_year)
    earlier.update(con.total for con in before)
    constraints = constraints + before
    # cells the published flow table says are 0 (a pair left out), whether or not a suppressed part
    # breaks that zero sum below
    said_zero = public_zeros(constraints)

    def broken_zero_sum(constraint) -> bool:
        # a suppressed or non-zero cell there: either the marts disagree, and a reader taking it for 0
        # learns nothing (see apply._holding), or a true 0 hidden under a derived rule (bought at home
        # where the year's buyers are few), which what the other relations give back must equal
        return zero_sum(constraint) and any(
            flagged(c) or (not hidden(c) and float(marts[c[0]][c[1]].iat[c[2]]) != 0)
            for c in constraint.parts
        )

    constraints = [c for c in constraints if not broken_zero_sum(c)]

    def value(cell) -> float:
        return float(marts[cell[0]][cell[1]].iat[cell[2]])

    def is_count(cell) -> bool:
        rules = policy.marts.get(cell[0])
        # a count with a derived rule (age bands, bought at home) may be hidden at 0: no floor of 1
        return rules is not None and cell[1] in rules.counts and cell[1] not in rules.derived

    def known_zero(cell, constraint) -> bool:
        """A lone hidden cell that the constraint gives back as 0 where the flow table says 0 anyway:
        a reader learns nothing (apply_policy hides such a cell under the derived rule and, seeing it
        known, adds no complement)."""
        return cell in said_zero and gives_back_zero(cell, constraint, value)

    seen = set()
    for constraint in constraints:
        cell = lone_suppressed(hidden, flagged, constraint)
        if cell is not None and known_zero(cell, constraint):
            seen.add(cell)  # what any combination gives back too: the same 0
            continue
        if cell is not None:
            seen.add(cell)
            out.append(Violation(*cell, "recoverable", f"only hidden cell of a {constraint.kind} constraint"))
            continue
        # every hidden part is a count of at least 1 and they add up to their number: all are 1
        cell = at_their_floor(constraint, hidden, flagged, value, is_count)
        if cell is not None:
            for part in constraint.parts:
                if hidden(part) and flagged(part) and part not in seen:
                    seen.add(part)
                    out.append(
                        Violation(
                            *part,
                            "recoverable",
                            f"hidden counts of a {constraint.kind} constraint add up to their number (all 1)",
                        )
                    )
    # a cell that a combination of constraints isolates (e.g. county - pool - the other municipalities)
    for cell, constraint in determined_cells(
        constraints, hidden, margins=alone_in_a_line(marts, policy)
    ).determined:
        if cell not in seen and flagged(cell):
            if cell in said_zero and abs(determined_value(cell, constraints, hidden, value)) < 1e-6:
                continue  # gives back the 0 the flow table says anyway (hidden under a derived rule)
            reason = f"determined by a combination of constraints (one is a {constraint.kind} constraint)"
            if cell in earlier:
                mart, _, j = cell[0].partition(EARLIER)
                cell = (mart, cell[1], cell[2])
                reason = f"an earlier publication's year to date over its first {j} hidden week(s) follows"
            out.append(Violation(*cell, "recoverable", reason))
    return out
