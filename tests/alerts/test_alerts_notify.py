"""The notifier sends counts only: log line, notifications file, webhook body."""

from __future__ import annotations

import json
import logging

import httpx
import pandas as pd
import tenacity
from alerts_helpers import MUNICIPALITIES, build_observations

from lagesbild.alerts.config import AlertConfig
from lagesbild.alerts.notify import UNDER_AGE_MARKER
from lagesbild.alerts.run import run_alerts

HOOK = "https://hooks.example.test/T0KEN-SECRET/alerts"


def _no_secrets(text: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"leaked identifiers: {leaked}"


def test_log_and_file_carry_counts_only(tmp_path, demo_obs, secrets, caplog):
    caplog.set_level(logging.DEBUG)
    run = run_alerts(demo_obs, tmp_path, config=AlertConfig(), now=pd.Timestamp("2026-03-16T06:00Z"))
    under_age_lines = [r.getMessage() for r in caplog.records if UNDER_AGE_MARKER in r.getMessage()]
    assert len(under_age_lines) == 1  # a run with under-18 alerts says so in exactly one line
    line = under_age_lines[0]
    # first run: all three are new; none is still seen in the latest week (week 10)
    assert "3 ad(s) stating an age under 18" in line and "3 new" in line
    assert str(tmp_path / "restricted" / "alerts" / "under_age_alerts.csv") in line
    assert "1 to review" in line  # the touring alert
    logged = "\n".join(r.getMessage() for r in caplog.records)
    _no_secrets(logged, secrets)
    notes = (tmp_path / "restricted" / "alerts" / "notifications.log").read_text()
    assert notes.count("\n") == 1 and UNDER_AGE_MARKER in notes
    _no_secrets(notes, secrets)
    assert run.notification.webhook_attempted is False


def test_a_run_without_minors_logs_no_under_age_marker(tmp_path, demo_obs, caplog):
    caplog.set_level(logging.DEBUG)
    adults = demo_obs[demo_obs["stated_age"] >= 18]
    run_alerts(adults, tmp_path, config=AlertConfig(notify_channels=("log",)))
    messages = [r.getMessage() for r in caplog.records]
    assert not any(UNDER_AGE_MARKER in m for m in messages)
    assert any("no ads stating an age under 18" in m for m in messages)
    assert not (tmp_path / "restricted" / "alerts" / "notifications.log").exists()  # file channel off


def test_webhook_body_is_counts_only_and_retries_503(tmp_path, demo_obs, secrets, caplog):
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(503 if len(bodies) == 1 else 204)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    run = run_alerts(
        demo_obs,
        tmp_path,
        config=AlertConfig(webhook_url=HOOK),
        client=client,
        county_code="05",
        retry_wait=tenacity.wait_none(),
    )
    assert (
        len(bodies) == 2 and run.notification.webhook_status == 204 and run.notification.webhook_error is None
    )
    body = bodies[-1].decode()
    _no_secrets(body, secrets)
    for code in MUNICIPALITIES:
        assert code not in body
    sent = json.loads(body)
    assert sent["under_age"] == {"to_review": 3, "new": 3, "active": 0, "total": 3}
    assert sent["change"]["new_by_kind"]["touring_advertiser"] == 1
    assert sent["county_code"] == "05" and sent["latest_week"] == "2026-03-09"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    _no_secrets(logged, secrets)
    assert "T0KEN-SECRET" not in logged


def test_webhook_failure_is_reported_without_the_url_and_loses_nothing(tmp_path, demo_obs, caplog):
    caplog.set_level(logging.DEBUG)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    run = run_alerts(
        demo_obs,
        tmp_path,
        config=AlertConfig(webhook_url=HOOK, webhook_attempts=2),
        client=client,
        retry_wait=tenacity.wait_none(),
    )
    assert run.notification.webhook_error == "ConnectError after 2 attempt(s)"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "webhook not delivered" in errors[0]
    assert "T0KEN-SECRET" not in "\n".join(r.getMessage() for r in caplog.records)
    assert len(pd.read_parquet(tmp_path / "restricted" / "alerts" / "under_age_alerts.parquet")) == 3


def test_webhook_client_error_is_not_retried(tmp_path):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404)

    run = run_alerts(
        build_observations(),
        tmp_path,
        config=AlertConfig(webhook_url=HOOK),
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        retry_wait=tenacity.wait_none(),
    )
    assert len(calls) == 1 and run.notification.webhook_error == "HTTP 404"
