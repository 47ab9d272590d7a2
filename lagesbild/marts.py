"""The list of marts, in one place: every dbt model under ``dbt_project/models/marts/``.

A mart is added by adding its model there (``mart_<name>.sql`` with its ``.yml``) and its GX suite
``expectations/mart_<name>.json``; export, checks, disclosure, publication and the benchmark's
comparison all read this list. It is read from the folder, not from a dbt parse, so importing it is
cheap and never runs dbt.
"""

from __future__ import annotations

from lagesbild.settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"

#: Names of the mart models (= their tables, Dagster asset keys and Parquet file stems), sorted.
MARTS: tuple[str, ...] = tuple(sorted(path.stem for path in MARTS_DIR.glob("mart_*.sql")))
