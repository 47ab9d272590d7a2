"""A wrong setting fails in seconds with one message and is never retried; transient errors are retried."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from lagesbild.settings import (
    FAMILIES,
    INTERNAL_VARIABLES,
    PROJECT_ROOT,
    Settings,
    SettingsError,
    _fields,
    markdown_table,
    preflight,
)

#: (case, environment, the variable the message must name)
BAD_SETTINGS = [
    ("missing folder", {"LAGESBILD_SNAPSHOTS_DIR": "{tmp}/no-such-folder"}, "LAGESBILD_SNAPSHOTS_DIR"),
    ("mistyped mode", {"LAGESBILD_SOURCE_MODE": "rael"}, "LAGESBILD_SOURCE_MODE"),
    (
        "missing key",
        {
            "LAGESBILD_SOURCE_MODE": "real",
            "LAGESBILD_SNAPSHOTS_DIR": "{tmp}",
            "LAGESBILD_VERDICTS_PATH": "{tmp}",
        },
        "LAGESBILD_PSEUDONYM_KEY",
    ),
]
IDS = [case for case, _, _ in BAD_SETTINGS]


def _clean_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAGESBILD_")}
    env.update(
        DAGSTER_HOME=str(tmp_path / "home"),
        LAGESBILD_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    env.update({k: v.format(tmp=tmp_path) for k, v in extra.items()})
    return env


@pytest.mark.parametrize(("case", "extra", "variable"), BAD_SETTINGS, ids=IDS)
def test_make_run_stops_on_a_bad_setting_within_seconds_with_one_message(tmp_path, case, extra, variable):
    (tmp_path / "home").mkdir()
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.run_demo"],
        env=_clean_env(tmp_path, extra),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert elapsed < 10, f"{case}: took {elapsed:.1f} s"
    assert proc.stderr.count("Configuration error") == 1 and variable in proc.stderr, proc.stderr
    assert "Fix" in proc.stderr or "set it" in proc.stderr
    assert "Traceback" not in proc.stderr and "retry" not in proc.stderr.lower()
    assert proc.stdout == ""  # nothing ran: not even the demo inputs
    assert not (tmp_path / "data" / "demo").exists()


@pytest.mark.parametrize(("case", "extra", "variable"), BAD_SETTINGS, ids=IDS)
def test_a_dagster_run_fails_before_its_first_step_and_is_not_retried(
    tmp_path, monkeypatch, case, extra, variable
):
    from orchestration.assets.sources import raw_ad_snapshots, raw_population, raw_verdicts
    from orchestration.resources import LagesbildResource

    for name, value in _clean_env(tmp_path, extra).items():
        if name.startswith("LAGESBILD_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("LAGESBILD_PSEUDONYM_KEY", raising=False)
    started = time.monotonic()
    result = dg.materialize(
        [raw_ad_snapshots, raw_verdicts, raw_population],
        partition_key="2024-01-01",
        resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path / "data"))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    elapsed = time.monotonic() - started
    assert not result.success
    assert elapsed < 10, f"{case}: took {elapsed:.1f} s"
    events = result.all_events
    assert not [e for e in events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert not [e for e in events if e.event_type == dg.DagsterEventType.STEP_START]
    from orchestration.run_demo import run_failure_reason

    reason = run_failure_reason(events)
    assert reason.startswith("Configuration error") and variable in reason, reason
    assert reason.count("Configuration error") == 1


def _asset_raising(error: Exception):
    from orchestration.retry import transient_retries_only

    calls = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2, delay=0))
    @transient_retries_only
    def source():
        calls.append(1)
        raise error
        yield  # a generator body, like the raw assets

    return source, calls


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError("snapshot folder /x does not exist (LAGESBILD_SNAPSHOTS_DIR)"),
        ValueError("bad register"),
    ],
    ids=["missing folder", "bad data"],
)
def test_permanent_errors_are_not_retried(error):
    asset, calls = _asset_raising(error)
    result = dg.materialize([asset], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success and len(calls) == 1
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert str(error) in failure.step_failure_data.user_failure_data.description


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.HTTPStatusError(
            "503", request=httpx.Request("GET", "https://a.test"), response=httpx.Response(503)
        ),
    ],
    ids=["connection", "timeout", "503"],
)
def test_transient_errors_are_retried(error):
    asset, calls = _asset_raising(error)
    result = dg.materialize([asset], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success and len(calls) == 3


def test_a_404_is_permanent_and_a_source_that_gave_up_on_503_is_transient():
    from lagesbild.sources.http import SourceRequestError
    from orchestration.retry import is_transient

    not_found = httpx.HTTPStatusError(
        "404", request=httpx.Request("GET", "https://a.test"), response=httpx.Response(404)
    )
    assert not is_transient(not_found)
    assert not is_transient(SourceRequestError("GET https://a.test answered HTTP 404 (not retried)"))
    try:
        try:
            raise httpx.ConnectError("down")
        except httpx.ConnectError as last:
            raise SourceRequestError("GET https://a.test failed after 6 attempts") from last
    except SourceRequestError as gave_up:
        assert is_transient(gave_up)


def test_types_and_allowed_values_are_checked_with_the_variable_named():
    with pytest.raises(SettingsError, match=r"LAGESBILD_SOURCE_MODE='dmeo': allowed: 'demo' or 'real'"):
        Settings.from_env({"LAGESBILD_SOURCE_MODE": "dmeo"})
    with pytest.raises(SettingsError, match="LAGESBILD_PUBLICATIONS_KEEP") as raised:
        Settings.from_env({"LAGESBILD_PUBLICATIONS_KEEP": "four", "LAGESBILD_QUARANTINE_MAX_SHARE": "1.5"})
    assert (
        "LAGESBILD_QUARANTINE_MAX_SHARE" in str(raised.value)
        and str(raised.value).count("Configuration error") == 1
    )
    with pytest.raises(SettingsError, match="LAGESBILD_FIRST_WEEK.*Tuesday"):
        Settings.from_env({"LAGESBILD_FIRST_WEEK": "2024-01-02"})
    with pytest.raises(SettingsError, match="LAGESBILD_COUNTY"):
        Settings.from_env({"LAGESBILD_COUNTY": "Östergötland"})
    assert Settings.from_env({"LAGESBILD_LAST_WEEK": ""}).last_week is None  # empty: no last week
    assert Settings.from_env({}).source_mode == "demo"


def test_a_secret_never_appears_in_a_message():
    with pytest.raises(SettingsError) as raised:
        preflight({"LAGESBILD_SOURCE_MODE": "real", "LAGESBILD_PSEUDONYM_KEY": "short-secret-1"})
    assert "short-secret-1" not in str(raised.value) and "LAGESBILD_PSEUDONYM_KEY" in str(raised.value)
    assert "short-secret-1" not in repr(Settings(pseudonym_key="short-secret-1"))


def test_an_unreadable_or_missing_path_is_named(tmp_path):
    register = tmp_path / "register.csv"
    with pytest.raises(SettingsError, match="LAGESBILD_VERDICTS_PATH=.*does not exist"):
        preflight({"LAGESBILD_VERDICTS_PATH": str(register), "LAGESBILD_DATA_DIR": str(tmp_path)})
    register.write_text("x\n")
    with pytest.raises(SettingsError, match="LAGESBILD_POPULATION_DIR=.*is a file, not a folder"):
        preflight({"LAGESBILD_POPULATION_DIR": str(register), "LAGESBILD_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="LAGESBILD_DATA_DIR=.*is a file"):
        preflight({"LAGESBILD_DATA_DIR": str(register / "data")})


def test_the_readme_table_is_generated_from_the_model():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, (
        "run `python -m lagesbild.settings --markdown` and paste it into README.md"
    )


def test_every_lagesbild_variable_in_the_code_is_in_the_model():
    known = {info["env"] for info in _fields().values()} | set(INTERNAL_VARIABLES)
    used: set[str] = set()
    for folder in ("lagesbild", "orchestration", "scripts", "bench"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"LAGESBILD_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    unknown = {v for v in used - known if not any((v + "_").startswith(prefix) for prefix in FAMILIES)}
    assert not unknown, f"add these to lagesbild.settings.Settings: {sorted(unknown)}"
