"""Dagster resources. ``LagesbildResource`` owns every path the pipeline reads or writes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg

from lagesbild.settings import Settings, SettingsError


class LagesbildResource(dg.ConfigurableResource):
    """Where the data lives and which county this deployment serves.

    Everything else (keys, endpoints, thresholds) comes from ``LAGESBILD_*`` environment variables via
    :class:`lagesbild.settings.Settings`; ``data_dir`` overrides the environment when set.
    """

    #: Unset: ``LAGESBILD_DATA_DIR`` (default ``data``) read when a run starts, not when the code loads.
    data_dir: str | None = None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Check the whole configuration when a run starts, before its first step: a wrong setting
        fails the run in seconds with one message naming the variable, and is never retried."""
        if context.dagster_run is None:
            return  # a sensor or schedule tick: they report their own SkipReason
        try:
            self.settings.check()
        except SettingsError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    @property
    def settings(self) -> Settings:
        return replace(Settings.from_env(), data_dir=self.root, county_code=self.county_code)

    @property
    def county_code(self) -> str:
        """``LAGESBILD_COUNTY`` (default ``05``), read when a run starts."""
        return Settings.from_env().county_code

    @property
    def root(self) -> Path:
        return Path(self.data_dir or Settings.from_env().data_dir).resolve()

    def path(self, *parts: str) -> Path:
        """A path under the data dir; the only way assets and checks build paths."""
        return self.root.joinpath(*parts)
