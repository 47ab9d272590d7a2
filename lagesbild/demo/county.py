"""The county demo: two fictional ad sites, two years of weekly captures, a verdict register.

A small agent simulation, deliberately plain Python (about 2,500 lines of output): advertisers are
persons with one or two phone numbers who are active for stretches of a few weeks on one or both
sites; each capture lists the ads visible at that moment. Calibrated for Östergötland (see
docs/demo.md): about 13 advertisers a week, ~4,300 advertiser-days a year, 82 % of them in Linköping
and Norrköping, per-year site overlap that makes a Chapman estimate meaningful, a little realistic
mess, three ads stating an age under 18 and one touring advertiser (ground_truth.json).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from lagesbild.demo import phones
from lagesbild.demo.places import LocationWriter, fold, localities, municipalities
from lagesbild.demo.summary import DemoSummary, write_snapshot_bytes
from lagesbild.demo.verdicts import VerdictPlan, build_rows, write_csv, write_xlsx
from lagesbild.settings import REFERENCE_DIR

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SITES = ("annonsportal-a", "annonsportal-b")
FIRST_MONDAY = dt.date(2024, 1, 1)  # ISO 2024-W01
WEEKS = 104  # through 2025-W52 (Monday 2025-12-22)
WARMUP_WEEKS = 8  # simulated before 2024 so that week 1 already has long-running ads
#: Capture slot per site: (days after Monday, local hour); minutes vary.
CAPTURE_SLOT = {"annonsportal-a": (2, 13), "annonsportal-b": (3, 10)}

#: Calibration (docs/demo.md). Stretch lengths in weeks and their probabilities (mean ~2.7 weeks).
STRETCH_LENGTHS = np.arange(1, 9)
STRETCH_P = np.array([0.34, 0.25, 0.15, 0.10, 0.07, 0.04, 0.03, 0.02])
ACTIVE_PER_WEEK = 12.35
RETURNING_SHARE = 0.22
SITE_SETS = ((SITES[0],), (SITES[1],), SITES)
SITE_SET_P = (0.47, 0.23, 0.30)
BIG_TWO_SHARE = {"0580": 0.475, "0581": 0.35}
TWO_PHONE_SHARE = 0.15
REPOST_P = 0.12
EXTRA_AD_P = 0.10
DUPLICATE_LINE_P = 0.004
UNPARSEABLE_PHONE_P = 0.006
MISSING_PHONE_P = 0.004
MISSING_AGE_P = 0.04
MALFORMED_FILES = 5
MISSING_AD_ID_LINES = 2
UNDER_18 = ((20, 1, 16, "0581"), (55, 2, 17, "0580"), (88, 3, 17, "0583"))  # (start week, weeks, age, place)
TOURING_WEEKS = (40, 41, 72)
TOURING_PLACES = ("0580", "0581", "0583")

#: Municipalities judged by Norrköpings tingsrätt; the rest of Östergötland goes to Linköpings tingsrätt.
NORRKOPING_COURT_DISTRICT = ("0581", "0582", "0562", "0563")

CATEGORIES = ("eskort", "massage", "dominans")
CATEGORY_P = (0.6, 0.3, 0.1)
GENDERS = ("kvinna", "transperson", "man")
GENDER_P = (0.85, 0.08, 0.07)
TITLES = (
    "Ny i stan",
    "Söt och mysig",
    "Avslappnande massage",
    "Träffas ikväll?",
    "Diskret",
    "Bara några dagar",
    "Välkommen",
    "Naturlig skönhet",
)
TEXTS = ("Hör av dig för mer info.", "Endast sms.", "Finns här denna vecka.", "Seriösa svar.")


@dataclass
class Advertiser:
    numbers: list[str]
    home: str
    sites: tuple[str, ...]
    age: int
    category: str
    gender: str


@dataclass
class Stretch:
    advertiser: Advertiser
    start: int
    length: int
    switch_at: int | None  # week offset from which the second number is used (two-phone advertisers)
    extra_ad: bool
    places: tuple[str, ...] = ()  # fixed places per ad slot (touring / special advertisers)
    stated_age: int | None = None  # fixed stated age (the under-18 ads)
    fresh_each_week: bool = False  # new ads every week (touring)
    ads: dict = field(default_factory=dict)  # (site, slot) -> Ad

    def phone(self, week: int) -> str:
        use_second = self.switch_at is not None and week - self.start >= self.switch_at
        return self.advertiser.numbers[1 if use_second else 0]


@dataclass
class Ad:
    site: str
    ad_id: str
    posted_at: dt.datetime
    location: str
    phone_form: tuple[int, bool] | None  # None: the phone is written as `phone_text`
    phone_text: str | None
    stated_age: int | None
    title: str | None
    text: str | None


def week_monday(week: int) -> dt.date:
    return FIRST_MONDAY + dt.timedelta(weeks=week)


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


class CountyDemo:
    """One seeded simulation run; `run()` writes the files."""

    def __init__(self, out_dir: Path, seed: int, county_code: str):
        self.out_dir = out_dir
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.county_code = county_code
        self.names = {m.code: m.name for m in municipalities()}
        self.county = [m for m in municipalities() if county_code in (m.county_code, "00")]
        if not self.county:
            raise ValueError(f"county code {county_code!r} is not in municipalities_se.csv")
        self.codes = [m.code for m in self.county]
        self.big_two = ("0180", "1480") if county_code == "00" else _big_two(self.codes)
        self.home_p = _home_weights(self.codes, self.big_two, county_code)
        self.locations = LocationWriter(
            self.rng, self.county, localities(county_code=county_code), big_two=self.big_two
        )
        # The special advertisers' places: Östergötland's as calibrated, elsewhere the big two and
        # the next most populous municipality.
        third = (
            "0583"
            if county_code == "05"
            else _most_populous([c for c in self.codes if c not in self.big_two])
        )
        self.under_18 = tuple(
            (start, length, age, {"0580": self.big_two[0], "0581": self.big_two[1]}.get(place, third))
            for start, length, age, place in UNDER_18
        )
        self.touring_places = (self.big_two[0], self.big_two[1], third)
        self.numbers = iter(phones.draw_numbers(self.rng, 4000))
        self.next_id = {
            SITES[0]: int(self.rng.integers(200_000, 300_000)),
            SITES[1]: int(self.rng.integers(5_000_000, 6_000_000)),
        }
        self.captures = {
            (week, site): self._capture_time(week, site)
            for week in range(-WARMUP_WEEKS, WEEKS)
            for site in SITES
        }
        self.past: list[Advertiser] = []
        self.weeks_by_home: dict[str, int] = {}
        self.truth: dict = {"under_18_ads": [], "touring": {}}

    # --- population of advertisers -------------------------------------------------------------------

    def _capture_time(self, week: int, site: str) -> dt.datetime:
        days, hour = CAPTURE_SLOT[site]
        minute = int(self.rng.integers(0, 150))
        return _local(week_monday(week) + dt.timedelta(days=days), hour) + dt.timedelta(minutes=minute)

    def _new_advertiser(self, home: str | None = None, sites: tuple[str, ...] | None = None, two_phones=None):
        two = (self.rng.random() < TWO_PHONE_SHARE) if two_phones is None else two_phones
        return Advertiser(
            numbers=[next(self.numbers) for _ in range(2 if two else 1)],
            home=home or str(self.rng.choice(self.codes, p=self.home_p)),
            sites=sites or SITE_SETS[int(self.rng.choice(3, p=SITE_SET_P))],
            age=int(min(45, 18 + self.rng.gamma(2.2, 4.0))),
            category=str(self.rng.choice(CATEGORIES, p=CATEGORY_P)),
            gender=str(self.rng.choice(GENDERS, p=GENDER_P)),
        )

    def _stretches(self) -> list[Stretch]:
        stretches: list[Stretch] = []
        busy_until: dict[int, int] = {}
        for week in range(-WARMUP_WEEKS, WEEKS):
            # Top up to a noisy target of active advertisers: the weekly count varies like a real market
            # (+-2) but a year's advertiser-days stay near the calibration target for any seed.
            active = sum(1 for s in stretches if s.start <= week < s.start + s.length)
            target = ACTIVE_PER_WEEK + self.rng.normal(0, 1.5)
            for _ in range(max(0, round(target - active))):
                length = int(self.rng.choice(STRETCH_LENGTHS, p=STRETCH_P))
                advertiser = self._pick_advertiser(week, busy_until)
                self.weeks_by_home[advertiser.home] = self.weeks_by_home.get(advertiser.home, 0) + length
                switch = (
                    int(self.rng.integers(1, length))
                    if len(advertiser.numbers) == 2 and length >= 2
                    else None
                )
                stretches.append(
                    Stretch(advertiser, week, length, switch, bool(self.rng.random() < EXTRA_AD_P))
                )
                busy_until[id(advertiser)] = week + length
        return stretches + self._special_stretches()

    def _pick_advertiser(self, week: int, busy_until: dict[int, int]) -> Advertiser:
        if self.past and self.rng.random() < RETURNING_SHARE:
            candidate = self.past[int(self.rng.integers(0, len(self.past)))]
            if busy_until.get(id(candidate), -999) <= week:
                return candidate
        advertiser = self._new_advertiser(home=self._home_for_new())
        self.past.append(advertiser)
        return advertiser

    def _home_for_new(self) -> str:
        """Mostly the municipality furthest below its share of advertiser-weeks so far, sometimes random.

        With only ~200 advertisers a year, pure random homes make the two towns' share wander by
        +-5 points between seeds; steering keeps it near the 82 % target while staying irregular.
        """
        if self.rng.random() < 0.3 or not self.weeks_by_home:
            return str(self.rng.choice(self.codes, p=self.home_p))
        total = sum(self.weeks_by_home.values())
        deficit = [
            self.home_p[i] * total - self.weeks_by_home.get(code, 0) for i, code in enumerate(self.codes)
        ]
        return self.codes[int(np.argmax(deficit))]

    def _special_stretches(self) -> list[Stretch]:
        """The three under-18 ads and the touring advertiser (single phone, one site)."""
        specials = []
        for start, length, age, place in self.under_18:
            advertiser = self._new_advertiser(
                home=place, sites=(SITES[int(self.rng.integers(0, 2))],), two_phones=False
            )
            specials.append(Stretch(advertiser, start, length, None, False, places=(place,), stated_age=age))
        tourer = self._new_advertiser(home=self.touring_places[0], sites=(SITES[0],), two_phones=False)
        for week in TOURING_WEEKS:
            specials.append(
                Stretch(tourer, week, 1, None, False, places=self.touring_places, fresh_each_week=True)
            )
        return specials

    # --- ads ------------------------------------------------------------------------------------------

    def _ad_id(self, site: str) -> str:
        self.next_id[site] += int(self.rng.integers(1, 60))
        number = self.next_id[site]
        return f"A{number:07d}" if site == SITES[0] else str(number)

    def _new_ad(self, stretch: Stretch, site: str, week: int, place: str | None) -> Ad:
        capture = self.captures[(week, site)]
        monday = _local(week_monday(week), 7)
        window = max(60, int((capture - monday).total_seconds() // 60) - 30)
        posted = monday + dt.timedelta(minutes=int(self.rng.integers(0, window)))
        roll = self.rng.random()
        phone_text, form = None, phones.random_form(self.rng)
        if roll < UNPARSEABLE_PHONE_P:
            phone_text, form = str(self.rng.choice(phones.UNPARSEABLE)), None
        elif roll < UNPARSEABLE_PHONE_P + MISSING_PHONE_P:
            form = None
        if stretch.places:  # the special advertisers: exact, mappable places and a readable phone
            location = (
                self.names[place] if self.rng.random() < 0.7 else fold(self.names[place])
            )  # "Norrkoping"
            phone_text, form = None, phones.random_form(self.rng)
        else:
            location = self.locations.write(stretch.advertiser.home)
        if stretch.stated_age is not None:
            age = stretch.stated_age
        elif self.rng.random() < MISSING_AGE_P:
            age = None
        else:
            age = int(np.clip(stretch.advertiser.age + self.rng.choice((-1, 0, 0, 0, 1)), 18, 45))
        return Ad(
            site=site,
            ad_id=self._ad_id(site),
            posted_at=posted,
            location=location,
            phone_form=form,
            phone_text=phone_text,
            stated_age=age,
            title=str(self.rng.choice(TITLES)) if self.rng.random() < 0.7 else None,
            text=str(self.rng.choice(TEXTS)) if self.rng.random() < 0.3 else None,
        )

    def _visible(self, stretches: list[Stretch], week: int) -> dict[str, list[tuple[Ad, Stretch]]]:
        """Advance every active stretch to `week`; return the ads each site shows at its capture."""
        shown: dict[str, list[tuple[Ad, Stretch]]] = {site: [] for site in SITES}
        for stretch in stretches:
            if not stretch.start <= week < stretch.start + stretch.length:
                continue
            first = week == stretch.start
            for site in stretch.advertiser.sites:
                slots = stretch.places or ((None, None) if stretch.extra_ad else (None,))
                for slot, place in enumerate(slots):
                    key = (site, slot)
                    repost = not stretch.places and self.rng.random() < REPOST_P  # special ads stay one ad
                    renew = first or stretch.fresh_each_week or key not in stretch.ads or repost
                    if renew:
                        stretch.ads[key] = self._new_ad(stretch, site, week, place)
                    shown[site].append((stretch.ads[key], stretch))
        return shown

    # --- files ----------------------------------------------------------------------------------------

    def _line(self, ad: Ad, stretch: Stretch, week: int, captured: dt.datetime) -> dict:
        if ad.phone_form is not None:
            phone = phones.render(stretch.phone(week), *ad.phone_form)
        else:
            phone = ad.phone_text
        record = {
            "site": ad.site,
            "ad_id": ad.ad_id,
            "captured_at": captured.isoformat(timespec="seconds"),
            "posted_at": ad.posted_at.isoformat(timespec="seconds"),
            "location": ad.location,
            "phone": phone,
            "stated_age": ad.stated_age,
            "category": stretch.advertiser.category,
            "advertiser_gender": stretch.advertiser.gender,
        }
        if ad.title is not None:
            record["title"] = ad.title
        if ad.text is not None:
            record["text"] = ad.text
        return record

    def run(self) -> DemoSummary:
        started = time.perf_counter()
        summary = DemoSummary(out_dir=self.out_dir)
        stretches = self._stretches()
        malformed_weeks = self.rng.choice(WEEKS, size=MALFORMED_FILES, replace=False)
        malformed_files = {(int(w), SITES[int(self.rng.integers(0, 2))]) for w in malformed_weeks}
        missing_id_files = {
            (int(w), SITES[1]) for w in self.rng.choice(WEEKS, size=MISSING_AD_ID_LINES, replace=False)
        }
        counts = {"duplicate_lines": 0, "malformed_json_lines": 0, "missing_ad_id_lines": 0}
        for week in range(-WARMUP_WEEKS, WEEKS):
            shown = self._visible(stretches, week)
            if week < 0:
                continue
            for site in SITES:
                captured = self.captures[(week, site)]
                entries = sorted(
                    shown[site], key=lambda pair: (pair[0].posted_at, pair[0].ad_id), reverse=True
                )
                records = [self._line(ad, stretch, week, captured) for ad, stretch in entries]
                self._note_truth(entries, week)
                lines = [json.dumps(r, ensure_ascii=False) for r in records]
                lines = self._add_mess(
                    lines, records, (week, site), malformed_files, missing_id_files, counts
                )
                name = f"{site}_{_utc(captured):%Y%m%dT%H%M}Z.jsonl"
                if not _plain_file(week, site):
                    name += ".gz"
                payload = ("\n".join(lines) + "\n").encode("utf-8")
                nbytes = write_snapshot_bytes(self.out_dir / "snapshots" / site / name, payload)
                summary.add_snapshot(site, len(lines), nbytes)
        self._write_verdicts(summary)
        self._write_truth(summary, counts)
        summary.seconds = time.perf_counter() - started
        return summary

    def _add_mess(self, lines, records, key, malformed_files, missing_id_files, counts) -> list[str]:
        out: list[str] = []
        for line in lines:
            out.append(line)
            if self.rng.random() < DUPLICATE_LINE_P:
                out.append(line)  # the capture tool wrote the same ad twice
                counts["duplicate_lines"] += 1
        if key in malformed_files and lines:
            cut = lines[int(self.rng.integers(0, len(lines)))]
            out.insert(int(self.rng.integers(0, len(out) + 1)), cut[: len(cut) // 2])  # a truncated write
            counts["malformed_json_lines"] += 1
        if key in missing_id_files and records:
            orphan = dict(records[0])
            del orphan["ad_id"]
            orphan["location"] = "Linköping"
            out.append(json.dumps(orphan, ensure_ascii=False))
            counts["missing_ad_id_lines"] += 1
        return out

    def _note_truth(self, entries: list[tuple[Ad, Stretch]], week: int) -> None:
        for ad, stretch in entries:
            if stretch.stated_age is not None:
                items = self.truth["under_18_ads"]
                match = next(
                    (item for item in items if item["ad_id"] == ad.ad_id and item["site"] == ad.site), None
                )
                if match is None:
                    match = {
                        "site": ad.site,
                        "ad_id": ad.ad_id,
                        "stated_age": ad.stated_age,
                        "municipality_code": stretch.places[0],
                        "weeks": [],
                    }
                    items.append(match)
                match["weeks"].append(week_monday(week).isoformat())
            elif stretch.fresh_each_week:
                touring = self.truth["touring"]
                touring.setdefault("site", ad.site)
                touring.setdefault("ad_ids", []).append(ad.ad_id)
                weeks = touring.setdefault("weeks", [])
                if week_monday(week).isoformat() not in weeks:
                    weeks.append(week_monday(week).isoformat())
                touring["municipality_codes"] = list(self.touring_places)

    def _write_verdicts(self, summary: DemoSummary) -> None:
        purchase = tuple(self.big_two) + (
            tuple(c for c in ("0583", "0586") if c in self.codes)
            if self.county_code == "05"
            else tuple(_by_population([c for c in self.codes if c not in self.big_two])[:2])
        )
        plan = VerdictPlan(
            years=(2024, 2025),
            per_year=45,
            home_codes=tuple(self.codes),
            home_weights=tuple(_verdict_home_weights(self.codes, self.big_two)),
            purchase_codes=purchase,
            purchase_weights=(0.52, 0.38, 0.05, 0.05)[: len(purchase)],
            outside_codes=tuple(c for c in ("0680", "0180", "0380", "1880") if c not in self.codes),
            court_seat=dict.fromkeys(NORRKOPING_COURT_DISTRICT, "0581") if self.county_code == "05" else {},
        )
        rows, bad = build_rows(self.rng, plan, self.names)
        write_xlsx(rows, self.out_dir / "verdicts" / "register.xlsx", self.names)
        write_csv(rows, self.out_dir / "verdicts_csv" / "register.csv")
        summary.add_file(self.out_dir / "verdicts" / "register.xlsx")
        summary.add_file(self.out_dir / "verdicts_csv" / "register.csv")
        summary.verdict_rows = len(rows)
        self.truth["verdict_bad_rows"] = bad

    def _write_truth(self, summary: DemoSummary, counts: dict) -> None:
        truth = {
            "about": "Ground truth of the synthetic lagesbild demo, for tests. Ad ids only; nothing personal.",
            "seed": self.seed,
            "county_code": self.county_code,
            "weeks": {"first_monday": FIRST_MONDAY.isoformat(), "count": WEEKS},
            "sites": list(SITES),
            **self.truth,
            "quarantinable_lines": counts,
            "calibration_targets": {
                "advertiser_days_per_year": 4300,
                "big_two_share": 0.82,
                "big_two": list(self.big_two),
                "verdicts_per_year": 45,
            },
        }
        path = self.out_dir / "ground_truth.json"
        path.write_text(
            json.dumps(truth, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        summary.add_file(path)


def _plain_file(week: int, site: str) -> bool:
    """A few captures are plain .jsonl so that the reader's both paths run."""
    return (site == SITES[1] and week % 13 == 6) or (site == SITES[0] and week % 29 == 3)


def _big_two(codes: list[str]) -> tuple[str, str]:
    """The county's two main towns: Swedish codes ending 80 and 81 are the county seat and the next city."""
    big = [c for c in codes if c.endswith(("80", "81"))]
    return tuple((big + [c for c in codes if c not in big])[:2])


def _population(county_code: str) -> dict[str, int]:
    """Municipality code -> its latest population: Östergötland's newer figures, else 31 Dec 2019."""
    latest: dict[str, tuple[int, int]] = {}
    prefix = "" if county_code == "00" else county_code
    with (REFERENCE_DIR / "population_by_sex_2019_se.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["municipality_code"].startswith(prefix):
                latest[row["municipality_code"]] = (int(row["year"]), int(row["total"]))
    with (REFERENCE_DIR / "population_ostergotland.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["municipality_code"]
            if (
                row["sex"] == "total"
                and row["age_group"] == "total"
                and len(code) == 4
                and code.startswith(prefix)
            ):
                year, value = int(row["year"]), int(row["population"])
                if code not in latest or latest[code][0] < year:
                    latest[code] = (year, value)
    return {code: value for code, (_, value) in latest.items()}


def _by_population(codes: list[str]) -> list[str]:
    population = _population("00")
    return sorted(codes, key=lambda c: (-population.get(c, 0), c))


def _most_populous(codes: list[str]) -> str:
    return _by_population(codes)[0]


def _home_weights(codes: list[str], big_two: tuple[str, str], county_code: str) -> np.ndarray:
    """82 % in the two main towns, the rest by population (uniform if the county has no figures)."""
    population = _population(county_code)
    rest = [c for c in codes if c not in big_two]
    rest_w = np.array([population.get(c, 1) for c in rest], dtype=float)
    rest_w = rest_w / rest_w.sum() * (1 - sum(BIG_TWO_SHARE.values()))
    shares = dict(zip(big_two, BIG_TWO_SHARE.values(), strict=True)) | dict(zip(rest, rest_w, strict=True))
    weights = np.array([shares[c] for c in codes])
    return weights / weights.sum()


def _verdict_home_weights(codes: list[str], big_two: tuple[str, str]) -> list[float]:
    return [0.45 if c == big_two[0] else 0.33 if c == big_two[1] else 0.22 / (len(codes) - 2) for c in codes]


def generate_demo(out_dir: Path, seed: int = 2024, county_code: str = "05") -> DemoSummary:
    """Write the county demo inputs under `out_dir` (normally ``<data_dir>/demo/inputs``).

    Deterministic: the same seed gives byte-identical files. Existing snapshot files of an earlier run
    are replaced, so a rerun never leaves stale captures behind.
    """
    out_dir = Path(out_dir)
    for old in (out_dir / "snapshots").glob("*/*.jsonl*"):
        old.unlink()
    return CountyDemo(out_dir, seed, county_code).run()
