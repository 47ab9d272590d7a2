"""The weekly export: one file per week, only changed weeks rewritten, one whole export visible at a time."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pandas as pd
import pytest

from lagesbild.alerts.run import load_observations
from lagesbild.warehouse import PARQUET_WRITE_OPTIONS
from lagesbild.weekly_export import MANIFEST, PART, export_by_week, generations_folder, week_folder

COLUMNS = ("site", "ad_id", "captured_at", "advertiser_key", "stated_age", "category", "municipality_code")
WEEKS = [dt.date(2024, 12, 23) + dt.timedelta(weeks=i) for i in range(4)]  # across the year boundary


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        "create table obs (site varchar, ad_id varchar, week_start date, captured_at timestamp, "
        "advertiser_key varchar, stated_age integer, category varchar, municipality_code varchar)"
    )
    rows = [
        (
            f"site-{i % 2}",
            f"ad-{i % 7}",
            week,
            dt.datetime.combine(week, dt.time(hour=i % 24)),
            f"adv_{i % 5}",
            None if i % 9 == 0 else 18 + i % 30,
            "escort",
            "0580" if i % 3 else None,
        )
        for w, week in enumerate(WEEKS)
        for i in range(w * 10, w * 10 + 10 + w)  # weeks of different sizes
    ]
    con.executemany("insert into obs values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    yield con
    con.close()


def export(con, link, columns=COLUMNS):
    return export_by_week(con, "obs", columns, link, PARQUET_WRITE_OPTIONS)


def table_rows(con) -> pd.DataFrame:
    frame = con.execute(f"select week_start, {', '.join(COLUMNS)} from obs").df()
    return _sorted(frame)


def exported_rows(link) -> pd.DataFrame:
    frames = []
    for folder in sorted(link.iterdir()):
        if folder.is_dir():
            frame = pd.read_parquet(folder / PART)
            frame.insert(0, "week_start", dt.date.fromisoformat(folder.name.split("=")[1]))
            frames.append(frame)
    return _sorted(pd.concat(frames, ignore_index=True))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(week_start=pd.to_datetime(frame["week_start"]).astype("datetime64[us]"), stated_age=frame["stated_age"].astype("Float64"))
    return frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)


def inode(link, week) -> int:
    return os.stat(link / week_folder(week.isoformat()) / PART).st_ino


def test_first_export_writes_every_week_and_a_rerun_writes_none(tmp_path, con):
    link = tmp_path / "intermediate" / "int_ad_observations"
    first = export(con, link)
    assert (first.weeks_written, first.weeks_kept, first.rows) == (4, 0, 46)
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))  # relative: the data dir can move
    pd.testing.assert_frame_equal(exported_rows(link), table_rows(con))
    # each file's rows are in the defined order (every exported column), so the same rows give the same file
    part = pd.read_parquet(link / week_folder(WEEKS[1].isoformat()) / PART)
    assert part.equals(part.sort_values(list(COLUMNS), na_position="first", kind="stable").reset_index(drop=True))
    inodes = {w: inode(link, w) for w in WEEKS}

    again = export(con, link)
    assert (again.weeks_written, again.weeks_kept) == (0, 4)
    assert {w: inode(link, w) for w in WEEKS} == inodes  # carried over as hard links, not rewritten
    assert sorted(p.name for p in generations_folder(link).iterdir()) == sorted(
        [first.generation.name, again.generation.name]
    )
    third = export(con, link)  # the previous generation is kept for readers, older ones go
    assert sorted(p.name for p in generations_folder(link).iterdir()) == sorted(
        [again.generation.name, third.generation.name]
    )


def test_only_changed_new_and_gone_weeks_change(tmp_path, con):
    link = tmp_path / "int_ad_observations"
    export(con, link)
    before = {w: inode(link, w) for w in WEEKS}
    # an advertiser merge rewrites keys in an earlier week, a new week arrives, the first week is dropped
    con.execute("update obs set advertiser_key = 'adv_merged' where advertiser_key = 'adv_1' and week_start = ?", [WEEKS[1]])
    con.execute("insert into obs select site, ad_id, week_start + 7 * 4, captured_at, advertiser_key, stated_age, "
                "category, municipality_code from obs where week_start = ?", [WEEKS[3]])
    con.execute("delete from obs where week_start = ?", [WEEKS[0]])

    done = export(con, link)
    assert (done.weeks_written, done.weeks_kept) == (2, 2)
    assert inode(link, WEEKS[2]) == before[WEEKS[2]] and inode(link, WEEKS[3]) == before[WEEKS[3]]
    assert inode(link, WEEKS[1]) != before[WEEKS[1]]
    assert not (link / week_folder(WEEKS[0].isoformat())).exists()
    pd.testing.assert_frame_equal(exported_rows(link), table_rows(con))


def test_other_columns_rewrite_every_week(tmp_path, con):
    link = tmp_path / "int_ad_observations"
    export(con, link)
    done = export(con, link, columns=COLUMNS[:-1])
    assert (done.weeks_written, done.weeks_kept) == (4, 0)
    assert "municipality_code" not in pd.read_parquet(link / week_folder(WEEKS[0].isoformat()) / PART).columns


def test_a_failed_export_leaves_the_last_one_whole(tmp_path, con, monkeypatch):
    import lagesbild.weekly_export as weekly_export

    link = tmp_path / "int_ad_observations"
    good = export(con, link)
    con.execute("update obs set category = 'massage' where week_start = ?", [WEEKS[2]])

    def killed(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(weekly_export, "_write_weeks", killed)
    with pytest.raises(OSError, match="disk full"):
        export(con, link)
    assert link.resolve() == good.generation.resolve()
    assert [p.name for p in generations_folder(link).iterdir()] == [good.generation.name]
    assert set(exported_rows(link)["category"]) == {"escort"}
    monkeypatch.undo()
    assert export(con, link).weeks_written == 1


def test_the_alert_reader_reads_the_export_and_an_empty_table(tmp_path, con):
    link = tmp_path / "intermediate" / "int_ad_observations"
    export(con, link)
    obs = load_observations(link)
    assert (obs.rows, obs.latest_week) == (46, WEEKS[-1])

    con.execute("delete from obs")
    empty = export(con, link)
    assert (empty.rows, empty.weeks_written) == (0, 0) and (empty.generation / MANIFEST).exists()
    assert load_observations(link).rows == 0


def test_a_copied_data_dir_is_carried_over_and_a_file_at_the_link_refused(tmp_path, con):
    import shutil

    original = tmp_path / "a" / "int_ad_observations"
    export(con, original)
    copy = tmp_path / "b" / "int_ad_observations"
    shutil.copytree(original.parent, copy.parent)  # links followed: a real folder at the link
    assert copy.is_dir() and not copy.is_symlink()
    done = export(con, copy)
    assert (done.weeks_written, done.weeks_kept) == (0, 4) and copy.is_symlink()
    pd.testing.assert_frame_equal(exported_rows(copy), table_rows(con))

    stray = tmp_path / "c" / "int_ad_observations"
    stray.parent.mkdir()
    stray.write_bytes(b"")
    with pytest.raises(FileExistsError, match="not the export's link"):
        export(con, stray)
