"""One httpx client factory and one rate limiter for every HTTP source, on the one retry policy.

httpx's own transport retries only connection failures, so 429, 403 (PxWeb v1's over-limit
answer), 5xx and timeouts are retried through :mod:`lagesbild.retry` (the server's Retry-After
when it gives one, otherwise exponential backoff with jitter). Sleep and clock are injectable so
tests never wait.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable

import httpx
import tenacity

from lagesbild.retry import RetryableStatus, parse_retry_after, raise_for_retryable, retrying

__all__ = ["RateLimiter", "SourceRequestError", "make_client", "parse_retry_after", "request_with_retries"]

#: Besides the policy's statuses: PxWeb v1 answered over-limit with 403.
SOURCE_EXTRA_STATUSES = frozenset({403})
USER_AGENT = "lagesbild/0.1 (+county statistics pipeline)"


class SourceRequestError(RuntimeError):
    """A request failed for good: names the method, URL, attempts and the last status or error."""


def make_client(base_url: str | None = None, timeout: float = 30.0, transport=None) -> httpx.Client:
    """An httpx client with a timeout, a user agent and redirects followed."""
    kwargs: dict = {
        "timeout": httpx.Timeout(timeout),
        "follow_redirects": True,
        "headers": {"User-Agent": USER_AGENT},
    }
    if base_url:
        kwargs["base_url"] = base_url
    if transport is not None:
        kwargs["transport"] = transport
    return httpx.Client(**kwargs)


class RateLimiter:
    """Sliding-window limiter: never more than ``max_calls`` in any window of ``per_seconds``."""

    def __init__(
        self,
        max_calls: int,
        per_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_calls < 1 or per_seconds <= 0:
            raise ValueError("RateLimiter needs max_calls >= 1 and per_seconds > 0")
        self.max_calls = max_calls
        self.per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._calls: collections.deque[float] = collections.deque()

    def acquire(self) -> None:
        while True:
            now = self._clock()
            while self._calls and self._calls[0] <= now - self.per_seconds:
                self._calls.popleft()
            if len(self._calls) < self.max_calls:
                self._calls.append(now)
                return
            self._sleep(self._calls[0] + self.per_seconds - now)


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, RetryableStatus):
        return f"HTTP {exc.status}"
    if exc is None:
        return "no answer"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


#: The most one answer may hold, once its Content-Encoding is undone: a capture of one site and day is a few MB,
#: a PxWeb answer within its cell limit a few MB more. A server's gzip Content-Encoding over a few MB of nothing
#: (or a wrong path that serves a huge file) would otherwise take the process's memory (300 MB: 650 MB resident).
MAX_RESPONSE_BYTES = 256 * 2**20
#: The longest one answer's body may take to arrive (seconds).
MAX_RESPONSE_SECONDS = 600.0
_SEND_KW = ("auth", "follow_redirects")


class _TooLarge(Exception):
    pass


def request_with_retries(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    max_attempts: int = 6,
    rate_limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_retry_after: float = 300.0,
    max_bytes: int = MAX_RESPONSE_BYTES,
    raw: bool = False,
    max_seconds: float = MAX_RESPONSE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    **kw,
) -> httpx.Response:
    """Send a request, retrying 429/403/5xx, timeouts and connection errors (a body cut before its Content-Length
    too); return a 2xx/3xx response whose body is read.

    Other 4xx answers fail at once. After the last attempt a SourceRequestError names the URL,
    the number of attempts and the last status or error. The body is read in pieces up to ``max_bytes`` (a larger
    one is an error naming the URL and the limit), within ``max_seconds`` (a body still arriving after that, a few
    bytes at a time, is a timeout and retried: httpx's timeout is per read, so a server dripping a byte every 20 s
    held the run forever). With ``raw`` it is the bytes as sent, its Content-Encoding not
    undone (and none asked for). A body that is not in the Content-Encoding its header states (a gzip header on
    plain text) is read as sent: httpx's DecodingError named no URL and stopped the run.
    """
    send_kw = {k: kw.pop(k) for k in _SEND_KW if k in kw}

    def attempt(as_sent: bool) -> httpx.Response:
        if rate_limiter is not None:
            rate_limiter.acquire()
        request = client.build_request(method, url, **kw)
        if as_sent:
            request.headers["Accept-Encoding"] = "identity"
        response = client.send(request, stream=True, **send_kw)
        try:
            raise_for_retryable(response, SOURCE_EXTRA_STATUSES)
            return _read_bounded(response, max_bytes, as_sent, clock() + max_seconds, clock)
        finally:
            response.close()

    def run(as_sent: bool) -> httpx.Response:
        policy = retrying(max_attempts, sleep=sleep, max_retry_after=max_retry_after, reraise=False)
        try:
            return policy(attempt, as_sent)
        except tenacity.RetryError as err:
            last = err.last_attempt.exception()
            raise SourceRequestError(
                f"{method} {_full_url(client, url)} failed after {max_attempts} attempts; last answer: "
                f"{_describe(last)}"
            ) from last
        except _TooLarge:
            raise SourceRequestError(
                f"{method} {_full_url(client, url)}: the answer is larger than {max_bytes:,} bytes (MAX_RESPONSE_BYTES; "
                "counted after its Content-Encoding is undone): not read"
            ) from None

    try:
        try:
            response = run(raw)
        except httpx.DecodingError:  # the Content-Encoding header lies about the body: read it as sent
            response = run(True)
    except httpx.HTTPError as err:  # not retried (a redirect loop, an invalid URL): named like the others
        raise SourceRequestError(f"{method} {_full_url(client, url)} failed: {_describe(err)}") from err
    if response.status_code >= 400:
        body = response.text[:200].replace("\n", " ")
        raise SourceRequestError(
            f"{method} {_full_url(client, url)} answered HTTP {response.status_code} (not retried): {body}"
        )
    return response


def _read_bounded(response: httpx.Response, max_bytes: int, as_sent: bool, deadline: float = math.inf,
                  clock: Callable[[], float] = time.monotonic) -> httpx.Response:
    """The streamed response read whole, at most ``max_bytes`` and until ``deadline``, as a response holding that
    body (and no Content-Encoding, which is undone or, ``as_sent``, kept in the body)."""
    chunks, total = [], 0
    # a response built with its body in memory (a mock transport) has it read already, decoded
    pieces = [response.content] if response.is_stream_consumed else (
        response.iter_raw() if as_sent else response.iter_bytes())
    for chunk in pieces:
        total += len(chunk)
        if total > max_bytes:
            raise _TooLarge
        if clock() > deadline:
            raise httpx.ReadTimeout("the body was still arriving after the time allowed (MAX_RESPONSE_SECONDS)",
                                    request=response.request)
        chunks.append(chunk)
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                          request=response.request, extensions=response.extensions)


def _full_url(client: httpx.Client, url: str) -> str:
    try:
        return str(client.base_url.join(url)) if str(client.base_url) else url
    except Exception:  # noqa: BLE001 - only for the message
        return url
