"""What the benchmark's parts share: where the inputs live, the marts compared, and the model settings.

The baselines read the same raw input files as the pipeline (a national folder written by
``lagesbild.demo.national.generate_national``) and the same reference CSVs as the dbt project, and
write the six marts as Parquet into one folder, so the harness and the tests compare them file by file.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lagesbild.marts import MARTS  # noqa: F401 - re-exported for the benchmark modules
from lagesbild.settings import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
#: The national mode of the marts: all 290 municipalities, their 21 counties and Sverige (level country).
NATIONAL_CODE = "00"
NATIONAL_NAME = "Sverige"
#: Sort keys that make two versions of a mart comparable row by row.
MART_KEYS = {
    "mart_prevalence_weekly": ["region_code", "week_start"],
    "mart_prevalence_yearly": ["region_code", "year"],
    "mart_demand_yearly": ["region_code", "year"],
    "mart_flows": ["home_region_code", "purchase_region_code"],
    "mart_hidden_population": ["region_code", "year", "site_a", "site_b"],
    "mart_coverage_weekly": ["site", "week_start"],
}


@dataclass(frozen=True)
class ModelSettings:
    """The dbt vars the marts depend on (dbt_project/dbt_project.yml); the baselines take the same."""

    county_code: str = "05"
    model_version: str = "2026.1"
    adult_age: int = 18
    chapman_min_overlap: int = 7
    chao2_min_doubletons: int = 7
    hidden_population_model_version: str = "hp-2026.5"
    fuzzy_min_length: int = 6
    fuzzy_max_distance: int = 1


DEFAULT_SETTINGS = ModelSettings()


def gazetteer_vars() -> dict[str, str]:
    """The gazetteer's qualifier regex and generic words, from the dbt vars (one place for both)."""
    import yaml

    dbt_vars = yaml.safe_load((SEEDS_DIR.parent / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    return {
        "QUALIFIERS": dbt_vars["gazetteer_qualifiers"],
        "GENERIC": ", ".join(f"'{w}'" for w in dbt_vars["gazetteer_generic_words"]),
    }


@dataclass(frozen=True)
class InputPaths:
    """The raw inputs of one national folder, in the layout of docs/demo.md."""

    root: Path

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def verdicts_csv(self) -> Path:
        return self.root / "verdicts_csv" / "register.csv"

    @property
    def population_csv(self) -> Path:
        return self.root / "population" / "population_synthetic.csv"

    def check(self) -> None:
        for path in (self.snapshots, self.verdicts_csv, self.population_csv):
            if not path.exists():
                raise FileNotFoundError(
                    f"{path} is missing: {self.root} is not a national input folder "
                    "(write one with `lagesbild demo-national --out DIR --rows N`)"
                )


def baseline_main(
    run: Callable[[Path, Path, ModelSettings], dict[str, int]], doc: str, label: str, argv: list[str] | None
) -> int:
    """The command line of a baseline module: ``INPUTS OUT [--county 05]``, ``run`` timed and reported."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "inputs", type=Path, help="national input folder (snapshots/, verdicts_csv/, population/)"
    )
    parser.add_argument("out", type=Path, help="folder for the marts (Parquet)")
    parser.add_argument("--county", default="05", help="county code, or 00 for the whole country")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.inputs, args.out, ModelSettings(county_code=args.county))
    print(f"{label}: {rows} in {time.perf_counter() - started:.1f} s")
    return 0
