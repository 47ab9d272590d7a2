"""The pull server serves publications/ only: the restricted alert files are not reachable through it."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from alerts_helpers import build_observations

from lagesbild.alerts.run import run_alerts
from lagesbild.pull import server, tokens

with warnings.catch_warnings():  # starlette warns that its TestClient prefers httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.mark.parametrize(
    "path",
    [
        "/v1/publications/latest/../../restricted/alerts/under_age_alerts.csv",
        "/v1/publications/latest/..%2F..%2Frestricted%2Falerts%2Funder_age_alerts.csv",
        "/v1/publications/..%2Frestricted/alerts/under_age_alerts.csv",
        "/v1/publications/latest/restricted/alerts/under_age_alerts.csv",
        "/restricted/alerts/under_age_alerts.csv",
    ],
)
def test_restricted_files_are_not_served(tmp_path, path, secrets):
    run_alerts(build_observations(), tmp_path, now=pd.Timestamp("2026-03-16T06:00Z"))
    (tmp_path / "publications").mkdir()
    _, token = tokens.TokenStore(tmp_path / "tokens.json").create("0580")
    app = server.create_app(tmp_path / "publications", tmp_path / "tokens.json")
    with TestClient(app) as client:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (400, 403, 404), (path, response.status_code)
    assert not any(s in response.text for s in secrets)
