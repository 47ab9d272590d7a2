"""Reading published cells out of disclosed marts, and writing them the Swedish way.

Every number the report shows goes through :func:`cell`. A cell whose ``<col>_suppressed`` flag is
set is treated as suppressed *whatever its value*, so a value that slipped past the disclosure step
still never reaches a table, a chart or the embedded chart data (defence in depth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

OK = "ok"
SUPPRESSED = "suppressed"
MISSING = "missing"

#: Footnote markers; the report's footer explains them.
SUPPRESSED_MARK = "—"
MISSING_MARK = ".."
SUPPRESSED_NOTE = "under gränsen för röjandekontroll"
MISSING_NOTE = "uppgift saknas"

_NBSP = "\u00a0"


@dataclass(frozen=True)
class Cell:
    """One published value: ``value`` is only set when ``status`` is ``ok``."""

    value: Any
    status: str

    @property
    def ok(self) -> bool:
        return self.status == OK


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def is_suppressed(row: pd.Series | dict, col: str) -> bool:
    """Whether the disclosure step flagged ``col`` in this row."""
    flag = row.get(f"{col}_suppressed") if hasattr(row, "get") else None
    return (not _is_missing(flag)) and bool(flag)


#: Columns computed from another column of the same row: shown only while that column is shown.
#: Population and adult men are published, so per-capita rates and shares would give a suppressed
#: base back (per_10k × population / 10 000 = the hidden estimate).
DERIVED_FROM = {
    "est_purchases_per_10k": ("est_purchases_central",),
    "share_of_county": ("est_purchases_central",),
    "buyers_per_100k_adult_men": ("convicted_buyers",),
    "share_bought_in_home": ("convicted_buyers", "bought_in_home_municipality"),
    "chapman_n": ("n1", "n2", "m2"),
    "ci_low": ("chapman_n",),
    "ci_high": ("chapman_n",),
    "est_purchases_incl_hidden": ("est_purchases_central",),
    "est_purchases_incl_hidden_low": ("est_purchases_incl_hidden",),
    "est_purchases_incl_hidden_high": ("est_purchases_incl_hidden",),
    "chao2_n": ("s_obs", "f1", "f2"),
    "chao2_ci_low": ("chao2_n",),
    "chao2_ci_high": ("chao2_n",),
}


def cell(row: pd.Series | dict | None, col: str) -> Cell:
    """The published value of ``col`` in ``row`` (suppressed beats any value present).

    A column derived from a suppressed column of the same row is suppressed too, whatever its own
    flag says (see ``DERIVED_FROM``).
    """
    if row is None:
        return Cell(None, MISSING)
    if is_suppressed(row, col) or any(
        cell(row, base).status == SUPPRESSED for base in DERIVED_FROM.get(col, ())
    ):
        return Cell(None, SUPPRESSED)
    value = row.get(col) if hasattr(row, "get") else None
    if _is_missing(value):
        return Cell(None, MISSING)
    if hasattr(value, "item"):  # numpy scalar -> Python scalar (JSON, formatting)
        value = value.item()
    return Cell(value, OK)


def _group_thousands(digits: str) -> str:
    out = []
    for i, ch in enumerate(reversed(digits)):
        if i and i % 3 == 0:
            out.append(_NBSP)
        out.append(ch)
    return "".join(reversed(out))


def number(value: float | int, decimals: int = 0) -> str:
    """Swedish number: non-breaking space between thousands, decimal comma, minus sign."""
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING_MARK
    rounded = round(float(value), decimals)
    sign = "−" if rounded < 0 else ""
    text = f"{abs(rounded):.{decimals}f}"
    whole, _, frac = text.partition(".")
    return sign + _group_thousands(whole) + ("," + frac if frac else "")


def marker(status: str) -> Markup:
    """HTML for a value that is not shown, with its footnote reference."""
    if status == SUPPRESSED:
        return Markup(f'<span class="sup" title="{SUPPRESSED_NOTE}">{SUPPRESSED_MARK}<sup>a</sup></span>')
    return Markup(f'<span class="na" title="{MISSING_NOTE}">{MISSING_MARK}<sup>b</sup></span>')


def fmt(c: Cell, decimals: int = 0, unit: str = "") -> Markup:
    """A cell as table HTML: the number, or the suppressed/missing marker."""
    if not c.ok:
        return marker(c.status)
    if isinstance(c.value, bool | str):
        return escape(str(c.value))
    return escape(number(c.value, decimals) + (f"{_NBSP}{unit}" if unit else ""))


def fmt_share(c: Cell, decimals: int = 1) -> Markup:
    """A share stored as 0..1, shown in percent."""
    if not c.ok:
        return marker(c.status)
    return escape(number(float(c.value) * 100, decimals) + f"{_NBSP}%")


def fmt_interval(low: Cell, central: Cell, high: Cell, decimals: int = 0) -> Markup:
    """``central (low–high)``; parts that are not published show their marker."""
    if not central.ok:
        return marker(central.status)
    text = fmt(central, decimals)
    if low.status != MISSING or high.status != MISSING:  # omit the interval only when the row has none
        text += Markup(" ({}–{})").format(fmt(low, decimals), fmt(high, decimals))
    return text


def json_value(c: Cell) -> Any:
    """The value for embedded chart data: only published numbers, else ``None``."""
    return c.value if c.ok else None
