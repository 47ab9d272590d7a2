"""Scan kept text fields for identifiers at ingest: phone numbers, personal identity numbers, names.

Every text field that survives ingest (ad: ``ad_id``, ``location``, ``category``,
``advertiser_gender``; register: ``court``, unmapped columns) passes through :func:`identifier_kind`;
a hit quarantines the line or row with reason ``identifier_in_field`` and a detail naming the field
and the kind, never the value. What counts as a hit:

- ``personal_identity_number``: personnummer or samordningsnummer shape anywhere in the value, with or
  without century, with or without separator (``-``, ``+``, space), **valid Luhn digit not required**
  (a typo must not let one through); the date part must be a calendar-plausible month and day
  (coordination numbers: day + 60).
- ``phone_number``: a run of 8 or more digits once separators are removed, or any chunk that
  libphonenumber accepts as a number after de-obfuscation (``O7O``, ``noll sju noll``, ``+46 (0)``:
  :func:`lagesbild.privacy.pseudonymise.normalise_phone`).
- ``person_name``: "Firstname Lastname" starting with a common Swedish given name, in fields where a
  category is expected (not in places: "Gustav Adolf" is a parish).

Identifier fields (``ad_id``) are scanned more narrowly (see :func:`identifier_kind`).

The columnar reader calls :func:`scan_column`: a pyarrow regex pre-filter over the whole column,
then the exact per-value test only on the distinct values the filter lets through, so clean columns
cost one vectorised pass. The line reader calls :func:`identifier_kind` per value (cached): both give
the same answer by construction (the pre-filter only ever lets more values through).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild.privacy.pseudonymise import normalise_phone

#: Longest kept text value (characters); longer values are quarantined as ``too_long`` before any scan.
MAX_FIELD_CHARS = 200

_DAY = r"(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])"
_MONTH = r"(?:0[1-9]|1[0-2])"
PNR_RE = re.compile(rf"(?<!\d)(?:(?:18|19|20)\d{{2}}|\d{{2}}){_MONTH}{_DAY}\s?[-+]?\s?\d{{4}}(?!\d)")
_SEPARATORS_RE = re.compile(r"[\s\-./()]")
_DIGIT_RUN_RE = re.compile(r"\d{8,}")
_PLAIN_NUMBER_RE = re.compile(r"(?:\+|00|0)\d{6,}")
#: A Swedish mobile number in E.164 without its '+' (46 7x xxx xx xx), as a JSON number or a spreadsheet writes it.
_E164_MOBILE_DIGITS_RE = re.compile(r"467\d{8}")
# Chunks that may be a written phone number: digits, look-alike letters, separators, spelled digits.
_WORDS = "noll|zero|ett|en|one|två|tva|two|tre|three|fyra|four|fem|five|sex|six|sju|seven|åtta|atta|eight|nio|nine"
_CHUNK_RE = re.compile(
    rf"(?:\+|\b00)?(?:(?:{_WORDS})\b|[0-9OoIl|ZzSsBbQDEAGTgq!]|[\s\-./()])+",
    re.IGNORECASE,
)
_LOOKALIKE_CHARS = frozenset("OoIl|ZzSsBbQDEAGTgq!")
_SPELLED_RE = re.compile(rf"(?<![a-zåäö])(?:{_WORDS})(?![a-zåäö])", re.IGNORECASE)
#: Broad pre-filter (pyarrow RE2 syntax): three digits, a spelled digit word, or a capitalised pair of words.
PREFILTER = (
    r"\d.*\d.*\d|(?i:(?:^|[^a-zåäö])(?:" + _WORDS + r")(?:$|[^a-zåäö]))|[OoIl|][0-9OoIl|]{2}"
    r"|^\s*[A-ZÅÄÖÉÜ][a-zåäöéüè]+(?:-[A-ZÅÄÖ][a-zåäöé]+)?\s+[A-ZÅÄÖÉÜ]"
)

#: For identifier fields: written like a phone number, or ten digits among separators (a personnummer).
ID_PREFILTER = r"^[\s\-./()]*[+0]|\d[\d\s\-./()+]{8,}\d"


def _has_pnr(value: str) -> bool:
    return bool(PNR_RE.search(value))


def _has_valid_phone(value: str) -> bool:
    """A chunk (or the whole value) that libphonenumber accepts once de-obfuscated."""
    enough = len(_SPELLED_RE.findall(value)) >= 6 or sum(ch.isdigit() for ch in value) >= 6
    if enough and normalise_phone(value):
        return True
    for chunk in _CHUNK_RE.findall(value):
        core = chunk.strip(" -./()")
        # a chunk needs digits (real, look-alike or spelled) enough to be a number (not "Sex" or "Bo")
        digits = sum(ch.isdigit() for ch in core)
        digitish = digits + sum(ch in _LOOKALIKE_CHARS for ch in core)
        enough = digits + len(_SPELLED_RE.findall(core)) >= 6 or (digits >= 3 and digitish >= 8)
        if enough and normalise_phone(core):
            return True
    return False


@functools.lru_cache(maxsize=1 << 16)
def identifier_kind(value: str | None, text_field: bool = True, names: bool = True) -> str | None:
    """``personal_identity_number`` / ``phone_number`` / ``person_name`` / None for one text value.

    ``text_field=False`` is for identifiers such as ``ad_id``, which sites legitimately write as long
    numbers or letter-digit codes: there a phone number counts only when written as one (digits and
    separators, starting with ``0``, ``+`` or ``00``, valid for libphonenumber; or a Swedish mobile number in
    E.164 without its ``+``, ``467`` and 8 digits, as a JSON number writes it), look-alike letters and
    names are not read, and a personnummer shape (10 or 12 digits with a plausible date) still is.
    ``names=False`` for places, which are often named after people ("Gustav Adolf").
    """
    if value is None or value == "":
        return None
    value = str(value)
    squeezed = _SEPARATORS_RE.sub("", value)
    if text_field:
        if _has_valid_phone(value):  # first: 070-123 45 67 also has a personnummer's shape
            return "phone_number"
    elif (_PLAIN_NUMBER_RE.fullmatch(squeezed) and normalise_phone(squeezed)) or (
        _E164_MOBILE_DIGITS_RE.fullmatch(squeezed) and normalise_phone("+" + squeezed)
    ):
        return "phone_number"
    if _has_pnr(value) or _has_pnr(squeezed):
        return "personal_identity_number"
    if not text_field:
        return None
    if _DIGIT_RUN_RE.search(squeezed):  # a long number that is neither: still not kept
        return "phone_number"
    from lagesbild.privacy.detect import looks_like_person_name

    if names and looks_like_person_name(value):
        return "person_name"
    return None


def scan_array(array: pa.Array, text_field: bool = True, names: bool = True) -> np.ndarray:
    """:func:`identifier_kind` per value of a string array (None where clean or null), as an object array.

    One pyarrow regex pass over the column; only the distinct values it lets through reach Python.
    """
    out = np.full(len(array), None, dtype=object)
    if not len(array):
        return out
    pattern = PREFILTER if text_field else ID_PREFILTER
    suspect = pc.fill_null(pc.match_substring_regex(array, pattern), False)
    if not pc.any(suspect).as_py():
        return out
    positions = np.flatnonzero(suspect.to_numpy(zero_copy_only=False))
    values = array.filter(suspect).to_pylist()
    kinds = {v: identifier_kind(v, text_field, names) for v in set(values)}
    out[positions] = [kinds[v] for v in values]
    return out


def scan_column(values: pd.Series, text_field: bool = True, names: bool = True) -> pd.Series:
    """:func:`scan_array` for a pandas column."""
    array = pa.array(values.where(values.notna(), None).astype(object), type=pa.string(), from_pandas=True)
    return pd.Series(scan_array(array, text_field, names), index=values.index, dtype=object)
