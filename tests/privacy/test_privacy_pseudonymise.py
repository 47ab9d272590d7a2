"""Phone normalisation and keyed hashing: property tests over obfuscated Swedish mobiles."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lagesbild.privacy.pseudonymise import case_key, normalise_case_number, normalise_phone, phone_key

KEY = b"test-key-one"
OTHER_KEY = b"test-key-two"
WORDS = {
    "0": "noll",
    "1": "ett",
    "2": "två",
    "3": "tre",
    "4": "fyra",
    "5": "fem",
    "6": "sex",
    "7": "sju",
    "8": "åtta",
    "9": "nio",
}
LOOKALIKE = {"0": ["O", "o"], "1": ["l", "I", "|"]}


@st.composite
def swedish_mobile(draw):
    """A valid Swedish mobile number: 07[02369] + 7 digits; returns the national digits."""
    prefix = draw(st.sampled_from(["070", "072", "073", "076", "079"]))
    rest = draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    return prefix + rest


@st.composite
def obfuscated(draw, national: str):
    """Write the number as an ad might: prefix variant, separators, brackets, letters, words."""
    prefix = draw(st.sampled_from(["0", "+46", "0046", "+46 (0)", "46"]))
    subscriber = national[1:]
    chars = []
    use_words = draw(st.booleans())
    for i, digit in enumerate(subscriber):
        if use_words and draw(st.booleans()):
            token = f" {WORDS[digit]} "
        elif digit in LOOKALIKE and draw(st.booleans()):
            token = draw(st.sampled_from(LOOKALIKE[digit]))
        else:
            token = digit
        sep = draw(st.sampled_from(["", "", " ", "-", ".", "  "])) if i else ""
        chars.append(sep + token)
    body = "".join(chars)
    if prefix == "0" and not use_words and draw(st.booleans()):  # "(070) 123 45 67"
        return f"(0{body[:2]}){body[2:]}"
    return prefix + draw(st.sampled_from(["", " ", "-"])) + body


@settings(max_examples=150, deadline=None)
@given(data=st.data(), national=swedish_mobile())
def test_every_obfuscated_writing_maps_to_the_same_e164(data, national):
    written = data.draw(obfuscated(national))
    assert normalise_phone(written) == "+46" + national[1:], written


@settings(max_examples=100, deadline=None)
@given(national=swedish_mobile())
def test_phone_key_is_deterministic_key_dependent_and_hides_the_number(national):
    e164 = normalise_phone(national)
    first, again, other = phone_key(e164, KEY), phone_key(e164, KEY), phone_key(e164, OTHER_KEY)
    assert first == again
    assert first != other
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    for form in (national, e164, e164.lstrip("+"), national[1:]):
        assert form not in first


def test_words_and_labels():
    assert normalise_phone("noll sju noll ett två tre fyra fem sex sju") == "+46701234567"
    assert normalise_phone("Tel: O7O-l23 45 67") == "+46701234567"
    assert normalise_phone("+46 (0)70 123 45 67") == "+46701234567"


def test_unusable_numbers_give_none():
    for raw in (None, "", "   ", "ring mig", "123", "070-123", "07012345678901"):
        assert normalise_phone(raw) is None, raw


@settings(max_examples=100, deadline=None)
@given(
    letter=st.sampled_from("BTKM"),
    number=st.integers(1, 99999),
    year=st.integers(0, 99),
    spaces=st.text(alphabet=" \t", max_size=3),
    lower=st.booleans(),
)
def test_case_key_ignores_case_and_spacing(letter, number, year, spaces, lower):
    canonical = f"{letter} {number}-{year:02d}"
    written = spaces + (canonical.lower() if lower else canonical).replace(" ", " " + spaces) + spaces
    assert normalise_case_number(written) == canonical
    assert case_key(written, KEY) == case_key(canonical, KEY)
    assert case_key(canonical, KEY) != case_key(canonical, OTHER_KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", case_key(canonical, KEY))  # hex only: the case number cannot appear


@pytest.mark.parametrize("written", ["B1234-24", "B 1234–24", "B 1234 - 24", "b\u00a01234\u201124", "B \u200b1234-24",
                                     "Ｂ １２３４－２４", "B  1234\u221224 "])
def test_one_case_number_written_as_registers_do_is_one_case(written):
    """No space after the letter, AutoCorrect's en dash, a no-break or zero-width space, fullwidth forms: the
    same verdict in two registers was counted as two (the duplicate check compares case keys)."""
    assert normalise_case_number(written) == "B 1234-24"
    assert case_key(written, KEY) == case_key("B 1234-24", KEY)


def test_case_numbers_of_other_shapes_are_only_trimmed_and_upper_cased():
    assert normalise_case_number(" ö 12-20 ") == "Ö 12-20"
    assert normalise_case_number("AM 5-24") == "AM 5-24"
    assert normalise_case_number("1234-24") == "1234-24"
    assert normalise_case_number("B 1234-24 avd 2") == "B 1234-24 AVD 2"
    assert normalise_case_number("B 1234-24") != normalise_case_number("B 1243-24")
