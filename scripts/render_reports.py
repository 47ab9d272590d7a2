#!/usr/bin/env python
"""Open each situation-picture report in headless Chromium, save a PNG (and optionally a PDF), and
fail when a page references anything outside itself or logs a console message.

    .venv/bin/python scripts/render_reports.py <folder with *.html> [--out DIR] [--pdf]

Why not the DevTools protocol: it needs a websocket client and an event loop for what two cheaper
checks already give. (1) A static scan: a report may reference nothing by URL (no src/href other than
``#fragment``, no CSS ``url()`` other than ``#``/``data:``, no ``@import``). (2) Chromium runs with
every host name unresolvable and console logging on stderr, so a script error or a request that slips
past the scan shows up as a ``CONSOLE`` line, which counts as a failure.

Chromium is the Debian package ``chromium`` (``apt-get install -y chromium``); ``--chromium`` or
``$CHROMIUM`` points at another binary.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: A headless Chromium with no first-run work, sync or updates in the background; scripts/ui_check.py
#: starts its browser with these too.
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--hide-scrollbars",
]
CHROMIUM_FLAGS = [
    *HEADLESS_FLAGS,
    "--enable-logging=stderr",
    "--v=0",
    # Any request that leaves the page fails (and is logged) instead of reaching the network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=5000",
]

_ATTR_REF = re.compile(
    r"""\b(?:src|href|xlink:href|action|poster|srcset|data|formaction)\s*=\s*["']?([^"'\s>]*)""", re.I
)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]*)""", re.I)
_CONSOLE = re.compile(r":CONSOLE[:(]", re.I)


@dataclass
class RenderResult:
    html: Path
    png: Path | None
    external_refs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.external_refs or self.console or self.error)


def external_references(page: str) -> list[str]:
    """Every reference in ``page`` that points outside the page itself (empty list = self-contained)."""
    refs = [m.group(0) for m in _ATTR_REF.finditer(page) if not m.group(1).startswith("#")]
    refs += [m.group(0) for m in _CSS_URL.finditer(page) if not m.group(1).startswith(("#", "data:"))]
    refs += re.findall(r"@import[^;]*;", page, flags=re.I)
    refs += re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'<>]*", page)
    return sorted(set(refs))


def find_chromium(explicit: str | None = None) -> str | None:
    for candidate in (explicit, os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


def _run_chromium(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="lagesbild-chromium-") as profile:
        return subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def render_one(
    chromium: str,
    html: Path,
    out_dir: Path,
    width: int = 1280,
    height: int = 9000,
    pdf: bool = False,
    timeout: float = 90,
) -> RenderResult:
    """Screenshot one page (and print it to PDF when asked); collect references and console lines."""
    html = html.resolve()
    png = out_dir / f"{html.stem}.png"
    result = RenderResult(html=html, png=png, external_refs=external_references(html.read_text("utf-8")))
    proc = _run_chromium(
        chromium, [f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()], timeout
    )
    result.console = [line for line in proc.stderr.splitlines() if _CONSOLE.search(line)]
    if proc.returncode != 0 or not png.exists():
        result.error = f"chromium exited {proc.returncode} without a screenshot: {proc.stderr[-500:]}"
    if pdf:
        target = out_dir / f"{html.stem}.pdf"
        proc = _run_chromium(
            chromium, ["--no-pdf-header-footer", f"--print-to-pdf={target}", html.as_uri()], timeout
        )
        result.console += [line for line in proc.stderr.splitlines() if _CONSOLE.search(line)]
        if proc.returncode != 0 or not target.exists():
            result.error = f"chromium exited {proc.returncode} without a PDF: {proc.stderr[-500:]}"
    return result


#: Injected into a copy of the page: every element whose right edge passes its page column, as JSON.
_OVERFLOW_SCRIPT = """<script>
(function () {
  var main = document.querySelector("main") || document.body;
  var style = getComputedStyle(document.body);
  var box = document.body.getBoundingClientRect();
  var right = box.right - parseFloat(style.paddingRight) + 1;
  var out = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    out.push({tag: "html", right: document.documentElement.scrollWidth, limit: window.innerWidth});
  }
  document.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right && !el.closest("details:not([open])")) {
      out.push({tag: el.tagName.toLowerCase(), cls: String(el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className),
                text: (el.textContent || "").trim().slice(0, 60), right: Math.round(r.right), limit: Math.round(right)});
    }
  });
  var pre = document.createElement("pre");
  pre.id = "overflow-result";
  pre.textContent = JSON.stringify(out.slice(0, 20));
  document.body.appendChild(pre);
})();
</script>"""


def overflowing_elements(chromium: str, html: Path, width: int = 1280, timeout: float = 90) -> list[dict]:
    """Elements that run past the page column when ``html`` is shown ``width`` pixels wide (empty = fits)."""
    import json

    page = html.read_text("utf-8")
    with tempfile.TemporaryDirectory(prefix="lagesbild-overflow-") as tmp:
        probe = Path(tmp) / html.name
        probe.write_text(page.replace("</body>", _OVERFLOW_SCRIPT + "</body>", 1), encoding="utf-8")
        proc = _run_chromium(chromium, [f"--window-size={width},2000", "--dump-dom", probe.as_uri()], timeout)
    found = re.search(r'<pre id="overflow-result">(.*?)</pre>', proc.stdout, re.S)
    if not found:
        raise RuntimeError(f"{html.name}: the overflow probe did not run (chromium exit {proc.returncode})")
    return json.loads(
        found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def render_folder(
    folder: Path, out_dir: Path, chromium: str, pdf: bool = False, height: int = 9000
) -> list[RenderResult]:
    pages = sorted(folder.glob("*.html"))
    if not pages:
        raise FileNotFoundError(f"{folder}: no *.html reports to render")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [render_one(chromium, page, out_dir, pdf=pdf, height=height) for page in pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder with the <region_code>.html reports")
    parser.add_argument("--out", type=Path, help="where PNGs (and PDFs) go; default <folder>/png")
    parser.add_argument("--pdf", action="store_true", help="also print each report to PDF")
    parser.add_argument("--height", type=int, default=9000, help="window height in pixels (page length)")
    parser.add_argument("--chromium", help="Chromium binary (default: chromium on PATH or $CHROMIUM)")
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("chromium not found: apt-get install -y chromium, or pass --chromium", file=sys.stderr)
        return 2
    results = render_folder(args.folder, args.out or args.folder / "png", chromium, args.pdf, args.height)
    for r in results:
        status = "ok" if r.ok else "FAIL"
        print(f"{status:4} {r.html.name} -> {r.png}")
        for ref in r.external_refs:
            print(f"     external reference: {ref}")
        for line in r.console:
            print(f"     console: {line}")
        if r.error:
            print(f"     error: {r.error}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed}/{len(results)} reports rendered cleanly")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
