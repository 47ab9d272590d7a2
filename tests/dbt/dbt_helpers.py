"""Fixtures for the dbt project: a small raw data set written per the Parquet contract of
docs/architecture.md (the sources' own schemas), and a helper that runs dbt against it in a temporary data dir.

The data set is built so each case the marts must get right is present once and can be checked by
hand: ads linked across sites and through a changed phone number, locations that are misspelt,
multi-word, ambiguous, out of county or unknown, a week where one site has no capture and a week
with no capture at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from lagesbild.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from lagesbild.sources import pxweb, snapshots, verdicts
from lagesbild.sources.quarantine import quarantine_frame, typed_frame
from lagesbild.warehouse import connect, write_parquet_atomic

PARTIAL_PARSE = "partial_parse.msgpack"
DBT = PROJECT_ROOT / ".venv" / "bin" / "lagesbild-dbt"  # the project's dbt command (orchestration/dbt_command.py)

W1, W2, W3, W4, W5 = (
    date(2024, 1, 1),
    date(2024, 1, 8),
    date(2024, 1, 15),
    date(2024, 1, 22),
    date(2024, 1, 29),
)

def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# (site, ad_id, posted_at, location, phone_key) per ad; captures list which ads each capture shows.
ADS = {
    "a1": ("site-a", "a1", "2023-12-20T10:00:00+00:00", "Linkoping", "k1"),
    "b1": ("site-b", "b1", "2023-12-21T10:00:00+00:00", "Linköping", "k1"),  # same phone as a1
    "a2": ("site-a", "a2", "2024-01-03T10:00:00+00:00", "Norrköping Hageby", "k2"),  # Wednesday: 5 days
    "a3": ("site-a", "a3", "2023-12-01T10:00:00+00:00", "Motala", "k3"),  # k3, later k4
    "b2": ("site-b", "b2", "2023-12-02T10:00:00+00:00", "MOTALA!", "k4"),
    "a4": ("site-a", "a4", "2023-12-01T10:00:00+00:00", "Berga", "k9"),  # ambiguous 0580/0581
    "a5": ("site-a", "a5", "2024-01-01T08:00:00+00:00", "Berga, Norrköping", "k5"),  # 0581 by context
    "b3": ("site-b", "b3", "2023-12-01T10:00:00+00:00", "Jönköping", "k6"),  # out of county
    "b4": ("site-b", "b4", "2023-12-01T10:00:00+00:00", "xyzzy", "k7"),  # unknown
    # Saturday 23:30 UTC is Sunday 00:30 in Stockholm: 1 advertiser-day, not 2.
    "b5": ("site-b", "b5", "2024-01-06T23:30:00+00:00", "Östra Ryd", "k8"),
    "a6": ("site-a", "a6", None, "Skänninge", None),  # no phone: its own advertiser
}

# (site, file stamp, week, [(ad, phone override)])
CAPTURES = [
    ("site-a", "20240102T1000", W1, ["a1", "a2", ("a3", "k3"), "a4", "a5", "a6"]),
    ("site-a", "20240105T1000", W1, ["a1", "a2", ("a3", "k4"), "a5", "a1"]),  # a1 twice in one file
    ("site-b", "20240103T1000", W1, ["b1", "b2", "b3", "b4", "b5"]),
    ("site-a", "20240109T1000", W2, ["a1", "a2"]),
    ("site-b", "20240110T1000", W2, ["b1", "b5"]),
    ("site-a", "20240116T1000", W3, ["a1"]),  # site-b has no capture in W3
    # W4: no capture at all
    ("site-a", "20240130T1000", W5, ["a1", ("a3", "k4")]),
    ("site-b", "20240131T1000", W5, ["b2"]),
]

QUARANTINED = {W1: [("site-a", "site-a_20240102T1000.jsonl", 7, "malformed_json")]}


def _write_snapshots(raw: Path) -> None:
    weeks = sorted({week for *_, week, _ in CAPTURES} | {W4})
    for week in weeks:
        part = f"week_start={week.isoformat()}"
        rows, files = [], []
        for site, stamp, cap_week, items in CAPTURES:
            if cap_week != week:
                continue
            name = f"{site}_{stamp}.jsonl"
            captured = datetime.strptime(stamp, "%Y%m%dT%H%M").replace(tzinfo=UTC)
            for line_no, item in enumerate(items, start=1):
                ad, phone = (item, None) if isinstance(item, str) else item
                site_, ad_id, posted, location, default_phone = ADS[ad]
                key = phone or default_phone
                rows.append(
                    {
                        "site": site_,
                        "ad_id": ad_id,
                        "captured_at": captured,
                        "posted_at": ts(posted) if posted else None,
                        "location_raw": location,
                        "phone_key": key,
                        "phone_status": "ok" if key else "missing",
                        "stated_age": 25,
                        "category": "escort",
                        "advertiser_gender": "woman",
                        "week_start": week,
                        "snapshot_file": name,
                        "line_no": line_no,
                    }
                )
            quarantined = [q for q in QUARANTINED.get(week, []) if q[1] == name]
            files.append(
                {
                    "site": site,
                    "snapshot_file": name,
                    "captured_at": captured,
                    "rows_read": len(items) + len(quarantined),
                    "rows_ok": len(items),
                    "rows_quarantined": len(quarantined),
                    "week_start": week,
                    "lines_in": len(items) + len(quarantined),
                    "blank_lines": 0,
                    "status": "complete",
                    "capture_time_from": "name",
                }
            )
        quarantine = [
            {
                "source": "ad_snapshots",
                "site": site,
                "file": file,
                "position": pos,
                "reason": reason,
                "detail": "line is not valid JSON",
                "week_start": week,
            }
            for site, file, pos, reason in QUARANTINED.get(week, [])
        ]
        write_parquet_atomic(
            typed_frame(rows, snapshots.ROW_SCHEMA), raw / "ad_snapshots" / part / "part-0.parquet"
        )
        write_parquet_atomic(
            typed_frame(files, snapshots.FILE_SCHEMA), raw / "snapshot_files" / part / "part-0.parquet"
        )
        write_parquet_atomic(
            quarantine_frame(quarantine),
            raw / "quarantine" / "ad_snapshots" / part / "part-0.parquet",
        )


VERDICTS = [
    # (offence date, age, home, purchase)
    ("2023-03-01", 30, "0580", "0580"),
    ("2023-04-01", 40, "0580", "0581"),
    ("2023-05-01", 50, "0581", "0581"),
    ("2023-06-01", 25, "0680", "0580"),  # home outside the county
    ("2024-01-10", 37, None, "0580"),  # home unknown
    ("2024-02-10", 19, "0580", "0580"),
]


def _write_verdicts(raw: Path) -> None:
    rows = [
        {
            "case_key": f"case{i}",
            "court": "Linköpings tingsrätt",
            "decision_type": "summary_order",
            "decision_date": date.fromisoformat(offence).replace(day=28),
            "offence_date": date.fromisoformat(offence),
            "buyer_age": age,
            "age_source": "age",
            "home_municipality_code": home,
            "purchase_municipality_code": purchase,
            "contact_channel": "ad_site",
            "sanction": "dagsböter",
            "completed": True,
            "source_file": "register.csv",
            "source_row": i + 2,
        }
        for i, (offence, age, home, purchase) in enumerate(VERDICTS)
    ]
    write_parquet_atomic(typed_frame(rows, verdicts.ROW_SCHEMA), raw / "verdicts" / "verdicts.parquet")
    write_parquet_atomic(
        quarantine_frame([]), raw / "quarantine" / "verdicts" / "verdicts.parquet"
    )


def _write_population(raw: Path) -> None:
    def row(code, year, sex, age, value, table="TAB638"):
        level = "county" if len(code) == 2 else "municipality"
        return {
            "region_code": code,
            "region_level": level,
            "year": year,
            "sex": sex,
            "age_band": age,
            "population": value,
            "value_status": None if value is not None else "..",
            "source_table": table,
            "updated": "2025-02-21T07:00:00Z",
        }

    rows = [
        row("05", 2023, "total", "total", 472298),
        row("0580", 2023, "total", "total", 167404),
        row("0581", 2023, "total", "total", 145163),
        row("05", 2019, "men", "total", 235926),
        row("0580", 2019, "men", "total", 83183),
        # Norrköping has its own age breakdown for men in 2023 (toy values): 10 + 1000 + 20 adults.
        row("0581", 2023, "men", "10", 500),
        row("0581", 2023, "men", "17", 10),
        row("0581", 2023, "men", "18", 1000),
        row("0581", 2023, "men", "100+", 20),
        # 2024 is missing (null, never 0): the marts must fall back to 2023.
        row("0580", 2024, "total", "total", None),
    ]
    write_parquet_atomic(
        typed_frame(rows, pxweb.POPULATION_SCHEMA), raw / "population" / "population.parquet"
    )
    write_parquet_atomic(
        quarantine_frame([]), raw / "quarantine" / "population" / "population.parquet"
    )


def write_raw_fixture(data_dir: Path) -> None:
    """Write the small raw data set under ``data_dir/raw`` in the storage layout of the contract."""
    raw = data_dir / "raw"
    _write_snapshots(raw)
    _write_verdicts(raw)
    _write_population(raw)
    (data_dir / "warehouse").mkdir(parents=True, exist_ok=True)


class DbtRun:
    """Runs the dbt CLI on this project against one data dir, with its own target and log paths."""

    def __init__(self, data_dir: Path, work_dir: Path):
        self.data_dir = data_dir
        self.work_dir = work_dir
        self.timings: list[tuple[str, float]] = []
        # A new target folder starts from the project's saved parse, as dagster-dbt's does.
        saved, own = DBT_PROJECT_DIR / "target" / PARTIAL_PARSE, work_dir / "target" / PARTIAL_PARSE
        if saved.exists() and not own.exists():
            own.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(saved, own)

    def __call__(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """Run ``dbt *args``; ``env`` adds environment variables (e.g. the week window the pipeline sets)."""
        env = {
            **os.environ,
            "LAGESBILD_DATA_DIR": str(self.data_dir.resolve()),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **(env or {}),
        }
        cmd = [
            str(DBT),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(self.work_dir / "target"),
            "--log-path",
            str(self.work_dir / "logs"),
        ]
        started = time.perf_counter()
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        self.timings.append((" ".join(args), time.perf_counter() - started))
        if check and result.returncode != 0:
            raise AssertionError(
                f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
            )
        return result

    def sorted_tables(self, names) -> dict[str, pd.DataFrame]:
        """Each named table, rows sorted by every column: what two builds are compared on."""
        out = {}
        for name in names:
            df = self.query(f"select * from {name}")
            out[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
        return out

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` on the warehouse (read-only, closed after); DATE columns come back as dates."""
        with connect(self.data_dir / "warehouse" / "lagesbild.duckdb", read_only=True) as con:
            df = con.execute(sql).fetchdf()
        for column in df.columns:
            if pd.api.types.is_datetime64_dtype(df[column]) and not isinstance(
                df[column].dtype, pd.DatetimeTZDtype
            ):
                df[column] = df[column].dt.date
        return df


@pytest.fixture(scope="session")
def built_project(tmp_path_factory, dbt_manifest) -> DbtRun:
    """The fixture data set after one full `dbt build` (seeds, models, data and unit tests), once per
    session. Read it; a test that builds again works on a copy (see ``weekly_copy``)."""
    data_dir = tmp_path_factory.mktemp("data")
    write_raw_fixture(data_dir)
    run = DbtRun(data_dir, tmp_path_factory.mktemp("dbt"))
    run("build")
    return run
