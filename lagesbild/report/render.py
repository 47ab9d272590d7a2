"""Assemble and write the situation-picture reports: one self-contained HTML page per region.

A page has inline CSS, inline SVG charts and no script that runs (only JSON data blocks), so it
opens offline, from a file share or an e-mail attachment, and prints on A4.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from lagesbild.fsutil import write_atomic
from lagesbild.report import sections
from lagesbild.report.cells import MISSING_MARK, MISSING_NOTE, SUPPRESSED_MARK, SUPPRESSED_NOTE
from lagesbild.report.data import Region, indexed_marts, regions_for
from lagesbild.report.names import swedish_date
from lagesbild.report.templating import render
from lagesbild.settings import REFERENCE_DIR

REQUIRED_META = ("publication_id", "model_version", "created_at", "county_code", "county_name")

SECTION_TITLES = [
    ("sammanfattning", "Sammanfattning"),
    ("lanen", "Länen jämförda"),
    ("karta", "Karta"),
    ("skattade-kop", "Skattade sexköp per år"),
    ("annonser", "Annonser per vecka"),
    ("efterfragan", "Efterfrågan: lagförda sexköpare"),
    ("floden", "Köparnas rörelser"),
    ("morkertal", "Mörkertal"),
    ("kvalitet", "Kvalitetskontroller"),
    ("metod", "Så har siffrorna tagits fram"),
    ("skevheter", "Kända skevheter"),
]


def _css() -> str:
    return resources.files("lagesbild.report").joinpath("style.css").read_text(encoding="utf-8")


def _check_meta(meta: dict) -> None:
    missing = [key for key in REQUIRED_META if not meta.get(key)]
    if missing:
        raise ValueError(f"report metadata is missing {', '.join(missing)} (got keys {sorted(meta)})")


def _find_region(region_code: str, meta: dict, reference_dir: Path) -> tuple[Region, Region]:
    regions = regions_for(meta, reference_dir)
    by_code = {r.code: r for r in regions}
    if region_code not in by_code:
        raise ValueError(
            f"region {region_code!r} is neither county {meta['county_code']!r} nor one of its "
            f"municipalities ({', '.join(r.code for r in regions[1:])})"
        )
    return by_code[region_code], regions[0]


def render_report(
    region_code: str,
    marts: dict[str, pd.DataFrame],
    quality: dict,
    meta: dict,
    reference_dir: Path = REFERENCE_DIR,
) -> str:
    """The HTML page for one region (the county code, e.g. ``05``, or a municipality, e.g. ``0580``)."""
    _check_meta(meta)
    region, county = _find_region(str(region_code), meta, reference_dir)
    with indexed_marts():
        return _page(region, county, marts, quality, meta)


def _page(region: Region, county: Region, marts: dict[str, pd.DataFrame], quality: dict, meta: dict) -> str:
    ctx = sections.Context(region=region, county=county, marts=marts, quality=quality or {}, meta=meta)
    from lagesbild.report import map as rate_map

    map_html = rate_map.section(ctx)
    body = [
        sections.summary(ctx, with_map=bool(map_html)),
        sections.counties(ctx),
        map_html,
        sections.purchases(ctx),
        sections.weekly(ctx),
        sections.demand(ctx),
        sections.flows(ctx),
        sections.hidden_population(ctx),
        sections.quality(ctx),
        sections.method(ctx),
        sections.biases(ctx),
    ]
    toc = [
        (a, t) for a, t in SECTION_TITLES if (a != "karta" or map_html) and (a != "lanen" or ctx.is_country)
    ]
    return str(
        render(
            "page.html.j2",
            region=region,
            meta=meta,
            model_version=ctx.model_version,
            created=swedish_date(meta["created_at"]),
            css=Markup(_css()),
            toc=toc,
            sections=[b for b in body if b],
            suppressed_mark=SUPPRESSED_MARK,
            suppressed_note=SUPPRESSED_NOTE,
            missing_mark=MISSING_MARK,
            missing_note=MISSING_NOTE,
        )
    )


def render_reports(
    marts: dict[str, pd.DataFrame],
    quality: dict,
    meta: dict,
    out_dir: Path,
    reference_dir: Path = REFERENCE_DIR,
) -> list[Path]:
    """Write ``<region_code>.html`` for the county and every municipality in it; returns the paths.

    Every municipality of the county gets a page, including one without rows (the page says so),
    so a municipality always finds its report in the publication.
    """
    _check_meta(meta)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if str(meta["county_code"]) == "00":
        # National mode: a page for Sweden, then every county's pages from its part of the marts.
        from lagesbild.publication.layout import county_codes, county_slice
        from lagesbild.sources.reference import region_official_names

        names = region_official_names("00")
        for code in county_codes(marts):
            county_meta = dict(meta, county_code=code, county_name=names.get(code, code), national_mode=True)
            written += render_reports(county_slice(marts, code), quality, county_meta, out_dir, reference_dir)
    regions = regions_for(meta, reference_dir)
    with indexed_marts():  # the marts are only read below: split them by region once for all pages
        for region in regions:
            page = _page(region, regions[0], marts, quality, meta)
            written.append(write_atomic(out_dir / f"{region.code}.html", page))
    return written
