"""Linear relations between published cells, the ways a reader could difference a hidden cell back.

A constraint says ``total = sum(parts)`` (or, with ``total`` None, that the sum is known from
elsewhere, e.g. the margins of the flow table). A hidden cell is recoverable when it is the only
hidden cell of some constraint. Apply and verify share this module so that they agree exactly on
what "recoverable" means.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lagesbild.disclosure.policy import DisclosurePolicy

Cell = tuple[str, str, int]  # (mart, column, row position)


@dataclass(frozen=True)
class Constraint:
    kind: str  # "region", "row", "period", "cross_row", "cross_column"
    total: Cell | None
    parts: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self.parts if self.total is None else (self.total, *self.parts)


def _region_constraints(mart: str, df: pd.DataFrame, rules) -> list[Constraint]:
    if not rules.additive_over_regions or "region_level" not in df.columns:
        return []
    out = []
    keys = [k for k in rules.region_group if k in df.columns]
    groups = df.groupby(keys, dropna=False, sort=True).indices if keys else {(): range(len(df))}
    for positions in groups.values():
        positions = list(positions)
        level = df["region_level"].iloc[positions].astype(str).tolist()
        code = df["region_code"].iloc[positions].astype(str).tolist()
        # Each county = its municipalities (and pool); in national mode also Sweden = the counties.
        pairs = []
        counties = [i for i, lv in enumerate(level) if lv == "county"]
        for i in counties:
            below = [j for j, lv in enumerate(level) if lv not in ("county", "country")]
            if len(counties) > 1:  # national marts: a county's parts are the municipalities it holds
                below = [j for j in below if code[j].startswith(code[i])]
            pairs.append((i, below))
        for i in (i for i, lv in enumerate(level) if lv == "country"):
            pairs.append((i, counties))
        for i, below in pairs:
            if not below:
                continue
            for col in rules.additive_over_regions:
                if col in df.columns:
                    out.append(
                        Constraint(
                            "region",
                            (mart, col, positions[i]),
                            tuple((mart, col, positions[j]) for j in below),
                        )
                    )
    return out


def _row_constraints(mart: str, df: pd.DataFrame, rules) -> list[Constraint]:
    out = []
    for total, parts in rules.row_sums:
        if total not in df.columns or not all(p in df.columns for p in parts):
            continue
        for pos in range(len(df)):
            out.append(Constraint("row", (mart, total, pos), tuple((mart, p, pos) for p in parts)))
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
        for col in spec["columns"]:
            if col in df.columns and col in weekly.columns:
                parts = tuple((spec["mart"], col, int(w)) for w in weeks)
                out.append(Constraint("period", (mart, col, pos), parts))
    return out


def _cross_constraints(mart: str, df: pd.DataFrame, rules) -> list[Constraint]:
    spec = rules.cross_table
    if not spec:
        return []
    out = []
    keys = [k for k in spec.get("group", ()) if k in df.columns]
    groups = df.groupby(keys, dropna=False).indices if keys else {(): range(len(df))}
    for positions in groups.values():
        sub = df.iloc[list(positions)]
        for axis, kind in ((spec["row"], "cross_row"), (spec["column"], "cross_column")):
            for _, idx in sub.groupby(axis, dropna=False).indices.items():
                cells = tuple((mart, spec["value"], int(positions[i])) for i in idx)
                # A line with one cell: its margin *is* the cell, protected wherever that margin is
                # published (e.g. convicted buyers per home municipality), not by another flow cell.
                if len(cells) > 1:
                    out.append(Constraint(kind, None, cells))
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
        out += _period_constraints(name, df, rules, marts)
        out += _cross_constraints(name, df, rules)
    return out
