"""Alert thresholds and notifier settings, read from ``LAGESBILD_ALERT_*`` environment variables.

Every change alert carries its reason and the threshold that fired it, so the thresholds live here
(one place, documented defaults in docs/alerts.md) and not in the detection code.
"""

from __future__ import annotations

from dataclasses import dataclass

from lagesbild.settings import read_family

#: The legal age limit. Not configurable: an ad stating an age below it is always an alert.
ADULT_AGE = 18

#: Notifier channels that can be switched on and off; the webhook is on when a URL is set.
CHANNELS = ("log", "file")


class AlertConfigError(ValueError):
    """An ``LAGESBILD_ALERT_*`` variable holds a value that cannot be used."""


@dataclass(frozen=True)
class AlertConfig:
    #: Categories (as the ingest extracts them) that suggest a minor when no age is stated. Empty by
    #: default: the v1 snapshot contract has no such category; a deployment that sees one lists it.
    minor_categories: tuple[str, ...] = ()
    #: New advertisers in a municipality: alert when this week's count is at least this ...
    new_advertisers_min: int = 3
    #: ... and at least this many times the trailing mean ...
    new_advertisers_ratio: float = 3.0
    #: ... over this many preceding observed weeks ...
    trailing_weeks: int = 8
    #: ... and only once this many weeks precede the week (before that, everyone is "new") ...
    min_history_weeks: int = 4
    #: ... and the count is improbable if new advertisers arrived as a Poisson process at the trailing
    #: mean (upper tail below this). Without it, 3x a trailing mean of ~1 fires every few weeks in the
    #: big towns by chance (12 false alarms in the two-year demo; none with it). 1.0 switches it off.
    new_advertisers_max_p: float = 0.001
    #: Touring: one advertiser seen in at least this many municipalities in the same week.
    touring_min_municipalities: int = 3
    #: Site share: alert when a site's share of the week's ads moves more than this many
    #: percentage points from the previous observed week ...
    site_share_shift_pp: float = 25.0
    #: ... provided both weeks saw at least this many ads in total (tiny weeks swing by chance).
    site_share_min_ads: int = 20
    #: Notifier channels besides the webhook.
    notify_channels: tuple[str, ...] = CHANNELS
    #: POST a counts-only JSON here when set.
    webhook_url: str | None = None
    webhook_timeout_s: float = 10.0
    webhook_attempts: int = 4

    def __post_init__(self) -> None:
        positive = ("new_advertisers_min", "trailing_weeks", "touring_min_municipalities", "webhook_attempts")
        for name in positive:
            if getattr(self, name) < 1:
                raise AlertConfigError(f"alert setting {name} must be at least 1, got {getattr(self, name)}")
        if self.min_history_weeks < 1 or self.min_history_weeks > self.trailing_weeks:
            raise AlertConfigError(
                f"alert setting min_history_weeks must be between 1 and trailing_weeks "
                f"({self.trailing_weeks}), got {self.min_history_weeks}"
            )
        if not 0 < self.new_advertisers_max_p <= 1:
            raise AlertConfigError(
                f"alert setting new_advertisers_max_p must be in (0, 1], got {self.new_advertisers_max_p}"
            )
        if self.new_advertisers_ratio <= 0 or self.site_share_shift_pp <= 0 or self.webhook_timeout_s <= 0:
            raise AlertConfigError("alert ratios, the share shift and the webhook timeout must be positive")
        unknown = set(self.notify_channels) - set(CHANNELS)
        if unknown:
            raise AlertConfigError(
                f"LAGESBILD_ALERT_NOTIFY: unknown channel(s) {sorted(unknown)}; known: {list(CHANNELS)}"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AlertConfig:
        """Read the configuration; a bad value raises naming the variable and the value."""
        return read_family(cls, env_var, environ, error=AlertConfigError)


def env_var(field_name: str) -> str:
    """The environment variable for a field: ``LAGESBILD_ALERT_<FIELD>`` (``notify_channels`` is ``NOTIFY``)."""
    name = "notify" if field_name == "notify_channels" else field_name
    return f"LAGESBILD_ALERT_{name.upper()}"
