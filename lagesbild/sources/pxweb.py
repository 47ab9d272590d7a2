"""Statistics Sweden's PxWeb API v2: population by region, sex, age and year, as json-stat2.

Two tables make one series: TAB638 (BefolkningNy, content BE0101N1) up to reference year 2024 and
TAB5557 (BefolkningCKM, content 000007ME, Cell Key Method noise) from 2025. ``/config`` is read
first for the rate limit and the cell limit; queries are split so no call exceeds the cell limit.
Every row carries its table and the response's ``updated`` stamp; a null value stays null (with
its status symbol), never 0, and totals are never re-derived (CKM noise: parts need not sum).
The offline default reads the same json-stat2 from files through the same parser.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from lagesbild.fsutil import write_atomic
from lagesbild.sources.http import RateLimiter, make_client, request_with_retries
from lagesbild.sources.quarantine import STR, IngestResult, quarantine_frame, summarise, typed_frame

OLD_TABLE, NEW_TABLE, CKM_FROM = "TAB638", "TAB5557", 2025
POPULATION_CONTENTS = {"BE0101N1", "000007ME"}
SEX_CODES = {"1": "men", "2": "women", "TotSa": "total", "1+2": "total", "tot": "total"}
AGE_TOTAL_CODES = {"tot", "TotSA", "TOT1", "TOT5", "TOT10"}
CIVIL_TOTAL_CODES = {"SC"}
#: PX files' missing-value symbols (DATASYMBOL1-6: "." to "......"); "-" (nil, zero by definition) is not one.
_PX_MISSING_RE = re.compile(r"^\s*\.{1,6}\s*$")
#: The dimensions a population answer may have (Kon, Alder and Civilstand eliminated or at their totals).
KNOWN_DIMENSIONS = ("Region", "Civilstand", "Alder", "Kon", "ContentsCode", "Tid")
REGION_CODELISTS = {2: "vs_RegionLän07", 4: "vs_RegionKommun07"}
POPULATION_SCHEMA = {
    "region_code": STR,
    "region_level": STR,
    "year": "int16",
    "sex": STR,
    "age_band": STR,
    "population": "Int64",
    "value_status": STR,
    "source_table": STR,
    "updated": STR,
}
COLUMNS = list(POPULATION_SCHEMA)


@dataclass(frozen=True)
class PxWebConfig:
    max_calls: int
    time_window_s: float
    max_cells: int


@dataclass(frozen=True)
class TableSpec:
    """How one table is asked for population: its content code and the value codes it uses."""

    table: str
    contents_code: str
    sex_codes: tuple[str, ...]  # () = eliminate Kon, the API answers the total
    age_total: str
    single_ages: tuple[str, ...]
    fixed: dict = field(default_factory=dict)  # other variables pinned to their total code


_SINGLE_AGES_638 = tuple(str(a) for a in range(100)) + ("100+",)
_SINGLE_AGES_5557 = tuple(str(a) for a in range(100)) + ("100+1",)
TABLE_SPECS = {
    # TAB638 has no total code for Kon: men/women in one query, the total with Kon eliminated.
    OLD_TABLE: [
        TableSpec(OLD_TABLE, "BE0101N1", ("1", "2"), "tot", _SINGLE_AGES_638),
        TableSpec(OLD_TABLE, "BE0101N1", (), "tot", _SINGLE_AGES_638),
    ],
    # TAB5557 has total codes and its Civilstand/Alder cannot be eliminated.
    NEW_TABLE: [
        TableSpec(
            NEW_TABLE, "000007ME", ("1", "2", "TotSa"), "TotSA", _SINGLE_AGES_5557, {"Civilstand": "SC"}
        )
    ],
}


def table_for_year(year: int) -> str:
    return OLD_TABLE if year < CKM_FROM else NEW_TABLE


# --------------------------------------------------------------------------------------------- parse


def _load(payload: bytes | str | dict) -> dict:
    if not isinstance(payload, (bytes, str)):  # already parsed (a dict, or whatever a file held)
        return payload
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8-sig")
    return json.loads(payload.lstrip("\ufeff"), object_pairs_hook=_unique_names)


def _unique_names(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose names are unique: a second "value" or "Region" (two datasets pasted together) would
    otherwise replace the first without a word."""
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"the JSON name {twice[:40]!r} occurs twice in one object")
    return dict(pairs)


def _category_codes(dimension: dict) -> list[str]:
    index = dimension.get("category", {}).get("index")
    if index is None:  # a single-category dimension may give only labels
        return list(dimension.get("category", {}).get("label", {}))
    if isinstance(index, list):
        return [str(c) for c in index]
    return [str(code) for code, _ in sorted(index.items(), key=lambda kv: kv[1])]


def _cell_lookup(obj, size: int):
    """json-stat2 value/status may be a list, a sparse {index: v} object or (status) one string."""
    if obj is None:
        return lambda i: None
    if isinstance(obj, str):
        return lambda i: obj
    if isinstance(obj, list):
        if len(obj) not in (0, size):
            raise ValueError(f"json-stat2: {len(obj)} values for {size} cells")
        return lambda i: obj[i] if i < len(obj) else None
    if isinstance(obj, dict):
        # a key that is not a cell's index would be dropped silently: "7" of 4 cells, "01", "x"
        stray = [k for k in obj if not (k.isascii() and k.isdigit() and str(int(k)) == k and int(k) < size)]
        if stray:
            raise ValueError(f"json-stat2: value/status key {stray[0][:20]!r} is not the index of one of {size} cells")
        return lambda i: obj.get(str(i))
    raise ValueError("json-stat2: value/status must be a list, an object or a string")


def _region_level(code: str) -> str:
    return {2: "county", 4: "municipality"}.get(len(code), "country" if code == "00" else "other")


def _age_band(code: str) -> str:
    if code in AGE_TOTAL_CODES:
        return "total"
    return "100+" if code == "100+1" else code


def _count(value) -> int:
    """A cell's population: a whole finite number (84000 or 84000.0) or a numeric string; never true/false or a
    list, and never a fraction: rounding 100.5 would change a count silently, and -0.4 would pass as 0."""
    if isinstance(value, str):
        value = float(value)  # as before: "84000" is read, "1 234" is a ValueError
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("a number")
    if abs(value) >= 2**63:  # the column is Int64
        raise ValueError("a number in range")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("a whole number")
    return int(value)


def parse_jsonstat2(payload: bytes | str | dict, source_table: str) -> pd.DataFrame:
    """One json-stat2 population dataset -> raw/population rows (schema in docs/architecture.md).

    Anything that does not have json-stat2's shape is a ValueError naming the table and the cell, never a
    KeyError or TypeError from deep inside (a dimension listed in ``id`` but not given, a value that is
    text, NaN or a list, a year code that is not a year)."""
    data = _load(payload)
    try:
        return _parse_jsonstat2(data, source_table)
    except (KeyError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(
            f"{source_table}: not a json-stat2 population dataset ({type(err).__name__}: {str(err)[:120]})"
        ) from None


def _parse_jsonstat2(data, source_table: str) -> pd.DataFrame:
    if not isinstance(data, dict):
        raise ValueError(f"{source_table}: not a json-stat2 dataset (a JSON {type(data).__name__}, not an object)")
    if data.get("class") != "dataset" or "id" not in data or "dimension" not in data:
        raise ValueError(f"{source_table}: not a json-stat2 dataset (class/id/dimension missing)")
    ids = list(data["id"])
    codes = [_category_codes(data["dimension"][d]) for d in ids]
    size = list(data.get("size") or [len(c) for c in codes])
    if size != [len(c) for c in codes]:
        raise ValueError(f"{source_table}: json-stat2 size {size} does not match its categories")
    for required in ("Region", "Tid"):
        if required not in ids:
            raise ValueError(f"{source_table}: json-stat2 has no '{required}' dimension")
    for other in (d for d in ids if d not in KNOWN_DIMENSIONS):
        # a breakdown the rows do not carry (country of birth, a table downloaded with one more variable): its
        # categories were read as one population each, the first kept and the others quarantined as duplicates,
        # and with one category (born in Sweden) the sub-population was read as the population without a word
        categories = len(codes[ids.index(other)])
        raise ValueError(
            f"{source_table}: json-stat2 has a dimension {str(other)[:40]!r} ({categories} categories) that the "
            f"population is not broken down by ({', '.join(KNOWN_DIMENSIONS)}): download the table without it"
        )
    for content in codes[ids.index("ContentsCode")] if "ContentsCode" in ids else []:
        if content not in POPULATION_CONTENTS:
            raise ValueError(
                f"{source_table}: content code {content!r} is not population ({sorted(POPULATION_CONTENTS)})"
            )
    for civil in codes[ids.index("Civilstand")] if "Civilstand" in ids else []:
        if civil not in CIVIL_TOTAL_CODES:
            raise ValueError(
                f"{source_table}: civil status {civil!r} is not the total; ask for Civilstand=SC or eliminate it"
            )
    total = math.prod(size)
    value, status = _cell_lookup(data.get("value"), total), _cell_lookup(data.get("status"), total)
    updated = data.get("updated")
    rows = []
    for flat, combo in enumerate(itertools.product(*codes)):
        cell = dict(zip(ids, combo, strict=True))
        v, s = value(flat), status(flat)
        if isinstance(v, str) and _PX_MISSING_RE.match(v):
            # PX's missing-value symbols (".." not available, "..." too uncertain) written as the value instead of
            # null with a status, as a converter from PX files does: a missing figure, never 0 (it failed the file)
            v, s = None, s if s is not None else v.strip()
        sex_code = cell.get("Kon")
        if sex_code is not None and sex_code not in SEX_CODES:
            raise ValueError(f"{source_table}: unknown sex code {sex_code!r}")
        if not (cell["Tid"].isascii() and cell["Tid"].isdigit()):
            raise ValueError(f"{source_table}: Tid code {cell['Tid']!r} is not a year")
        try:
            population = None if v is None else _count(v)
        except ValueError as err:
            what = str(err) if str(err).startswith("a ") else "a number"  # float("x") explains itself
            raise ValueError(
                f"{source_table}: value {flat} (Region {cell['Region']}, Tid {cell['Tid']}) is not {what}: "
                f"{str(v)[:40]!r}"
            ) from None
        rows.append(
            {
                "region_code": cell["Region"],
                "region_level": _region_level(cell["Region"]),
                "year": int(cell["Tid"]),
                "sex": SEX_CODES[sex_code] if sex_code else "total",
                "age_band": _age_band(cell["Alder"]) if "Alder" in cell else "total",
                "population": population,
                "value_status": s if s is not None else (".." if v is None else None),
                "source_table": source_table,
                "updated": updated,
            }
        )
    return typed_frame(rows, POPULATION_SCHEMA)


# --------------------------------------------------------------------------------------------- client


def selection_cells(selection: list[dict]) -> int:
    return math.prod(len(s["valueCodes"]) for s in selection)


def split_selection(selection: list[dict], max_cells: int) -> list[list[dict]]:
    """Halve the variable with most values until every part is within ``max_cells``."""
    if selection_cells(selection) <= max_cells:
        return [selection]
    widest = max(range(len(selection)), key=lambda i: len(selection[i]["valueCodes"]))
    values = selection[widest]["valueCodes"]
    if len(values) < 2:
        raise ValueError(f"a single cell selection exceeds the cell limit {max_cells}")
    half = len(values) // 2
    parts = []
    for chunk in (values[:half], values[half:]):
        part = [dict(s) for s in selection]
        part[widest] = {**selection[widest], "valueCodes": list(chunk)}
        parts.extend(split_selection(part, max_cells))
    return parts


class PxWebClient:
    """PxWeb API v2 client: reads /config, limits its rate, splits by cell limit, retries faults."""

    def __init__(
        self,
        base_url: str = "https://statistikdatabasen.scb.se/api/v2",
        client: httpx.Client | None = None,
        lang: str = "sv",
        sleep=None,
        clock=None,
        max_attempts: int = 6,
    ):
        self.base_url = base_url.rstrip("/")
        self.client = client or make_client()
        self.lang = lang
        self._retry_kw = {"max_attempts": max_attempts, **({"sleep": sleep} if sleep else {})}
        self._limiter_kw = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v}
        self._config: PxWebConfig | None = None
        self._limiter: RateLimiter | None = None
        self.calls: list[dict] = []  # what was asked, for metadata

    def config(self) -> PxWebConfig:
        if self._config is None:
            url = f"{self.base_url}/config"
            response = request_with_retries(self.client, "GET", url, **self._retry_kw)
            try:  # a proxy's HTML page with status 200: a bare JSONDecodeError named no URL
                body = response.json()
            except (ValueError, UnicodeDecodeError, RecursionError) as err:
                raise ValueError(f"GET {url}: the answer is not usable JSON: {str(err)[:200]}") from None
            try:
                self._config = PxWebConfig(
                    int(body["maxCallsPerTimeWindow"]), float(body["timeWindow"]), int(body["maxDataCells"])
                )
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(
                    f"{self.base_url}/config lacks maxCallsPerTimeWindow/timeWindow/maxDataCells"
                ) from err
            self._limiter = RateLimiter(
                self._config.max_calls, self._config.time_window_s, **self._limiter_kw
            )
        return self._config

    def fetch_table(self, table: str, selection: list[dict]) -> pd.DataFrame:
        """POST /tables/{table}/data?outputFormat=json-stat2 for each cell-limit chunk; rows concatenated."""
        config = self.config()
        frames = []
        for part in split_selection(selection, config.max_cells):
            url = f"{self.base_url}/tables/{table}/data"
            response = request_with_retries(
                self.client,
                "POST",
                url,
                params={"lang": self.lang, "outputFormat": "json-stat2"},
                json={"selection": part},
                rate_limiter=self._limiter,
                **self._retry_kw,
            )
            self.calls.append({"table": table, "cells": selection_cells(part)})
            try:  # an HTML error page from a proxy with status 200, a cut body: name the URL, no traceback
                frame = parse_jsonstat2(response.content, table)
                _answers_selection(frame, part)
            except (ValueError, RecursionError) as err:
                kind = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:300]
                raise ValueError(f"POST {url}: the answer is not usable json-stat2: {kind}") from None
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def fetch_population(
        self, region_codes: list[str], years: list[int], by_age: bool = True
    ) -> pd.DataFrame:
        """Population on 31 Dec by region, sex and age (total + single years when ``by_age``)."""
        frames = []
        for table, table_years in itertools.groupby(sorted(set(years)), key=table_for_year):
            table_years = [str(y) for y in table_years]
            for spec in TABLE_SPECS[table]:
                for length, codelist in REGION_CODELISTS.items():
                    regions = sorted({str(c) for c in region_codes if len(str(c)) == length})
                    if regions:
                        frames.append(
                            self.fetch_table(table, _selection(spec, regions, codelist, table_years, by_age))
                        )
        if not frames:
            return typed_frame([], POPULATION_SCHEMA)
        return pd.concat(frames, ignore_index=True)


def _answers_selection(frame: pd.DataFrame, selection: list[dict]) -> None:
    """The answer is for the regions and years asked, all of them: PxWeb answers a selection it cannot apply
    (a code list it does not know for a table) with the table's default selection, and a cache in between may
    answer another query's body. Read as it came, another year's or region's figures were stored under their own
    codes and the asked ones were missing without a word."""
    asked = {s["variableCode"]: {str(c) for c in s["valueCodes"]} for s in selection}
    got = {"Region": set(frame["region_code"]), "Tid": {str(y) for y in frame["year"]}}
    for variable, what in (("Region", "regions"), ("Tid", "years")):
        if variable in asked and got[variable] != asked[variable]:
            missing, other = sorted(asked[variable] - got[variable]), sorted(got[variable] - asked[variable])
            raise ValueError(
                f"the answer is for other {what} than asked"
                + (f"; missing: {', '.join(missing[:5])}" if missing else "")
                + (f"; not asked: {', '.join(other[:5])}" if other else "")
            )


def _selection(
    spec: TableSpec, regions: list[str], codelist: str, years: list[str], by_age: bool
) -> list[dict]:
    ages = [spec.age_total, *spec.single_ages] if by_age else [spec.age_total]
    selection = [{"variableCode": "Region", "codeList": codelist, "valueCodes": regions}]
    selection += [{"variableCode": var, "valueCodes": [code]} for var, code in spec.fixed.items()]
    selection.append({"variableCode": "Alder", "valueCodes": ages})
    if spec.sex_codes:
        selection.append({"variableCode": "Kon", "valueCodes": list(spec.sex_codes)})
    selection.append({"variableCode": "ContentsCode", "valueCodes": [spec.contents_code]})
    selection.append({"variableCode": "Tid", "valueCodes": years})
    return selection


# --------------------------------------------------------------------------------------------- offline


def _dataset(
    table: str,
    label: str,
    dims: list[tuple[str, list[str]]],
    values: list,
    status: dict,
    updated: str,
    notes: list[str],
) -> dict:
    dataset = {
        "version": "2.0",
        "class": "dataset",
        "label": label,
        "source": "SCB (offline reference copy)",
        "updated": updated,
        "id": [d for d, _ in dims],
        "size": [len(c) for _, c in dims],
        "dimension": {
            d: {
                "label": d,
                "category": {"index": {c: i for i, c in enumerate(codes)}, "label": {c: c for c in codes}},
            }
            for d, codes in dims
        },
        "value": values,
        "role": {"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]},
        "extension": {"px": {"tableid": table}, "lagesbild_offline": True},
        "note": notes,
    }
    if status:
        dataset["status"] = status
    return dataset


def _cube(table: str, frame: pd.DataFrame, spec: TableSpec, updated: str, notes: list[str]) -> dict:
    regions = sorted(frame["municipality_code"].unique(), key=lambda c: (len(c), c))
    years = sorted(frame["year"].astype(int).unique().tolist())
    age_codes = sorted(
        {spec.age_total if a == "total" else a for a in frame["age_group"]},
        key=lambda a: (a != spec.age_total, a),
    )
    sex_of = {v: k for k, v in SEX_CODES.items() if k in spec.sex_codes}
    dims = [("Region", regions)]
    dims += [(var, [code]) for var, code in spec.fixed.items()]
    dims.append(("Alder", age_codes))
    if spec.sex_codes:
        dims.append(("Kon", [c for c in spec.sex_codes if SEX_CODES[c] in set(frame["sex"])]))
    dims += [("ContentsCode", [spec.contents_code]), ("Tid", [str(y) for y in years])]
    lookup = {
        (
            r.municipality_code,
            spec.age_total if r.age_group == "total" else r.age_group,
            sex_of.get(r.sex, "total") if spec.sex_codes else "total",
            str(int(r.year)),
        ): int(r.population)
        for r in frame.itertuples()
    }
    values, status = [], {}
    for flat, combo in enumerate(itertools.product(*[codes for _, codes in dims])):
        cell = dict(zip([d for d, _ in dims], combo, strict=True))
        v = lookup.get((cell["Region"], cell["Alder"], cell.get("Kon", "total"), cell["Tid"]))
        values.append(v)
        if v is None:
            status[str(flat)] = ".."
    return _dataset(table, f"Folkmängd ({table}, offline reference)", dims, values, status, updated, notes)


def build_offline_population(
    reference_csv: Path | pd.DataFrame, out_dir: Path, updated: str | None = None, label: str | None = None
) -> list[Path]:
    """Write json-stat2 files shaped like the API's answers from a reference CSV.

    One file per table and query kind actually covered: ``TAB638.json`` (men and women),
    ``TAB638_sex_total.json`` (Kon eliminated, as the API answers a total), ``TAB5557.json``
    (men, women and TotSa). Regions are exactly those in the CSV: a county row appears only if the
    CSV has it, never summed. Cells the CSV lacks are null with status "..". ``reference_csv`` may
    also be a frame of the same columns (then ``label`` names its files in the ``updated`` stamp).
    """
    out_dir = Path(out_dir)
    if isinstance(reference_csv, pd.DataFrame):
        # A frame in the reference CSV's shape (lagesbild.sources.reference.offline_population_reference);
        # `label` names the files it came from in the stamp.
        frame = reference_csv.astype(str)
        raw = frame.to_csv(index=False).encode("utf-8")
        name = label or "offline_population"
    else:
        reference_csv = Path(reference_csv)
        raw = reference_csv.read_bytes()
        frame = pd.read_csv(reference_csv, dtype=str, keep_default_na=False)
        name = label or reference_csv.name
    frame = frame[frame["population"].str.strip() != ""]
    updated = updated or f"offline:{name}@sha256:{hashlib.sha256(raw).hexdigest()[:12]}"
    notes = sorted({s.split(";")[0].strip()[:160] for s in frame.get("source", pd.Series(dtype=str)) if s})
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    frame = frame.assign(table=frame["year"].astype(int).map(table_for_year))
    for table, part in frame.groupby("table", sort=True):
        for spec in TABLE_SPECS[table]:
            if table == OLD_TABLE:
                subset = part[part["sex"] != "total"] if spec.sex_codes else part[part["sex"] == "total"]
                name = f"{table}.json" if spec.sex_codes else f"{table}_sex_total.json"
            else:
                subset, name = part, f"{table}.json"
            if subset.empty:
                continue
            target = write_atomic(
                out_dir / name, json.dumps(_cube(table, subset, spec, updated, notes), ensure_ascii=False, indent=1)
            )
            written.append(target)
    return written


#: An offline population file larger than this is refused before it is read. Statistics Sweden's tables
#: for every municipality by sex and year are a few hundred KB; a file read whole and parsed into Python
#: objects takes about ten times its size, so a wrong multi-GB file in the folder took the ingest with it.
MAX_POPULATION_FILE_BYTES = 64 * 2**20


def read_offline_population(directory: Path) -> pd.DataFrame:
    """Every ``*.json`` in ``directory`` through parse_jsonstat2; the table comes from the file's extension or name.

    A hidden file is not read, even named ``.json`` (macOS's ``._TAB638.json`` metadata beside a copied file,
    a stale hidden copy). The names of the folder's other entries are in ``frame.attrs["ignored_files"]``:
    files in other formats, hidden ``.json`` files and subfolders (``2025/``); other hidden files
    (``.DS_Store``) are not listed."""
    entries = sorted(Path(directory).iterdir()) if Path(directory).is_dir() else []
    frames, files = [], [p for p in entries if p.is_file()]
    read = [p for p in files if p.suffix.lower() == ".json" and not p.name.startswith(".")]  # TAB638.JSON too
    ignored = [p.name for p in files if p not in read and (p.suffix.lower() == ".json" or not p.name.startswith("."))]
    ignored += [f"{p.name}/" for p in entries if p.is_dir() and not p.name.startswith(".")]
    # neither file nor folder (a link to a share that is not mounted, a pipe): was not listed at all
    ignored += [f"{p.name} (not a regular file: not read)" for p in entries
                if not p.is_file() and not p.is_dir() and not p.name.startswith(".")]
    origins: list[tuple[str, int]] = []  # (file, rows) in the order of the frame, for the quarantine's locators
    for path in read:
        size = path.stat().st_size
        if size > MAX_POPULATION_FILE_BYTES:
            raise ValueError(f"{path.name} (LAGESBILD_POPULATION_DIR): the file is {size:,} bytes, more than "
                             f"{MAX_POPULATION_FILE_BYTES:,} (MAX_POPULATION_FILE_BYTES): not read")
        try:
            payload = _load(path.read_bytes())
            extension = payload.get("extension") if isinstance(payload, dict) else None
            px = extension.get("px") if isinstance(extension, dict) else None
            table = (px.get("tableid") if isinstance(px, dict) else None) or path.stem.split("_")[0]
            part = parse_jsonstat2(payload, str(table))
        except (ValueError, RecursionError) as err:  # JSON (with line and column), UTF-8, json-stat2 shape
            kind = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:300]
            raise ValueError(f"{path.name} (LAGESBILD_POPULATION_DIR): not a usable json-stat2 file: {kind}") from None
        # a second download of one table ("TAB638 (1).json"): every row of it was a duplicate, a third of the
        # rows quarantined and the run failed its threshold; the same cells again are listed, not read
        same = next((name for (name, _), earlier in zip(origins, frames, strict=True) if part.equals(earlier)), None)
        if same is not None:
            ignored.append(f"{path.name} (the same cells as {same}: not read)")
            continue
        frames.append(part)
        origins.append((path.name, len(part)))
    if not frames:
        raise FileNotFoundError(f"no json-stat2 files (*.json) in {directory} (LAGESBILD_POPULATION_DIR)")
    frame = pd.concat(frames, ignore_index=True)
    # other files are not read; population_result lists them in its metadata, so none is missed silently
    frame.attrs["ignored_files"] = ignored
    frame.attrs["origins"] = origins
    return frame


# --------------------------------------------------------------------------------------------- validate


def _origin(frame: pd.DataFrame, position: int) -> tuple[str | None, int]:
    """(offline file, cell index in it) of the frame's row ``position``; (None, position) for rows of the API."""
    start = 0
    for name, rows in frame.attrs.get("origins", []):
        if position < start + rows:
            return name, position - start
        start += rows
    return None, position


def population_result(
    frame: pd.DataFrame, municipalities: pd.DataFrame, source: str = "population"
) -> IngestResult:
    """Quarantine impossible population rows; the rest become raw/population.

    Reasons: ``unknown_region`` (code neither a municipality nor a county in the reference table),
    ``impossible_value`` (negative count), ``duplicate`` (same region, year, sex, age band twice,
    e.g. an overlapping offline file). Null values are kept: a missing figure is information.
    """
    known = set(municipalities["municipality_code"]) | set(municipalities["county_code"]) | {"00"}
    key = ["region_code", "year", "sex", "age_band"]
    bad_region = ~frame["region_code"].isin(known)
    negative = frame["population"].fillna(0) < 0
    duplicate = frame.duplicated(key, keep="first") & ~bad_region & ~negative
    records = []
    for mask, reason, detail in (
        (bad_region, "unknown_region", "region code not in municipalities_se.csv"),
        (negative, "impossible_value", "negative population"),
        (duplicate, "duplicate", "same region, year, sex and age band as an earlier row"),
    ):
        for position in np.flatnonzero(mask.to_numpy()):
            row = frame.iloc[position]
            file, cell = _origin(frame, int(position))
            records.append(
                {
                    "source": source,
                    "site": None,
                    "file": file or row["source_table"],
                    "position": cell + 1,
                    "reason": reason,
                    "detail": f"{detail} ({row['region_code']}, {row['year']})",
                    "week_start": None,
                }
            )
    bad = bad_region | negative | duplicate
    records.sort(key=lambda r: r["position"])
    rows = frame[~bad].reset_index(drop=True)
    quarantine = quarantine_frame(records)
    by_table = rows.groupby("source_table")["year"].agg(["min", "max"]).astype(int)
    metadata = summarise(
        len(rows),
        quarantine,
        null_values=int(rows["population"].isna().sum()),
        years_by_table={t: [int(r["min"]), int(r["max"])] for t, r in by_table.iterrows()},
        updated=sorted(rows["updated"].dropna().unique().tolist()),
        ignored_files=list(frame.attrs.get("ignored_files", [])),
    )
    return IngestResult(rows=rows, quarantine=quarantine, files=None, metadata=metadata)
