"""Reference places for the generators, and location text as advertisers write it.

Municipality codes stay strings with their leading zeros ("0580"). Location text is drawn from the
real localities of the county (dbt seed) and then written the way ads write it: without å/ä/ö,
misspelt, "City District", or not at all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lagesbild.settings import REFERENCE_DIR

#: Out-of-county places that ads in the county still name, and locations that map to no municipality.
OUT_OF_COUNTY = ("Jönköping", "Stockholm", "Örebro", "Nyköping", "Göteborg")
UNKNOWN = ("centrum", "privat", "hemma hos mig", "nära tåget", "kontakta för adress")
#: Localities that exist in more than one municipality of Östergötland (the gazetteer cannot decide).
AMBIGUOUS = ("Berg", "Berga")
#: Common misspellings of the two big towns and a few others (the ingest's gazetteer learns these as aliases).
MISSPELLINGS = {
    "Linköping": ("Linköpping", "Linkööping", "Linkping", "Lkpg", "Linköbing"),
    "Norrköping": ("Norrköpping", "Norköping", "Nkpg", "Norrkoeping"),
    "Motala": ("Motalla",),
    "Mjölby": ("Mjölbu", "Mjolbyy"),
    "Finspång": ("Finnspång",),
}
_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "Å": "A", "Ä": "A", "Ö": "O", "é": "e"})


def fold(text: str) -> str:
    """The spelling without å/ä/ö ("Linkoping"), as typed on a foreign keyboard."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    county_code: str


def municipalities(reference_dir: Path = REFERENCE_DIR) -> list[Municipality]:
    """All 290 municipalities, codes as strings."""
    from lagesbild.sources.reference import load_municipalities

    table = load_municipalities(reference_dir / "municipalities_se.csv")
    return [
        Municipality(row.municipality_code, row.municipality_name, row.county_code)
        for row in table.itertuples(index=False)
    ]


def localities(reference_dir: Path = REFERENCE_DIR) -> dict[str, list[tuple[str, str]]]:
    """municipality code -> [(locality, kind)] from the county gazetteer seed."""
    by_code: dict[str, list[tuple[str, str]]] = {}
    with (reference_dir / "localities_ostergotland.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_code.setdefault(row["municipality_code"], []).append((row["locality"], row["kind"]))
    return by_code


class LocationWriter:
    """Writes the location of one ad for an advertiser based in a municipality."""

    def __init__(
        self,
        rng: np.random.Generator,
        county: list[Municipality],
        gazetteer: dict[str, list[tuple[str, str]]],
    ):
        self.rng = rng
        self.names = {m.code: m.name for m in county}
        self.gazetteer = gazetteer
        ambiguous = set(AMBIGUOUS)
        # Ambiguous names are used on purpose (below), never picked as an ordinary locality.
        self.places = {
            code: [
                name
                for name, _ in self.gazetteer.get(code, [])
                if name not in ambiguous and name != self.names[code]
            ]
            for code in self.names
        }

    def write(self, code: str) -> str:
        """A location text for an ad whose advertiser is in `code`; occasionally off-county, unknown or empty."""
        roll = self.rng.random()
        if roll < 0.02:
            return str(self.rng.choice(OUT_OF_COUNTY))
        if roll < 0.035:
            return str(self.rng.choice(UNKNOWN))
        if roll < 0.04:
            return ""
        if roll < 0.05 and code in ("0580", "0581", "0561"):
            return "Berg" if code in ("0580", "0561") else "Berga"
        return self.in_municipality(code)

    def in_municipality(self, code: str) -> str:
        town = self.names[code]
        places = self.places.get(code) or [town]
        roll = self.rng.random()
        if roll < 0.50:
            text = town
        elif roll < 0.68 and code in ("0580", "0581"):
            text = f"{town} {self.rng.choice(places)}"  # "Norrköping Hageby"
        elif roll < 0.80:
            text = str(self.rng.choice(places))
        elif roll < 0.84 and town in MISSPELLINGS:
            return str(self.rng.choice(MISSPELLINGS[town]))
        else:
            text = town
        spelling = self.rng.random()
        if spelling < 0.18:
            text = fold(text)
        elif spelling < 0.22:
            text = text.lower()
        elif spelling < 0.24:
            text = text.upper()
        return text
