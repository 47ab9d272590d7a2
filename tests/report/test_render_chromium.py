"""Reports render in headless Chromium with no console message and no request leaving the page,
and scripts/render_reports.py saves a PNG of each (slow: Chromium starts once per page)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from PIL import Image
from report_helpers import META, build_marts, build_quality

from lagesbild.report import render_report

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "render_reports_script", ROOT / "scripts" / "render_reports.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SCRIPT = _load_script()
CHROMIUM = SCRIPT.find_chromium()
MISSING = "headless Chromium is not installed (apt-get install -y chromium)"


@pytest.fixture
def chromium() -> str:
    """The Chromium binary. CI (.ci/run) installs it, so there a missing browser fails the test."""
    if CHROMIUM is None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{MISSING}; CI must run the browser tests")
        pytest.skip(MISSING)
    return CHROMIUM


@pytest.mark.slow
def test_reports_render_cleanly_and_get_a_png(tmp_path, chromium):
    marts, quality = build_marts(), build_quality()
    for code in ("05", "0580", "0512"):  # county, a municipality with data, one without
        (tmp_path / f"{code}.html").write_text(render_report(code, marts, quality, dict(META)), "utf-8")
    results = SCRIPT.render_folder(tmp_path, tmp_path / "png", chromium, height=3000)
    assert [r.html.name for r in results] == ["05.html", "0512.html", "0580.html"]
    for r in results:
        assert r.ok, (r.html.name, r.external_refs, r.console, r.error)
        with Image.open(r.png) as png:
            assert png.size == (1280, 3000)
            # Something was drawn: the page is not blank white.
            assert png.convert("L").getextrema()[0] < 100


@pytest.mark.slow
def test_the_checker_fails_a_page_with_console_errors_and_external_requests(tmp_path, chromium):
    (tmp_path / "bad.html").write_text(
        '<!DOCTYPE html><html><body><img src="https://example.org/x.png">'
        '<script>console.error("boom"); undefinedFunction();</script></body></html>',
        "utf-8",
    )
    (result,) = SCRIPT.render_folder(tmp_path, tmp_path / "png", chromium, height=400)
    assert not result.ok
    assert any("example.org" in ref for ref in result.external_refs)
    assert any("boom" in line for line in result.console)
    assert any("undefinedFunction" in line for line in result.console)
    assert SCRIPT.main([str(tmp_path), "--height", "400"]) == 1


@pytest.mark.slow
def test_no_page_is_wider_than_its_column_at_1280_px(tmp_path, chromium):
    """Reports (county, a large and a small municipality), the quality page and the data dictionary."""
    from lagesbild.datadictionary import with_data_dictionary
    from lagesbild.quality.summary import render_quality_report_html

    marts, quality = build_marts(), build_quality()
    pages = {code: render_report(code, marts, quality, dict(META)) for code in ("05", "0580", "0512")}
    long_name = "gx_mart_prevalence_weekly_expect_column_values_to_not_be_null_" + "x" * 80
    pages["quality"] = render_quality_report_html(
        {
            "generated_at": "2026-12-01T06:00:00+00:00",
            "checks": [
                {
                    "name": long_name,
                    "asset": "mart_prevalence_weekly",
                    "passed": False,
                    "severity": "ERROR",
                    "blocking_failure": True,
                    "description": "En lång beskrivning " * 20,
                    "metadata": {"missing": [{"site": "annonsportal-b", "week": "2025-W07"}] * 5},
                }
            ],
        }
    )
    files = with_data_dictionary({f"county/{name}.parquet": frame for name, frame in marts.items()})
    pages["datadictionary"] = files["county/datadictionary.html"].decode("utf-8")
    for name, page in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(page, encoding="utf-8")
        assert SCRIPT.overflowing_elements(chromium, path) == [], name


@pytest.mark.slow
def test_the_overflow_probe_catches_a_wide_table(tmp_path, chromium):
    path = tmp_path / "wide.html"
    path.write_text(
        '<!DOCTYPE html><html><body style="max-width:40rem;margin:auto"><main><table><tr>'
        + "".join(f"<td style='white-space:nowrap'>kolumn_{i}_med_ett_långt_namn</td>" for i in range(12))
        + "</tr></table></main></body></html>",
        encoding="utf-8",
    )
    assert SCRIPT.overflowing_elements(chromium, path)
