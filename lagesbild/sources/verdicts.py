"""The verdict register analysts keep in Excel: CSV or XLSX, Swedish or English headers.

Conviction data is sensitive: a column with personal identity numbers or names fails the file
(PersonalDataError naming column and row), the case number becomes a keyed hash here and is never
stored, columns we do not know are reported and not kept, and impossible rows go to quarantine.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from lagesbild.privacy.detect import assert_no_personal_data
from lagesbild.privacy.pseudonymise import case_key
from lagesbild.sources.quarantine import DATE, STR, IngestResult, quarantine_frame, summarise, typed_frame

SOURCE = "verdicts"
AGE_RANGE = (15, 100)

# canonical column -> accepted headers (compared folded: lower case, no accents, single spaces)
HEADER_ALIASES = {
    "case_number": ["case number", "case no", "malnummer", "mal nr", "malnr", "mal nummer"],
    "court": ["court", "domstol"],
    "decision_type": ["decision type", "beslutstyp", "typ av beslut"],
    "decision_date": ["decision date", "beslutsdatum", "domsdatum"],
    "offence_date": ["offence date", "offense date", "brottsdatum", "gärningsdatum", "garningsdatum"],
    "buyer_age": ["buyer age", "age", "alder vid brottet", "alder", "age at offence"],
    "buyer_birth_year": ["buyer birth year", "birth year", "fodelsear"],
    "home_municipality": ["home municipality", "hemkommun"],
    "purchase_municipality": ["purchase municipality", "brottskommun", "kommun for kopet"],
    "contact_channel": ["contact channel", "kontaktvag"],
    "sanction": ["sanction", "pafoljd"],
    "completed": ["completed", "fullbordat", "fullbordat/forsok"],
}
REQUIRED_COLUMNS = ("case_number", "court", "decision_type", "decision_date", "offence_date", "completed")

DECISION_TYPES = {
    "dom": "judgment",
    "judgment": "judgment",
    "judgement": "judgment",
    "strafforelaggande": "summary_order",
    "summary order": "summary_order",
    "summary_order": "summary_order",
}
CHANNELS = {
    "annonssajt": "ad_site",
    "ad site": "ad_site",
    "ad_site": "ad_site",
    "annan sajt": "other_site",
    "other site": "other_site",
    "other_site": "other_site",
    "gatan": "street",
    "street": "street",
    "annat": "other",
    "other": "other",
    "okand": "unknown",
    "unknown": "unknown",
    "": "unknown",
}
COMPLETED = {
    "fullbordat": True,
    "completed": True,
    "true": True,
    "1": True,
    "ja": True,
    "yes": True,
    "forsok": False,
    "attempt": False,
    "false": False,
    "0": False,
    "nej": False,
    "no": False,
}

ROW_SCHEMA = {
    "case_key": STR,
    "court": STR,
    "decision_type": STR,
    "decision_date": DATE,
    "offence_date": DATE,
    "buyer_age": "int16",
    "age_source": STR,
    "home_municipality_code": STR,
    "purchase_municipality_code": STR,
    "contact_channel": STR,
    "sanction": STR,
    "completed": "bool",
    "source_file": STR,
    "source_row": "int32",
}
ROW_COLUMNS = list(ROW_SCHEMA)


def fold(text) -> str:
    """Lower case, accents removed, whitespace and underscores collapsed: 'Ålder_vid  brottet' -> 'alder vid brottet'."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s_]+", " ", text.strip().lower())


_HEADER_LOOKUP = {
    fold(alias): canon for canon, aliases in HEADER_ALIASES.items() for alias in aliases + [canon]
}


class RegisterFormatError(ValueError):
    """The register file cannot be read as a register (missing columns, unknown format)."""


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    header = text.splitlines()[0] if text else ""
    sep = ";" if header.count(";") > header.count(",") else ","
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)


def _read_xlsx(path: Path) -> pd.DataFrame:
    frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    return frame.astype(object).where(frame.notna(), "")


def read_register_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise RegisterFormatError(f"{path.name}: unknown register format '{suffix}' (use .csv or .xlsx)")


def _map_headers(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    mapping, unknown = {}, []
    for column in frame.columns:
        canon = _HEADER_LOOKUP.get(fold(column))
        if canon is None or canon in mapping.values():
            unknown.append(str(column))
        else:
            mapping[column] = canon
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping.values()]
    if "buyer_age" not in mapping.values() and "buyer_birth_year" not in mapping.values():
        missing.append("buyer_age or buyer_birth_year")
    if missing:
        raise RegisterFormatError(
            f"{name}: required column(s) missing: {', '.join(missing)} (see the 'Verdict register' table in "
            "docs/architecture.md for accepted Swedish and English headers)"
        )
    return frame[list(mapping)].rename(columns=mapping), unknown


class _Bad(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""


def _date(value, column: str) -> date:
    if _blank(value):
        raise _Bad("missing_field", f"{column} is empty")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and 20000 < value < 80000:  # Excel serial day
        return date(1899, 12, 30) + timedelta(days=int(value))
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _Bad("bad_date", f"{column} is not an ISO date (YYYY-MM-DD)") from None


def _int(value, column: str) -> int | None:
    if _blank(value):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise _Bad("bad_value", f"{column} is not a whole number") from None
    if not math.isfinite(number) or number != int(number):
        raise _Bad("bad_value", f"{column} is not a whole number")
    return int(number)


class _Municipalities:
    def __init__(self, municipalities: pd.DataFrame):
        codes = municipalities["municipality_code"].astype(str).str.zfill(4)
        self.codes = set(codes)
        self.by_name = {fold(n): c for n, c in zip(municipalities["municipality_name"], codes, strict=True)}
        for name, code in list(self.by_name.items()):  # "Linköpings kommun" -> "Linköping"
            self.by_name.setdefault(fold(f"{name} kommun"), code)
            self.by_name.setdefault(fold(f"{name}s kommun"), code)

    def code(self, value, column: str) -> str | None:
        if _blank(value):
            return None
        text = str(value).strip()
        if isinstance(value, (int, float)) or text.isdigit():
            text = str(int(float(text))).zfill(4)
            if text in self.codes:
                return text
        elif fold(text) in self.by_name:
            return self.by_name[fold(text)]
        raise _Bad(
            "unknown_municipality", f"{column} is not a municipality name or code in the reference table"
        )


def _convert(record: dict, key: bytes, munis: _Municipalities) -> dict:
    if _blank(record.get("case_number")):
        raise _Bad("missing_field", "case_number is empty")
    if _blank(record.get("court")):
        raise _Bad("missing_field", "court is empty")
    decision_type = DECISION_TYPES.get(fold(record.get("decision_type", "")))
    if decision_type is None:
        raise _Bad("bad_value", "decision_type is not dom/strafföreläggande (judgment/summary_order)")
    decision, offence = (
        _date(record.get("decision_date"), "decision_date"),
        _date(record.get("offence_date"), "offence_date"),
    )
    if decision < offence:
        raise _Bad("decision_before_offence", "decision_date is before offence_date")
    age, source = _int(record.get("buyer_age"), "buyer_age"), "age"
    if age is None:
        birth_year = _int(record.get("buyer_birth_year"), "buyer_birth_year")
        if birth_year is None:
            raise _Bad("missing_field", "neither buyer_age nor buyer_birth_year is given")
        age, source = offence.year - birth_year, "birth_year"
    if not AGE_RANGE[0] <= age <= AGE_RANGE[1]:
        raise _Bad("impossible_age", f"buyer age {age} is outside {AGE_RANGE[0]}-{AGE_RANGE[1]}")
    channel = CHANNELS.get(fold(record.get("contact_channel", "")))
    if channel is None:
        raise _Bad("bad_value", "contact_channel is not one of annonssajt/annan sajt/gatan/annat/okänd")
    completed_text = fold(record.get("completed", ""))
    if completed_text == "":
        raise _Bad("missing_field", "completed is empty")
    if completed_text not in COMPLETED:
        raise _Bad("bad_value", "completed is not fullbordat/försök (completed/attempt)")
    sanction = None if _blank(record.get("sanction")) else str(record["sanction"]).strip()
    return {
        "case_key": case_key(str(record["case_number"]), key),
        "court": str(record["court"]).strip(),
        "decision_type": decision_type,
        "decision_date": decision,
        "offence_date": offence,
        "buyer_age": age,
        "age_source": source,
        "home_municipality_code": munis.code(record.get("home_municipality"), "home_municipality"),
        "purchase_municipality_code": munis.code(
            record.get("purchase_municipality"), "purchase_municipality"
        ),
        "contact_channel": channel,
        "sanction": sanction,
        "completed": COMPLETED[completed_text],
    }


def ingest_register(paths: list[Path], key: bytes, municipalities: pd.DataFrame) -> IngestResult:
    """Read register files into raw/verdicts rows; ``source_row`` is the 1-based data row (header not counted)."""
    munis = _Municipalities(municipalities)
    rows, bad, unknown_columns, seen, blank_rows = [], [], {}, set(), 0
    for path in [Path(p) for p in paths]:
        frame = read_register_file(path)
        assert_no_personal_data(frame, path.name)
        frame, unknown = _map_headers(frame, path.name)
        if unknown:
            unknown_columns[path.name] = unknown
        for index, record in enumerate(frame.to_dict("records")):
            if all(_blank(v) for v in record.values()):
                blank_rows += 1  # an empty spreadsheet row is not a register row; counted, not quarantined
                continue
            position = index + 1  # 1-based data row (header not counted; Excel row = position + 1)
            try:
                row = _convert(record, key, munis)
            except _Bad as err:
                bad.append(
                    {
                        "source": SOURCE,
                        "site": None,
                        "file": path.name,
                        "position": position,
                        "reason": err.reason,
                        "detail": err.detail,
                        "week_start": None,
                    }
                )
                continue
            identity = (
                row["case_key"],
                row["buyer_age"],
                row["home_municipality_code"],
                row["offence_date"],
                row["decision_date"],
                row["purchase_municipality_code"],
            )
            if identity in seen:
                bad.append(
                    {
                        "source": SOURCE,
                        "site": None,
                        "file": path.name,
                        "position": position,
                        "reason": "duplicate",
                        "detail": "same case, buyer age, municipalities and dates as an earlier row",
                        "week_start": None,
                    }
                )
                continue
            seen.add(identity)
            rows.append({**row, "source_file": path.name, "source_row": position})
    quarantine = quarantine_frame(bad)
    metadata = summarise(
        len(rows),
        quarantine,
        files=[Path(p).name for p in paths],
        unknown_columns=unknown_columns,
        blank_rows=blank_rows,
    )
    return IngestResult(
        rows=typed_frame(rows, ROW_SCHEMA), quarantine=quarantine, files=None, metadata=metadata
    )
