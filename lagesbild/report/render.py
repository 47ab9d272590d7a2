"""Assemble and write the situation-picture reports: one self-contained HTML page per region.

A page has inline CSS, inline SVG charts and no script that runs (only JSON data blocks), so it
opens offline, from a file share or an e-mail attachment, and prints on A4.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

import pandas as pd

from lagesbild.report import sections
from lagesbild.report.cells import MISSING_MARK, MISSING_NOTE, SUPPRESSED_MARK, SUPPRESSED_NOTE
from lagesbild.report.data import Region, regions_for
from lagesbild.report.texts import BIASES_HTML, method_html
from lagesbild.settings import REFERENCE_DIR

esc = html.escape

REQUIRED_META = ("publication_id", "model_version", "created_at", "county_code", "county_name")

SECTION_TITLES = [
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


def _anchor(section_html: str, anchor: str) -> str:
    return section_html.replace("<section>", f'<section id="{anchor}">', 1)


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
    ctx = sections.Context(region=region, county=county, marts=marts, quality=quality or {}, meta=meta)
    body = [
        sections.summary(ctx),
        _anchor(sections.purchases(ctx), "skattade-kop"),
        _anchor(sections.weekly(ctx), "annonser"),
        _anchor(sections.demand(ctx), "efterfragan"),
        _anchor(sections.flows(ctx), "floden"),
        _anchor(sections.hidden_population(ctx), "morkertal"),
        _anchor(sections.quality(ctx), "kvalitet"),
        f'<section id="metod"><h2>Så har siffrorna tagits fram</h2>{method_html(ctx.model_version)}</section>',
        f'<section id="skevheter"><h2>Kända skevheter</h2>{BIASES_HTML}</section>',
    ]
    return _page(ctx, "".join(body))


def _page(ctx: sections.Context, body: str) -> str:
    region, meta = ctx.region, ctx.meta
    scope = (
        ("hela landet" if region.code == "00" else "hela länet")
        if region.is_county
        else f"{esc(region.heading)}, jämförd med länet"
    )
    title = f"Lokal läges- och problembild – {region.heading}"
    toc = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in SECTION_TITLES)
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="lagesbild:region" content="{esc(region.code)}">
<meta name="lagesbild:publication" content="{esc(str(meta["publication_id"]))}">
<title>{esc(title)}</title>
<style>{_css()}</style>
</head>
<body>
<header>
<p class="kicker">Lokal läges- och problembild · prostitution och efterfrågan på sexuella tjänster</p>
<h1>{esc(region.heading)}</h1>
<p class="meta"><span>{scope}</span>{"" if region.is_county else f"<span>{esc(region.county_name)}</span>"}
<span>publikation {esc(str(meta["publication_id"]))}</span><span>modellversion {esc(ctx.model_version)}</span>
<span>skapad {esc(str(meta["created_at"]))}</span></p>
<nav aria-label="Innehåll"><ol>{toc}</ol></nav>
</header>
<main>
{body}
</main>
<footer>
<dl>
<dt>Publikation</dt><dd>{esc(str(meta["publication_id"]))}</dd>
<dt>Modellversion</dt><dd>{esc(ctx.model_version)}</dd>
<dt>Skapad</dt><dd>{esc(str(meta["created_at"]))}</dd>
<dt>Område</dt><dd>{esc(region.name)} ({esc(region.code)}), {esc(region.county_name)}</dd>
</dl>
<p><sup>a</sup> {SUPPRESSED_MARK} = {SUPPRESSED_NOTE}: värdet visas inte, varken i tabeller eller i diagram.
<br><sup>b</sup> {MISSING_MARK} = {MISSING_NOTE}.</p>
<p>Siffrorna är desamma som i publikationens Parquet-filer. Rapporten bygger på statistik för förebyggande
arbete och stöd; den identifierar inga personer.</p>
</footer>
</body>
</html>
"""


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
            county_meta = dict(meta, county_code=code, county_name=names.get(code, code))
            written += render_reports(county_slice(marts, code), quality, county_meta, out_dir, reference_dir)
    for region in regions_for(meta, reference_dir):
        page = render_report(region.code, marts, quality, meta, reference_dir)
        target = out_dir / f"{region.code}.html"
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written
