"""Retry policy and rate limiter, replayed with httpx.MockTransport; no real sleeping."""

import gzip
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from lagesbild.sources.http import (
    RateLimiter,
    SourceRequestError,
    make_client,
    parse_retry_after,
    request_with_retries,
)


def scripted(*answers):
    """A transport that plays the given answers in order (Response objects or exceptions)."""
    calls = []

    def handler(request):
        calls.append(request)
        answer = answers[min(len(calls) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), calls


def test_429_with_retry_after_seconds_is_honoured():
    transport, calls = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})
    )
    slept = []
    response = request_with_retries(
        make_client("http://px", transport=transport), "GET", "/config", sleep=slept.append
    )
    assert response.json() == {"ok": 1}
    assert slept == [7.0] and len(calls) == 2


def test_retry_after_as_http_date():
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after("garbage") is None


def test_503_storm_then_success_backs_off_exponentially():
    transport, calls = scripted(*([httpx.Response(503)] * 4), httpx.Response(200, text="ok"))
    slept = []
    response = request_with_retries(
        make_client(transport=transport), "GET", "http://px/x", sleep=slept.append
    )
    assert response.text == "ok" and len(calls) == 5
    assert len(slept) == 4
    assert all(2**i <= wait <= 2**i + 1 for i, wait in enumerate(slept))  # 1, 2, 4, 8 s plus up to 1 s jitter


def test_503_storm_exhausts_retries_with_clear_error():
    transport, calls = scripted(httpx.Response(503))
    with pytest.raises(
        SourceRequestError,
        match=r"GET http://px/tables/TAB638/data failed after 4 attempts; last answer: HTTP 503",
    ):
        request_with_retries(
            make_client("http://px", transport=transport),
            "GET",
            "/tables/TAB638/data",
            max_attempts=4,
            sleep=lambda s: None,
        )
    assert len(calls) == 4


def test_timeout_and_connect_error_are_retried():
    transport, calls = scripted(
        httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.Response(200, text="ok")
    )
    assert (
        request_with_retries(
            make_client(transport=transport), "GET", "http://px/x", sleep=lambda s: None
        ).text
        == "ok"
    )
    assert len(calls) == 3


def test_timeouts_only_give_error_naming_the_exception():
    transport, _ = scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(SourceRequestError, match="ReadTimeout"):
        request_with_retries(
            make_client(transport=transport), "GET", "http://px/x", max_attempts=2, sleep=lambda s: None
        )


def test_404_is_not_retried():
    transport, calls = scripted(httpx.Response(404, text="no such table"))
    with pytest.raises(SourceRequestError, match="HTTP 404"):
        request_with_retries(make_client(transport=transport), "GET", "http://px/x", sleep=lambda s: None)
    assert len(calls) == 1


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


def test_rate_limiter_never_exceeds_calls_in_any_window():
    clock = FakeClock()
    limiter = RateLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for i in range(10):
        limiter.acquire()
        stamps.append(clock.now)
        clock.now += 0.5 if i % 4 else 0.0
    for start in stamps:
        assert sum(start <= t < start + 10.0 for t in stamps) <= 3
    assert stamps[-1] >= 30.0  # 10 calls at 3 per 10 s need at least three full windows


def test_rate_limiter_is_used_before_each_attempt():
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    transport, calls = scripted(httpx.Response(503), httpx.Response(503), httpx.Response(200))
    request_with_retries(
        make_client(transport=transport), "GET", "http://px/x", rate_limiter=limiter, sleep=lambda s: None
    )
    assert len(calls) == 3 and clock.now >= 10.0



_GZIP = {"Content-Encoding": "gzip"}


@pytest.mark.parametrize(("body", "headers", "outcome"), [
    # a gzip Content-Encoding header on a plain body (a proxy's rule): httpx's DecodingError named no URL
    (b'{"ok": 1}', _GZIP, {"ok": 1}),
    # compressed as the header says
    (gzip.compress(b'{"ok": 1}'), _GZIP, {"ok": 1}),
    # a gzip Content-Encoding over 20 kB of zeros (a "bomb" in small): bounded, an error naming the URL
    (gzip.compress(bytes(20_000)), _GZIP, r"GET http://px/x: the answer is larger than 10,000 bytes \(MAX_RESPONSE"),
    (bytes(20_000), {}, r"GET http://px/x: the answer is larger than 10,000 bytes \(MAX_RESPONSE_BYTES"),
    # a redirect to itself: httpx's TooManyRedirects named no URL
    (b"", {"Location": "http://px/x"}, r"GET http://px/x failed: TooManyRedirects"),
], ids=["gzip-header-on-plain-text", "gzip", "gzip-bomb", "too-large", "redirect-loop"])
def test_an_answer_is_read_as_sent_and_bounded(body, headers, outcome):
    """The body as its Content-Encoding says, or as sent when the header lies; never more than ``max_bytes``."""
    def handler(request):  # a new answer per request: the body is a stream, as a server's
        status = 302 if "Location" in headers else 200
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    client = make_client(transport=httpx.MockTransport(handler))
    if isinstance(outcome, str):
        with pytest.raises(SourceRequestError, match=outcome):
            request_with_retries(client, "GET", "http://px/x", max_bytes=10_000, sleep=lambda s: None)
    else:
        assert request_with_retries(client, "GET", "http://px/x", max_bytes=10_000).json() == outcome


def test_a_body_that_drips_in_is_a_timeout_naming_the_url():
    """httpx's timeout is per read: a server sending a byte every 20 s held the run forever. The body has
    ``max_seconds`` in all; then it is a timeout, retried, and reported with the URL."""
    now = [0.0]

    def clock():
        now[0] += 20.0  # every piece arrives 20 s after the one before
        return now[0]

    def handler(request):
        return httpx.Response(200, stream=_Drip(50))

    with pytest.raises(SourceRequestError, match=r"GET http://px/x failed after 2 attempts; last answer: ReadTimeout: "
                                                 r"the body was still arriving"):
        request_with_retries(make_client(transport=httpx.MockTransport(handler)), "GET", "http://px/x",
                             max_attempts=2, max_seconds=600, clock=clock, sleep=lambda s: None)


class _Drip(httpx.SyncByteStream):
    def __init__(self, pieces: int):
        self.pieces = pieces

    def __iter__(self):
        for _ in range(self.pieces):
            yield b"x"
