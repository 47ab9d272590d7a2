"""Dagster resources. ``LagesbildResource`` owns every path the pipeline reads or writes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg

from lagesbild.settings import Settings


class LagesbildResource(dg.ConfigurableResource):
    """Where the data lives and which county this deployment serves.

    Everything else (keys, endpoints, thresholds) comes from ``LAGESBILD_*`` environment variables via
    :class:`lagesbild.settings.Settings`; the fields here override the environment when set.
    """

    data_dir: str = "data"
    county_code: str = "05"

    @property
    def settings(self) -> Settings:
        base = Settings.from_env()
        return replace(base, data_dir=self.root, county_code=self.county_code)

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    def path(self, *parts: str) -> Path:
        """A path under the data dir; the only way assets and checks build paths."""
        return self.root.joinpath(*parts)
