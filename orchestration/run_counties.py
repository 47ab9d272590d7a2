"""`make run-national`: one national ingest, then every county's own publication from it.

Runs the whole pipeline once in national mode (LAGESBILD_COUNTY=00: ingest, dbt marts for all 290
municipalities, the 21 counties and Sweden, checks, disclosure over the whole hierarchy, the
national publication with a page for Sweden and every county) and then, for each county, publishes
its part of the same disclosed marts (its municipalities and its own rows, its reports, the same
quality results and manifest fields) as a publication of its own under
``<data>/counties/<code>/publications/`` that the county's pull server and tokens serve as usual.
Everything that does not depend on the county (ingest, pseudonymisation, location resolution,
marts, checks, disclosure) is done once; per county only slicing, rendering and writing remain.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from lagesbild.settings import Settings


def publish_counties(data_dir: Path, only: list[str] | None = None) -> dict[str, dict]:
    """Publish each county's part of the national run in ``data_dir``; returns per county path, files, bytes, seconds."""
    from lagesbild.disclosure import load_policy
    from lagesbild.disclosure.parts import verify_in_parts
    from lagesbild.publication import LocalFolderTarget, PublicationError, latest, publish
    from lagesbild.publication.disclosed import county_slice_check
    from lagesbild.publication.layout import county_codes, county_slice, split_by_region
    from lagesbild.settings import PROJECT_ROOT
    from lagesbild.sources.reference import municipalities_of_county
    from orchestration.assets.publication import MARTS

    national = latest(LocalFolderTarget(data_dir / "publications"))
    if national is None:
        raise RuntimeError(
            f"no national publication in {data_dir / 'publications'}: run the national pipeline first"
        )
    # Held for reading to the end: a concurrent national run prunes around it (a file read here
    # after the publication was pruned would be a page silently missing from a county).
    with LocalFolderTarget(data_dir / "publications").reading(national.id):
        manifest = json.loads((Path(national.path) / "manifest.json").read_text(encoding="utf-8"))
        quality = manifest.get("quality", {})
        # The marts as the national publication holds them, not ``disclosed/``: those working files are
        # the last national run's, maybe one whose publication was refused or is still running.
        marts = _published_marts(Path(national.path), manifest, MARTS)
        policy = load_policy(PROJECT_ROOT / "config" / "disclosure_policy.yml")
        # Each county's publication is checked to be its part of these marts (county_slice_check), so
        # these, as read back from the national publication, must pass the disclosure check themselves.
        if violations := verify_in_parts(marts, policy):
            raise PublicationError(
                f"national publication {national.id}: {len(violations)} disclosure violation(s), e.g. "
                f"{violations[0]}; no county publication made from it"
            )
        results = {}
        for code in only or county_codes(marts):
            started = time.monotonic()
            part = county_slice(marts, code)
            files: dict = dict(split_by_region(part, code))
            # The county's pages are already in the national publication (rendered once from this very
            # slice, naming the national publication): reuse them rather than render them again.
            pages = [
                f"{code}.html",
                *(f"{c}.html" for c in municipalities_of_county(code)["municipality_code"]),
            ]
            for page in pages:
                source = Path(national.path) / "reports" / page
                if source.exists():
                    files[f"reports/{page}"] = source
            quality_page = Path(national.path) / "quality" / "index.html"
            if quality_page.exists():
                files["quality/index.html"] = quality_page
            fields = {
                "model_version": manifest.get("model_version"),
                "county_code": code,
                "national_publication": manifest["id"],
                "watermark": manifest.get("watermark"),
                "source_coverage": manifest.get("source_coverage"),
                "quality": quality,
                "disclosure": manifest.get("disclosure"),
            }
            info = publish(
                LocalFolderTarget(data_dir / "counties" / code / "publications"),
                files,
                manifest_fields=fields,
                check=county_slice_check(part),
            )
            size = sum(p.stat().st_size for p in Path(info.path).rglob("*") if p.is_file())
            results[code] = {
                "path": str(info.path),
                "files": len(files),
                "bytes": size,
                "seconds": round(time.monotonic() - started, 2),
            }
        return results


def _published_marts(folder: Path, manifest: dict, names: list[str]) -> dict:
    """The disclosed marts reassembled from a publication's Parquet files, each checked against the
    manifest's sha256 (``PublicationError`` naming the file otherwise)."""
    import hashlib

    from lagesbild.publication import PublicationError
    from lagesbild.publication.disclosed import reassemble

    files = {}
    for relpath, entry in manifest["files"].items():
        if relpath.endswith(".parquet") and Path(relpath).stem in names:
            files[relpath] = (folder / relpath).read_bytes()
            if hashlib.sha256(files[relpath]).hexdigest() != entry["sha256"]:
                raise PublicationError(f"{folder.name}/{relpath}: sha256 differs from its manifest")
    marts = reassemble(files)
    if missing := [name for name in names if name not in marts]:
        raise PublicationError(f"publication {folder.name} holds no {', '.join(missing)}")
    return {name: marts[name] for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--publish-only", action="store_true", help="skip the national run; publish from the last one"
    )
    parser.add_argument("--county", action="append", help="publish only this county (repeatable)")
    args = parser.parse_args(argv)
    # Written for the in-process runs below (they read the settings model): the national run is
    # county 00, in data/national unless LAGESBILD_DATA_DIR names another folder.
    os.environ["LAGESBILD_COUNTY"] = "00"
    os.environ.setdefault("LAGESBILD_DATA_DIR", "data/national")
    data_dir = Path(Settings.from_env().data_dir).resolve()
    os.environ["LAGESBILD_DATA_DIR"] = str(data_dir)
    started = time.monotonic()
    if not args.publish_only:
        # The national run is `make run` for county 00: the same checks, stage lines and summary.
        from orchestration.run_demo import main as run_demo_main

        code = run_demo_main([])
        print(f"National run {'succeeded' if code == 0 else 'FAILED'} in {time.monotonic() - started:.1f} s")
        if code != 0:
            return code
    counties_started = time.monotonic()
    results = publish_counties(data_dir, args.county)
    for code, entry in results.items():
        print(
            f"  county {code}: {entry['files']} files, {entry['bytes'] / 1e6:.2f} MB, {entry['seconds']} s  {entry['path']}"
        )
    total = sum(e["bytes"] for e in results.values())
    print(
        f"{len(results)} county publications ({total / 1e6:.1f} MB) in {time.monotonic() - counties_started:.1f} s "
        f"under {data_dir / 'counties'}/<code>/publications; total {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
