"""The batch phone normaliser gives exactly ``normalise_phone``'s answer, form by form."""

import gzip
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagesbild.privacy.phone_batch import e164_many
from lagesbild.privacy.pseudonymise import normalise_phone

# Digits and separators the batch path handles itself, plus a few characters that force the slow path.
SIMPLE_CHARS = "0123456789 .-()/+"
PREFIXES = ["", "0", "+46", "+46 ", "0046", "46", "+46 (0)", "0046(0)", "+460", "+4600", "00", "+47 ", "+", " "]


def _same(forms: list[str]) -> None:
    batch = e164_many(pd.Series(forms, dtype=object))
    expected = [normalise_phone(form) for form in forms]
    assert list(batch) == expected, [(f, b, e) for f, b, e in zip(forms, batch, expected, strict=True) if b != e]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PREFIXES), st.text(SIMPLE_CHARS, max_size=16)), min_size=1, max_size=40))
def test_random_simple_forms_match_normalise_phone(parts):
    _same([prefix + rest for prefix, rest in parts])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["0", "+46", "0046", "+46 (0)", "46"]),
    st.sampled_from(["7", "70", "73", "8", "10", "20", "31", "649", "75", "74", "77", "90", "99", "25", "67", "1"]),
    st.integers(min_value=0, max_value=10**10),
)
def test_numbers_near_the_swedish_ranges_match(prefix, head, tail):
    # Valid and invalid numbers of every type and length around the SE patterns.
    digits = head + str(tail)
    _same([prefix + digits, prefix + digits[:8], prefix + digits[:9], prefix + " " + digits[:3] + "-" + digits[3:10]])


def test_obfuscated_and_foreign_forms_take_libphonenumber():
    forms = [
        "O7O-l23 45 67",
        "noll sju noll 123 45 67",
        "tel: 070 123 45 67",
        "+47 412 34 567",
        "+1 415 555 2671",
        "ring mig",
        "",
        "   ",
        "070 123 45 67 ring efter 18",
        "070123",
        "+46 70 123 45 67",
        "0046 (0) 70 123 45 67",
    ]
    _same(forms)
    assert e164_many(pd.Series(["+46 70 123 45 67"])).iloc[0] == "+46701234567"


def test_every_form_the_generators_write(tmp_path):
    from lagesbild.demo.county import generate_demo

    generate_demo(tmp_path)
    forms = set()
    for path in sorted(tmp_path.rglob("*.jsonl*")):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for line in data.splitlines():
            try:
                phone = json.loads(line).get("phone")
            except (ValueError, AttributeError, EOFError):
                continue  # the demo's deliberately broken lines
            if isinstance(phone, str):
                forms.add(phone)
    national = national_phone_forms()
    assert len(forms) > 50 and len(national) == 7 * 3
    _same(sorted(forms) + national)


def national_phone_forms() -> list[str]:
    """The national generator's forms of three numbers (it writes them JSON-quoted)."""
    import numpy as np

    from lagesbild.demo.national import _phones

    numbers = np.array([701234567, 812345678, 313456789] * 7)
    forms = np.repeat(np.arange(7), 3)
    return [json.loads(text) or "" for text in _phones(numbers, forms).to_pylist()]


def test_missing_values_are_refused():
    with pytest.raises(ValueError, match="fill missing phones"):
        e164_many(pd.Series(["070 123 45 67", None]))
