"""Refuse files that carry personal identity numbers or names.

Conviction data is sensitive (GDPR art. 10). The verdict register must hold coded facts, never
who was convicted, so a column that looks like personnummer or names stops the ingest with an
error that says which column and row to fix. The error never repeats the value itself.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pandas as pd

# YYMMDD-XXXX, YYMMDD+XXXX (100+), YYYYMMDDXXXX, YYYYMMDD-XXXX, with or without separator.
_PNR_RE = re.compile(r"^\s*(\d{2})?(\d{2})(\d{2})(\d{2})\s*[-+]?\s*(\d{4})\s*$")

# Headers that name people. Compared after normalisation (lower case, accents folded).
_NAME_HEADERS = {
    "namn",
    "name",
    "fornamn",
    "efternamn",
    "tilltalsnamn",
    "fullstandigt namn",
    "full name",
    "first name",
    "last name",
    "surname",
    "given name",
    "family name",
    "person",
    "personnamn",
    "kopare",
    "koparens namn",
    "buyer name",
    "tilltalad",
    "den tilltalade",
    "domd",
    "den domde",
    "personnummer",
    "personnr",
    "pnr",
    "samordningsnummer",
    "personal identity number",
}
_NAME_HEADER_WORDS = {"namn", "name", "fornamn", "efternamn", "surname", "personnummer"}
# Headers that contain "name"/"namn" but name places or institutions, not people.
_NON_PERSON_WORDS = {
    "kommun",
    "municipality",
    "court",
    "domstol",
    "site",
    "file",
    "fil",
    "region",
    "ort",
    "location",
    "plats",
    "lan",
    "county",
}

# Common Swedish given names (SCB's most frequent first names). A value "Firstname Lastname"
# whose first word is one of these is taken as a person's name; place names such as
# "Upplands Väsby" or "Norrköping Hageby" do not start with one.
_GIVEN_NAMES = {
    "anna",
    "eva",
    "maria",
    "karin",
    "sara",
    "kristina",
    "lena",
    "emma",
    "kerstin",
    "marie",
    "malin",
    "ingrid",
    "linda",
    "jenny",
    "hanna",
    "elin",
    "sofia",
    "annika",
    "birgitta",
    "susanne",
    "monica",
    "helena",
    "johanna",
    "ulla",
    "carina",
    "elisabeth",
    "camilla",
    "julia",
    "ida",
    "lars",
    "mikael",
    "anders",
    "johan",
    "erik",
    "per",
    "peter",
    "karl",
    "thomas",
    "jan",
    "daniel",
    "fredrik",
    "hans",
    "andreas",
    "stefan",
    "mohamed",
    "mats",
    "marcus",
    "magnus",
    "jonas",
    "oskar",
    "alexander",
    "niklas",
    "bengt",
    "martin",
    "leif",
    "viktor",
    "björn",
    "bjorn",
    "henrik",
    "patrik",
    "mattias",
    "robert",
    "emil",
    "christer",
    "simon",
    "david",
    "joakim",
    "göran",
    "goran",
    "ali",
    "ahmed",
    "sven",
    "olof",
    "nils",
    "gustav",
    "axel",
    "william",
    "lucas",
    "oliver",
    "hugo",
    "filip",
    "anton",
    "jakob",
    "adam",
    "sebastian",
    "tobias",
    "kent",
    "roger",
    "ulf",
    "åke",
    "ake",
    "rolf",
    "kjell",
    "jonathan",
    "rasmus",
    "linus",
    "albin",
    "isak",
    "elias",
    "kevin",
    "dennis",
}
_NAME_SHAPE_RE = re.compile(
    r"^\s*([A-ZÅÄÖÉÜ][a-zåäöéüè]+)(?:-[A-ZÅÄÖ][a-zåäöé]+)?(\s+[A-ZÅÄÖÉÜ][a-zåäöéüè]+(?:-[A-ZÅÄÖ][a-zåäöé]+)?){1,3}\s*$"
)


class PersonalDataError(ValueError):
    """A file holds personal identity numbers or names; the message names column and row only."""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s_]+", " ", text.strip().lower())


def looks_like_personnummer(value: object) -> bool:
    """True for YYMMDD-XXXX / YYYYMMDDXXXX with a valid date (or coordination day), any check digit."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, float):  # Excel may hand over 198112189876 as a float
        if not value.is_integer():
            return False
        value = int(value)
    match = _PNR_RE.match(str(value))
    if not match:
        return False
    century, yy, mm, dd, last4 = match.groups()
    day = int(dd)
    if day > 60:  # samordningsnummer: day + 60
        day -= 60
    year = int((century or "19") + yy)
    try:
        date(year, int(mm), day)
    except ValueError:
        return False
    # The check digit is not required: a typo in the last digit is still someone's number.
    return True


def looks_like_person_name(value: object) -> bool:
    if not isinstance(value, str):
        return False
    match = _NAME_SHAPE_RE.match(value)
    return bool(match) and _fold(match.group(1)) in {_fold(n) for n in _GIVEN_NAMES}


def _is_name_header(header: str) -> bool:
    folded = _fold(header)
    if folded in _NAME_HEADERS:
        return True
    words = set(re.split(r"[^a-z0-9]+", folded))
    return bool(words & _NAME_HEADER_WORDS) and not (words & _NON_PERSON_WORDS)


def assert_no_personal_data(
    df: pd.DataFrame, source: str, row_offset: int = 0, rows: list[int] | None = None
) -> None:
    """Raise PersonalDataError if a column looks like personnummer or person names.

    Rows are reported 1-based (``row_offset`` is added, e.g. 1 when the caller counts a header
    row as row 1, as a spreadsheet does), or by ``rows``, the number of each row of ``df`` (when
    rows of the file are not in ``df``, such as lines set aside). The offending value is never echoed.
    """
    numbers = list(rows) if rows is not None else [position + 1 for position in range(len(df))]
    for number, column in enumerate(df.columns, start=1):
        header = str(column)
        named = f"'{header}'" if header.strip() and not header.startswith("Unnamed:") else f"{number} (no header)"
        if _is_name_header(header):
            raise PersonalDataError(
                f"{source}: column '{header}' looks like it holds names or identity numbers of persons "
                f"(its header); remove the column (first data row {(numbers[0] if numbers else 1) + row_offset}) "
                "and load the file again"
            )
        for position, value in enumerate(df[column].tolist()):
            if looks_like_personnummer(value):
                raise PersonalDataError(
                    f"{source}: column {named}, row {numbers[position] + row_offset} looks like a personal "
                    "identity number (personnummer); personal identity numbers may not be loaded — remove "
                    "the column and load the file again"
                )
            if looks_like_person_name(value):
                raise PersonalDataError(
                    f"{source}: column {named}, row {numbers[position] + row_offset} looks like a person's "
                    "name; names may not be loaded — remove the column and load the file again"
                )
