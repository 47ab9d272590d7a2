"""The real pipeline over a handful of seeds, on snapshot files simulated with known truth.

The replicate harness (``run.py``) scores the mart's estimator SQL on counts. This scores the whole
chain a county board runs: snapshot files -> ingest (phone normalisation, pseudonymisation, location
mapping) -> dbt (advertiser linkage, the capture counts, mart_hidden_population) -> disclosure
control -> the published Parquet. For each seed it

1. simulates the textbook case (two independent sites, everyone alike, all year) with a known number
   of advertisers per municipality, and writes one capture file per site and week in the format the
   ingest reads (``<site>/<site>_<YYYYMMDDTHHMM>Z.jsonl``, the demo's record fields and phone forms);
2. runs the real pipeline on them as ``make run`` does (``python -m orchestration.run_demo`` with
   ``LAGESBILD_SNAPSHOTS_DIR`` pointing at the simulated files, one ISO year of weekly partitions,
   its own data folder and Dagster instance in a temporary directory);
3. reads mart_hidden_population from the publication's Parquet (what officials receive) and compares
   n1, n2, m2, s_obs, f1 and f2 with the simulator's own counts (they must match exactly: every ad
   has a readable phone number and an exact municipality name), and says whether each published
   interval covers the truth.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lagesbild.calibration.simulate import _weekly_rate
from lagesbild.demo import phones
from lagesbild.demo.county import CAPTURE_SLOT, SITES, STOCKHOLM
from lagesbild.demo.places import municipalities
from lagesbild.demo.summary import write_snapshot_bytes

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "05"
#: One ISO year of weekly partitions: 2024-W01 (Monday 1 January) to 2024-W52 (Monday 23 December).
FIRST_WEEK = dt.date(2024, 1, 1)
WEEKS = 52
#: Advertisers in the year per municipality: Linköping-, Norrköping-, Motala- and Mjölby-sized.
ADVERTISERS = {"0580": 250, "0581": 200, "0583": 40, "0586": 30}
#: Yearly capture probability per site (the textbook scenario of simulate.py).
YEARLY_CAPTURE = (0.5, 0.45)
COUNT_COLUMNS = ("n1", "n2", "m2", "s_obs", "f1", "f2")


@dataclass
class SimulatedYear:
    """The simulator's truth and its own counts, one row per region (municipalities and the county)."""

    truth: pd.DataFrame
    files: int
    lines: int


def _capture_time(week: int, site: str) -> dt.datetime:
    days, hour = CAPTURE_SLOT[site]
    monday = FIRST_WEEK + dt.timedelta(weeks=week)
    day = monday + dt.timedelta(days=days)
    return dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=STOCKHOLM)


def _counts(visible: np.ndarray) -> dict[str, int]:
    """visible: sites x weeks x advertisers (bool) -> n1, n2, m2 and the weekly frequencies."""
    on_a, on_b = visible[0].any(axis=0), visible[1].any(axis=0)
    weeks_seen = (visible[0] | visible[1]).sum(axis=0)
    return {
        "n1": int(on_a.sum()),
        "n2": int(on_b.sum()),
        "m2": int((on_a & on_b).sum()),
        "s_obs": int((weeks_seen > 0).sum()),
        "f1": int((weeks_seen == 1).sum()),
        "f2": int((weeks_seen == 2).sum()),
    }


def simulate_snapshots(out_dir: Path, seed: int) -> SimulatedYear:
    """Write one year of capture files under ``out_dir`` (``<site>/...jsonl``); return the truth.

    Every advertiser has one phone number and lives in one municipality; in each week its ad is up
    on site s with probability p_s, independently of the other site and of other weeks (a fresh ad
    each time, posted that Monday). Ads state the municipality's name and an age of 18 or more.
    """
    rng = np.random.default_rng(seed)
    names = {m.code: m.name for m in municipalities()}
    codes = np.repeat(list(ADVERTISERS), list(ADVERTISERS.values()))
    n = len(codes)
    numbers = phones.draw_numbers(rng, n)
    rates = [_weekly_rate(p, WEEKS) for p in YEARLY_CAPTURE]
    visible = np.stack([rng.random((WEEKS, n)) < rate for rate in rates])  # site x week x advertiser
    ages = rng.integers(20, 45, size=n)
    next_id = {SITES[0]: 300_000, SITES[1]: 6_000_000}
    files = lines = 0
    for week in range(WEEKS):
        monday = FIRST_WEEK + dt.timedelta(weeks=week)
        for s, site in enumerate(SITES):
            captured = _capture_time(week, site)
            records = []
            for i in np.flatnonzero(visible[s, week]):
                next_id[site] += 1
                posted = dt.datetime(monday.year, monday.month, monday.day, 8, tzinfo=STOCKHOLM)
                form = phones.random_form(rng, lookalike_share=0.0)
                records.append(
                    {
                        "site": site,
                        "ad_id": f"A{next_id[site]:07d}" if s == 0 else str(next_id[site]),
                        "captured_at": captured.isoformat(timespec="seconds"),
                        "posted_at": posted.isoformat(timespec="seconds"),
                        "location": names[str(codes[i])],
                        "phone": phones.render(numbers[i], *form),
                        "stated_age": int(ages[i]),
                        "category": "eskort",
                        "advertiser_gender": "kvinna",
                    }
                )
            name = f"{site}_{captured.astimezone(dt.UTC):%Y%m%dT%H%M}Z.jsonl"
            payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            write_snapshot_bytes(out_dir / site / name, payload.encode("utf-8"))
            files += 1
            lines += len(records)
    rows = []
    for code, n_true in ADVERTISERS.items():
        mask = codes == code
        rows.append({"region_code": code, "n_true": n_true, **_counts(visible[:, :, mask])})
    rows.append({"region_code": COUNTY, "n_true": n, **_counts(visible)})
    return SimulatedYear(pd.DataFrame(rows), files, lines)


def run_pipeline(work: Path, snapshots: Path, timeout: float = 900) -> tuple[Path, float, str]:
    """The real pipeline (``python -m orchestration.run_demo``) over the simulated year in ``work``.

    Returns the publication folder, the seconds it took and the command's output.
    """
    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    data = work / "data"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LAGESBILD_DATA_DIR": str(data),
        "LAGESBILD_SNAPSHOTS_DIR": str(snapshots),
        "LAGESBILD_SOURCE_MODE": "demo",
        "LAGESBILD_COUNTY": COUNTY,
        "LAGESBILD_FIRST_WEEK": FIRST_WEEK.isoformat(),
        "LAGESBILD_LAST_WEEK": (FIRST_WEEK + dt.timedelta(weeks=WEEKS - 1)).isoformat(),
    }
    env.pop("LAGESBILD_SNAPSHOTS_URL", None)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.run_demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"the pipeline failed (exit {result.returncode}):\n{output[-3000:]}")
    latest = (data / "publications" / "LATEST").read_text(encoding="utf-8").strip()
    return data / "publications" / latest, seconds, output


def read_published(publication: Path) -> pd.DataFrame:
    """mart_hidden_population as published (after disclosure control): the county's file and each
    municipality's own file (``municipalities/<code>/``), one frame."""
    paths = [publication / "county" / "mart_hidden_population.parquet"]
    paths += sorted((publication / "municipalities").glob("*/mart_hidden_population.parquet"))
    frames = [pd.read_parquet(p) for p in paths if p.exists()]
    if not frames:
        raise FileNotFoundError(f"no mart_hidden_population.parquet in {publication}")
    keys = ["region_code", "year", "site_a", "site_b"]
    return pd.concat(frames, ignore_index=True).drop_duplicates(subset=keys)


def read_warehouse(data_dir: Path) -> pd.DataFrame:
    """mart_hidden_population in the run's warehouse (before disclosure control: every count)."""
    from lagesbild.warehouse import connect

    with connect(data_dir / "warehouse" / "lagesbild.duckdb", read_only=True) as con:
        return con.execute("select * from main.mart_hidden_population").df()


ESTIMATE_COLUMNS = ("chapman_n", "ci_low", "ci_high", "estimate_status", "chao2_n", "chao2_ci_low",
                    "chao2_ci_high", "chao2_status", "model_version")


def _one(frame: pd.DataFrame, region: str, year: int) -> pd.Series | None:
    rows = frame[(frame["region_code"] == region) & (frame["year"] == year)]
    return None if rows.empty else rows.iloc[0]  # the simulation has one site pair


def _value(row: pd.Series | None, col: str):
    if row is None or col not in row.index:
        return None
    value = row[col]
    return None if pd.isna(value) else value


def compare(
    truth: pd.DataFrame,
    published: pd.DataFrame,
    warehouse: pd.DataFrame,
    year: int = FIRST_WEEK.year,
) -> pd.DataFrame:
    """One row per simulated region: truth, the simulator's counts, the warehouse's and the published.

    ``warehouse_match``: the warehouse's n1, n2, m2, s_obs, f1, f2 equal the simulator's (they must).
    ``published_match``: every count the publication shows equals the simulator's; ``suppressed``
    lists what disclosure control blanked. Estimates and coverage are the published ones; where the
    publication suppressed an estimate they are the warehouse's, and ``from_warehouse`` says so.
    """
    out = []
    for row in truth.itertuples(index=False):
        pub = _one(published, row.region_code, year)
        wh = _one(warehouse, row.region_code, year)
        rec = {"region_code": row.region_code, "n_true": row.n_true}
        suppressed = []
        for col in COUNT_COLUMNS:
            rec[f"sim_{col}"] = getattr(row, col)
            rec[f"wh_{col}"] = None if _value(wh, col) is None else int(_value(wh, col))
            rec[col] = None if _value(pub, col) is None else int(_value(pub, col))
            if rec[col] is None:
                suppressed.append(col)
        rec["warehouse_match"] = all(rec[f"wh_{c}"] == rec[f"sim_{c}"] for c in COUNT_COLUMNS)
        rec["published_match"] = pub is not None and all(
            rec[c] == rec[f"sim_{c}"] for c in COUNT_COLUMNS if rec[c] is not None
        )
        rec["suppressed"] = ",".join(suppressed)
        for est, n_col, lo, hi in (
            ("chapman", "chapman_n", "ci_low", "ci_high"),
            ("chao2", "chao2_n", "chao2_ci_low", "chao2_ci_high"),
        ):
            source = pub if _value(pub, n_col) is not None else wh
            rec[f"{est}_from_warehouse"] = source is wh and _value(wh, n_col) is not None
            for col in (n_col, lo, hi):
                rec[col] = _value(source, col)
            rec[f"{est}_covers"] = (
                None if rec[lo] is None else bool(float(rec[lo]) <= row.n_true <= float(rec[hi]))
            )
        for col in ("estimate_status", "chao2_status", "model_version"):
            rec[col] = _value(pub, col)
        out.append(rec)
    return pd.DataFrame(out)


def run_seeds(seeds: list[int], keep: Path | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Simulate, run the pipeline and compare, for each seed; prints as it goes.

    Returns the comparison of every seed that ran and one line per seed whose pipeline failed (the
    failed run's data folder is kept and named).
    """
    frames, errors = [], []
    for seed in seeds:
        work = Path(tempfile.mkdtemp(prefix=f"lagesbild-calibrate-{seed}-", dir=keep))
        failed = False
        try:
            sim = simulate_snapshots(work / "snapshots", seed)
            try:
                publication, seconds, _ = run_pipeline(work, work / "snapshots")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failed = True
                print(f"seed {seed}: {exc}\n  (its folder is kept: {work})", flush=True)
                errors.append(f"seed {seed}: the pipeline failed on the simulated year (folder {work})")
                continue
            warehouse = read_warehouse(work / "data")
            table = compare(sim.truth, read_published(publication), warehouse).assign(
                seed=seed, seconds=seconds
            )
            print(
                f"seed {seed}: {sim.files} snapshot files, {sim.lines} ad lines; pipeline "
                f"{seconds:.0f} s; publication {publication.name}"
            )
            print(format_table(table), flush=True)
            frames.append(table)
        finally:
            if keep is None and not failed:
                shutil.rmtree(work, ignore_errors=True)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), errors


def format_table(table: pd.DataFrame) -> str:
    def interval(r, est, n, lo, hi):
        if r[n] is None or pd.isna(r[n]):
            return "—"
        mark = " (w)" if r[f"{est}_from_warehouse"] else ""
        return f"{r[n]:.1f} [{r[lo]:.1f}, {r[hi]:.1f}]{mark}"

    def covers(value):
        return "—" if value is None or pd.isna(value) else ("yes" if value else "NO")

    def counts(r, cols):
        shown = "/".join("s" if r[c] is None or pd.isna(r[c]) else str(int(r[c])) for c in cols)
        return f"{shown} ({'/'.join(str(r[f'sim_{c}']) for c in cols)})"

    rows = []
    for _, r in table.iterrows():
        rows.append(
            {
                "region": r["region_code"],
                "truth": r["n_true"],
                "n1/n2/m2 pub (sim)": counts(r, ("n1", "n2", "m2")),
                "s_obs/f1/f2 pub (sim)": counts(r, ("s_obs", "f1", "f2")),
                "match wh/pub": f"{'yes' if r['warehouse_match'] else 'NO'}/"
                f"{'yes' if r['published_match'] else 'NO'}",
                "Chapman N [95 %]": interval(r, "chapman", "chapman_n", "ci_low", "ci_high"),
                "covers": covers(r["chapman_covers"]),
                "Chao2 N [95 %]": interval(r, "chao2", "chao2_n", "chao2_ci_low", "chao2_ci_high"),
                "covers ": covers(r["chao2_covers"]),
                "published status": f"{r['estimate_status']} / {r['chao2_status']}",
            }
        )
    return (
        pd.DataFrame(rows).to_string(index=False)
        + "\n  s = suppressed in the publication (disclosure control); (w) = estimate suppressed in the "
        "publication, shown from the warehouse"
    )


def failures(table: pd.DataFrame) -> list[str]:
    """Counts that disagree with the simulator's (a pipeline bug: they must match exactly)."""
    out = []
    for r in table.itertuples():
        if not r.warehouse_match:
            out.append(f"seed {r.seed} region {r.region_code}: warehouse counts differ from the simulator's")
        if not r.published_match:
            out.append(f"seed {r.seed} region {r.region_code}: published counts differ from the simulator's")
    return out
