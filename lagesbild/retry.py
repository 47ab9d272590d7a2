"""The one retry policy for HTTP calls: sources, the pull client and the alert webhooks.

Retried: what can change on its own — connection errors and timeouts (``httpx.TransportError``),
429 and the transient 5xx answers, plus statuses a caller adds (PxWeb v1 answers over-limit with
403). Never retried: other 4xx answers, which the next attempt would get again. The wait honours
the server's ``Retry-After`` (seconds or an HTTP date, capped) and is otherwise exponential backoff
with jitter. Callers choose only how many attempts, and tests pass ``wait``/``sleep`` so they never
wait.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import httpx
import tenacity

#: Statuses every caller retries.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: The backoff between attempts when the server says nothing (seconds: about 1, 2, 4, ... up to 60).
DEFAULT_BACKOFF: tenacity.wait.wait_base = tenacity.wait_exponential_jitter(initial=1, max=60, jitter=1)


class RetryableStatus(httpx.HTTPStatusError):
    """An HTTP answer worth another attempt; carries the response (for Retry-After and messages).
    An ``httpx.HTTPStatusError``, so ``except httpx.HTTPError`` also catches the last one."""

    def __init__(self, response: httpx.Response):
        try:
            request = response.request
        except RuntimeError:  # a response built without a request (tests)
            request = None
        super().__init__(f"HTTP {response.status_code}", request=request, response=response)
        self.status = response.status_code


def raise_for_retryable(response: httpx.Response, extra_statuses: Iterable[int] = ()) -> httpx.Response:
    """Raise :class:`RetryableStatus` for a status the policy retries; else return the response."""
    if response.status_code in RETRY_STATUSES or response.status_code in set(extra_statuses):
        response.read()
        raise RetryableStatus(response)
    return response


def is_retryable(exc: BaseException) -> bool:
    """True for what can change on its own: a retryable status, a connection error or a timeout."""
    if isinstance(exc, RetryableStatus):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRY_STATUSES
    return isinstance(exc, httpx.TransportError | httpx.TimeoutException)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def honour_retry_after(backoff: tenacity.wait.wait_base, max_retry_after: float = 300.0):
    """A tenacity wait: the server's Retry-After (capped) when it gave one, else ``backoff``."""

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        response = getattr(exc, "response", None)
        if response is not None:
            seconds = parse_retry_after(response.headers.get("Retry-After"))
            if seconds is not None:
                return min(seconds, max_retry_after)
        return backoff(state)

    return wait


def retrying(
    attempts: int,
    *,
    wait: tenacity.wait.wait_base | Callable | None = None,
    sleep: Callable[[float], None] | None = None,
    max_retry_after: float = 300.0,
    reraise: bool = True,
) -> tenacity.Retrying:
    """The policy as a ``tenacity.Retrying``: ``retrying(4)(fn)`` or ``for attempt in retrying(4): ...``.

    With ``reraise`` (the default) the last error is raised as itself after the last attempt;
    without, tenacity's ``RetryError`` (whose ``last_attempt`` a caller can describe).
    """
    kwargs: dict = {
        "retry": tenacity.retry_if_exception(is_retryable),
        "stop": tenacity.stop_after_attempt(attempts),
        "wait": honour_retry_after(wait or DEFAULT_BACKOFF, max_retry_after),
        "reraise": reraise,
    }
    if sleep is not None:
        kwargs["sleep"] = sleep
    return tenacity.Retrying(**kwargs)
