"""Retry only what can change: transient network errors. Everything else fails the step at once.

The raw assets carry a Dagster ``RetryPolicy`` for sources that are down for minutes. A RetryPolicy
retries any exception, so a missing folder or a bad register would be retried (and logged) again and
again; :func:`only_transient_retried` turns every non-transient error into a ``Failure`` that Dagster
does not retry, with the original message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import httpx

from lagesbild.retry import RETRY_STATUSES, is_retryable
from lagesbild.settings import SettingsError


def is_transient(exc: BaseException) -> bool:
    """Connection errors, timeouts, 429 and 5xx; a SourceRequestError that gave up after retrying them."""
    if isinstance(exc, SettingsError | FileNotFoundError | PermissionError | NotADirectoryError):
        return False
    if isinstance(exc, ConnectionError | TimeoutError) or is_retryable(exc):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return False
    from lagesbild.sources.http import SourceRequestError

    if isinstance(exc, SourceRequestError):
        # Raised "from" the last retryable error after the attempts ran out; a 4xx answer has no cause.
        return exc.__cause__ is not None and is_transient_cause(exc.__cause__)
    return False


def is_transient_cause(exc: BaseException) -> bool:
    """The cause of a SourceRequestError: what lagesbild.retry retries, or PxWeb v1's over-limit 403."""
    if is_retryable(exc):
        return True
    response = getattr(exc, "response", None)
    return response is not None and getattr(response, "status_code", None) in RETRY_STATUSES | {403}


@contextlib.contextmanager
def only_transient_retried() -> Iterator[None]:
    """Re-raise a non-transient error as a Failure that the step's RetryPolicy does not retry."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:  # noqa: BLE001 - classified, then re-raised
        if is_transient(exc):
            raise
        raise dg.Failure(
            description=f"{type(exc).__name__}: {exc} (not retried: it will not change by waiting)",
            allow_retries=False,
        ) from exc


def transient_retries_only(fn):
    """Decorator for an asset body (a generator): :func:`only_transient_retried` around all of it."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with only_transient_retried():
            yield from fn(*args, **kwargs)

    return wrapper
