"""Linear relations between published cells, the ways a reader could difference a hidden cell back.

A constraint says ``total = sum(parts)`` (or, with ``total`` None, that the sum is known from
elsewhere, e.g. the margins of the flow table, or with ``coefficients`` that a signed sum of the
parts is known, e.g. s_obs + m2 - n1 - n2 = 0). A hidden cell is recoverable when it is the only
hidden cell of some constraint. Apply and verify share this module so that they agree exactly on
what "recoverable" means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from lagesbild.disclosure.policy import DisclosurePolicy

Cell = tuple[str, str, int]  # (mart, column, row position)


@dataclass(frozen=True)
class Constraint:
    # "region", "country" (Sweden = counties), "row", "period", "cross_row", "cross_column", "identity"
    kind: str
    total: Cell | None
    parts: tuple[Cell, ...]
    #: with ``total`` None: the known combination is sum(coefficient * part) (default: every part -1)
    coefficients: tuple[float, ...] | None = None

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self.parts if self.total is None else (self.total, *self.parts)

    def coefficient(self, cell: Cell) -> float:
        """The cell's coefficient in the constraint's equation (total +1, parts -1 unless given)."""
        if cell == self.total:
            return 1.0
        if self.coefficients is not None:
            return float(self.coefficients[self.parts.index(cell)])
        return -1.0


POOLED = "pooled"
#: The column that names a municipality's small-area pool (and, on the pool's row, the pool itself).
POOL_COLUMN = "pool_code"


def _region_pairs(
    level: list[str], code: list[str], pool: list[str] | None
) -> list[tuple[int, list[int], str]]:
    """(total row, part rows) of every additive relation between the regions of one group.

    - each county = its municipalities (the pool is not a part: its members are);
    - each pool ("Övriga länet") = its member municipalities (``pool_code``);
    - each county = its municipalities outside the pool + the pool (implied by the two above, but
      listed so that a single hidden cell there is found without solving the system);
    - in national mode, Sweden = the counties.
    """
    pairs: list[tuple[int, list[int], str]] = []
    counties = [i for i, lv in enumerate(level) if lv == "county"]
    municipalities = [j for j, lv in enumerate(level) if lv == "municipality"]
    pools = [i for i, lv in enumerate(level) if lv == POOLED]
    if pools and pool is None:
        raise ValueError(
            f"disclosure: pooled rows without a {POOL_COLUMN} column: the pool's members are unknown, "
            "so the pool = sum of members constraint cannot be protected"
        )

    def members(i: int) -> list[int]:
        return [j for j in municipalities if pool[j] == code[i]]

    for i in counties:
        below = municipalities
        if len(counties) > 1:  # national marts: a county's parts are the municipalities it holds
            below = [j for j in below if code[j].startswith(code[i])]
        pairs.append((i, below, "region"))
        for p in pools:
            if len(counties) > 1 and not code[p].startswith(code[i] + "-"):
                continue
            inside = set(members(p))
            pairs.append((i, [j for j in below if j not in inside] + [p], "region"))
    for p in pools:
        pairs.append((p, members(p), "region"))
    for i in (i for i, lv in enumerate(level) if lv == "country"):
        pairs.append((i, counties, "country"))
    return pairs


def _weighted(
    mart: str, df: pd.DataFrame, col: str, weight: str, total: int, below: list[int]
) -> list[Constraint]:
    """count x mean of the total region = sum of count x mean of its parts, as one signed relation in the
    means (the counts as coefficients), where the counts are known and add up exactly (no buyer of the
    county without a municipality). A part with count 0 has no mean and drops out."""
    if col not in df.columns or weight not in df.columns:
        return []
    w = pd.to_numeric(df[weight], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    parts = [j for j in below if w[j] != 0]
    if np.isnan(w[[total, *parts]]).any() or w[total] == 0 or w[parts].sum() != w[total]:
        return []
    cells = ((mart, col, total), *((mart, col, j) for j in parts))
    return [Constraint("weighted", None, cells, (float(w[total]), *(-float(w[j]) for j in parts)))]


def _region_constraints(mart: str, df: pd.DataFrame, rules) -> list[Constraint]:
    if not (rules.additive_over_regions or rules.weighted_over_regions) or "region_level" not in df.columns:
        return []
    out = []
    keys = [k for k in rules.region_group if k in df.columns]
    groups = df.groupby(keys, dropna=False, sort=True).indices if keys else {(): range(len(df))}
    for positions in groups.values():
        positions = list(positions)
        level = df["region_level"].iloc[positions].astype(str).tolist()
        code = df["region_code"].iloc[positions].astype(str).tolist()
        pool = None
        if POOL_COLUMN in df.columns:
            pool = [None if pd.isna(v) else str(v) for v in df[POOL_COLUMN].iloc[positions]]
        for i, below, kind in _region_pairs(level, code, pool):
            if not below:
                continue
            for col in rules.additive_over_regions:
                if col in df.columns:
                    out.append(
                        Constraint(
                            kind,
                            (mart, col, positions[i]),
                            tuple((mart, col, positions[j]) for j in below),
                        )
                    )
            for col, weight in rules.weighted_over_regions.items():
                out += _weighted(mart, df, col, weight, positions[i], [positions[j] for j in below])
    return out


def _row_constraints(mart: str, df: pd.DataFrame, rules) -> list[Constraint]:
    out = []
    for total, parts in rules.row_sums:
        if total not in df.columns or not all(p in df.columns for p in parts):
            continue
        for pos in range(len(df)):
            out.append(Constraint("row", (mart, total, pos), tuple((mart, p, pos) for p in parts)))
    return out


def _identity_constraints(mart: str, df: pd.DataFrame, rules) -> list[Constraint]:
    """Within one row, a signed sum of counts a reader knows to be 0 (``row_identities``).

    ``only_row_of``: the identity holds only in a row that is the only one of its group (e.g. a
    region and year with one site pair, that is two sites); without those columns, in every row.
    """
    out = []
    for identity in rules.row_identities:
        terms = identity["terms"]
        if not all(col in df.columns for col in terms):
            continue
        keys = [k for k in identity.get("only_row_of", ()) if k in df.columns]
        if keys and len(keys) == len(identity.get("only_row_of", ())):
            sizes = df.groupby(keys, dropna=False)[keys[0]].transform("size").to_numpy()
            rows = np.flatnonzero(sizes == 1)
        else:
            rows = range(len(df))
        columns, coefficients = tuple(terms), tuple(float(v) for v in terms.values())
        for pos in rows:
            cells = tuple((mart, col, int(pos)) for col in columns)
            out.append(Constraint("identity", None, cells, coefficients))
    return out


def _period_columns(spec: dict) -> list[tuple[str, str]]:
    """(yearly column, weekly column) pairs of ``period_of.columns``: a name is the same column in both
    marts; ``{yearly: weekly}`` is a yearly column that sums another weekly column (advertiser_weeks is
    the year's weekly active_advertisers added up)."""
    out = []
    for entry in spec["columns"]:
        if isinstance(entry, dict):
            out += [(str(k), str(v)) for k, v in entry.items()]
        else:
            out.append((str(entry), str(entry)))
    return out


def _period_constraints(
    mart: str, df: pd.DataFrame, rules, marts: dict[str, pd.DataFrame]
) -> list[Constraint]:
    spec = rules.period_of
    if not spec or spec["mart"] not in marts:
        return []
    weekly = marts[spec["mart"]]
    ycol, wycol = spec.get("year_column", "year"), spec.get("weekly_year_column", "iso_year")
    if ycol not in df.columns or wycol not in weekly.columns:
        return []
    index = weekly.groupby(["region_code", wycol], dropna=False).indices
    out = []
    for pos in range(len(df)):
        key = (df["region_code"].iat[pos], df[ycol].iat[pos])
        weeks = index.get(key)
        if weeks is None:
            continue
        for col, weekly_col in _period_columns(spec):
            if col in df.columns and weekly_col in weekly.columns:
                parts = tuple((spec["mart"], weekly_col, int(w)) for w in weeks)
                out.append(Constraint("period", (mart, col, pos), parts))
    return out


def _cross_lines(
    mart: str, df: pd.DataFrame, rules, marts: dict[str, pd.DataFrame] | None = None
) -> Iterator[tuple[str, tuple[Cell, ...]]]:
    """The rows and columns of a cross table (flows), each as (kind, its cells), whose margins are
    assumed known. A row linked to a yearly mart (``line_sums_of``: a county municipality's flows) is
    left out: its margin is the yearly mart's cells summed over the period, known exactly when those
    are published (``_line_sum_constraints``)."""
    spec = rules.cross_table
    if not spec:
        return
    linked: set[int] = set()
    for _home, _ypos, line, _diagonal in _line_links(df, rules, marts or {}):
        linked.update(line)
    keys = [k for k in spec.get("group", ()) if k in df.columns]
    groups = df.groupby(keys, dropna=False).indices if keys else {(): range(len(df))}
    for positions in groups.values():
        sub = df.iloc[list(positions)]
        for axis, kind in ((spec["row"], "cross_row"), (spec["column"], "cross_column")):
            for _, idx in sub.groupby(axis, dropna=False).indices.items():
                cells = tuple((mart, spec["value"], int(positions[i])) for i in idx)
                if kind == "cross_row" and all(c[2] in linked for c in cells):
                    continue
                yield kind, cells


def _cross_constraints(
    mart: str, df: pd.DataFrame, rules, marts: dict[str, pd.DataFrame]
) -> list[Constraint]:
    # A line with one cell: its margin *is* the cell, protected wherever that margin is published
    # (e.g. convicted buyers per home municipality), not by another flow cell (``alone_in_a_line``).
    lines = _cross_lines(mart, df, rules, marts)
    return [Constraint(kind, None, cells) for kind, cells in lines if len(cells) > 1]


def _line_links(
    df: pd.DataFrame, rules, marts: dict[str, pd.DataFrame]
) -> list[tuple[str, list[int], list[int], list[int]]]:
    """(home, yearly rows, flow rows of its line, flow row to itself) for every municipality of the
    yearly mart named by ``line_sums_of``, per period of the cross table (see _line_sum_constraints)."""
    spec, link = rules.cross_table, rules.line_sums_of
    if not spec or not link or link["mart"] not in marts:
        return []
    yearly = marts[link["mart"]]
    ycol, rcol = link.get("year_column", "year"), link.get("region_column", "region_code")
    start, end = link.get("start_column", "period_start_year"), link.get("end_column", "period_end_year")
    if ycol not in yearly.columns or rcol not in yearly.columns or not {start, end} <= set(df.columns):
        return []
    rows = yearly
    if "region_level" in yearly.columns:
        rows = yearly[yearly["region_level"].astype(str) == "municipality"]
    by_region = {str(k): v for k, v in rows.groupby(rcol).indices.items()}
    positions_of = rows.index.to_numpy()
    years = pd.to_numeric(yearly[ycol], errors="coerce").to_numpy(dtype="float64")
    purchase = df[spec["column"]].astype(str)
    out = []
    for (first, last), positions in df.groupby([start, end], dropna=False).indices.items():
        lines = {str(k): v for k, v in df.iloc[positions].groupby(spec["row"]).indices.items()}
        # every municipality of the yearly mart: one without a flow row has flows summing to 0
        for home, rows_of_home in by_region.items():
            ypos = [int(positions_of[i]) for i in rows_of_home if first <= years[positions_of[i]] <= last]
            if ypos:
                line = [int(positions[i]) for i in lines.get(home, ())]
                out.append((home, ypos, line, [p for p in line if purchase.iat[p] == home]))
    return out


def _line_sum_constraints(
    mart: str, df: pd.DataFrame, rules, marts: dict[str, pd.DataFrame]
) -> list[Constraint]:
    """A cross table over a period of years against a yearly mart of the same persons (``line_sums_of``).

    Flows count all verdict years at once, mart_demand_yearly each year: a home municipality's flows
    add up to its convicted buyers summed over the period (``line_total``), and its flow to itself to
    its buyers who bought at home (``diagonal``; no such row: an absent pair, 0). Each is one signed
    constraint: sum of the yearly cells - sum of the flow cells = 0 (a municipality without a flow
    row: its yearly cells sum to 0, which the absent pairs publish). Such a row's margin is then what
    the yearly mart publishes, no longer assumed known (``_cross_lines`` leaves it out).
    """
    link = rules.line_sums_of
    out = []
    for _home, ypos, line, diagonal in _line_links(df, rules, marts):
        for yearly_col, flow_cells in ((link.get("line_total"), line), (link.get("diagonal"), diagonal)):
            if not yearly_col or yearly_col not in marts[link["mart"]].columns:
                continue
            cells = tuple((link["mart"], yearly_col, p) for p in ypos)
            cells += tuple((mart, rules.cross_table["value"], p) for p in flow_cells)
            coefficients = (1.0,) * len(ypos) + (-1.0,) * len(flow_cells)
            out.append(Constraint("line_sum", None, cells, coefficients))
    return out


def at_their_floor(
    constraint: Constraint,
    hidden: Callable[[Cell], bool],
    flagged: Callable[[Cell], bool],
    value: Callable[[Cell], float],
    is_count: Callable[[Cell], bool],
) -> Cell | None:
    """A suppressed cell given away by the published total and a floor, or None.

    0 is published and a suppressed person count is 1..min_persons-1 (or a complement, chosen
    positive), so a reader takes every hidden count as at least 1 (``is_count``: not a count that
    also has a derived rule, such as an age band, which is hidden at 0 too when its base is small). Where a published total minus its
    published parts equals the number of its hidden parts, and these are all person counts, each of
    them is exactly 1, although no one is alone in the constraint (two municipalities with one
    advertiser each beside a published county total). Signed relations (``coefficients``) and
    relations without a published total are left to the linear rule.
    """
    if constraint.total is None or constraint.coefficients is not None or hidden(constraint.total):
        return None
    parts = [c for c in constraint.parts if hidden(c)]
    if len(parts) < 2 or not all(is_count(c) for c in parts):
        return None
    rest = value(constraint.total) - sum(value(c) for c in constraint.parts if not hidden(c))
    if rest != len(parts):
        return None
    return next((c for c in parts if flagged(c)), None)


def zero_sum(constraint: Constraint) -> bool:
    """A relation saying its cells add up to 0: a municipality's yearly cells without flows."""
    return (
        constraint.kind == "line_sum"
        and constraint.coefficients is not None
        and all(k > 0 for k in constraint.coefficients)
    )


def public_zeros(constraints: list[Constraint]) -> set[Cell]:
    """Cells a reader knows to be 0 from what the marts leave out: the yearly cells of a municipality
    without a flow row (or without a flow to itself), whose sum the absent pairs publish as 0, and the
    parts of a sum whose total is such a zero (the age bands of those buyers). Counts are never
    negative, so every part of a zero sum is 0. Hiding one protects nothing, so none may serve as a
    complement."""
    zeros = {c for con in constraints if zero_sum(con) for c in con.parts}
    grew = bool(zeros)
    while grew:
        grew = False
        for con in constraints:
            if con.total in zeros and con.coefficients is None and not zeros.issuperset(con.parts):
                zeros.update(con.parts)
                grew = True
            # and a total whose parts are all such zeros (the county of municipalities without any)
            if con.total is not None and con.total not in zeros and con.parts and zeros.issuperset(con.parts):
                zeros.add(con.total)
                grew = True
    return zeros


def alone_in_a_line(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> set[Cell]:
    """The cells alone in a row or column of a cross table: each equals its line's margin."""
    out: set[Cell] = set()
    for name, df in marts.items():
        rules = policy.marts.get(name)
        if rules is not None:
            out.update(cells[0] for _, cells in _cross_lines(name, df, rules, marts) if len(cells) == 1)
    return out


def zero_pairs_beside(
    marts: dict[str, pd.DataFrame], policy: DisclosurePolicy, cell: Cell
) -> pd.DataFrame | None:
    """Rows for the absent pairs (zero flows) in the row and the column of ``cell``'s cross table.

    A flow table publishes an absent pair as a zero. When every flow of a block is suppressed and a
    cell still follows from the margins, it is those known zeros that pin it down; a zero published
    as suppressed is the complement that protects it. The rows copy ``cell``'s row, with the other
    axis value and the columns that describe it (named with the axis's prefix, e.g. ``home_region_``)
    from a row of that value, and the value 0. None when the table is not a cross table or has no
    absent pair there.
    """
    mart, _, pos = cell
    rules = policy.marts.get(mart)
    spec = rules.cross_table if rules else None
    if not spec:
        return None
    df = marts[mart]
    keys = [k for k in spec.get("group", ()) if k in df.columns]
    template = df.iloc[pos]
    group = df[(df[keys] == template[keys]).all(axis=1)] if keys else df
    present = set(zip(group[spec["row"]], group[spec["column"]], strict=True))
    rows = []
    for axis, other in ((spec["column"], spec["row"]), (spec["row"], spec["column"])):
        described = [c for c in df.columns if c.startswith(axis.rsplit("_", 1)[0] + "_")]
        for value, first in group.groupby(axis, sort=True).head(1).set_index(axis).iterrows():
            pair = (template[other], value) if axis == spec["column"] else (value, template[other])
            if pair in present:
                continue
            row = template.copy()
            row[axis] = value
            for c in described:
                if c != axis:  # ``first`` is indexed by the axis
                    row[c] = first[c]
            row[spec["value"]] = 0
            rows.append(row)
            present.add(pair)
    return pd.DataFrame(rows).astype(df.dtypes.to_dict()) if rows else None


def closed_year(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> Callable[[Cell], bool]:
    """Whether a cell of a yearly mart (``period_of``) is of a closed year: the weekly mart's last week
    starts on or after the Monday of the year's last ISO week (week 52 or 53). Its total no longer
    changes from one publication to the next; an open year's is a year to date (docs/publication.md)."""
    closed: dict[str, np.ndarray] = {}
    for name, rules in policy.marts.items():
        spec = rules.period_of
        if not spec or name not in marts or spec["mart"] not in marts:
            continue
        weekly, yearly = marts[spec["mart"]], marts[name]
        ycol = spec.get("year_column", "year")
        if "week_start" not in weekly.columns or ycol not in yearly.columns:
            continue
        starts = pd.to_datetime(weekly["week_start"]).dropna()
        latest = starts.max().date() if len(starts) else None
        years = pd.to_numeric(yearly[ycol], errors="coerce").to_numpy(dtype="float64")
        ends = {}
        for y in {int(v) for v in years if np.isfinite(v)}:
            last = date(y, 12, 28).isocalendar()[1]
            ends[y] = latest is not None and latest >= date.fromisocalendar(y, last, 1)
        closed[name] = np.array([np.isfinite(v) and ends[int(v)] for v in years], dtype=bool)
    return lambda cell: cell[0] in closed and bool(closed[cell[0]][cell[2]])


#: Suffix of the mart name of an earlier publication's year to date (``earlier_years_to_date``).
EARLIER = "#ytd"


def earlier_years_to_date(
    marts: dict[str, pd.DataFrame],
    constraints: list[Constraint],
    hidden: Callable[[Cell], bool],
    in_closed_year: Callable[[Cell], bool],
) -> list[Constraint]:
    """The hidden year-to-date cells that the publications of a closed year's open weeks held.

    Each weekly publication of the year showed the year to date through its week, hidden from the
    region's first hidden week on (``apply.cumulative``); a week's suppression depends on that week's
    rows alone, so those cells are known from the weekly mart now: through week t, a hidden cell whose
    hidden part is the region's hidden weeks up to t. One per distinct hidden part that is not all of
    the year's hidden weeks (a year to date after the last hidden week is the closed total minus
    published weeks, protected with the total): ``(<mart>#ytd<j>, column, row)`` = the total's weeks
    up to (not including) its j+1-th hidden week. A reader who kept those publications has these
    cells and these relations; a closed total is published only where none of them follows."""
    out = []
    starts: dict[str, np.ndarray] = {}
    for con in constraints:
        if con.kind != "period" or con.total is None or not con.parts or not in_closed_year(con.total):
            continue
        name = con.parts[0][0]
        if name not in starts:
            starts[name] = pd.to_datetime(marts[name]["week_start"]).to_numpy()
        weeks = sorted(con.parts, key=lambda c, at=starts[name]: at[c[2]])
        gaps = [i for i, w in enumerate(weeks) if hidden(w)]
        mart, col, pos = con.total
        for j in range(1, len(gaps)):
            out.append(Constraint("period", (f"{mart}{EARLIER}{j}", col, pos), tuple(weeks[: gaps[j]])))
    return out


def build_constraints(marts: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> list[Constraint]:
    """All constraints among the given marts (each frame must have a RangeIndex)."""
    out: list[Constraint] = []
    for name, df in marts.items():
        rules = policy.marts.get(name)
        if rules is None:
            continue
        out += _region_constraints(name, df, rules)
        out += _row_constraints(name, df, rules)
        out += _identity_constraints(name, df, rules)
        out += _period_constraints(name, df, rules, marts)
        out += _cross_constraints(name, df, rules, marts)
        out += _line_sum_constraints(name, df, rules, marts)
    return out


#: Largest block (rows x columns x min(rows, columns), about the flops of its SVD) solved exactly.
#: A county's blocks are far below it; a national build's weekly block that spans Sweden is above
#: it and is checked by the one-hidden-cell rule only (``unsolved`` in the result says how many).
MAX_BLOCK_WORK = 4e9


@dataclass
class Determination:
    determined: list[tuple[Cell, Constraint]]
    #: the block (connected set of hidden cells) of each determined cell, by position in ``determined``
    blocks: list[int] = field(default_factory=list)
    next_block: int = 0
    #: hidden cells in blocks too large to solve exactly (checked by the lone-cell rule only)
    unsolved: int = 0
    #: determined cells that are alone in a line of a cross table, in a block where this table
    #: publishes nothing (every cell hidden, every total external): their value follows from the
    #: margins alone, which no suppression here can change; it is the line's margin, protected
    #: wherever that margin is published (``alone_in_a_line``)
    by_margins: list[Cell] = field(default_factory=list)


@threadpool_limits.wrap(limits=1, user_api="blas")
def determined_cells(
    constraints: list[Constraint],
    hidden: Callable[[Cell], bool],
    tol: float = 1e-9,
    margins: AbstractSet[Cell] = frozenset(),
    cache: dict | None = None,
) -> Determination:
    """Hidden cells whose value follows from the published cells, with a constraint they are in.

    The constraints are a linear system in the hidden cells (the published cells are constants).
    A hidden cell is determined exactly when its unit vector lies in the row space of the system's
    matrix over the hidden cells (then some combination of the constraints isolates it). This finds
    what any combination gives away (e.g. county - pool - the municipalities outside the pool), not
    only a cell that is alone in one constraint. Solved per connected block of hidden cells with an
    economy SVD (the projection of the unit vector onto the row space has norm 1). ``margins``: the
    cells alone in a line of a cross table (``alone_in_a_line``), reported in ``by_margins`` instead
    when nothing of their block is published. ``cache``: a dict kept across calls on the same marts
    (``apply_policy``'s rounds), so a block that did not change is not solved again.

    BLAS runs on one thread here: the blocks are small (tens of cells), and OpenBLAS's worker threads
    spin on matrices that small; on two cores they tripled the CPU of ``apply_policy`` and ``verify``.
    """
    result = Determination([])
    _solve(_touching(constraints, hidden), result, tol, split_country=True, margins=margins, cache=cache)
    return result


def _touching(
    constraints: list[Constraint], hidden: Callable[[Cell], bool]
) -> list[tuple[Constraint, tuple[Cell, ...]]]:
    """Each constraint with a hidden cell, with its hidden cells (once each, in order)."""
    touching = []
    for constraint in constraints:
        cells = tuple(dict.fromkeys(c for c in constraint.cells if hidden(c)))
        if cells:
            touching.append((constraint, cells))
    return touching


def _block_matrix(items, index: dict[Cell, int]) -> np.ndarray:
    """A block's system over its hidden cells: one row per constraint, each cell's coefficient."""
    matrix = np.zeros((len(items), len(index)))
    for r, (constraint, cells) in enumerate(items):
        for c in cells:
            matrix[r, index[c]] = constraint.coefficient(c)
    return matrix


def determined_value(
    cell: Cell, constraints: list[Constraint], hidden: Callable[[Cell], bool], value: Callable[[Cell], float]
) -> float:
    """The value the published cells give a determined hidden ``cell`` (``determined_cells``), NaN
    when only the cross tables' margins pin it down.

    A constraint with a total or coefficients says sum(coefficient * cell) = 0; over the hidden cells
    of ``cell``'s block the published ones are constants. A line of a cross table sums to its margin,
    assumed known but published nowhere, so it gives no value and is left out (taken as 0, the flow
    table's lines gave 47 for a hidden 0 that the other relations give back as 0). A cell outside the
    cross tables that ``determined_cells`` reports is determined without them (else it is
    ``by_margins``); a determined cell has the same value in every solution of that system, so the
    least-squares solution's is it.
    """
    constraints = [con for con in constraints if con.total is not None or con.coefficients is not None]
    blocks = _blocks(_touching(constraints, hidden))
    block = next((items for items in blocks if any(cell in cells for _, cells in items)), [])
    columns = list(dict.fromkeys(c for _, cells in block for c in cells))
    if cell not in columns:
        return float("nan")
    index = {c: k for k, c in enumerate(columns)}
    matrix = _block_matrix(block, index)
    if _projection(np.unique(matrix, axis=0), 1e-9)[index[cell]] < 1.0 - 1e-6:
        return float("nan")
    rhs = [
        -sum(constraint.coefficient(c) * value(c) for c in dict.fromkeys(constraint.cells) if not hidden(c))
        for constraint, _ in block
    ]
    solution, *_ = np.linalg.lstsq(matrix, np.array(rhs), rcond=None)
    return float(solution[index[cell]])


def _blocks(
    touching: list[tuple[Constraint, tuple[Cell, ...]]],
) -> list[list[tuple[Constraint, tuple[Cell, ...]]]]:
    """The constraints grouped into connected blocks of hidden cells (union-find)."""
    parent: dict[Cell, Cell] = {}

    def find(c: Cell) -> Cell:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for _, cells in touching:
        root = find(cells[0])
        for c in cells[1:]:
            other = find(c)
            if other != root:
                parent[other] = root
    blocks: dict[Cell, list[tuple[Constraint, tuple[Cell, ...]]]] = {}
    for item in touching:
        blocks.setdefault(find(item[1][0]), []).append(item)
    return list(blocks.values())


def _projection(matrix: np.ndarray, tol: float) -> np.ndarray:
    """Per column: squared norm of its unit vector's projection onto the row space (1: determined)."""
    _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((sing > tol * max(matrix.shape) * max(sing[0], 1.0)).sum()) if len(sing) else 0
    return (vt[:rank] ** 2).sum(axis=0) if rank else np.zeros(matrix.shape[1])


#: A block's outcome: its determined cells with the constraint each is in, and its cells that follow
#: from the cross tables' margins alone (``Determination.by_margins``).
BlockOutcome = tuple[tuple[tuple[Cell, Constraint], ...], tuple[Cell, ...]]


def _solve(
    touching,
    result: Determination,
    tol: float,
    split_country: bool,
    margins: AbstractSet[Cell] = frozenset(),
    cache: dict | None = None,
) -> None:
    for items in _blocks(touching):
        columns = list(dict.fromkeys(c for _, cells in items for c in cells))
        m, n = len(set(cells for _, cells in items)), len(columns)
        if m * n * min(m, n) > MAX_BLOCK_WORK:
            # A national block joined through Sweden = the counties: solve each county's part
            # exactly (what a county's own publication is checked against) and leave the country
            # constraints to the one-hidden-cell rule.
            inner = [item for item in items if item[0].kind != "country"]
            if split_country and len(inner) < len(items):
                _solve(inner, result, tol, split_country=False, margins=margins, cache=cache)
            else:
                result.unsolved += n
            continue
        # A block's outcome depends only on its constraints, their hidden cells, the margins among
        # them and the tolerance: the fixed point of ``apply_policy`` asks again for the blocks a round
        # did not change (most of them), and gets the answer of the round before.
        key = (
            (tuple(items), frozenset(c for c in columns if c in margins), tol) if cache is not None else None
        )
        outcome = cache.get(key) if key is not None else None
        if outcome is None:
            outcome = _block_outcome(items, columns, tol, margins)
            if key is not None:
                cache[key] = outcome
        determined, by_margins = outcome
        result.by_margins.extend(by_margins)
        block = result.next_block
        result.next_block += 1
        for cell, owner in determined:
            result.determined.append((cell, owner))
            result.blocks.append(block)


def _block_outcome(items, columns: list[Cell], tol: float, margins: AbstractSet[Cell]) -> BlockOutcome:
    """Which hidden cells of one connected block the published cells determine (see ``determined_cells``)."""
    n = len(columns)
    index = {c: k for k, c in enumerate(columns)}
    matrix = _block_matrix(items, index)
    # the cross tables' margins are assumed known only to protect the table's own cells: a cell of
    # another mart that only they pin down (a county total equal to a purchase municipality's
    # margin) is that margin, published nowhere, and no suppression could change it
    assumed = np.array([con.kind in ("cross_row", "cross_column") for con, _ in items])
    cross_cells = {c for con, cells in items if con.kind in ("cross_row", "cross_column") for c in cells}
    projection = _projection(np.unique(matrix, axis=0), tol)
    without = projection
    if assumed.any() and any(projection[k] >= 1.0 - 1e-6 and c not in cross_cells for c, k in index.items()):
        rest = matrix[~assumed]
        without = _projection(np.unique(rest, axis=0), tol) if len(rest) else np.zeros(n)
    # nothing of the block is published: every cell of its constraints hidden, no total a cell
    published_nothing = all(con.total is None and len(cells) == len(set(con.cells)) for con, cells in items)
    determined: list[tuple[Cell, Constraint]] = []
    by_margins: list[Cell] = []
    for c, k in index.items():
        if projection[k] >= 1.0 - 1e-6:
            if (published_nothing and c in margins) or (c not in cross_cells and without[k] < 1.0 - 1e-6):
                by_margins.append(c)
                continue
            owner = min((con for con, cells in items if c in cells), key=lambda con: len(con.cells))
            determined.append((c, owner))
    return tuple(determined), tuple(by_margins)
