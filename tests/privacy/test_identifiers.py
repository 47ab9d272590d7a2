"""The ingest's identifier scan: what it finds, and that the columnar pre-filter never hides a hit."""

import time

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lagesbild.privacy.identifiers import identifier_kind, scan_column
from lagesbild.privacy.pseudonymise import normalise_phone
from lagesbild.sources.snapshots import field_problem

# Synthetic, clearly fake: 1212-12-12 style dates do not exist as people here; phones in test ranges.
HITS = {
    "070-123 45 67": "phone_number",
    "ring O7O-l23 45 67": "phone_number",
    "noll sju noll ett två tre fyra fem sex sju": "phone_number",
    "Linköping centrum tel 0701234567": "phone_number",
    "+46 (0)70 123 45 67": "phone_number",
    "19121212-1212": "personal_identity_number",  # century, separator, Luhn not checked
    "121212-1213": "personal_identity_number",  # wrong check digit
    "1212121212": "personal_identity_number",  # no separator
    "121272-1212": "personal_identity_number",  # samordningsnummer (day + 60)
    "dom 121212+1212 tingsrätt": "personal_identity_number",
}
CLEAN = ["Linköping", "Norrköping Hageby", "Gustav Adolf", "escort", "massage", "kvinna", "Sex och samlevnad"]


@pytest.mark.parametrize(("value", "kind"), sorted(HITS.items()))
def test_identifiers_are_found(value, kind):
    assert identifier_kind(value) == kind
    assert scan_column(pd.Series([value])).tolist() == [kind]


@pytest.mark.parametrize("value", CLEAN)
def test_places_and_categories_are_not_identifiers(value):
    assert identifier_kind(value, names=False) is None


def test_person_name_where_a_category_is_expected():
    assert identifier_kind("Anna Svensson") == "person_name"
    assert identifier_kind("Anna Svensson", names=False) is None


def test_ad_ids_are_scanned_narrowly():
    assert identifier_kind("5353048", text_field=False) is None
    assert identifier_kind("A0277198", text_field=False) is None
    assert identifier_kind("0701234567", text_field=False) == "phone_number"
    assert identifier_kind("1212121212", text_field=False) == "personal_identity_number"


def test_exclamation_after_spelled_digits_is_punctuation():
    assert normalise_phone("noll sju noll ett två tre fyra fem sex sju!") == "+46701234567"
    assert normalise_phone("O7O-!23 45 67") == "+46701234567"


ALPHABET = "0123456789 -+./()OolIZSB!abcdefghijklmnopqrstuvwxyzåäöANK"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET, max_size=24), min_size=1, max_size=8), st.booleans(), st.booleans())
def test_columnar_scan_equals_the_per_value_scan(values, text_field, names):
    expected = [identifier_kind(v, text_field, names) for v in values]
    assert scan_column(pd.Series(values, dtype=object), text_field, names).tolist() == expected


def test_a_one_mebibyte_field_costs_at_most_seconds():
    big = "Linköping " * (1 << 17)  # 1.25 MiB
    started = time.perf_counter()
    problem = field_problem("location", big)
    column = scan_column(pd.Series([big[:200]] * 1000))
    elapsed = time.perf_counter() - started
    assert problem == ("too_long", f"location is {len(big)} characters long (limit 200)")
    assert column.isna().all()
    assert elapsed < 5, elapsed
