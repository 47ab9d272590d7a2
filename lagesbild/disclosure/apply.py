"""Primary and secondary suppression.

Primary: a person count of 1..min_persons-1, and a derived value whose base is
1..min_persons_for_derived-1, are suppressed. Secondary: while some constraint (county total vs
municipalities, age bands vs their total, weeks vs their year, flow margins) has exactly one hidden
cell that is suppressed, one more cell of that constraint is suppressed (the smallest positive part,
so the least information is lost), and derived values of newly suppressed bases follow. This reaches
a fixed point because cells are only ever added. Then the whole system is solved (``determined_cells``): a suppressed
cell that some combination of constraints isolates (e.g. county - "Övriga länet" - the municipalities
outside the pool) gets one more complementary cell in a constraint it is in, until none is left.

Small municipalities keep their own rows; the small-area pool "Övriga länet" (``region_level =
'pooled'``, members named by ``pool_code``, decided in dbt from fixed 2019 population) is one more
region row, and pool = sum of its members is one more constraint (``constraints._region_pairs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lagesbild.disclosure.constraints import (
    Cell,
    Constraint,
    alone_in_a_line,
    at_their_floor,
    build_constraints,
    closed_year,
    determined_cells,
    earlier_years_to_date,
    public_zeros,
    zero_pairs_beside,
    zero_sum,
)
from lagesbild.disclosure.policy import FLAG_SUFFIX, DisclosurePolicy
from lagesbild.warehouse import canonical_order

log = logging.getLogger(__name__)
#: Rounds of zero-flow complements (``zero_pairs_beside``) before apply_policy gives up.
MAX_ZERO_ROUNDS = 20


class NoComplement(RuntimeError):
    """A suppressed cell that a reader can recover and no visible cell can protect."""

    def __init__(self, cell: Cell, where: str):
        super().__init__(f"disclosure: no complementary cell available {where}")
        self.cell = cell


@dataclass
class DisclosureResult:
    marts: dict[str, pd.DataFrame]
    #: {mart: {column: {"cells": n, "suppressed": k, "primary": p, "secondary": s, "rate": k/n}}}
    stats: dict[str, dict[str, dict]] = field(default_factory=dict)


def _numeric(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


class _State:
    """Values (as float arrays, NaN = unknown) and suppression flags for every protected column."""

    def __init__(self, marts: dict[str, pd.DataFrame], policy: DisclosurePolicy):
        self.policy = policy
        #: cells whose value a reader knows anyway (``public_zeros``): never a complement
        self.public: set[Cell] = set()
        #: {(mart, column): {row: the weekly cells it sums}}: the year-to-date cells of the open year
        #: (``cumulative``), hidden exactly when one of their weeks is, whatever the derived rules say
        self.cumulative: dict[tuple[str, str], dict[int, tuple[Cell, ...]]] = {}
        #: the same for closed years' totals: left visible while the weeks are decided, then decided
        #: by the solver with only closed years' cells as complements (``_close_years``)
        self.closed: dict[tuple[str, str], dict[int, tuple[Cell, ...]]] = {}
        #: None while the weeks are decided; then the cells that may serve as complements
        self.movable: Callable[[Cell], bool] | None = None
        #: the closed years' totals their derived rules hide (primary, for the suppression rates)
        self.derived_first: dict[Cell, bool] = {}
        #: the hidden year-to-date cells of the publications before a year closed
        #: (``earlier_years_to_date``): no mart's cells, never published, protected like suppressed ones
        self.virtual: set[Cell] = set()
        self.values: dict[tuple[str, str], np.ndarray] = {}
        self.flags: dict[tuple[str, str], np.ndarray] = {}
        #: the solver's outcome per block of hidden cells, kept across the rounds (``determined_cells``)
        self.solved: dict = {}
        #: the cells without a value (NaN), as Python lists: ``hidden`` is asked millions of times
        self._unknown: dict[tuple[str, str], list[bool]] = {}
        for name, df in marts.items():
            rules = policy.marts.get(name)
            for col in rules.protected if rules else []:
                if col in df.columns:
                    self.values[(name, col)] = _numeric(df[col])
                    self.flags[(name, col)] = np.zeros(len(df), dtype=bool)
                    self._unknown[(name, col)] = np.isnan(self.values[(name, col)]).tolist()

    def hidden(self, cell: Cell) -> bool:
        mart, col, pos = cell
        unknown = self._unknown.get((mart, col))
        if unknown is None:
            return True  # a column the marts do not publish is unknown to a reader
        return unknown[pos] or bool(self.flags[(mart, col)][pos])

    def flagged(self, cell: Cell) -> bool:
        key = cell[:2]
        if key not in self.flags:
            return cell in self.virtual
        return bool(self.flags[key][cell[2]])

    def value(self, cell: Cell) -> float:
        return float(self.values[cell[:2]][cell[2]])

    def is_count(self, cell: Cell) -> bool:
        rules = self.policy.marts.get(cell[0])
        # a count with a derived rule (age bands, bought at home) may be hidden at 0: no floor of 1
        return rules is not None and cell[1] in rules.counts and cell[1] not in rules.derived


def _primary(state: _State) -> None:
    p = state.policy
    for (mart, col), vals in state.values.items():
        if col in p.marts[mart].counts:
            state.flags[(mart, col)] |= (vals >= 1) & (vals < p.min_persons)


def _derived(state: _State) -> bool:
    """Suppress derived values whose base is small or suppressed; True when anything changed."""
    changed = False
    p = state.policy
    for (mart, col), flags in state.flags.items():
        rules = p.marts[mart]
        bases = rules.bases(col)
        if not bases and (mart, col) not in state.cumulative and (mart, col) not in state.closed:
            continue
        new = flags.copy()
        first = state.values.get((mart, bases[0])) if bases and col in rules.derived else None
        if first is not None:
            new |= (first >= 1) & (first < p.min_persons_for_derived)
        for base in bases:
            if (mart, base) in state.flags and base != col:
                new |= state.flags[(mart, base)]
        for pos, weeks in state.cumulative.get((mart, col), {}).items():
            new[pos] = any(state.hidden(w) for w in weeks)
        for pos, weeks in state.closed.get((mart, col), {}).items():
            # a closed year's total: not hidden while the weeks are decided; then by its derived rules
            # unless every week it sums is published (it is their sum, known anyway); never over
            # exactly one hidden week (the total minus the published weeks is that week), nor over a
            # week that is empty without being suppressed (the open year's rule then)
            gaps = [w for w in weeks if state.hidden(w)] if state.movable is not None else []
            if state.movable is None or not gaps:
                new[pos] = flags[pos]
            elif len(gaps) == 1 or not all(state.flagged(w) for w in gaps):
                new[pos] = True
        if (new != flags).any():
            state.flags[(mart, col)] = new
            changed = True
    return changed


def _complement(state: _State, constraint: Constraint, positive: bool = False) -> Cell | None:
    """The cell to suppress next to a lone suppressed one: the smallest positive visible part.

    ``positive``: for hidden counts that add up to their number (``at_their_floor``), a visible
    positive total is taken before a zero part. A hidden 0 breaks that count in this relation only:
    summed over the weeks, the regions it hides may still add up to their number in the year (each
    region's year to date exactly 1 beside a published county total), with no yearly cell left that
    could protect them (the county's is the sum of its published weeks).
    """

    def candidate(c: Cell) -> bool:
        # a year-to-date cell shown is the sum of its shown weeks: hiding it would hide nothing
        return (
            not state.hidden(c)
            and c[:2] in state.flags
            and c not in state.public
            and c[2] not in state.cumulative.get(c[:2], ())
            and (c[2] not in state.closed.get(c[:2], ()) if state.movable is None else state.movable(c))
        )

    visible = [c for c in constraint.parts if candidate(c)]
    total = constraint.total if constraint.total is not None and candidate(constraint.total) else None
    above_zero = [c for c in visible if state.value(c) > 0]
    if above_zero or (visible and not (positive and total is not None and state.value(total) > 0)):
        return min(above_zero or visible, key=lambda c: (state.value(c), c))
    return total


def lone_suppressed(state_hidden, state_flagged, constraint: Constraint) -> Cell | None:
    """The suppressed cell a reader recovers from ``constraint``, or None when none is recoverable."""
    hidden = [c for c in constraint.cells if state_hidden(c)]
    if len(hidden) == 1 and state_flagged(hidden[0]):
        return hidden[0]
    return None


def _secondary(state: _State, constraints: list[Constraint]) -> bool:
    changed = False
    for constraint in constraints:
        lone = lone_suppressed(state.hidden, state.flagged, constraint)
        floor = lone is None
        if floor:
            lone = at_their_floor(constraint, state.hidden, state.flagged, state.value, state.is_count)
        if lone is None or lone in state.public:  # a value a reader knows anyway: nothing to protect
            continue
        if lone[2] in state.cumulative.get(lone[:2], ()):
            # a year-to-date cell follows its weeks (``cumulative``), whose complements this pass may
            # still be adding; what stays determined once they are is found by _close_combinations
            continue
        cell = _complement(state, constraint, positive=floor)
        if cell is None:
            raise NoComplement(lone, f"in {constraint}")
        state.flags[cell[:2]][cell[2]] = True
        changed = True
    return changed


def _close_combinations(state: _State, constraints: list[Constraint], margins: set[Cell]) -> bool:
    """Complement every suppressed cell that a combination of constraints determines."""
    found = determined_cells(constraints, state.hidden, margins=margins, cache=state.solved)
    if found.by_margins:
        log.info(
            "disclosure: %d hidden cells alone in a line of a cross table follow from its margins "
            "alone; they are protected where those margins are published",
            len(found.by_margins),
        )
    if found.unsolved:
        log.warning(
            "disclosure: %d hidden cells are in blocks too large to solve exactly; "
            "they are protected by the one-hidden-cell rule only",
            found.unsolved,
        )
    determined = [
        (cell, block)
        for (cell, _), block in zip(found.determined, found.blocks, strict=True)
        if state.flagged(cell) and cell not in state.public
    ]
    # A year-to-date cell follows its weeks (``cumulative``) and is never a complement, and its block
    # holds yearly cells only: found in the same round as its hidden week (the yearly mart repeating
    # it), it waits, as in _secondary, for the week's complement, which the rule carries over to it.
    # What is still determined once no other cell is left is complemented (or refused) in a later round.
    others = [
        (cell, block) for cell, block in determined if cell[2] not in state.cumulative.get(cell[:2], ())
    ]
    # one complement per block and round: a complement changes its whole block's system
    leaks: dict[int, Cell] = {}
    for cell, block in others or determined:
        leaks.setdefault(block, cell)
    if not leaks:
        return False
    by_cell: dict[Cell, list[Constraint]] = {}
    for constraint in constraints:
        for c in constraint.cells:
            by_cell.setdefault(c, []).append(constraint)
    touched: set[Constraint] = set()
    for cell in leaks.values():
        extra = _complement_near(state, cell, by_cell, touched)
        if extra is None:
            raise NoComplement(cell, f"for {cell}")
        state.flags[extra[:2]][extra[2]] = True
    return True


def _complement_near(
    state: _State, cell: Cell, by_cell: dict[Cell, list[Constraint]], touched: set[Constraint]
) -> Cell | None:
    """A visible cell to hide in the nearest constraint of ``cell``'s block that has one.

    First the constraints the cell is in (smallest first); when all their cells are hidden (a cell of
    a flow table fixed by its row and column margins together), the constraints of the hidden cells
    next to it, and so on outwards.
    """
    seen_cells, frontier, seen = {cell}, [cell], set()
    while frontier:
        mine = sorted(
            {con for c in frontier for con in by_cell.get(c, ()) if con not in seen},
            key=lambda con: (len(con.cells), con.kind, con.cells),
        )
        seen.update(mine)
        for constraint in mine:
            extra = _complement(state, constraint)
            if extra is not None:
                touched.add(constraint)
                return extra
        frontier = [c for con in mine for c in con.cells if state.hidden(c) and c not in seen_cells]
        seen_cells.update(frontier)
    return None


def _write_back(marts: dict[str, pd.DataFrame], state: _State) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in marts.items():
        df = df.copy()
        rules = state.policy.marts.get(name)
        for col in rules.protected if rules else []:
            if col not in df.columns:
                continue
            flags = state.flags[(name, col)]
            if pd.api.types.is_integer_dtype(df[col].dtype):
                df[col] = df[col].astype("Int64")
            df.loc[flags, col] = pd.NA if df[col].dtype == "Int64" else np.nan
            df[col + FLAG_SUFFIX] = flags
        for status_col, col, value in rules.status if rules else ():
            if status_col in df.columns and (name, col) in state.flags:
                flags = state.flags[(name, col)]
                if value is None and flags.any():
                    if pd.api.types.is_bool_dtype(df[status_col].dtype):
                        df[status_col] = df[status_col].astype("boolean")
                    df[status_col] = df[status_col].mask(flags)
                elif value is not None:
                    df.loc[flags, status_col] = value
        out[name] = df
    return out


def suppression_rate(suppressed: int, cells: int) -> float:
    """The share of a column's cells with a value that are suppressed, as the stats state it."""
    return round(suppressed / cells, 4) if cells else 0.0


def _stats(state: _State, primary: dict, originals: dict, dropped: dict) -> dict[str, dict[str, dict]]:
    stats: dict[str, dict[str, dict]] = {}
    for (mart, col), flags in state.flags.items():
        # Rates are over cells that had a value: a cell that was already empty (e.g. no Chapman
        # estimate for a small overlap) is flagged with its base but hides nothing. Zero rows added
        # as complements count where they are published (suppressed), not where they were dropped.
        has_value = ~np.isnan(state.values[(mart, col)])
        n = originals[mart]
        has_value[n:] &= ~dropped[mart]
        known = int(has_value.sum())
        total = int((flags & has_value).sum())
        first = int((primary[(mart, col)] & has_value).sum())
        stats.setdefault(mart, {})[col] = {
            "cells": known,
            "suppressed": total,
            "primary": first,
            "secondary": total - first,
            "rate": suppression_rate(total, known),
        }
    return stats


def _decide(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> tuple[_State, dict]:
    """Primary, derived and secondary suppression to a fixed point; the state and the primary flags."""
    state = _State(marts, policy)
    constraints = _holding(build_constraints(marts, policy), state)
    # The year-to-date relations are kept by the rule on their totals (``cumulative``), not by the
    # solver: a week's suppression then depends on that week's rows alone (see ``cumulative``).
    in_closed_year = closed_year(marts, policy)
    state.cumulative, constraints = cumulative(constraints)
    closing = []
    for key, rows in list(state.cumulative.items()):
        for pos in [pos for pos in rows if in_closed_year((*key, pos))]:
            state.closed.setdefault(key, {})[pos] = rows.pop(pos)
            closing.append(Constraint("period", (*key, pos), state.closed[key][pos]))
    _primary(state)
    _derived(state)
    primary = {k: v.copy() for k, v in state.flags.items()}
    state.public = public_zeros(constraints)
    margins = alone_in_a_line(marts, policy)
    totals = {con.total for con in closing}
    # the relations among closed years' totals (county = municipalities of the year) wait for them
    later = [con for con in constraints if not totals.isdisjoint(con.cells)]
    first = [con for con in constraints if totals.isdisjoint(con.cells)]
    _fixed_point(state, first, margins)
    if closing:
        _close_years(marts, state, first, closing + later, margins, in_closed_year)
        for key, rows in state.closed.items():  # their derived rules, applied in _close_years
            for pos in rows:
                primary[key][pos] = state.derived_first.get((*key, pos), False)
    return state, primary


def _fixed_point(state: _State, constraints: list[Constraint], margins: set[Cell]) -> None:
    while True:
        while _secondary(state, constraints) | _derived(state):
            pass
        if not _close_combinations(state, constraints, margins):
            break


def _close_years(
    marts: dict[str, pd.DataFrame],
    state: _State,
    constraints: list[Constraint],
    closing: list[Constraint],
    margins: set[Cell],
    in_closed_year: Callable[[Cell], bool],
) -> None:
    """Decide the closed years' totals once the weeks are decided, hiding only closed years' cells.

    A closed year's total is the same in every publication from its last week on, so a reader has one
    relation per region and year, as within one publication: the solver protects the weeks against it
    (and the county = municipalities of the year), with the weeks fixed and complements taken among
    that year's yearly cells only. A total over published weeks only is published (their sum). Where
    that finds no complement, the closed years are treated as the open one (hidden over a hidden week).
    """
    saved = ({k: v.copy() for k, v in state.flags.items()}, set(state.public))
    state.public |= {
        con.total for con in closing if con.kind == "period" and not any(state.hidden(p) for p in con.parts)
    }
    state.movable = lambda c: in_closed_year(c) and c not in state.public
    # the year-to-date cells the publications of the year's open weeks hid: the weeks are decided now
    earlier = earlier_years_to_date(marts, closing, state.hidden, in_closed_year)
    state.virtual = {con.total for con in earlier}
    try:
        _derived(state)
        state.derived_first = {
            (*k, p): bool(state.flags[k][p]) for k, rows in state.closed.items() for p in rows
        }
        _fixed_point(state, constraints + closing + earlier, margins)
    except NoComplement as exc:
        log.warning("disclosure: closed years' totals hidden over every hidden week (%s)", exc)
        state.flags, state.public = saved
        state.movable = None
        state.virtual = set()
        for key, rows in state.closed.items():
            state.cumulative.setdefault(key, {}).update(rows)
        state.closed = {}
        _fixed_point(state, constraints + [con for con in closing if con.kind != "period"], margins)
    finally:
        state.movable = None


def cumulative(
    constraints: list[Constraint],
) -> tuple[dict[tuple[str, str], dict[int, tuple[Cell, ...]]], list[Constraint]]:
    """The year-to-date cells (totals of ``period`` relations) with their weeks, and the other relations.

    Every weekly publication republishes the year to date, and a reader may keep all of them: two
    publications' year-to-date cells differ by the weeks between them. Protecting each publication on its
    own let last week's year minus this week's give this week's hidden cell back. The rule that holds
    against any set of kept publications: a year-to-date cell is published only when none of the weeks
    it sums is hidden (then it, and any difference of two of them, is a sum of published cells), and
    the weeks are protected by their own relations only (county = municipalities within the week), so
    that a week's suppression depends on that week's rows alone and is the same in every publication
    that repeats it. The yearly relations over regions (county = municipalities of the year) are sums
    of the weekly ones over the weeks, so a hidden year-to-date cell is never alone in one.
    """
    out: dict[tuple[str, str], dict[int, tuple[Cell, ...]]] = {}
    rest = []
    for constraint in constraints:
        if constraint.kind == "period" and constraint.total is not None:
            mart, col, pos = constraint.total
            out.setdefault((mart, col), {})[pos] = constraint.parts
        else:
            rest.append(constraint)
    return out, rest


def check_counts(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> None:
    """Refuse a mart whose person counts are not counts: negative, missing, fractional or infinite.

    Such a value is a broken mart, and disclosure control cannot protect it (a missing count would
    go out as null without a flag, a negative one could become a complement, 2.5 would pass as is).
    """
    for name, df in marts.items():
        rules = policy.marts.get(name)
        for col in rules.counts if rules else ():
            if col not in df.columns:
                continue
            vals = _numeric(df[col])
            with np.errstate(invalid="ignore"):
                problems = (
                    ("missing", np.isnan(vals)),
                    ("not finite", np.isinf(vals)),
                    ("negative", vals < 0),
                    ("not a whole number", np.isfinite(vals) & (vals != np.round(vals))),
                )
            for what, bad in problems:
                if bad.any():
                    pos = int(np.flatnonzero(bad)[0])
                    where = f"row {pos}"
                    if "region_code" in df.columns:
                        where += f" (region {df['region_code'].iat[pos]})"
                    raise ValueError(
                        f"disclosure: {name}.{col} is a person count, but {int(bad.sum())} value(s) are "
                        f"{what}, first {df[col].iat[pos]!r} at {where}: refusing to publish a broken mart"
                    )


def _holding(constraints: list[Constraint], state: _State) -> list[Constraint]:
    """The constraints without the zero sums these marts break (``zero_sum``).

    A municipality without flows has no convicted buyers in the flows' period; where the yearly mart
    still counts some, the marts were not built from the same verdicts, and a reader who takes those
    cells for 0 is wrong: nothing to protect (and no cell could), so the relation is left out with a
    warning instead of failing the run. ``verify`` leaves out the same ones (a suppressed or non-zero
    cell in a zero sum). Other relations that do not add up exactly are treated as exact (errs on the
    side of suppressing): flows count verdicts without an offence year, the yearly mart does not.
    """
    kept, broken = [], 0
    for constraint in constraints:
        if zero_sum(constraint) and any(state.value(c) != 0 for c in constraint.parts):
            broken += 1
            continue
        kept.append(constraint)
    if broken:
        log.warning(
            "disclosure: %d municipalities have yearly counts but no flows over the flow table's period "
            "(marts not built from the same verdicts?); that zero sum is not used",
            broken,
        )
    return kept


def apply_policy(
    marts: dict[str, pd.DataFrame], policy: DisclosurePolicy, county_code: str
) -> DisclosureResult:
    """Suppress every cell the policy protects; marts the policy does not name pass unchanged.

    ``county_code`` is checked against the county rows so that a mart of another county is refused
    rather than silently protected against the wrong total.
    """
    check_counts(marts, policy)
    # decide over a defined row order, so ties (which cell to hide next) do not depend on the order
    # the rows came in; the result keeps the caller's order
    orders = {name: canonical_order(df) for name, df in marts.items()}
    marts = {name: df.iloc[orders[name]].reset_index(drop=True) for name, df in marts.items()}
    for name, df in marts.items():
        if "region_level" in df.columns:
            level = "country" if county_code == "00" else "county"  # national mode: Sweden is the top
            codes = set(df.loc[df["region_level"] == level, "region_code"].astype(str))
            if codes - {county_code}:
                raise ValueError(
                    f"disclosure: mart {name} has county rows for {sorted(codes)}, expected {county_code}"
                )
    originals = {name: len(df) for name, df in marts.items()}
    for _ in range(MAX_ZERO_ROUNDS):
        try:
            state, primary = _decide(marts, policy)
            break
        except NoComplement as exc:
            # every flow of the block is suppressed: publish a zero beside it as suppressed too
            zeros = zero_pairs_beside(marts, policy, exc.cell)
            if zeros is None:
                raise
            name = exc.cell[0]
            marts = {**marts, name: pd.concat([marts[name], zeros], ignore_index=True)}
    else:
        raise RuntimeError(f"disclosure: no protection found in {MAX_ZERO_ROUNDS} rounds of zero complements")
    decided = _write_back(marts, state)
    restored, dropped = {}, {}
    for name, df in decided.items():
        n = originals[name]
        kept = df.iloc[:n].iloc[np.argsort(orders[name], kind="stable")]
        # zero rows added as complements: kept where suppressed, dropped where visible (a visible
        # zero says what an absent pair says)
        extra = df.iloc[n:]
        hidden = np.zeros(len(extra), dtype=bool)
        for (mart, _col), flags in state.flags.items():
            if mart == name:
                hidden |= flags[n:]
        dropped[name] = ~hidden
        restored[name] = pd.concat([kept, extra[hidden]], ignore_index=True)
    return DisclosureResult(marts=restored, stats=_stats(state, primary, originals, dropped))
