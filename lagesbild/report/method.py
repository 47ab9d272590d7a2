"""The model parameters the report states, read from the data rather than written into the text.

A publication that carries the parameters (a ``mart_model_parameters`` or
``estimation_model_parameters`` table) is used first; otherwise the dbt seed the pipeline itself
reads (``dbt_project/seeds/estimation_model_parameters.csv``). Only rows of the report's model
version are returned, so a report never states another version's assumptions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lagesbild.settings import DBT_PROJECT_DIR

PARAMETERS_SEED = DBT_PROJECT_DIR / "seeds" / "estimation_model_parameters.csv"
_TABLES = ("mart_model_parameters", "model_parameters", "estimation_model_parameters")
_COLUMNS = ["model_version", "parameter", "low", "central", "high"]


def parameters_for(marts: dict, model_version: str, seed: Path = PARAMETERS_SEED) -> pd.DataFrame:
    frame = next((marts[name] for name in _TABLES if marts.get(name) is not None), None)
    if frame is None:
        if not seed.exists():
            return pd.DataFrame(columns=_COLUMNS)
        frame = pd.read_csv(seed, dtype={"model_version": str})
    if not set(_COLUMNS) <= set(frame.columns):
        return pd.DataFrame(columns=_COLUMNS)
    rows = frame[frame["model_version"].astype(str) == str(model_version)]
    return rows.sort_values("parameter").reset_index(drop=True)
