"""Test-side readers of the generated files: an independent, deliberately simple second reading.

Only the tests use raw phone digits (to count advertisers without the ingest); nothing here is
imported by the package.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from lagesbild.settings import REFERENCE_DIR

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_FOLD = str.maketrans("åäöÅÄÖ", "aaoAAO")
_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1"})

#: The snapshot contract v1 (docs/sources.md): the fields of every line, in this order.
CONTRACT_FIELDS = [
    "site",
    "ad_id",
    "captured_at",
    "posted_at",
    "location",
    "phone",
    "stated_age",
    "category",
    "advertiser_gender",
]


def read_lines(inputs: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every well-formed line with an ad_id (exact duplicates dropped), plus counts of what was not."""
    records, bad = [], {"malformed_json": 0, "missing_ad_id": 0, "duplicate": 0}
    for path in sorted((inputs / "snapshots").glob("*/*.jsonl*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        seen = set()
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    bad["malformed_json"] += 1
                    continue
                if "ad_id" not in record:
                    bad["missing_ad_id"] += 1
                    continue
                if line in seen:
                    bad["duplicate"] += 1
                    continue
                seen.add(line)
                records.append(record | {"file": path.name})
    frame = pd.DataFrame.from_records(records)
    frame["captured"] = pd.to_datetime(frame["captured_at"], utc=True)
    frame["posted"] = pd.to_datetime(frame["posted_at"], utc=True)
    local = frame["captured"].dt.tz_convert(STOCKHOLM)
    frame["week_start"] = (local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")).dt.date
    frame["digits"] = frame["phone"].map(phone_digits)
    frame["municipality"] = frame["location"].map(gazetteer())
    return frame, bad


def phone_digits(text) -> str | None:
    """'+46 7O-l23 45 67' -> '0701234567'; None when not a Swedish mobile number."""
    if not isinstance(text, str):
        return None
    digits = re.sub(r"\D", "", text.translate(_LOOKALIKE))
    if digits.startswith("0046"):
        digits = "0" + digits[4:]
    elif digits.startswith("46"):
        digits = "0" + digits[2:]
    return digits if len(digits) == 10 and digits.startswith("07") else None


def gazetteer():
    """A plain lookup: exact (case- and å/ä/ö-insensitive) locality, else the first word; ambiguous -> None."""
    codes: dict[str, set[str]] = {}
    with (REFERENCE_DIR / "localities_ostergotland.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            codes.setdefault(row["locality"].lower().translate(_FOLD), set()).add(row["municipality_code"])
    with (REFERENCE_DIR / "municipalities_se.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["county_code"] == "05":
                codes.setdefault(row["municipality_name"].lower().translate(_FOLD), set()).add(
                    row["municipality_code"]
                )

    def lookup(text):
        if not isinstance(text, str) or not text.strip():
            return None
        key = text.strip().lower().translate(_FOLD)
        for candidate in (key, key.split()[0]):
            if candidate in codes:
                found = codes[candidate]
                return next(iter(found)) if len(found) == 1 else None
        return None

    return lookup


def advertiser_days(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Advertiser-days (docs/architecture.md) per week and phone, within the `by` groups."""
    usable = frame.dropna(subset=["digits"])
    first = usable.groupby(["week_start", "digits", *by], as_index=False)["posted"].min()
    monday = pd.to_datetime(first["week_start"]).dt.tz_localize(STOCKHOLM)
    posted_local = first["posted"].dt.tz_convert(STOCKHOLM)
    days_left = 7 - (posted_local.dt.normalize() - monday).dt.days
    first["days"] = days_left.where(posted_local >= monday, 7).clip(1, 7)
    first["year"] = [d.isocalendar()[0] for d in first["week_start"]]
    return first


def read_verdicts_csv(inputs: Path) -> pd.DataFrame:
    frame = pd.read_csv(inputs / "verdicts_csv" / "register.csv", dtype=str, keep_default_na=False)
    frame.index = range(1, len(frame) + 1)
    return frame


def verdict_age(row) -> int:
    if row["buyer_age"]:
        return int(row["buyer_age"])
    return dt.date.fromisoformat(row["offence_date"]).year - int(row["buyer_birth_year"])
