"""A flaky network source recovers through the same RetryPolicy as the raw assets (with no delay)."""

import dagster as dg
import httpx
import respx

from orchestration.assets.sources import NETWORK_RETRY

SOURCE_URL = "https://snapshots.example.org/archive/2024-03-18.jsonl"


def _network_retry() -> dg.RetryPolicy:
    return NETWORK_RETRY


def _flaky_asset(policy: dg.RetryPolicy):
    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=policy.max_retries, delay=0, backoff=policy.backoff))
    def flaky_snapshots() -> int:
        response = httpx.get(SOURCE_URL, timeout=5)
        response.raise_for_status()
        return len(response.text.splitlines())

    return flaky_snapshots


def _retries(result) -> int:
    return sum(1 for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


def test_network_retry_policy_is_on_the_assets_that_talk_to_the_network():
    policy = _network_retry()
    from orchestration.assets.sources import raw_ad_snapshots, raw_population

    assert policy.max_retries >= 2 and policy.backoff == dg.Backoff.EXPONENTIAL
    for asset in (raw_ad_snapshots, raw_population):
        assert asset.op.retry_policy == policy


@respx.mock
def test_flaky_source_recovers_through_the_retry_policy():
    route = respx.get(SOURCE_URL).mock(
        side_effect=[httpx.Response(503), httpx.ConnectError("reset"), httpx.Response(200, text="a\nb\nc\n")]
    )
    asset = _flaky_asset(_network_retry())
    result = dg.materialize([asset], instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert result.output_for_node("flaky_snapshots") == 3
    assert route.call_count == 3 and _retries(result) == 2


@respx.mock
def test_a_source_that_stays_down_fails_after_the_last_retry():
    policy = _network_retry()
    route = respx.get(SOURCE_URL).mock(return_value=httpx.Response(503))
    result = dg.materialize(
        [_flaky_asset(policy)], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert route.call_count == policy.max_retries + 1 and _retries(result) == policy.max_retries
