"""The one retry policy (lagesbild.retry): what it retries, what it does not, and Retry-After."""

from __future__ import annotations

import httpx
import pytest
import tenacity

from lagesbild.retry import RetryableStatus, is_retryable, raise_for_retryable, retrying


def _response(status: int, **headers) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://x/"))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    with pytest.raises(RetryableStatus) as err:
        raise_for_retryable(_response(status))
    assert is_retryable(err.value) and isinstance(err.value, httpx.HTTPError)


@pytest.mark.parametrize("status", [200, 304, 400, 401, 403, 404])
def test_other_answers_are_not(status):
    assert raise_for_retryable(_response(status)).status_code == status
    assert not is_retryable(httpx.HTTPStatusError("x", request=None, response=_response(status)))


def test_a_caller_adds_statuses_and_errors_that_can_change_are_retried():
    with pytest.raises(RetryableStatus):
        raise_for_retryable(_response(403), extra_statuses={403})
    assert is_retryable(httpx.ConnectError("reset")) and is_retryable(httpx.ReadTimeout("slow"))
    assert not is_retryable(ValueError("a bug is not retried"))


def test_policy_waits_what_the_server_asks_and_stops_after_the_attempts():
    slept, answers = [], iter([_response(503, **{"Retry-After": "7"}), _response(429), _response(200)])

    def call():
        return raise_for_retryable(next(answers))

    assert retrying(3, wait=tenacity.wait_fixed(0.5), sleep=slept.append)(call).status_code == 200
    assert slept == [7.0, 0.5]
    with pytest.raises(RetryableStatus):
        retrying(2, wait=tenacity.wait_none(), sleep=slept.append)(lambda: raise_for_retryable(_response(502)))
