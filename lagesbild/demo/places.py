"""Reference places for the generators, and location text as advertisers write it.

Municipality codes stay strings with their leading zeros ("0580"). Location text is drawn from the
real localities of the county (dbt seed) and then written the way ads write it: without å/ä/ö,
misspelt, "City District", or not at all.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lagesbild.settings import REFERENCE_DIR

#: Out-of-county places that ads in the county still name, and locations that map to no municipality.
OUT_OF_COUNTY = ("Jönköping", "Stockholm", "Örebro", "Nyköping", "Göteborg")
#: Taken instead of those that lie in the demo's own county.
OUT_OF_COUNTY_SPARE = ("Linköping", "Malmö", "Umeå", "Karlstad", "Sundsvall")
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
#: Words that are not places on their own, and the qualifiers RegSO names end with ("Majorna norra").
GENERIC = {
    "centrum",
    "city",
    "norra",
    "södra",
    "östra",
    "västra",
    "centrala",
    "landsbygd",
    "omland",
    "tätort",
}
_QUALIFIER = re.compile(
    r"(\s+(norra|södra|östra|västra|nordöstra|nordvästra|sydöstra|sydvästra|mellersta|centrala|centrum|"
    r"inre|yttre|tätort|landsbygd|omland|glesbygd))+$",
    re.IGNORECASE,
)
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


def localities(
    reference_dir: Path = REFERENCE_DIR, county_code: str = "05"
) -> dict[str, list[tuple[str, str]]]:
    """municipality code -> [(locality, kind)]: Östergötland's curated localities for 05; for any other
    county (or '00', every county) its postal towns and the place names of its RegSO areas (city
    districts and villages, split at "-" and without a trailing "norra", "centrala"...), from the
    national reference seeds the gazetteer is built from."""
    by_code: dict[str, list[tuple[str, str]]] = {}
    if county_code == "05":
        with (reference_dir / "localities_ostergotland.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                by_code.setdefault(row["municipality_code"], []).append((row["locality"], row["kind"]))
        return by_code
    wanted = county_code if county_code != "00" else ""
    seen: set[tuple[str, str]] = set()

    def add(code: str, name: str, kind: str) -> None:
        name = name.strip()
        if (
            code.startswith(wanted)
            and len(name) >= 3
            and name.lower() not in GENERIC
            and (code, name) not in seen
        ):
            seen.add((code, name))
            by_code.setdefault(code, []).append((name, kind))

    with (reference_dir / "postal_towns_se.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            add(row["municipality_code"], row["postal_town"], "postal_town")
    with (reference_dir / "regso_areas_se.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for part in row["regso_name"].split("-"):
                add(row["municipality_code"], _QUALIFIER.sub("", part.strip()), "regso_area")
    return by_code


def shared_names(gazetteer: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """municipality code -> its place names that another municipality of the same gazetteer also has
    (the resolver cannot decide them: the demo's ambiguous locations)."""
    owners: dict[str, set[str]] = {}
    for code, places in gazetteer.items():
        for name, _ in places:
            owners.setdefault(name, set()).add(code)
    out: dict[str, list[str]] = {}
    for name, codes in sorted(owners.items()):
        if len(codes) > 1:
            for code in codes:
                out.setdefault(code, []).append(name)
    return out


class LocationWriter:
    """Writes the location of one ad for an advertiser based in a municipality."""

    def __init__(
        self,
        rng: np.random.Generator,
        county: list[Municipality],
        gazetteer: dict[str, list[tuple[str, str]]],
        big_two: tuple[str, str] = ("0580", "0581"),
    ):
        self.rng = rng
        self.names = {m.code: m.name for m in county}
        self.gazetteer = gazetteer
        self.big_two = big_two
        self.ostergotland = all(code.startswith("05") for code in self.names)
        # Elsewhere: a big town's ambiguous names are the ones another municipality of the county shares.
        shared = shared_names(gazetteer)
        self.ambiguous_of = (
            {"0580": ["Berg"], "0561": ["Berg"], "0581": ["Berga"]}
            if self.ostergotland
            else {code: shared[code] for code in big_two if shared.get(code)}
        )
        in_county = set(self.names.values())
        # National mode has no other county: places abroad stand in (they map to no municipality).
        self.out_of_county = tuple(
            name for name in (*OUT_OF_COUNTY, *OUT_OF_COUNTY_SPARE) if name not in in_county
        )[:5] or ("Oslo", "Köpenhamn", "Helsingfors")
        ambiguous = (
            set(AMBIGUOUS) if self.ostergotland else {name for names in shared.values() for name in names}
        )
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
            return str(self.rng.choice(self.out_of_county))
        if roll < 0.035:
            return str(self.rng.choice(UNKNOWN))
        if roll < 0.04:
            return ""
        if roll < 0.05 and code in self.ambiguous_of:
            names = self.ambiguous_of[code]
            return names[0] if len(names) == 1 else str(self.rng.choice(names))
        return self.in_municipality(code)

    def in_municipality(self, code: str) -> str:
        town = self.names[code]
        places = self.places.get(code) or [town]
        roll = self.rng.random()
        if roll < 0.50:
            text = town
        elif roll < 0.68 and code in self.big_two:
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
