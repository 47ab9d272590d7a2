"""The alert notifier: one log line and a line in ``restricted/alerts/notifications.log`` by default,
plus a webhook POST when ``LAGESBILD_ALERT_WEBHOOK_URL`` is set.

Everything it sends is built from :class:`AlertSummary`, which holds counts only, so no ad id,
advertiser key, phone key or municipality of an alert can leave through it. The webhook URL itself
may carry a token, so it is never logged either. Delivery failures do not lose alerts (the store is
written first); they are reported in :class:`NotificationResult` and logged as an error.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import tenacity

from lagesbild.alerts.config import AlertConfig
from lagesbild.alerts.store import AlertStore, AlertSummary
from lagesbild.retry import RetryableStatus, raise_for_retryable, retrying

NOTIFICATIONS_FILE = "notifications.log"
UNDER_AGE_MARKER = "UNDER-18 ALERT"

log = logging.getLogger("lagesbild.alerts")


class LineLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class NotificationResult:
    line: str
    file: Path | None
    webhook_status: int | None = None
    webhook_error: str | None = None

    @property
    def webhook_attempted(self) -> bool:
        return self.webhook_status is not None or self.webhook_error is not None


class _RedactUrl(logging.Filter):
    """httpx logs every request's URL at INFO; a webhook URL often carries its token, so hide it."""

    def __init__(self, url: str):
        super().__init__()
        self.urls = {url, str(httpx.URL(url))}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(u in message for u in self.urls):
            for u in self.urls:
                message = message.replace(u, "<alert webhook>")
            record.msg, record.args = message, ()
        return True


def notification_line(summary: AlertSummary, directory: Path) -> str:
    """The one line a run writes about its alerts; it names the under-18 count and where to look."""
    change = (
        f"change alerts: {summary.change_to_review} to review "
        f"({summary.change_new} new, {summary.change_total} in store)"
    )
    if summary.under_age_to_review:
        return (
            f"{UNDER_AGE_MARKER}: {summary.under_age_to_review} ad(s) stating an age under 18 to review "
            f"({summary.under_age_new} new, {summary.under_age_active} still seen in week "
            f"{summary.latest_week}); details only in the restricted file "
            f"{directory / 'under_age_alerts.csv'} — for the county analyst's police-report routine; "
            f"{change}"
        )
    return f"alerts: no ads stating an age under 18 to review; {change}; restricted folder {directory}"


def payload(summary: AlertSummary, county_code: str | None = None) -> dict:
    """The webhook body: counts only."""
    return {
        "event": "lagesbild.alerts",
        "county_code": county_code,
        "latest_week": summary.latest_week,
        "under_age": {
            "to_review": summary.under_age_to_review,
            "new": summary.under_age_new,
            "active": summary.under_age_active,
            "total": summary.under_age_total,
        },
        "change": {
            "to_review": summary.change_to_review,
            "new": summary.change_new,
            "latest_week": summary.change_latest_week,
            "total": summary.change_total,
            "new_by_kind": dict(summary.change_new_by_kind),
            "latest_week_by_kind": dict(summary.change_latest_week_by_kind),
        },
    }


class Notifier:
    """Sends a run's alert counts through the configured channels."""

    def __init__(
        self,
        config: AlertConfig,
        store: AlertStore,
        logger: LineLogger | None = None,
        client: httpx.Client | None = None,
        retry_wait: tenacity.wait.wait_base | None = None,
        county_code: str | None = None,
    ):
        self.config = config
        self.store = store
        self.logger = logger or log
        self.client = client
        self.retry_wait = retry_wait  # None: the policy's backoff (lagesbild.retry)
        self.county_code = county_code

    def notify(self, summary: AlertSummary) -> NotificationResult:
        line = notification_line(summary, self.store.directory)
        if "log" in self.config.notify_channels:
            emit = self.logger.warning if summary.under_age_to_review else self.logger.info
            emit(line)
        written = None
        if "file" in self.config.notify_channels:
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            written = self.store.append_line(NOTIFICATIONS_FILE, f"{stamp} {line}")
        if not self.config.webhook_url:
            return NotificationResult(line, written)
        status, error = self._post(payload(summary, self.county_code))
        if error:
            self.logger.error(f"alert webhook not delivered: {error} (alerts are in the restricted store)")
        return NotificationResult(line, written, status, error)

    def _post(self, body: dict) -> tuple[int | None, str | None]:
        """POST on the one retry policy: connection errors, timeouts, 429 and 5xx are retried."""
        policy = retrying(self.config.webhook_attempts, wait=self.retry_wait)
        client = self.client or httpx.Client(timeout=self.config.webhook_timeout_s)
        redact = _RedactUrl(self.config.webhook_url)
        httpx_log = logging.getLogger("httpx")
        httpx_log.addFilter(redact)
        try:
            for attempt in policy:
                with attempt:
                    response = raise_for_retryable(client.post(self.config.webhook_url, json=body))
            if response.status_code >= 400:
                return response.status_code, f"HTTP {response.status_code}"
            return response.status_code, None
        except RetryableStatus as exc:
            return exc.status, f"HTTP {exc.status} after {self.config.webhook_attempts} attempt(s)"
        except httpx.HTTPError as exc:  # the message can contain the URL (and its token): name the type only
            return None, f"{type(exc).__name__} after {self.config.webhook_attempts} attempt(s)"
        finally:
            httpx_log.removeFilter(redact)
            if self.client is None:
                client.close()
