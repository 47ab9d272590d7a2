"""Phone numbers normalised many at a time: the same result as ``normalise_phone``, without a Python call per number.

``normalise_phone`` costs ~60 µs a number (libphonenumber's ``parse`` and ``is_valid_number`` in pure
Python). At national scale a full rebuild sees about a million distinct numbers, so that alone is a
minute of one core (docs/bench.md). ``e164_many`` handles the common case column-wise:

* a written form made only of ASCII digits, spaces, dots, dashes, slashes, brackets and ``+`` is reduced to
  its dialled digits with the same rules as ``pseudonymise._deobfuscate`` (``+46 (0)``, ``0046``,
  ``46…`` of 11+ digits);
* a Swedish number (``+46`` then a non-zero digit, or a trunk ``0`` then a non-zero digit) is valid when
  libphonenumber's own metadata for SE says so: its national significant number has a possible length and
  matches the general pattern and the pattern of at least one number type, which is exactly what
  ``phonenumbers.is_valid_number`` checks for SE (``_number_type_helper``). The patterns and lengths are
  read from the installed ``phonenumbers`` metadata, not copied, and evaluated with pyarrow (RE2);
* anything else (letters for digits, spelled-out digits, labels, other countries, odd prefixes) goes to
  ``normalise_phone`` one by one.

We keep libphonenumber as the authority (its metadata and, for the rare forms, its parser); the batch
path only avoids calling it per value. ``tests/privacy/test_phone_batch.py`` checks with hypothesis and
on every form of the demo and the national generator that both give the same answer.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild.privacy.pseudonymise import normalise_phone

#: Written forms the batch path reduces itself; everything else takes ``normalise_phone``.
SIMPLE_FORM = r"^[0-9 .()/+\-]*$"
#: "+46 (0)70 ..." / "0046(0)70": the trunk zero in brackets after the country code (as ``_deobfuscate``).
TRUNK_ZERO_IN_BRACKETS = r"^ *(\+|00) *46 *\( *0 *\)"
#: The number types ``_number_type_helper`` tries; a number of none of them is UNKNOWN, i.e. invalid.
NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@functools.cache
def _swedish_descs() -> tuple[tuple[str, tuple[int, ...]], tuple[tuple[str, tuple[int, ...]], ...]]:
    """(general (pattern, lengths), per type (pattern, lengths)) from libphonenumber's SE metadata."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("SE")
    if meta.national_prefix_for_parsing != "0" or meta.national_prefix_transform_rule:
        raise RuntimeError(
            "libphonenumber's SE metadata no longer strips a plain trunk '0': phone_batch's fast path "
            "assumes it does; review lagesbild/privacy/phone_batch.py"
        )
    general = meta.general_desc
    types = []
    for name in NUMBER_TYPES:
        desc = getattr(meta, name)
        if desc is not None and desc.national_number_pattern:
            types.append((desc.national_number_pattern, tuple(desc.possible_length or ())))
    return (general.national_number_pattern, tuple(general.possible_length or ())), tuple(types)


def _matches(nsn: pa.Array, lengths: pa.Array, pattern: str, possible: tuple[int, ...]) -> pa.Array:
    """``_is_number_matching_desc``: a possible length (when the desc lists any) and a full match."""
    hit = pc.match_substring_regex(nsn, f"^(?:{pattern})$")
    if possible:
        hit = pc.and_(hit, pc.is_in(lengths, value_set=pa.array(possible, pa.int32())))
    return hit


def valid_swedish(nsn: pa.Array) -> np.ndarray:
    """Which national significant numbers (digits, no trunk zero) libphonenumber deems valid for SE."""
    (general, general_lengths), types = _swedish_descs()
    lengths = pc.cast(pc.utf8_length(nsn), pa.int32())
    any_type = pa.array(np.zeros(len(nsn), dtype=bool))
    for pattern, possible in types:
        any_type = pc.or_(any_type, _matches(nsn, lengths, pattern, possible))
    valid = pc.and_(_matches(nsn, lengths, general, general_lengths), any_type)
    return valid.to_numpy(zero_copy_only=False)


def _dialled(forms: pd.Series) -> pd.Series:
    """``_deobfuscate`` for simple forms: the dialled digits, with a leading ``+`` for an international form."""
    text = forms.str.replace(TRUNK_ZERO_IN_BRACKETS, "+46", regex=True)
    digits = text.str.replace(r"[^0-9+]", "", regex=True)
    plus = digits.str.startswith("+")
    bare = digits.str.replace("+", "", regex=False)
    candidate = bare.where(
        ~plus,
        "+" + bare,
    )
    candidate = candidate.where(plus | ~bare.str.startswith("00"), "+" + bare.str.slice(2))
    international_46 = ~plus & ~bare.str.startswith("00") & bare.str.startswith("46") & (bare.str.len() >= 11)
    return candidate.where(~international_46, "+" + bare)


def e164_many(forms: pd.Series) -> pd.Series:
    """E.164 of each written form (None when there is no valid number), equal to ``normalise_phone``.

    ``forms`` holds strings without nulls (a blank one gives None); best called on distinct values.
    """
    if forms.isna().any():
        raise ValueError("e164_many: forms must be strings; fill missing phones with '' first")
    index = forms.index
    forms = pd.Series(forms.to_numpy(dtype=object), dtype="str")
    result = np.full(len(forms), None, dtype=object)
    blank = (forms.str.strip() == "").to_numpy()
    simple = forms.str.match(SIMPLE_FORM).to_numpy() & ~blank
    candidate = _dialled(forms[simple])
    too_short = (candidate.str.lstrip("+").str.len() < 6).to_numpy()
    # normalise_phone: "+460…" drops the trunk zero once (after the length check).
    candidate = candidate.where(~candidate.str.startswith("+460"), "+46" + candidate.str.slice(4))
    swedish = candidate.str.match(r"^(?:\+46|0)[1-9][0-9]{1,16}$").to_numpy()
    national = candidate.str.replace(r"^(?:\+46|0)", "", regex=True)
    fast = swedish & ~too_short
    positions = np.flatnonzero(simple)
    if fast.any():
        nsn = national[fast].to_numpy(dtype=object)
        ok = valid_swedish(pa.array(nsn, pa.string()))
        result[positions[fast][ok]] = ["+46" + n for n in nsn[ok]]
    handled = np.zeros(len(forms), dtype=bool)
    handled[positions[fast | too_short]] = True
    for position in np.flatnonzero(~handled & ~blank):
        result[position] = normalise_phone(forms.iloc[position])
    return pd.Series(result, index=index, dtype=object)
