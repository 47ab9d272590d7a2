"""Which rows go into which published file.

Layout of a publication:
  county/<mart>.parquet                     county-level rows (region_level county or pooled), and marts
                                            without regions (coverage) whole
  municipalities/<code>/<mart>.parquet      that municipality's rows plus the county row(s) of the same
                                            periods, so one file gives "us vs the county"; for flows, the
                                            rows where the municipality is the home or the purchase side
                                            (the whole flow table is county-level: county/mart_flows.parquet,
                                            as the county report shows it)
  reports/..., quality/...                  written by other parts, served as given
  manifest.json

A municipality's token sees ``county/``, ``quality/``, county-wide reports, and every path whose
folder or file stem is its own 4-digit code (``municipalities/0580/...``, ``reports/0580.html``);
nothing named by another municipality's code. A county-level token (its scope is the 2-digit county
code) sees every file of its county's municipalities.
"""

from __future__ import annotations

import re

import pandas as pd

COUNTY_LEVELS = ("county", "pooled", "country")
NATIONAL_CODE = "00"


def county_slice(marts: dict[str, pd.DataFrame], county_code: str) -> dict[str, pd.DataFrame]:
    """One county's part of national marts: its municipalities' and its own rows, the flows with a
    side in it, marts without regions whole. What a run for that county alone would have built from
    the same inputs, so one national ingest can publish every county."""
    out = {}
    for mart, df in marts.items():
        if "region_code" in df.columns:
            code = df["region_code"].astype(str)
            keep = code.str.startswith(county_code) & (df["region_level"] != "country")
        elif "home_region_code" in df.columns:
            keep = df["home_region_code"].astype(str).str.startswith(county_code) | df[
                "purchase_region_code"
            ].astype(str).str.startswith(county_code)
        else:
            keep = pd.Series(True, index=df.index)
        out[mart] = df[keep].reset_index(drop=True)
    return out


def county_codes(marts: dict[str, pd.DataFrame]) -> list[str]:
    """The county codes (2 digits) that have county rows in the marts."""
    codes: set[str] = set()
    for df in marts.values():
        if "region_level" in df.columns:
            codes |= set(df.loc[df["region_level"] == "county", "region_code"].astype(str))
    return sorted(codes)


def _municipality_codes(marts: dict[str, pd.DataFrame]) -> list[str]:
    codes: set[str] = set()
    for df in marts.values():
        if "region_level" in df.columns:
            codes |= set(df.loc[df["region_level"] == "municipality", "region_code"].astype(str))
        for col in ("home_region_code", "purchase_region_code"):
            if col in df.columns:
                codes |= set(df[col].dropna().astype(str))
    return sorted(c for c in codes if len(c) == 4 and c.isdigit())


def split_by_region(disclosed_marts: dict[str, pd.DataFrame], county_code: str) -> dict[str, pd.DataFrame]:
    """{relative path: rows} for every county and municipality file of the publication.

    National mode (``county_code`` '00'): ``county/`` holds the 21 counties and Sweden, and each of
    the 290 municipalities' files its own rows, its county's and Sweden's.
    """
    out: dict[str, pd.DataFrame] = {}
    prefix = "" if county_code == NATIONAL_CODE else county_code
    codes = [c for c in _municipality_codes(disclosed_marts) if c.startswith(prefix)]
    for mart, df in sorted(disclosed_marts.items()):
        if "region_level" in df.columns:
            county_rows = df["region_level"].isin(COUNTY_LEVELS)
            out[f"county/{mart}.parquet"] = df[county_rows].reset_index(drop=True)
            region_code = df["region_code"].astype(str)
            for code in codes:
                mine = (region_code == code) | ((df["region_level"] == "county") & (region_code == code[:2]))
                mine |= df["region_level"] == "country"
                out[f"municipalities/{code}/{mart}.parquet"] = df[mine].reset_index(drop=True)
        elif "home_region_code" in df.columns:
            out[f"county/{mart}.parquet"] = df.reset_index(drop=True)
            for code in codes:
                mine = (df["home_region_code"].astype(str) == code) | (
                    df["purchase_region_code"].astype(str) == code
                )
                out[f"municipalities/{code}/{mart}.parquet"] = df[mine].reset_index(drop=True)
        else:
            out[f"county/{mart}.parquet"] = df.reset_index(drop=True)
    return out


#: A name that begins with a municipality code (``0581``, ``0581-print``, ``0581_flows``): the file is
#: that municipality's. Fail closed: a name that only contains a code elsewhere is county-wide, and a
#: county-wide name beginning with four digits and no fifth (``2024-summary``) is restricted too.
NAMED_BY_CODE_RE = re.compile(r"^(\d{4})(?!\d)")
#: A token's scope: a municipality (0580) or a county (05), ASCII digits, nothing else. The match
#: below is by prefix, so a scope of "" or "0" would see every municipality: such a scope sees nothing.
SCOPE_RE = re.compile(r"[0-9]{2}(?:[0-9]{2})?")
VISIBLE_TOP = ("county", "municipalities", "reports", "quality")


def visible_to(relpath: str, municipality: str) -> bool:
    """Whether a municipality's token may read ``relpath`` of a publication.

    Any path segment, or file stem, that begins with a 4-digit municipality code
    (``municipalities/0581/...``, ``reports/0581.html``, ``reports/0581-print.html``) restricts the
    file to that municipality; a file under ``municipalities/`` outside a folder so named is nobody's;
    everything else under the top-level folders is county-wide.
    """
    if relpath == "manifest.json":
        return True
    if not isinstance(municipality, str) or not SCOPE_RE.fullmatch(municipality):
        return False
    parts = relpath.split("/")
    if parts[0] not in VISIBLE_TOP or len(parts) < 2:
        return False
    names = [*parts[:-1], parts[-1].split(".", 1)[0]]
    codes = [m[1] for m in map(NAMED_BY_CODE_RE.match, names) if m]
    if parts[0] == "municipalities" and (len(parts) < 3 or not NAMED_BY_CODE_RE.match(parts[1])):
        return False  # a municipality's folder is named by its code, else the file is nobody's
    # A county-level user (a 2-digit scope, e.g. "14") sees every municipality of its county.
    return all(code.startswith(municipality) for code in codes)


def in_county(municipality: str, county_code) -> bool:
    """Whether a token's scope belongs to a publication of ``county_code`` (its manifest's): a county's
    publication is for its own municipalities (and its county-level users), the national one (``00``)
    for all. A publication that states no county (older ones, tests) restricts nothing more; one that
    states something else than two digits, everything."""
    if county_code is None or county_code == NATIONAL_CODE:
        return True
    if not isinstance(county_code, str) or not re.fullmatch(r"[0-9]{2}", county_code):
        return False
    return isinstance(municipality, str) and municipality.startswith(county_code)
