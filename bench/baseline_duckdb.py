"""Run baseline B: ``bench/baseline_duckdb.sql`` on a national input folder, marts to ``out_dir``.

``python -m bench.baseline_duckdb INPUTS OUT [--county 05]``. One DuckDB connection, in memory,
one script; the harness runs this in its own process to measure wall time and peak memory.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import duckdb

from bench.common import (
    DEFAULT_SETTINGS,
    MARTS,
    SEEDS_DIR,
    InputPaths,
    ModelSettings,
    baseline_main,
    gazetteer_vars,
)
from lagesbild.calibration.estimators import macro

SCRIPT = Path(__file__).with_name("baseline_duckdb.sql")


def render_script(inputs: InputPaths, out_dir: Path, settings: ModelSettings) -> str:
    """The SQL with its placeholders filled; paths are absolute POSIX strings."""
    values = {
        "SNAPSHOTS": inputs.snapshots.resolve().as_posix(),
        "VERDICTS_CSV": inputs.verdicts_csv.resolve().as_posix(),
        "POPULATION_CSV": inputs.population_csv.resolve().as_posix(),
        "SEEDS": SEEDS_DIR.resolve().as_posix(),
        "OUT": Path(out_dir).resolve().as_posix(),
        "COUNTY": settings.county_code,
        "MODEL_VERSION": settings.model_version,
        "ADULT_AGE": settings.adult_age,
        "MIN_OVERLAP": settings.chapman_min_overlap,
        "HP_MODEL_VERSION": settings.hidden_population_model_version,
        # The hidden-population arithmetic is rendered from the mart's own macros (one copy).
        "HP_CHAPMAN_LOW": macro("chapman_ci_low", "n1", "n2", "m2", str(settings.chapman_min_overlap)),
        "HP_CHAPMAN_HIGH": macro("chapman_ci_high", "n1", "n2", "m2", str(settings.chapman_min_overlap)),
        "HP_CHAO2_N": macro("chao2_n", "s_obs", "f1", "f2", "weeks_observed"),
        "HP_CHAO2_LOW": macro(
            "chao2_ci_low", "s_obs", "f1", "f2", "weeks_observed", str(settings.chao2_min_doubletons)
        ),
        "HP_CHAO2_ESTIMABLE": macro("chao2_estimable", "s_obs", "weeks_observed"),
        "MIN_DOUBLETONS": settings.chao2_min_doubletons,
        "HP_CHAO2_HIGH": macro("chao2_ci_high", "s_obs", "f1", "f2", "weeks_observed"),
        "FUZZY_MIN_LENGTH": settings.fuzzy_min_length,
        "FUZZY_MAX_DISTANCE": settings.fuzzy_max_distance,
    }
    for name, value in values.items():
        if "'" in str(value):
            raise ValueError(f"{name}={value!r}: quotes are not allowed in baseline paths or settings")
    return string.Template(SCRIPT.read_text(encoding="utf-8")).substitute(values | gazetteer_vars())


def run_baseline_duckdb(
    inputs_dir: Path, out_dir: Path, settings: ModelSettings = DEFAULT_SETTINGS, threads: int | None = None
) -> dict[str, int]:
    """Compute the marts from the raw files; returns rows per mart written to ``out_dir/<mart>.parquet``."""
    inputs = InputPaths(Path(inputs_dir))
    inputs.check()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sql = render_script(inputs, out_dir, settings)
    con = duckdb.connect(":memory:")
    try:
        if threads:
            con.execute(f"set threads = {int(threads)}")
        con.execute(sql)
        return {
            mart: con.execute(
                f"select count(*) from read_parquet('{(out_dir / mart).as_posix()}.parquet')"
            ).fetchone()[0]
            for mart in MARTS
        }
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    return baseline_main(run_baseline_duckdb, __doc__, "baseline B", argv)


if __name__ == "__main__":
    sys.exit(main())
