"""Synthetic Swedish mobile numbers and the many ways advertisers write them.

The numbers are random draws from the 07x mobile series (070, 072, 073, 076, 079), generated from the
seed. They are synthetic, not collected; the ingest must normalise every written form below to the same
E.164 number, except the deliberately unparseable ones.
"""

from __future__ import annotations

import numpy as np

MOBILE_PREFIXES = ("70", "72", "73", "76", "79")

#: Written forms of a national number "07X1234567" (d = its 10 digits). Letters-for-digits comes last.
FORMATS = (
    lambda d: f"{d[0:3]}-{d[3:6]} {d[6:8]} {d[8:10]}",  # 070-123 45 67
    lambda d: f"+46 {d[1:3]} {d[3:6]} {d[6:8]} {d[8:10]}",  # +46 70 123 45 67
    lambda d: f"0046{d[1:10]}",  # 0046701234567
    lambda d: d,  # 0701234567
    lambda d: f"{d[0:3]} {d[3:6]} {d[6:8]} {d[8:10]}",  # 070 123 45 67
    lambda d: f"({d[0:3]}) {d[3:6]}.{d[6:8]}.{d[8:10]}",  # (070) 123.45.67
    lambda d: f"{d[0:3]}-{d[3:10]}",  # 070-1234567
    lambda d: f"+46{d[1:10]}",  # +46701234567
    lambda d: f"{d[0:3]}.{d[3:6]}.{d[6:8]}.{d[8:10]}",  # 070.123.45.67
    lambda d: f"{d[0:3]}/{d[3:10]}",  # 070/1234567
)
#: How often each form is used (the letters-for-digits form is applied on top, see render()).
FORMAT_WEIGHTS = np.array([24, 14, 6, 14, 14, 5, 10, 6, 4, 3], dtype=float) / 100

#: Strings that are not a usable number: the ingest marks them `unparseable`.
UNPARSEABLE = ("ring mig", "hemligt nr", "07O-l2", "sms via sajten", "0701-23", "nummer i profilen")

_LOOKALIKES = str.maketrans({"0": "O", "1": "l"})


def draw_numbers(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct national-format mobile numbers ("07XNNNNNNN")."""
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < count:
        need = count - len(numbers)
        prefixes = rng.choice(len(MOBILE_PREFIXES), size=need * 2)
        subscribers = rng.integers(1_000_000, 10_000_000, size=need * 2)
        for prefix_index, subscriber in zip(prefixes, subscribers, strict=True):
            number = f"0{MOBILE_PREFIXES[prefix_index]}{subscriber}"
            if number not in seen:
                seen.add(number)
                numbers.append(number)
                if len(numbers) == count:
                    break
    return numbers


def render(number: str, form: int, lookalike: bool = False) -> str:
    """One written form of `number`; `lookalike` swaps 0->O and 1->l as people do to dodge filters."""
    text = FORMATS[form](number)
    if lookalike:
        # Keep the country code or the leading 0 intact, as in "07O-l23 45 67".
        keep = 3 if text.startswith("+46") else 4 if text.startswith("0046") else 1
        head, tail = text[:keep], text[keep:]
        text = head + tail.translate(_LOOKALIKES)
    return text


def random_form(rng: np.random.Generator, lookalike_share: float = 0.06) -> tuple[int, bool]:
    """A random written form, drawn from FORMAT_WEIGHTS."""
    return int(rng.choice(len(FORMATS), p=FORMAT_WEIGHTS)), bool(rng.random() < lookalike_share)
