"""Thresholds of the quality gates, read from ``LAGESBILD_QUALITY_*`` environment variables.

Every gap check takes its threshold from here so a county can tune them without code changes; the
defaults are documented in docs/quality.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lagesbild.settings import read_family


@dataclass(frozen=True)
class QualityConfig:
    #: A site-week is a broken capture when its ads fall below this share of the trailing mean.
    volume_drop_ratio: float = 0.5
    #: How many earlier weeks make up the trailing mean.
    volume_trailing_weeks: int = 8
    #: Weeks of history a site needs before a drop is judged (fewer: not judged, no false alarms).
    volume_min_history_weeks: int = 4
    #: A drop must also be improbable as chance: P(Poisson(trailing mean) <= ads) below this.
    volume_alpha: float = 0.001
    #: Recent weeks a municipality must show ads in, if it showed ads before.
    silent_period_weeks: int = 4
    #: Weeks with ads a municipality needs before the latest period to count as "had rows before".
    silent_min_prior_weeks: int = 2
    #: Silence counts only when P(no ads in the period) at the earlier weekly rate is below this.
    silent_alpha: float = 0.001
    #: Oldest acceptable population year, in years before the data year it serves.
    population_max_age_years: int = 1
    #: Quarantined rows / rows read, per site-week (snapshots) or per file (verdicts, population).
    quarantine_max_share: float = 0.05
    #: Rows whose location maps to no municipality (unknown + ambiguous), per site-week.
    unmapped_max_share: float = 0.15
    #: Site-weeks with fewer rows than this are not judged on shares.
    share_min_rows: int = 1
    #: Per site-week shares fail only when also improbable for a true rate at the threshold (binomial tail).
    share_alpha: float = 0.001
    #: Monitored sites; empty means every site that has ever delivered a snapshot.
    sites: tuple[str, ...] = ()
    #: Gap checks downgraded from blocking (critical) to warning, by check name.
    warn_only: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> QualityConfig:
        """Read ``LAGESBILD_QUALITY_<FIELD>`` (upper-case) for each field; lists are comma-separated.

        ``LAGESBILD_QUARANTINE_MAX_SHARE`` (the Settings name) is honoured when the quality-specific
        variable is not set, so there is one knob for the quarantine threshold.
        """
        return read_family(
            cls,
            lambda name: f"LAGESBILD_QUALITY_{name.upper()}",
            environ,
            fallback={"quarantine_max_share": "LAGESBILD_QUARANTINE_MAX_SHARE"},
        )
