"""The verdict-inbox sensor (new -> run, unchanged -> skip, changed -> run) and the run-failure alert."""

import json
import os
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest
import respx
import tenacity

from orchestration.resources import LagesbildResource
from orchestration.sensors import (
    FAILURE_FILE,
    WEBHOOK_ENV,
    load_cursor,
    notify_run_failure,
    run_failure_alert_sensor,
    verdict_inbox_sensor,
)

REGISTER = "Målnummer,Domstol\nB 1-24,Linköpings tingsrätt\n"


@pytest.fixture
def inbox(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LAGESBILD_SOURCE_MODE", "demo")
    monkeypatch.delenv("LAGESBILD_VERDICTS_PATH", raising=False)
    folder = tmp_path / "demo" / "inputs" / "verdicts"
    folder.mkdir(parents=True)
    return folder


def _write(path: Path, text: str, age_seconds: float = 60) -> None:
    path.write_text(text, encoding="utf-8")
    past = time.time() - age_seconds
    os.utime(path, (past, past))


def _evaluate(data_dir: Path, cursor: str | None):
    # `with`: the resource has a teardown (the run lock), as the daemon evaluates sensors
    with dg.build_sensor_context(
        cursor=cursor, resources={"lagesbild": LagesbildResource(data_dir=str(data_dir))}
    ) as context:
        return verdict_inbox_sensor(context), context.cursor


def test_new_unchanged_changed_register(tmp_path, inbox):
    _write(inbox / "register.csv", REGISTER)
    first, cursor = _evaluate(tmp_path, None)
    assert isinstance(first, dg.RunRequest) and first.run_key.startswith("verdicts-")
    assert set(load_cursor(cursor)) == {"register.csv"}

    unchanged, cursor_after_skip = _evaluate(tmp_path, cursor)
    assert isinstance(unchanged, dg.SkipReason) and "No new or changed" in unchanged.skip_message

    # Re-saved with the same bytes (new mtime): still no run, the run key is per content.
    _write(inbox / "register.csv", REGISTER, age_seconds=30)
    resaved, cursor = _evaluate(tmp_path, cursor_after_skip)
    assert isinstance(resaved, dg.SkipReason)

    _write(inbox / "register.csv", REGISTER + "B 2-24,Norrköpings tingsrätt\n")
    changed, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(changed, dg.RunRequest) and changed.run_key != first.run_key

    # A second file in the inbox is new content too; Excel lock files and other suffixes are ignored.
    _write(inbox / "~$register.xlsx", "lock")
    _write(inbox / "notes.txt", "not a register")
    ignored, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(ignored, dg.SkipReason)
    _write(inbox / "register_2025.csv", REGISTER)
    added, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(added, dg.RunRequest)
    assert set(load_cursor(cursor)) == {"register.csv", "register_2025.csv"}

    # Removing a file changes the register as well, and going back to the first content is a new change
    # (the raw data holds the newer register), so it runs; the run key names the change, not only the content.
    (inbox / "register_2025.csv").unlink()
    _write(inbox / "register.csv", REGISTER)
    back, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(back, dg.RunRequest) and back.run_key not in {
        first.run_key,
        changed.run_key,
        added.run_key,
    }
    assert back.run_key.endswith(first.run_key.rsplit("-", 1)[1])


def test_a_repeated_tick_after_a_lost_cursor_requests_the_same_run_key(tmp_path, inbox):
    """If the cursor update is lost, the next tick asks again with the same key, and Dagster drops it."""
    _write(inbox / "register.csv", REGISTER)
    first, _ = _evaluate(tmp_path, None)
    repeated, _ = _evaluate(tmp_path, None)
    assert first.run_key == repeated.run_key


def test_a_file_still_being_written_is_left_to_settle(tmp_path, inbox):
    (inbox / "register.csv").write_text(REGISTER, encoding="utf-8")  # mtime = now
    result, cursor = _evaluate(tmp_path, None)
    assert isinstance(result, dg.SkipReason) and "settle" in result.skip_message
    assert cursor is None  # nothing recorded, so the next tick still sees it as new


def test_a_register_rewritten_with_the_same_size_and_mtime_is_still_seen(tmp_path, inbox):
    """The sensor re-hashed a file only when its size or mtime changed: a corrected register of the
    same size whose mtime was kept (``cp -p``, ``rsync -t``, a restore, a tool that sets it back) was
    never ingested. The ctime and inode, which no writer can set, are part of the fingerprint."""
    register = inbox / "register.csv"
    _write(register, REGISTER)
    first, cursor = _evaluate(tmp_path, None)
    assert isinstance(first, dg.RunRequest)
    before = register.stat()
    register.write_text(REGISTER.replace("B 1-24", "B 2-24"), encoding="utf-8")  # same size
    os.utime(register, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (register.stat().st_size, register.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second, _ = _evaluate(tmp_path, cursor)
    assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key


@pytest.mark.parametrize("ahead_seconds", [600, 86400 * 365 * 50])
def test_a_register_with_an_mtime_in_the_future_is_not_left_to_settle_forever(tmp_path, inbox, ahead_seconds):
    """An mtime ahead of the clock (the clock stepped back after the save, NTP; a copy keeping the time
    of a machine whose clock is ahead) was "modified in the last seconds" until the clock caught up:
    no run for ten minutes, or for fifty years. A file being written now has an mtime of now."""
    _write(inbox / "register.csv", REGISTER, age_seconds=-ahead_seconds)
    result, _ = _evaluate(tmp_path, None)
    assert isinstance(result, dg.RunRequest)


def test_missing_or_empty_inbox_skips_with_the_reason(tmp_path, inbox, monkeypatch):
    empty, _ = _evaluate(tmp_path, None)
    assert isinstance(empty, dg.SkipReason) and str(inbox) in empty.skip_message
    monkeypatch.setenv("LAGESBILD_VERDICTS_PATH", str(tmp_path / "nowhere"))
    missing, _ = _evaluate(tmp_path, None)
    assert isinstance(missing, dg.SkipReason) and "does not exist" in missing.skip_message
    monkeypatch.delenv("LAGESBILD_VERDICTS_PATH")
    monkeypatch.setenv("LAGESBILD_SOURCE_MODE", "real")
    unconfigured, _ = _evaluate(tmp_path, None)
    assert isinstance(unconfigured, dg.SkipReason) and "LAGESBILD_VERDICTS_PATH" in unconfigured.skip_message


# --- run failure ---------------------------------------------------------------------------------------


@dg.asset
def fine_asset() -> int:
    return 1


@dg.asset(deps=[fine_asset])
def broken_asset() -> int:
    raise ValueError("week 2024-03-18: snapshot archive unreachable\nsecond line with more detail")


@pytest.fixture
def failed_run_context(tmp_path: Path):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([fine_asset, broken_asset], instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    # `with`: the resource has a teardown (the run lock), as the daemon evaluates sensors
    with dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=failure,
        resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))},
    ) as context:
        yield context.for_run_failure()


def test_run_failure_sensor_writes_a_clear_alert(tmp_path, monkeypatch, caplog, failed_run_context):
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    context = failed_run_context
    run_failure_alert_sensor(context)
    run_failure_alert_sensor(context)  # a second failure appends, it does not overwrite
    lines = (tmp_path / Path(*FAILURE_FILE)).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    alert = json.loads(lines[0])
    assert alert["event"] == "lagesbild.run_failure"
    assert alert["job"] == context.dagster_run.job_name
    assert alert["run_id"] == context.dagster_run.run_id
    assert alert["failed_steps"] == [
        {"step": "broken_asset", "error": "ValueError: week 2024-03-18: snapshot archive unreachable"}
    ]
    assert alert["error"] == "ValueError: week 2024-03-18: snapshot archive unreachable"
    assert "second line" not in lines[0]


@respx.mock
def test_run_failure_webhook_is_posted_and_retried(tmp_path, monkeypatch, failed_run_context):
    url = "https://hooks.example.org/lagesbild?token=secret"
    route = respx.post(url).mock(side_effect=[httpx.Response(503), httpx.Response(204)])
    monkeypatch.setenv(WEBHOOK_ENV, url)
    monkeypatch.setattr("lagesbild.retry.DEFAULT_BACKOFF", tenacity.wait_none())
    context = failed_run_context
    run_failure_alert_sensor(context)
    assert route.call_count == 2
    body = json.loads(route.calls.last.request.content)
    assert body["run_id"] == context.dagster_run.run_id and body["failed_steps"][0]["step"] == "broken_asset"
    assert (tmp_path / Path(*FAILURE_FILE)).exists()  # the file is written whatever the webhook does


@respx.mock
def test_a_dead_webhook_does_not_lose_the_alert_or_leak_its_url(tmp_path):
    url = "https://hooks.example.org/lagesbild?token=secret"
    respx.post(url).mock(return_value=httpx.Response(404))
    messages = []

    class Logger:
        def error(self, msg):
            messages.append(msg)

    alert = {
        "job": "weekly_snapshots",
        "run_id": "r1",
        "failed_steps": [{"step": "s", "error": "boom"}],
        "error": "boom",
    }
    target = tmp_path / "alerts" / "run_failures.jsonl"
    assert notify_run_failure(alert, target, Logger(), url) is None
    assert json.loads(target.read_text(encoding="utf-8"))["run_id"] == "r1"
    assert messages[0] == "RUN FAILED: job weekly_snapshots run r1 step(s) s: boom"
    assert "webhook delivery failed" in messages[1] and "secret" not in " ".join(messages)


def test_a_register_named_by_a_person_or_case_is_not_named_in_the_sensors_messages(tmp_path, inbox, monkeypatch):
    _write(inbox / "Anna Testsson B 9901-99.csv", REGISTER, age_seconds=0)
    settling, _ = _evaluate(tmp_path, None)
    assert isinstance(settling, dg.SkipReason)
    assert "register file 1 (withheld" in settling.skip_message and "Anna" not in settling.skip_message
    _write(inbox / "Anna Testsson B 9901-99.csv", REGISTER)
    with dg.build_sensor_context(resources={"lagesbild": LagesbildResource(data_dir=str(tmp_path))}) as context:
        logged = []
        monkeypatch.setattr(context.log, "info", lambda message, *args, **kwargs: logged.append(message))
        assert isinstance(verdict_inbox_sensor(context), dg.RunRequest)
    assert "register file 1 (withheld" in logged[0] and "Anna" not in logged[0] and "9901" not in logged[0]
