"""Settings read from the environment.

Everything a deployment changes lives here, read once from ``LAGESBILD_*`` variables. Paths are
never built elsewhere: Dagster's ``LagesbildResource`` owns the data dir and hands it on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The demo pseudonymisation key. It is public on purpose and says so: it is only for demo data.
DEMO_PSEUDONYM_KEY = "lagesbild-DEMO-KEY-not-secret-do-not-use-for-real-data"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds" / "reference"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def default_workers() -> int:
    """Processes for work split by week: the machine's cores, at most 4."""
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    county_code: str = "05"
    #: "demo" reads the generated demo folder with the demo key; "real" needs real endpoints and a key.
    source_mode: str = "demo"
    pseudonym_key: str | None = None
    snapshots_url: str | None = None  # HTTP archive listing snapshot files
    snapshots_dir: Path | None = None  # or a folder
    verdicts_path: Path | None = None  # CSV/XLSX register (or inbox folder)
    pxweb_base_url: str = "https://statistikdatabasen.scb.se/api/v2"
    population_file_dir: Path | None = None  # offline json-stat2 folder
    population_first_year: int = 2019
    quarantine_max_share: float = 0.05
    #: Below this many quarantined rows a run never fails on the share (tiny weeks are noisy).
    quarantine_min_rows: int = 5
    publications_keep: int = 10
    #: Processes that ingest snapshot weeks side by side in a backfill (1 = in the orchestrating process).
    workers: int = field(default_factory=lambda: default_workers())

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("LAGESBILD_DATA_DIR", "data"))
        mode = _env("LAGESBILD_SOURCE_MODE", "demo")
        return cls(
            data_dir=data_dir,
            county_code=_env("LAGESBILD_COUNTY", "05"),
            source_mode=mode,
            pseudonym_key=_env("LAGESBILD_PSEUDONYM_KEY"),
            snapshots_url=_env("LAGESBILD_SNAPSHOTS_URL"),
            snapshots_dir=Path(p) if (p := _env("LAGESBILD_SNAPSHOTS_DIR")) else None,
            verdicts_path=Path(p) if (p := _env("LAGESBILD_VERDICTS_PATH")) else None,
            pxweb_base_url=_env("LAGESBILD_PXWEB_URL", cls.pxweb_base_url),
            population_file_dir=Path(p) if (p := _env("LAGESBILD_POPULATION_DIR")) else None,
            population_first_year=int(_env("LAGESBILD_POPULATION_FIRST_YEAR", "2019")),
            quarantine_max_share=float(_env("LAGESBILD_QUARANTINE_MAX_SHARE", "0.05")),
            quarantine_min_rows=int(_env("LAGESBILD_QUARANTINE_MIN_ROWS", "5")),
            publications_keep=int(_env("LAGESBILD_PUBLICATIONS_KEEP", "10")),
            workers=int(_env("LAGESBILD_WORKERS", str(default_workers()))),
        )

    def resolved_pseudonym_key(self) -> bytes:
        """The HMAC key. Demo mode uses the labelled demo key; anything else refuses to run without one."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode("utf-8")
        if self.source_mode == "demo":
            return DEMO_PSEUDONYM_KEY.encode("utf-8")
        raise RuntimeError(
            "LAGESBILD_PSEUDONYM_KEY is not set: a non-demo source cannot be read without a secret "
            "pseudonymisation key (set it in the environment, never in the repo)."
        )
