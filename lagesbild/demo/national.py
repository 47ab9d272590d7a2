"""National-scale synthetic inputs for the benchmark: 290 municipalities, two sites, weekly captures.

Same contract and file layout as the county demo, at any size (10 million lines is the benchmark's
reference). Written for speed and bounded memory:

* the simulation keeps only per-advertiser state (one slot per site); each week's captures are
  built, written and dropped, so the history never sits in memory;
* everything per line is numpy/pyarrow vector work: location texts and phone forms are drawn as
  indices into small vocabularies, and each capture's JSON Lines are assembled by one
  ``binary_join_element_wise`` call whose data buffer *is* the file's bytes.

Mess is lighter than in the county demo (exact duplicate lines, unparseable and missing phones,
empty and unknown locations); there are no malformed lines and no under-18 ads at this scale.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild.demo.places import MISSPELLINGS, UNKNOWN, fold, localities, municipalities
from lagesbild.demo.summary import DemoSummary, write_snapshot_bytes
from lagesbild.demo.verdicts import VerdictPlan, build_rows, write_csv, write_xlsx

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SITES = ("annonsportal-a", "annonsportal-b")
LAST_ISO_YEAR = 2025
CAPTURE_SLOT = {0: (2, 13), 1: (3, 10)}  # site index -> (days after Monday, local hour)
SITE_MASKS = np.array([[True, False], [False, True], [True, True]])
SITE_MASK_P = np.array([0.47, 0.23, 0.30])
ROWS_PER_ADVERTISER_WEEK = float(SITE_MASKS.sum(axis=1) @ SITE_MASK_P)
STRETCH_LENGTHS = np.arange(1, 9)
STRETCH_P = np.array([0.34, 0.25, 0.15, 0.10, 0.07, 0.04, 0.03, 0.02])
RETURNING_SHARE = 0.22
REPOST_P = 0.12
DUPLICATE_P = 0.001
UNPARSEABLE_P = 0.005
MISSING_PHONE_P = 0.003
MISSING_AGE_P = 0.04
UNKNOWN_LOCATION_P = 0.015
EMPTY_LOCATION_P = 0.005
VERDICTS_PER_COUNTY_YEAR = 45
CATEGORIES = np.array(['"eskort"', '"massage"', '"dominans"'])
CATEGORY_P = np.array([0.6, 0.3, 0.1])
GENDERS = np.array(['"kvinna"', '"transperson"', '"man"'])
GENDER_P = np.array([0.85, 0.08, 0.07])
MOBILE_PREFIXES = np.array([70, 72, 73, 76, 79])
#: Known big-city sizes (rounded 2024 figures) pin the synthetic population's head; the rest is lognormal.
BIG_CITIES = {
    "0180": 988_000,
    "1480": 604_000,
    "1280": 362_000,
    "0380": 247_000,
    "0580": 167_000,
    "1880": 159_000,
    "0780": 97_000,
    "0680": 146_000,
    "2480": 132_000,
    "0581": 146_000,
}


STATE_FIELDS = (
    "home",
    "sites",
    "phone",
    "age",
    "category",
    "gender",
    "active_until",
    "ad_id",
    "posted",
    "location",
    "phone_form",
    "stated_age",
)
#: Advertisers inactive this long can no longer return and are dropped from the state (bounded memory).
FORGET_AFTER_WEEKS = 52


@dataclass
class _Advertisers:
    """Per-advertiser state, grown in chunks: who they are and the ad each site currently shows."""

    home: np.ndarray
    sites: np.ndarray  # (n, 2) bool
    phone: np.ndarray  # int64 national number without the leading 0, e.g. 701234567
    age: np.ndarray
    category: np.ndarray
    gender: np.ndarray
    active_until: np.ndarray  # first week no longer active
    ad_id: np.ndarray  # (n, 2) int64, -1 = none
    posted: np.ndarray  # (n, 2) int64 epoch seconds
    location: np.ndarray  # (n, 2) int32 vocabulary index
    phone_form: np.ndarray  # (n, 2) int8
    stated_age: np.ndarray  # (n, 2) int16, -1 = not stated
    size: int = 0


def iso_weeks(years: int) -> tuple[dt.date, int]:
    """First Monday and number of weeks of the last `years` ISO years up to 2025."""
    first = dt.date.fromisocalendar(LAST_ISO_YEAR - years + 1, 1, 1)
    last = dt.date.fromisocalendar(LAST_ISO_YEAR, 52, 1)
    return first, (last - first).days // 7 + 1


class NationalGenerator:
    def __init__(
        self, out_dir: Path, seed: int, target_rows: int, years: int, gzip: bool, weeks: int | None = None
    ):
        if target_rows < 1000 or years < 1:
            raise ValueError(f"target_rows must be >= 1000 and years >= 1 (got {target_rows}, {years})")
        self.out_dir, self.seed, self.gzip = Path(out_dir), seed, gzip
        self.rng = np.random.default_rng(seed)
        self.first_monday, self.weeks = iso_weeks(years)
        if weeks is not None:  # captures of the last `weeks` weeks only (population and verdicts: all years)
            if not 1 <= weeks <= self.weeks:
                raise ValueError(f"weeks must be 1..{self.weeks} for {years} year(s) (got {weeks})")
            self.first_monday += dt.timedelta(weeks=self.weeks - weeks)
            self.weeks = weeks
        self.years = tuple(range(LAST_ISO_YEAR - years + 1, LAST_ISO_YEAR + 1))
        self.munis = municipalities()
        self.codes = np.array([m.code for m in self.munis])
        self.population = self._synthetic_population()
        weight = (
            self.population.astype(float) ** 1.15
        )  # ads concentrate in the cities a little more than people
        self.home_p = weight / weight.sum()
        self.vocab, self.vocab_start, self.vocab_len = self._location_vocabulary()
        self.active_target = target_rows / self.weeks / ROWS_PER_ADVERTISER_WEEK
        self.next_ad_id = np.array([1_000_000, 50_000_000], dtype=np.int64)
        self.dst = _dst_table(self.years[0] - 1, LAST_ISO_YEAR + 1)
        self.state = _empty_state(1024)
        self.serial = 0

    # --- reference ------------------------------------------------------------------------------------

    def _synthetic_population(self) -> np.ndarray:
        sizes = np.exp(self.rng.normal(np.log(16_000), 0.85, size=len(self.codes))).clip(2_400, 120_000)
        for i, code in enumerate(self.codes):
            sizes[i] = BIG_CITIES.get(code, sizes[i])
        return np.rint(sizes).astype(np.int64)

    def _location_vocabulary(self) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """JSON-quoted location texts, grouped per municipality, plus the unknown ones at the end."""
        gazetteer = localities()
        texts: list[str] = []
        start, length = np.zeros(len(self.codes), np.int64), np.zeros(len(self.codes), np.int64)
        for i, muni in enumerate(self.munis):
            names = [muni.name, muni.name, muni.name, fold(muni.name), muni.name.lower()]
            names += list(MISSPELLINGS.get(muni.name, ()))[:1]
            names += [place for place, _ in gazetteer.get(muni.code, [])][:6]
            start[i], length[i] = len(texts), len(names)
            texts += names
        self.unknown_start = len(texts)
        texts += list(UNKNOWN) + [""]
        return pa.array([json.dumps(t, ensure_ascii=False) for t in texts]), start, length

    # --- simulation -----------------------------------------------------------------------------------

    def _grow(self, extra: int) -> None:
        s = self.state
        if s.size + extra <= len(s.home):
            return
        bigger = _empty_state(max(2 * len(s.home), s.size + extra))
        for name in STATE_FIELDS:
            getattr(bigger, name)[: s.size] = getattr(s, name)[: s.size]
        bigger.size = s.size
        self.state = bigger

    def _start_stretches(self, week: int) -> None:
        s, rng = self.state, self.rng
        active = int((s.active_until[: s.size] > week).sum())
        wanted = max(0, round(self.active_target * (1 + rng.normal(0, 0.03))) - active)
        lengths = rng.choice(STRETCH_LENGTHS, p=STRETCH_P, size=wanted)
        returning = rng.random(wanted) < RETURNING_SHARE if s.size else np.zeros(wanted, bool)
        # Returning advertisers: a random earlier advertiser, if not active now (else a new one).
        picks = rng.integers(0, max(s.size, 1), size=wanted)
        reuse = returning & (s.active_until[picks] <= week) if s.size else returning
        picks = np.unique(picks[reuse])
        s.active_until[picks] = week + lengths[: len(picks)]
        s.ad_id[picks] = -1
        self._new_advertisers(week, lengths[len(picks) :])

    def _new_advertisers(self, week: int, lengths: np.ndarray) -> None:
        count = len(lengths)
        self._grow(count)
        s, rng = self.state, self.rng
        new = slice(s.size, s.size + count)
        index = np.arange(self.serial, self.serial + count, dtype=np.int64)  # never reused: distinct phones
        self.serial += count
        s.home[new] = rng.choice(len(self.codes), p=self.home_p, size=count)
        s.sites[new] = SITE_MASKS[rng.choice(3, p=SITE_MASK_P, size=count)]
        # A bijection of the advertiser index onto 5 x 9M subscriber numbers: distinct phones, no lookup.
        subscriber = (index // 5 * 2_750_113 + self.seed * 7919) % 9_000_000 + 1_000_000
        s.phone[new] = MOBILE_PREFIXES[index % 5] * 10_000_000 + subscriber
        s.age[new] = np.minimum(45, 18 + rng.gamma(2.2, 4.0, size=count)).astype(np.int16)
        s.category[new] = rng.choice(3, p=CATEGORY_P, size=count)
        s.gender[new] = rng.choice(3, p=GENDER_P, size=count)
        s.active_until[new] = week + lengths
        s.ad_id[new] = -1
        s.size += count

    def _forget(self, week: int) -> None:
        """Drop advertisers gone for a year: state stays proportional to a year of advertisers, not the history."""
        s = self.state
        keep = np.flatnonzero(s.active_until[: s.size] > week - FORGET_AFTER_WEEKS)
        for name in STATE_FIELDS:
            array = getattr(s, name)
            array[: len(keep)] = array[keep]
        s.size = len(keep)

    def _refresh_ads(self, week: int, site: int, rows: np.ndarray, capture: int) -> None:
        """New ads for advertisers starting on this site, or reposting, posted before the capture."""
        s, rng = self.state, self.rng
        renew = rows[(s.ad_id[rows, site] < 0) | (rng.random(len(rows)) < REPOST_P)]
        count = len(renew)
        monday = self._monday_epoch(week) + 7 * 3600
        ids = self.next_ad_id[site] + np.cumsum(rng.integers(1, 4, size=count))
        s.ad_id[renew, site] = ids
        if count:
            self.next_ad_id[site] = ids[-1] + 1
        s.posted[renew, site] = monday + (rng.random(count) * max(3600, capture - monday - 1800)).astype(
            np.int64
        )
        home = s.home[renew]
        roll = rng.random(count)
        location = self.vocab_start[home] + (rng.random(count) * self.vocab_len[home]).astype(np.int64)
        unknown = self.unknown_start + rng.integers(0, len(UNKNOWN), size=count)
        location = np.where(roll < UNKNOWN_LOCATION_P, unknown, location)
        location = np.where(roll > 1 - EMPTY_LOCATION_P, len(self.vocab) - 1, location)
        s.location[renew, site] = location
        form_roll = rng.random(count)
        form = rng.integers(0, 5, size=count)
        form = np.where(form_roll < UNPARSEABLE_P, 5, form)
        form = np.where(form_roll > 1 - MISSING_PHONE_P, 6, form)
        s.phone_form[renew, site] = form
        # The age an ad states stays with the ad; it may differ by a year from the advertiser's other ads.
        age = np.clip(
            s.age[renew] + rng.choice(np.array([-1, 0, 0, 0, 1], dtype=np.int16), size=count), 18, 45
        )
        s.stated_age[renew, site] = np.where(rng.random(count) < MISSING_AGE_P, -1, age)

    def _monday_epoch(self, week: int) -> int:
        monday = self.first_monday + dt.timedelta(weeks=week)
        return int(dt.datetime(monday.year, monday.month, monday.day, tzinfo=STOCKHOLM).timestamp())

    def _capture(self, week: int, site: int) -> dt.datetime:
        days, hour = CAPTURE_SLOT[site]
        day = self.first_monday + dt.timedelta(weeks=week, days=days)
        minute = int(self.rng.integers(0, 150))
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM) + dt.timedelta(
            minutes=minute
        )

    # --- writing --------------------------------------------------------------------------------------

    def _lines(self, site: int, rows: np.ndarray, captured: dt.datetime) -> tuple[bytes, int]:
        s, rng = self.state, self.rng
        order = np.argsort(-s.posted[rows, site], kind="stable")  # newest first, as sites list them
        rows = rows[order]
        duplicates = np.flatnonzero(rng.random(len(rows)) < DUPLICATE_P)
        rows = np.insert(rows, duplicates + 1, rows[duplicates])
        stated = s.stated_age[rows, site]
        age_text = pc.if_else(pa.array(stated < 0), "null", pc.cast(pa.array(stated), pa.string()))
        parts = [
            f'{{"site": "{SITES[site]}", "ad_id": "',
            pc.cast(pa.array(s.ad_id[rows, site]), pa.string()),
            f'", "captured_at": "{captured.isoformat(timespec="seconds")}", "posted_at": "',
            self._local_times(s.posted[rows, site]),
            '", "location": ',
            self.vocab.take(pa.array(s.location[rows, site])),
            ', "phone": ',
            _phones(s.phone[rows], s.phone_form[rows, site]),
            ', "stated_age": ',
            age_text,
            ', "category": ',
            pa.array(CATEGORIES[s.category[rows]]),
            ', "advertiser_gender": ',
            pa.array(GENDERS[s.gender[rows]]),
            "}\n",
        ]
        lines = pc.binary_join_element_wise(*parts, "")
        return _concatenated(lines), len(rows)

    def _local_times(self, epoch: np.ndarray) -> pa.Array:
        """ISO 8601 with the Stockholm offset (+01:00 / +02:00), vectorised over a DST table."""
        summer = np.zeros(len(epoch), dtype=bool)
        for start, end in self.dst:
            summer |= (epoch >= start) & (epoch < end)
        local = (epoch + np.where(summer, 7200, 3600)).astype("datetime64[s]")
        text = pa.array(np.datetime_as_string(local, unit="s"))  # ~10x faster than pc.strftime here
        return pc.binary_join_element_wise(text, pc.if_else(pa.array(summer), "+02:00", "+01:00"), "")

    def run(self) -> DemoSummary:
        started = time.perf_counter()
        summary = DemoSummary(out_dir=self.out_dir)
        for old in (self.out_dir / "snapshots").glob("*/*.jsonl*"):
            old.unlink()
        for week in range(self.weeks):
            self._start_stretches(week)
            s = self.state
            active = np.flatnonzero(s.active_until[: s.size] > week)
            for site in (0, 1):
                rows = active[s.sites[active, site]]
                captured = self._capture(week, site)
                self._refresh_ads(week, site, rows, int(captured.timestamp()))
                payload, count = self._lines(site, rows, captured)
                name = f"{SITES[site]}_{captured.astimezone(dt.UTC):%Y%m%dT%H%M}Z.jsonl" + (
                    ".gz" if self.gzip else ""
                )
                nbytes = write_snapshot_bytes(
                    self.out_dir / "snapshots" / SITES[site] / name, payload, compresslevel=1
                )
                summary.add_snapshot(SITES[site], count, nbytes)
            ended = s.active_until[: s.size] == week + 1
            s.ad_id[: s.size][ended] = -1  # a stretch's ads end with it
            if week % 13 == 12:
                self._forget(week)
        summary.seconds = time.perf_counter() - started
        self._write_population(summary)
        self._write_verdicts(summary)
        return summary

    def _write_population(self, summary: DemoSummary) -> None:
        path = self.out_dir / "population" / "population_synthetic.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        source = "synthetic, lagesbild national bench generator"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["municipality_code", "year", "sex", "age_group", "population", "source"])
            # County rows ("05") and the country ("00") as Statistics Sweden publishes them (here: sums of
            # the synthetic municipalities), so county and national marts have a population too.
            sums: dict[tuple[str, int, str], int] = {}
            for muni, base in zip(self.munis, self.population, strict=True):
                for offset, year in enumerate(range(self.years[0] - 1, LAST_ISO_YEAR + 1)):
                    total = int(round(base * (1.008 ** (offset - (LAST_ISO_YEAR - self.years[0] + 1)))))
                    men = int(round(total * 0.503))
                    for sex, value in (("men", men), ("women", total - men), ("total", total)):
                        writer.writerow([muni.code, year, sex, "total", value, source])
                        for region in (muni.county_code, "00"):
                            sums[(region, year, sex)] = sums.get((region, year, sex), 0) + value
            for (region, year, sex), value in sorted(sums.items()):
                writer.writerow([region, year, sex, "total", value, source])
        summary.add_file(path)

    def _write_verdicts(self, summary: DemoSummary) -> None:
        names = {m.code: m.name for m in self.munis}
        seat = _county_seats(self.munis)
        weight = self.population.astype(float) ** 1.2
        counties = len({m.county_code for m in self.munis})
        plan = VerdictPlan(
            years=self.years,
            per_year=VERDICTS_PER_COUNTY_YEAR * counties,
            home_codes=tuple(self.codes),
            home_weights=tuple(self.population / self.population.sum()),
            purchase_codes=tuple(self.codes),
            purchase_weights=tuple(weight / weight.sum()),
            outside_codes=("0180",),
            outside_share=0.0,
            same_municipality_share=0.70,
            court_seat={m.code: seat[m.county_code] for m in self.munis},
        )
        rows, _ = build_rows(self.rng, plan, names)
        write_csv(rows, self.out_dir / "verdicts_csv" / "register.csv")
        write_xlsx(rows, self.out_dir / "verdicts" / "register.xlsx", names)
        summary.add_file(self.out_dir / "verdicts_csv" / "register.csv")
        summary.add_file(self.out_dir / "verdicts" / "register.xlsx")
        summary.verdict_rows = len(rows)


def _empty_state(capacity: int) -> _Advertisers:
    return _Advertisers(
        home=np.zeros(capacity, np.int32),
        sites=np.zeros((capacity, 2), bool),
        phone=np.zeros(capacity, np.int64),
        age=np.zeros(capacity, np.int16),
        category=np.zeros(capacity, np.int8),
        gender=np.zeros(capacity, np.int8),
        active_until=np.full(capacity, -1, np.int32),
        ad_id=np.full((capacity, 2), -1, np.int64),
        posted=np.zeros((capacity, 2), np.int64),
        location=np.zeros((capacity, 2), np.int32),
        phone_form=np.zeros((capacity, 2), np.int8),
        stated_age=np.full((capacity, 2), -1, np.int16),
    )


def _dst_table(first_year: int, last_year: int) -> list[tuple[int, int]]:
    """(start, end) epoch seconds of Swedish summer time per year: last Sunday of March/October, 01:00 UTC."""
    table = []
    for year in range(first_year, last_year + 1):
        march = max(d for d in (dt.date(year, 3, day) for day in range(25, 32)) if d.weekday() == 6)
        october = max(d for d in (dt.date(year, 10, day) for day in range(25, 32)) if d.weekday() == 6)
        start = dt.datetime(march.year, 3, march.day, 1, tzinfo=dt.UTC).timestamp()
        end = dt.datetime(october.year, 10, october.day, 1, tzinfo=dt.UTC).timestamp()
        table.append((int(start), int(end)))
    return table


def _phones(number: np.ndarray, form: np.ndarray) -> pa.Array:
    """JSON-quoted written forms of national numbers (701234567 -> "070-123 45 67", ...), 5 = unparseable, 6 = null."""
    digits = pc.cast(pa.array(number), pa.string())  # "701234567"

    def part(a: int, b: int) -> pa.Array:
        return pc.utf8_slice_codeunits(digits, a, b)

    p2, p3, p2b, p2c = part(0, 2), part(2, 5), part(5, 7), part(7, 9)
    join = pc.binary_join_element_wise
    forms = [
        join('"0', p2, "-", p3, " ", p2b, " ", p2c, '"', ""),  # "070-123 45 67"
        join('"+46 ', p2, " ", p3, " ", p2b, " ", p2c, '"', ""),  # "+46 70 123 45 67"
        join('"0', digits, '"', ""),  # "0701234567"
        join('"0', p2, " ", p3, " ", p2b, " ", p2c, '"', ""),  # "070 123 45 67"
        join('"0046', digits, '"', ""),  # "0046701234567"
        pa.array(['"ring mig"'] * len(number), pa.string()),
        pa.array(["null"] * len(number), pa.string()),
    ]
    return pc.choose(pa.array(form), *forms)


def _concatenated(lines: pa.Array) -> bytes:
    """The bytes of all strings back to back: a string array's data buffer between its first and last offset."""
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]] if len(lines) else b""


def _county_seats(munis) -> dict[str, str]:
    """County code -> the municipality hosting its main district court (the xx80 code, else the first)."""
    seats: dict[str, str] = {}
    for m in munis:
        if m.code.endswith("80") or m.county_code not in seats:
            seats[m.county_code] = (
                m.code if m.code.endswith("80") or m.county_code not in seats else seats[m.county_code]
            )
    return seats


def generate_national(
    out_dir: Path,
    seed: int = 2024,
    target_rows: int = 10_000_000,
    years: int = 5,
    gzip: bool = False,
    weeks: int | None = None,
) -> DemoSummary:
    """Write national-scale inputs under `out_dir` (same layout as the county demo); deterministic by seed.

    `target_rows` is met within a few percent; `summary.seconds` covers the snapshot lines only
    (population and verdicts are written after and are small). `weeks`: captures of the last weeks of
    the period only (a small input for tests); population and verdicts still cover every year.
    """
    return NationalGenerator(Path(out_dir), seed, target_rows, years, gzip, weeks).run()
