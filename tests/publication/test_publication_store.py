"""Publications: layout, manifest, pruning, refusal on disclosure violations, and crash safety."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from mart_frames import weekly_prevalence

from lagesbild.disclosure import load_policy
from lagesbild.publication import (
    LocalFolderTarget,
    PublicationError,
    latest,
    new_publication_id,
    parquet_bytes,
    publish,
    publish_marts,
    read_manifest,
    split_by_region,
    verify_publication,
    visible_to,
)


def _weekly() -> pd.DataFrame:
    df = weekly_prevalence(4, {"0580": 14, "0581": 9, "0509": 3})
    df["est_purchases_central"] = df["advertiser_days"] * 0.35
    df["model_version"] = "2026.1"
    return df


def _files(tag: str) -> dict[str, bytes]:
    return {
        "county/a.parquet": parquet_bytes(pd.DataFrame({"x": [1, 2, 3], "tag": [tag] * 3})),
        "reports/county/index.html": f"<p>{tag}</p>".encode(),
    }


def test_publish_writes_manifest_and_read_only_files(tmp_path):
    target = LocalFolderTarget(tmp_path)
    info = publish(target, _files("one"), {"model_version": "2026.1", "quality": {"ok": True}}, keep=3)
    assert latest(target).id == info.id
    manifest = read_manifest(target, info.id)
    entry = manifest["files"]["county/a.parquet"]
    assert entry["rows"] == 3 and [f["name"] for f in entry["schema"]] == ["x", "tag"]
    data = (tmp_path / info.id / "county/a.parquet").read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["quality"] == {"ok": True} and manifest["code_version"]
    assert not os.access(tmp_path / info.id / "county/a.parquet", os.W_OK) or os.geteuid() == 0
    assert oct((tmp_path / info.id / "county/a.parquet").stat().st_mode & 0o777) == "0o444"
    assert verify_publication(target, info.id) == []


def test_keep_prunes_old_publications(tmp_path):
    target = LocalFolderTarget(tmp_path)
    ids = [publish(target, _files(str(i)), {}, keep=2).id for i in range(4)]
    assert sorted(target.list_publications()) == sorted(ids[-2:])
    assert target.get_latest() == ids[-1]


def test_keep_prunes_in_publish_order_when_the_clock_steps_back(tmp_path, monkeypatch):
    """Pruning went by ``created_at``: after the clock stepped back two hours (NTP), the publications
    made before the step looked newest, so each publish deleted the one just before it and kept a
    stale one. Publish order is what counts (``sequence`` in the manifest, given under the lock)."""
    import datetime as dt
    import types

    from lagesbild.publication import core

    target = LocalFolderTarget(tmp_path)
    before_step = [publish(target, _files(str(i)), {}, keep=2).id for i in range(2)]

    class SteppedBack(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.now(tz) - dt.timedelta(hours=2)

    monkeypatch.setattr(core, "dt", types.SimpleNamespace(datetime=SteppedBack, UTC=dt.UTC))
    after_step = [publish(target, _files(f"b{i}"), {}, keep=2).id for i in range(3)]
    assert sorted(target.list_publications()) == sorted(after_step[-2:]), before_step
    assert [read_manifest(target, p)["sequence"] for p in after_step[-2:]] == [4, 5]


THIS_WEEK = {"weeks_through": "2025-12-22", "verdicts_through": "2025", "population_year": "2024"}


@pytest.mark.parametrize(
    ("current", "new", "allow_older", "older"),
    [
        # a backfill of old weeks whose marts were built before this week's run, finishing after it
        (THIS_WEEK, {**THIS_WEEK, "weeks_through": "2025-06-30"}, False, {"weeks_through"}),
        (THIS_WEEK, {**THIS_WEEK, "verdicts_through": "2024"}, False, {"verdicts_through"}),
        (THIS_WEEK, {"weeks_through": "2024-12-30", "population_year": "2023"}, False,
         {"weeks_through", "population_year"}),
        (THIS_WEEK, THIS_WEEK, False, set()),  # the same data again (a rerun)
        (THIS_WEEK, {**THIS_WEEK, "weeks_through": "2025-12-29"}, False, set()),
        (THIS_WEEK, {**THIS_WEEK, "weeks_through": "2025-06-30"}, True, set()),  # on purpose
        (None, {"weeks_through": "2024-01-01"}, False, set()),  # latest from before watermarks
        (THIS_WEEK, None, False, set()),
        (THIS_WEEK, {"weeks_through": 202552}, False, set()),  # not comparable with a date
    ],
)
def test_latest_never_moves_to_a_publication_of_older_data(tmp_path, current, new, allow_older, older):
    """A later-finishing run became LATEST even when its data was older than the latest publication's
    (a backfill of old weeks finishing after this week's run). The manifest's watermark (the newest
    week, verdict year, population year it holds) is compared under the publish lock: an older one is
    published and kept, LATEST stays, and the manifest, the result and the publication log say why."""
    target = LocalFolderTarget(tmp_path)
    first = publish(target, _files("this week"), {"watermark": current} if current else {}, keep=1)
    fields = {"watermark": new} if new is not None else {}
    second = publish(target, _files("backfill"), fields, keep=1, **({"allow_older": True} if allow_older else {}))
    assert target.get_latest() == (second.id if not older else first.id)
    log = [json.loads(line) for line in (tmp_path / "publish_log.jsonl").read_text("utf-8").splitlines()]
    assert [(e["id"], e["latest"]) for e in log] == [(first.id, True), (second.id, not older)]
    if not older:
        assert second.is_latest and "not_latest" not in second.manifest
        assert target.list_publications() == [second.id]  # keep=1 as before
        return
    assert latest(target).id == first.id
    assert (tmp_path / "latest").resolve().name == first.id  # the browsing link stays too
    assert sorted(target.list_publications()) == sorted([first.id, second.id])  # kept, latest not pruned
    assert verify_publication(target, second.id) == []
    assert not second.is_latest and first.id in second.not_latest_reason
    assert set(read_manifest(target, second.id)["not_latest"]["older"]) == older
    assert log[1]["not_latest_reason"] == second.not_latest_reason and log[1]["latest_before"] == first.id
    third = publish(target, _files("next week"), {"watermark": THIS_WEEK}, keep=1)
    assert target.get_latest() == third.id and target.list_publications() == [third.id]


def test_the_pipelines_watermark_is_the_newest_input_the_marts_hold():
    from orchestration.assets.publication import data_watermark

    coverage = pd.DataFrame(
        {
            "week_start": pd.to_datetime(["2025-12-08", "2025-12-15", "2025-12-22"]).date,
            "snapshot_present": [True, True, False],  # the last week has no capture (yet)
        }
    )
    demand = pd.DataFrame(
        {
            "year": [2024, 2025, 2026],
            "convicted_buyers": pd.array([7, None, 0], dtype="Int64"),
            "convicted_buyers_suppressed": [False, True, False],  # 2025: 1-4 buyers, hidden
        }
    )
    yearly = pd.DataFrame({"population_year": pd.array([2023, 2024, None], dtype="Int64")})
    assert data_watermark(
        {"mart_coverage_weekly": coverage, "mart_demand_yearly": demand, "mart_prevalence_yearly": yearly}
    ) == {"weeks_through": "2025-12-15", "verdicts_through": "2025", "population_year": "2024"}
    assert data_watermark({}) == {}


def test_split_by_region_layout():
    files = split_by_region(
        {
            "mart_prevalence_weekly": _weekly(),
            "mart_coverage_weekly": pd.DataFrame({"site": ["a"], "rows": [3]}),
            "mart_flows": pd.DataFrame(
                {
                    "home_region_code": ["0580", "0581"],
                    "purchase_region_code": ["0581", "0509"],
                    "buyers": [7, 0],
                }
            ),
        },
        "05",
    )
    assert set(files["county/mart_prevalence_weekly.parquet"]["region_level"]) == {"county"}
    mine = files["municipalities/0580/mart_prevalence_weekly.parquet"]
    assert set(mine["region_code"]) == {"0580", "05"}
    assert len(files["municipalities/0509/mart_flows.parquet"]) == 1
    assert "county/mart_coverage_weekly.parquet" in files
    assert len(files["county/mart_flows.parquet"]) == 2


def test_publish_marts_applies_policy_and_reports_rates(tmp_path):
    target = LocalFolderTarget(tmp_path)
    info = publish_marts(target, {"mart_prevalence_weekly": _weekly()}, load_policy(), "05")
    back = pd.read_parquet(tmp_path / info.id / "municipalities/0509/mart_prevalence_weekly.parquet")
    assert back.loc[back["region_code"] == "0509", "active_advertisers"].isna().all()
    assert back["active_advertisers_suppressed"].dtype == bool
    rates = info.manifest["disclosure"]["suppression"]["mart_prevalence_weekly"]
    assert rates["active_advertisers"]["primary"] == 4 and rates["active_advertisers"]["secondary"] >= 4
    assert info.manifest["model_version"] == "2026.1"
    assert info.manifest["disclosure"]["policy"]["min_persons"] == 5


def test_disclosure_violation_refuses_publication(tmp_path):
    target = LocalFolderTarget(tmp_path)
    first = publish(target, _files("ok"), {})
    leaky = {"county/mart_prevalence_weekly.parquet": parquet_bytes(_weekly())}  # raw, no flags, 3s
    from lagesbild.publication import publication_check

    with pytest.raises(PublicationError, match="refused"):
        publish(target, leaky, {}, check=publication_check(load_policy()))
    # a policy named in the manifest fields is enough: publish then verifies on its own
    with pytest.raises(PublicationError, match="small_count"):
        publish(
            target,
            {"county/mart_prevalence_weekly.parquet": _weekly()},
            {"disclosure": {"policy": load_policy()}},
        )
    assert target.get_latest() == first.id
    assert target.list_publications() == [first.id]


def test_dataframes_fixed_id_and_info_path(tmp_path):
    target = LocalFolderTarget(tmp_path)
    pub_id = new_publication_id()
    info = publish(
        target,
        {"county/x.parquet": pd.DataFrame({"a": [1, 2]})},
        {"disclosure": {"policy": load_policy(), "suppression": {}}},
        publication_id=pub_id,
    )
    assert info.publication_id == pub_id and info.path == tmp_path / pub_id
    assert pd.read_parquet(info.path / "county/x.parquet")["a"].tolist() == [1, 2]
    assert read_manifest(target, pub_id)["disclosure"]["policy"]["min_persons"] == 5
    with pytest.raises(ValueError, match="fresh"):
        publish(target, {"county/y.parquet": b"x"}, {}, publication_id=pub_id)


@pytest.mark.parametrize(
    ("path", "who", "ok"),
    [
        ("county/mart_flows.parquet", "0580", True),
        ("municipalities/0580/mart_flows.parquet", "0580", True),
        ("municipalities/0581/mart_flows.parquet", "0580", False),
        ("reports/05.html", "0580", True),
        ("reports/0580.html", "0580", True),
        ("reports/0581.html", "0580", False),
        ("quality/index.html", "0581", True),
        ("restricted/alerts.parquet", "0580", False),
        ("manifest.json", "0580", True),
    ],
)
def test_visible_to(path, who, ok):
    assert visible_to(path, who) is ok


SCRIPT = textwrap.dedent("""
    import sys
    from lagesbild.publication import LocalFolderTarget, publish
    files = {f"county/m{i}.bin": bytes([i]) * 100_000 for i in range(5)}
    publish(LocalFolderTarget(sys.argv[1]), files, {"model_version": "crash"}, keep=5)
""")


def _kill_when_paused(script: str, folder, point: str) -> None:
    """Run ``script`` on ``folder`` in a child process that pauses at the publication step ``point``
    (LAGESBILD_TEST_PAUSE_AT), and SIGKILL it there."""
    env = {**os.environ, "LAGESBILD_TEST_PAUSE_AT": point}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stderr.readline()
        assert line.strip() == f"PAUSED {point}", line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    "point", ["mid_staging", "after_staging", "after_move", "before_pointer", "after_pointer"]
)
def test_sigkill_at_every_step_leaves_latest_intact(tmp_path, point):
    target = LocalFolderTarget(tmp_path)
    first = publish(target, _files("first"), {})
    _kill_when_paused(SCRIPT, tmp_path, point)
    current = target.get_latest()
    assert current is not None and verify_publication(target, current) == []
    if point == "after_pointer":
        assert current != first.id and read_manifest(target, current)["model_version"] == "crash"
    else:
        assert current == first.id
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging-")]
    assert bool(leftovers) == (point in ("mid_staging", "after_staging"))
    after = publish(target, _files("next"), {})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert target.get_latest() == after.id and verify_publication(target, after.id) == []
    for pub in target.list_publications():  # every promoted publication is complete
        assert verify_publication(target, pub) == []
        json.loads((tmp_path / pub / "manifest.json").read_text())


PRUNE_SCRIPT = textwrap.dedent("""
    import sys
    from lagesbild.publication import LocalFolderTarget, publish
    files = {f"county/m{i}.bin": bytes([i]) * 50_000 for i in range(5)}
    publish(LocalFolderTarget(sys.argv[1]), files, {"model_version": "pruner"}, keep=1)
""")


def test_sigkill_while_pruning_leaves_no_half_deleted_publication(tmp_path):
    target = LocalFolderTarget(tmp_path)
    old = publish(target, {f"county/o{i}.bin": bytes([i]) * 1000 for i in range(12)}, {}, keep=5)
    _kill_when_paused(PRUNE_SCRIPT, tmp_path, "mid_prune")
    current = target.get_latest()
    assert current != old.id and read_manifest(target, current)["model_version"] == "pruner"
    assert target.list_publications() == [current]  # the old one is gone whole, not half
    assert (tmp_path / ".trash").is_dir()  # what the kill interrupted, out of sight
    for pub in target.list_publications():
        assert verify_publication(target, pub) == []
    publish(target, _files("next"), {}, keep=5)
    assert not (tmp_path / ".trash").exists()


def test_concurrent_publishes_into_one_folder_both_succeed(tmp_path):
    """Two publishes at once (separate target objects, as separate processes would have): each
    holds the folder lock in turn, so neither sweeps the other's staging folder."""
    for round_no in range(5):
        barrier = threading.Barrier(2)

        def one(tag, barrier=barrier):
            barrier.wait(timeout=10)
            files = {f"county/{tag}{i}.bin": tag.encode() * 20_000 for i in range(8)}
            return publish(LocalFolderTarget(tmp_path), files, {"tag": tag}, keep=3).id

        with ThreadPoolExecutor(2) as pool:
            ids = list(pool.map(one, [f"a{round_no}", f"b{round_no}"]))
        target = LocalFolderTarget(tmp_path)
        assert target.get_latest() in ids
        for pub in ids:
            assert verify_publication(target, pub) == []
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert len(LocalFolderTarget(tmp_path).list_publications()) == 3


def test_staging_names_are_unique_per_publish(tmp_path):
    a, b = LocalFolderTarget(tmp_path), LocalFolderTarget(tmp_path)
    a.write_staged("2026-01-01T0000Z-00000000", "x.bin", b"a")
    b.write_staged("2026-01-01T0000Z-00000000", "x.bin", b"b")
    assert a.read_staged("2026-01-01T0000Z-00000000", "x.bin") == b"a"
    assert b.read_staged("2026-01-01T0000Z-00000000", "x.bin") == b"b"


def test_a_kill_inside_the_pointer_switch_leaves_nothing_the_next_publish_does_not_sweep(tmp_path):
    """The ``latest`` link is switched through a temporary link (``.latest.<hex>.link``) like LATEST
    through ``.LATEST.<hex>.tmp``: a kill between the two leaves it; the next publish removes both."""
    target = LocalFolderTarget(tmp_path)
    first = publish(target, _files("first"), {})
    (tmp_path / ".latest.0123abcd.link").symlink_to(first.id, target_is_directory=True)
    (tmp_path / ".LATEST.0123abcd.tmp").write_text(first.id)
    after = publish(target, _files("next"), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["LATEST", "latest", "publish_log.jsonl", first.id, after.id]
    )
    assert os.readlink(tmp_path / "latest") == after.id


@pytest.mark.parametrize("failing", ["replace_symlink", "write_atomic"])
def test_a_full_disk_in_the_pointer_switch_is_an_error_only_when_nothing_was_switched(tmp_path, monkeypatch, failing):
    """ENOSPC (or EIO) while switching the pointers. LATEST was written first and the ``latest`` link
    after it: a failing link made ``publish`` raise (the run failed, its reports stayed pending, no
    prune) while LATEST already served the new publication. The link goes first now, LATEST (what the
    server and readers follow) last: an error means the previous publication is still the latest."""
    import errno

    from lagesbild.publication import target as target_module

    target = LocalFolderTarget(tmp_path)
    first = publish(target, _files("first"), {})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(target_module, failing, full)
    with pytest.raises(OSError, match="No space left"):
        publish(target, _files("second"), {})
    assert target.get_latest() == first.id and verify_publication(target, first.id) == []
    monkeypatch.undo()
    after = publish(target, _files("third"), {}, keep=2)
    assert target.get_latest() == after.id and os.readlink(tmp_path / "latest") == after.id


#: The files each publish of the killed child writes (about 0.7 MB in six files); the test times one
#: publish of the same files to scale the kill delays.
KILL_FILES = textwrap.dedent("""
    def kill_files(n):
        return {f"county/m{i}.bin": f"{n}-{i}".encode() * 30_000 for i in range(6)}
""")
#: How many times the child is killed: each kill costs its start-up and a few publishes (~0.1 s).
KILLS = 30
RANDOM_KILL_SCRIPT = KILL_FILES + textwrap.dedent("""
    import sys
    from lagesbild.publication import LocalFolderTarget, publish
    print("ready", flush=True)
    for n in range(1000):
        publish(LocalFolderTarget(sys.argv[1]), kill_files(n), {"model_version": f"v{n}"}, keep=2)
""")


def test_publishes_killed_at_random_moments_never_show_a_reader_a_broken_latest(tmp_path):
    """A child publishes in a loop (keep=2) and is SIGKILLed after a random delay, 30 times, while a
    reader thread resolves LATEST and the ``latest`` link and checks what they name. After every
    kill LATEST verifies, and the next publish leaves no leftover.

    The delay runs from the child's first publish (it says when it is ready, so its start-up is not
    counted) over four publish cycles as measured here: every step of a publish is hit in proportion
    to its length, on a fast machine and a slow one alike."""
    import random
    import time

    rng = random.Random(9)
    target = LocalFolderTarget(tmp_path)
    namespace: dict = {}
    exec(KILL_FILES, namespace)  # noqa: S102 - the test's own constant
    started = time.perf_counter()
    publish(target, namespace["kill_files"](-1), {}, keep=2)
    cycle = time.perf_counter() - started
    problems: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            for pub in (target.get_latest(), os.readlink(tmp_path / "latest")):
                try:
                    manifest = read_manifest(target, pub)
                except FileNotFoundError:
                    continue  # pruned since it was read (keep=2): a clean miss, not a broken one
                if manifest["id"] != pub:
                    problems.append(f"{pub} holds the manifest of {manifest['id']}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(KILLS):
            proc = subprocess.Popen(
                [sys.executable, "-c", RANDOM_KILL_SCRIPT, str(tmp_path)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0, 4 * cycle))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            proc.stdout.close()
            current = target.get_latest()
            assert current is not None and verify_publication(target, current) == []
            assert (tmp_path / current / "manifest.json").is_file()
            assert (tmp_path / "latest").resolve().parent == tmp_path.resolve()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert problems == []
    after = publish(target, _files("after"), {}, keep=2)
    assert target.get_latest() == after.id and os.readlink(tmp_path / "latest") == after.id
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    for pub in target.list_publications():
        assert verify_publication(target, pub) == []


TWO_RUNS_SCRIPT = textwrap.dedent("""
    import sys
    from lagesbild.publication import LocalFolderTarget, publish
    for n in range(6):
        files = {f"county/{sys.argv[2]}{i}.bin": f"{sys.argv[2]}{n}-{i}".encode() * 20_000 for i in range(4)}
        info = publish(LocalFolderTarget(sys.argv[1]), files, {"run": sys.argv[2]}, keep=3)
        print(info.id, flush=True)
""")


def test_two_publishing_processes_at_once_each_end_complete_with_their_own_manifest(tmp_path):
    """Two runs (separate processes) publish six times each into one folder while a thread checks that
    LATEST always names a publication whose files verify: every publication either run reports is
    complete with its own manifest until pruned, and the last one published is LATEST."""
    target = LocalFolderTarget(tmp_path)
    publish(target, _files("first"), {}, keep=3)
    problems: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            pub = target.get_latest()
            try:
                if bad := verify_publication(target, pub):
                    problems.append(f"{pub}: {bad[:2]}")
            except FileNotFoundError:
                problems.append(f"LATEST names {pub}, which is missing")  # LATEST is never pruned

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", TWO_RUNS_SCRIPT, str(tmp_path), tag], stdout=subprocess.PIPE, text=True
            )
            for tag in ("a", "b")
        ]
        outs = [p.communicate(timeout=120)[0].split() for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert problems == []
    ids = [i for out in outs for i in out]
    assert len(ids) == len(set(ids)) == 12
    kept = target.list_publications()
    assert len(kept) == 3 and target.get_latest() in kept
    latest_created = max(read_manifest(target, p)["created_at"] for p in kept)
    assert read_manifest(target, target.get_latest())["created_at"] == latest_created
    for pub in kept:
        assert verify_publication(target, pub) == []
        manifest = read_manifest(target, pub)
        assert manifest["id"] == pub and all(
            path.startswith(f"county/{manifest['run']}") for path in manifest["files"]
        )


@pytest.mark.parametrize(
    "pub_id", ["2026-01-01T0000Z-0000000a\n", "２026-01-01T0000Z-0000000a", "2026-01-01T0000Z-0000000A"]
)
def test_a_publication_id_is_exactly_the_pattern(tmp_path, pub_id):
    with pytest.raises(ValueError, match="not a fresh publication id"):
        publish(LocalFolderTarget(tmp_path), _files("x"), {}, publication_id=pub_id)
    assert LocalFolderTarget(tmp_path).list_publications() == []


def test_pruning_leaves_a_publication_a_reader_holds(tmp_path):
    target = LocalFolderTarget(tmp_path)
    a = publish(target, _files("a"), {}, keep=1)
    with target.reading(a.id) as folder:
        b = publish(target, _files("b"), {}, keep=1)
        assert target.get_latest() == b.id and sorted(target.list_publications()) == sorted([a.id, b.id])
        assert verify_publication(target, a.id) == [] and (folder / "manifest.json").is_file()
    c = publish(target, _files("c"), {}, keep=1)
    assert target.list_publications() == [c.id]
    with pytest.raises(FileNotFoundError), target.reading(a.id):
        pass


def test_readers_holding_latest_never_lose_a_file_while_publishes_prune(tmp_path):
    """A thread takes LATEST, holds it with ``reading`` and reads every file, over and over, while 20
    publishes with keep=1 run: a publication disappears only before a lease (then LATEST is read
    again), never under one."""
    target = LocalFolderTarget(tmp_path)
    publish(target, _files("0"), {}, keep=1)
    problems, leases = [], [0]
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            pub = target.get_latest()
            try:
                lease = target.reading(pub)
                folder = lease.__enter__()
            except FileNotFoundError:
                continue
            try:
                manifest = json.loads((folder / "manifest.json").read_text())
                for rel, entry in manifest["files"].items():
                    if hashlib.sha256((folder / rel).read_bytes()).hexdigest() != entry["sha256"]:
                        problems.append(f"{pub}/{rel} mismatch")
                leases[0] += 1
            except OSError as exc:
                problems.append(f"{pub}: {exc.strerror}")
            finally:
                lease.__exit__(None, None, None)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for n in range(1, 21):
            publish(target, _files(str(n)), {}, keep=1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert problems == [] and leases[0] > 0
    assert len(target.list_publications()) <= 2  # at most one kept for a reader, pruned next time
    publish(target, _files("last"), {}, keep=1)
    assert target.list_publications() == [target.get_latest()]


@pytest.mark.parametrize(
    "paths",
    [
        ["County/a.csv", "county/a.csv"],
        ["county/\u00e5.csv", "county/a\u030a.csv"],
        ["county/a", "county/a/b"],
        ["County/a.csv", "county/b.csv"],
        ["reports/x.html", "reports/../x"],
        ["reports/a b.html"],
        ["reports/a%20b.html"],
        ["reports/a?b.html"],
        ["reports/Link\u00f6ping.html"],
    ],
)
def test_a_file_set_that_is_not_one_folder_on_every_disk_is_refused(tmp_path, paths):
    with pytest.raises(ValueError):
        publish(LocalFolderTarget(tmp_path), dict.fromkeys(paths, b"x"), {})
    assert LocalFolderTarget(tmp_path).get_latest() is None


def test_the_pipelines_check_refuses_files_that_are_not_the_verified_marts(tmp_path):
    """The pipeline's publication is checked to hold exactly the disclosed marts disclosed_marts
    verified (``verified_check``): a hidden count written out in one municipality's file, a row left
    out, or a mart it did not verify refuses the publication; the files as split pass."""
    from lagesbild.disclosure import apply_policy
    from lagesbild.publication.disclosed import verified_check

    marts = apply_policy({"mart_prevalence_weekly": _weekly()}, load_policy(), "05").marts
    files = {p: parquet_bytes(df) for p, df in split_by_region(marts, "05").items()}
    check = verified_check(marts)
    assert check(files) == []
    path = "municipalities/0509/mart_prevalence_weekly.parquet"
    shown = pd.read_parquet(io.BytesIO(files[path]))
    assert shown["active_advertisers"].isna().any()
    shown["active_advertisers"] = shown["active_advertisers"].fillna(3)
    expected = ["mart_prevalence_weekly: the files read back are not the disclosed marts as verified"]
    assert check({**files, path: parquet_bytes(shown)}) == expected
    same = pd.read_parquet(io.BytesIO(files[path]))
    own = same.index[same["region_code"] == "0509"]
    assert check({**files, path: parquet_bytes(same.drop(own[:1]))}) == expected  # a row left out
    extra = {**files, "county/mart_flows.parquet": parquet_bytes(pd.DataFrame({"buyers": [3]}))}
    assert check(extra) == ["mart_flows: not in the disclosed marts as verified"]
    info = publish(LocalFolderTarget(tmp_path), files, {"model_version": "2026.1"}, check=check)
    assert (tmp_path / info.id / path).exists()
    with pytest.raises(PublicationError, match="not the disclosed marts as verified"):
        publish(LocalFolderTarget(tmp_path), {**files, path: parquet_bytes(shown)}, {"model_version": "2026.1"}, check=check)
