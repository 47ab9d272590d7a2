"""A synthetic verdict register (sex-purchase convictions) in the analysts' two shapes.

The same rows are written twice: ``verdicts/register.xlsx`` with Swedish headers, Swedish values and
municipality names (what an analyst keeps in Excel), and ``verdicts_csv/register.csv`` with English
headers, English values and 4-digit municipality codes. Case numbers ("B 1234-24") are random and
synthetic. Three rows are wrong on purpose; the ingest must quarantine them (ground truth lists them).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from lagesbild.demo.summary import normalise_zip

ENGLISH_HEADERS = (
    "case_number",
    "court",
    "decision_type",
    "decision_date",
    "offence_date",
    "buyer_age",
    "buyer_birth_year",
    "home_municipality",
    "purchase_municipality",
    "contact_channel",
    "sanction",
    "completed",
)
SWEDISH_HEADERS = (
    "Målnummer",
    "Domstol",
    "Beslutstyp",
    "Beslutsdatum",
    "Brottsdatum",
    "Ålder vid brottet",
    "Födelseår",
    "Hemkommun",
    "Brottskommun",
    "Kontaktväg",
    "Påföljd",
    "Fullbordat",
)
CHANNELS = ("ad_site", "other_site", "street", "other", "unknown")
CHANNEL_WEIGHTS = (0.70, 0.12, 0.05, 0.05, 0.08)
SWEDISH_VALUES = {
    "judgment": "dom",
    "summary_order": "strafföreläggande",
    "ad_site": "annonssajt",
    "other_site": "annan sajt",
    "street": "gatan",
    "other": "annat",
    "unknown": "okänd",
    "completed": "fullbordat",
    "attempt": "försök",
}
BAD_MUNICIPALITY = "Atlantis"


@dataclass(frozen=True)
class VerdictPlan:
    """Where buyers live and buy. Weights need not sum to one."""

    years: tuple[int, ...]
    per_year: float  # expected verdicts a year
    home_codes: tuple[str, ...]  # homes inside the area
    home_weights: tuple[float, ...]
    purchase_codes: tuple[str, ...]  # where buyers from elsewhere buy
    purchase_weights: tuple[float, ...]
    outside_codes: tuple[str, ...]  # homes outside the area (e.g. 0680 Jönköping)
    outside_share: float = 0.10
    same_municipality_share: float = (
        0.68  # of buyers living inside the area (others may still pick home by chance)
    )
    unknown_home_share: float = 0.02
    #: purchase municipality -> the municipality whose district court judges it (default: the first
    #: purchase code, e.g. Linköpings tingsrätt)
    court_seat: dict[str, str] = field(default_factory=dict)


def court_name(municipality_name: str) -> str:
    """'Linköping' -> 'Linköpings tingsrätt' (Swedish genitive)."""
    return (
        f"{municipality_name} tingsrätt"
        if municipality_name.endswith("s")
        else f"{municipality_name}s tingsrätt"
    )


def draw_ages(rng: np.random.Generator, count: int) -> np.ndarray:
    """Buyer ages 19-69 with mean near 37, always including one 19 and one 69 when count >= 2.

    Stratified: the ages are evenly spaced quantiles of a right-skewed shape (19 + gamma(2, 10), cut
    at 69), shuffled. A register of ~90 rows then has a mean within a few tenths of 37 for any seed,
    where plain random draws would wander by +-1.5 years.
    """
    shape = 19 + rng.gamma(2.0, 10.0, size=50_000)
    shape = shape[shape < 69.5]
    ages = np.rint(np.quantile(shape, (np.arange(count) + 0.5) / max(count, 1))).astype(int)
    rng.shuffle(ages)
    if count >= 2:
        low, high = rng.choice(count, size=2, replace=False)
        ages[low], ages[high] = 19, 69
    return ages


def build_rows(
    rng: np.random.Generator, plan: VerdictPlan, names: dict[str, str]
) -> tuple[list[dict], list[dict]]:
    """Register rows (canonical English values, codes) plus the bad rows' ground truth."""
    rows: list[dict] = []
    used_numbers: set[str] = set()
    for year in plan.years:
        # Near the expected count, not Poisson: a demo year should look like a typical year.
        spread = max(1, round(plan.per_year * 0.07))
        count = max(0, round(plan.per_year) + int(rng.integers(-spread, spread + 1)))
        start = dt.date(year, 1, 1).toordinal()
        days = dt.date(year, 12, 31).toordinal() - start + 1
        offences = sorted(dt.date.fromordinal(start + int(d)) for d in rng.integers(0, days, size=count))
        for offence in offences:
            rows.append(_row(rng, plan, names, offence, used_numbers))
    ages = draw_ages(rng, len(rows))
    for row, age in zip(rows, ages, strict=True):
        if rng.random() < 0.15:  # the register has the birth year instead of the age
            row["buyer_birth_year"] = row["offence_date"].year - int(age)
        else:
            row["buyer_age"] = int(age)
    return _insert_bad_rows(rng, rows, plan, names, used_numbers)


def _row(rng, plan: VerdictPlan, names: dict[str, str], offence: dt.date, used: set[str]) -> dict:
    roll = rng.random()
    if roll < plan.unknown_home_share:
        home = ""
    elif roll < plan.unknown_home_share + plan.outside_share and plan.outside_codes:  # none in national mode
        home = str(rng.choice(plan.outside_codes))
    else:
        home = str(rng.choice(plan.home_codes, p=_p(plan.home_weights)))
    if home in plan.home_codes and rng.random() < plan.same_municipality_share:
        purchase = home
    else:
        purchase = str(rng.choice(plan.purchase_codes, p=_p(plan.purchase_weights)))
    summary = rng.random() < 0.60
    decision = offence + dt.timedelta(days=int(rng.integers(21, 200)))
    court_code = plan.court_seat.get(purchase, plan.purchase_codes[0])
    return {
        "case_number": _case_number(rng, decision.year, used),
        "court": court_name(names[court_code]),
        "decision_type": "summary_order" if summary else "judgment",
        "decision_date": decision,
        "offence_date": offence,
        "buyer_age": None,
        "buyer_birth_year": None,
        "home_municipality": home,
        "purchase_municipality": purchase,
        "contact_channel": str(rng.choice(CHANNELS, p=_p(CHANNEL_WEIGHTS))),
        "sanction": "dagsböter" if summary or rng.random() < 0.85 else "villkorlig dom och dagsböter",
        "completed": "attempt" if rng.random() < 0.08 else "completed",
    }


def _p(weights) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


def _case_number(rng, year: int, used: set[str]) -> str:
    while True:
        number = f"B {int(rng.integers(1000, 10000))}-{year % 100:02d}"
        if number not in used:
            used.add(number)
            return number


def _insert_bad_rows(rng, rows: list[dict], plan: VerdictPlan, names, used) -> tuple[list[dict], list[dict]]:
    """Three rows the ingest must quarantine: an impossible age, a decision before the offence, a made-up place."""
    template_year = plan.years[0]
    bad: list[tuple[str, dict]] = []
    child = _row(rng, plan, names, dt.date(template_year, 5, 14), used)
    child["buyer_age"] = 7
    bad.append(("impossible_age", child))
    backwards = _row(rng, plan, names, dt.date(template_year, 9, 2), used)
    backwards["decision_date"] = backwards["offence_date"] - dt.timedelta(days=30)
    backwards["buyer_age"] = 41
    bad.append(("decision_before_offence", backwards))
    nowhere = _row(rng, plan, names, dt.date(plan.years[-1], 3, 20), used)
    nowhere["purchase_municipality"] = BAD_MUNICIPALITY
    nowhere["buyer_age"] = 33
    bad.append(("unknown_municipality", nowhere))
    for _, row in bad:
        rows.insert(int(rng.integers(0, len(rows) + 1)), row)
    truth = [
        {"row": index + 1, "reason": reason}
        for index, row in enumerate(rows)
        for reason, bad_row in bad
        if row is bad_row
    ]
    return rows, truth


def write_csv(rows: list[dict], path: Path) -> None:
    """English headers and values, municipality codes, ISO dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENGLISH_HEADERS)
        for row in rows:
            writer.writerow(["" if row[h] is None else _iso(row[h]) for h in ENGLISH_HEADERS])


def write_xlsx(rows: list[dict], path: Path, names: dict[str, str]) -> None:
    """Swedish headers and values, municipality names, dates as Excel dates; byte-reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)  # streaming writer: several times faster for the national register
    sheet = workbook.create_sheet("Domar")
    sheet.append(list(SWEDISH_HEADERS))
    for row in rows:
        values = []
        for header in ENGLISH_HEADERS:
            value = row[header]
            if header.endswith("_municipality"):
                value = names.get(value, value)  # "Atlantis" and "" pass through unchanged
            elif isinstance(value, str):
                value = SWEDISH_VALUES.get(value, value)
            elif isinstance(value, dt.date):
                value = WriteOnlyCell(sheet, value=value)
                value.number_format = "yyyy-mm-dd"
            values.append(value)
        sheet.append(values)
    workbook.properties.creator = "lagesbild demo generator (synthetic data)"
    fixed = dt.datetime(2024, 1, 1)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.save(path)
    normalise_zip(path)


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)
