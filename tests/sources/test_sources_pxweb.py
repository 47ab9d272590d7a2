"""PxWeb v2 client and json-stat2 parser against a fake API that answers like SCB's."""

import itertools
import json

import httpx
import pandas as pd
import pytest

from lagesbild.settings import REFERENCE_DIR
from lagesbild.sources.http import SourceRequestError
from lagesbild.sources.pxweb import (
    PxWebClient,
    build_offline_population,
    parse_jsonstat2,
    read_offline_population,
    split_selection,
)
from lagesbild.sources.reference import municipalities_of_county

BASE = "https://px.test/api/v2"
ORDER = ["Region", "Civilstand", "Alder", "Kon", "ContentsCode", "Tid"]  # the tables' own id order


def fake_value(region, age, sex, year):
    return (
        int(region) * 7
        + (0 if age in ("tot", "TotSA") else int(age.rstrip("+1") or 0)) * 3
        + {"1": 1, "2": 2}.get(sex, 5)
        + int(year)
    )


class FakePxWeb:
    """Answers /config and POST /tables/{id}/data with json-stat2 built from the selection."""

    def __init__(self, max_cells=150_000, faults=(), bom=False, null_cells=()):
        self.max_cells, self.faults, self.bom, self.null_cells = max_cells, list(faults), bom, set(null_cells)
        self.data_calls = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        if request.url.path.endswith("/config"):
            return httpx.Response(
                200,
                json={
                    "apiVersion": "2.0",
                    "appVersion": "2.0.0",
                    "languages": [],
                    "defaultLanguage": "sv",
                    "maxDataCells": self.max_cells,
                    "maxCallsPerTimeWindow": 30,
                    "timeWindow": 10,
                    "license": "CC0",
                },
            )
        table = request.url.path.split("/")[-2]
        assert request.url.params["outputFormat"] == "json-stat2"
        selection = {s["variableCode"]: s["valueCodes"] for s in json.loads(request.content)["selection"]}
        cells = 1
        for codes in selection.values():
            cells *= len(codes)
        if cells > self.max_cells:
            return httpx.Response(403, text="Too many cells")
        self.data_calls.append((table, cells, selection))
        ids = [d for d in ORDER if d in selection]
        values, status = [], {}
        for flat, combo in enumerate(itertools.product(*[selection[d] for d in ids])):
            cell = dict(zip(ids, combo, strict=True))
            if (cell["Region"], cell["Tid"]) in self.null_cells:
                values.append(None)
                status[str(flat)] = ".."
            else:
                values.append(
                    fake_value(cell["Region"], cell.get("Alder", "tot"), cell.get("Kon", "T"), cell["Tid"])
                )
        body = {
            "version": "2.0",
            "class": "dataset",
            "label": table,
            "updated": f"2025-02-21T07:00:00Z-{table}",
            "id": ids,
            "size": [len(selection[d]) for d in ids],
            "dimension": {
                d: {
                    "label": d,
                    "category": {
                        "index": {c: i for i, c in enumerate(selection[d])},
                        "label": {c: c for c in selection[d]},
                    },
                }
                for d in ids
            },
            "value": values,
            **({"status": status} if status else {}),
        }
        raw = json.dumps(body).encode()
        return httpx.Response(
            200,
            content=(b"\xef\xbb\xbf" + raw) if self.bom else raw,
            headers={"content-type": "application/json; charset=UTF-8"},
        )


def client_for(fake, **kw):
    http = httpx.Client(transport=httpx.MockTransport(fake))
    return PxWebClient(BASE, client=http, sleep=lambda s: None, clock=lambda: 0.0, **kw)


def test_config_is_read_from_the_api():
    config = client_for(FakePxWeb(max_cells=1234)).config()
    assert (config.max_calls, config.time_window_s, config.max_cells) == (30, 10.0, 1234)


def test_population_split_across_cell_limit_chunks_is_reassembled():
    county = municipalities_of_county("05")
    regions = ["05", *county["municipality_code"]]
    small, big = FakePxWeb(max_cells=50), FakePxWeb()
    years = [2023, 2024, 2025]
    chunked = client_for(small).fetch_population(regions, years, by_age=False)
    whole = client_for(big).fetch_population(regions, years, by_age=False)
    assert all(cells <= 50 for _, cells, _ in small.data_calls)
    assert len(small.data_calls) > len(big.data_calls)
    key = ["region_code", "year", "sex", "age_band"]
    pd.testing.assert_frame_equal(
        chunked.sort_values(key).reset_index(drop=True)[key + ["population"]],
        whole.sort_values(key).reset_index(drop=True)[key + ["population"]],
    )
    # 14 regions x 3 sexes x 3 years, each exactly once
    assert len(whole) == 14 * 3 * 3 and not whole.duplicated(key).any()
    row = whole[(whole.region_code == "0580") & (whole.year == 2025) & (whole.sex == "men")].iloc[0]
    assert row.population == fake_value("0580", "TotSA", "1", "2025")
    assert row.source_table == "TAB5557" and row.updated == "2025-02-21T07:00:00Z-TAB5557"
    assert set(whole[whole.year <= 2024].source_table) == {"TAB638"}
    assert set(whole.region_level) == {"county", "municipality"}


def test_requests_use_the_real_v2_selection_shape():
    fake = FakePxWeb()
    client_for(fake).fetch_population(["0580", "05"], [2024, 2025], by_age=True)
    tables = {(t, tuple(sorted(sel))) for t, _, sel in fake.data_calls}
    assert ("TAB638", ("Alder", "ContentsCode", "Kon", "Region", "Tid")) in tables
    assert ("TAB638", ("Alder", "ContentsCode", "Region", "Tid")) in tables  # Kon eliminated = total
    assert ("TAB5557", ("Alder", "Civilstand", "ContentsCode", "Kon", "Region", "Tid")) in tables
    new = next(sel for t, _, sel in fake.data_calls if t == "TAB5557")
    assert new["ContentsCode"] == ["000007ME"] and new["Civilstand"] == ["SC"] and "TotSa" in new["Kon"]


def test_429_then_success_and_bom_and_nulls():
    fake = FakePxWeb(
        faults=[httpx.Response(429, headers={"Retry-After": "2"})], bom=True, null_cells={("0580", "2024")}
    )
    frame = client_for(fake).fetch_population(["0580", "0581"], [2024], by_age=False)
    nulls = frame[frame.region_code == "0580"]
    assert nulls.population.isna().all() and set(nulls.value_status) == {".."}
    assert (frame[frame.region_code == "0581"].population > 0).all()


def test_503_storm_exhausting_retries_names_the_url():
    fake = FakePxWeb(faults=[httpx.Response(503)] * 10)
    with pytest.raises(
        SourceRequestError, match=r"px.test/api/v2/config failed after 3 attempts; last answer: HTTP 503"
    ):
        client_for(fake, max_attempts=3).fetch_population(["0580"], [2024])


def test_timeout_is_retried():
    fake = FakePxWeb(faults=[httpx.ReadTimeout("slow")])
    assert len(client_for(fake).fetch_population(["0580"], [2024], by_age=False)) == 3


def test_split_selection_keeps_every_combination():
    selection = [
        {"variableCode": "Region", "valueCodes": list("abcdefg")},
        {"variableCode": "Tid", "valueCodes": ["1", "2", "3"]},
    ]
    parts = split_selection(selection, 4)
    combos = {(r, t) for p in parts for r in p[0]["valueCodes"] for t in p[1]["valueCodes"]}
    assert len(combos) == 21 and sum(len(p[0]["valueCodes"]) * len(p[1]["valueCodes"]) for p in parts) == 21
    assert all(len(p[0]["valueCodes"]) * len(p[1]["valueCodes"]) <= 4 for p in parts)


@pytest.mark.parametrize(("value", "status", "shown"), [
    ({"0": 84000}, {"1": "."}, "."),
    ([84000, ".."], None, ".."),  # PX's missing symbol written as the value (a converter from PX): it failed the file
    ([84000, " ... "], {"1": "..."}, "..."),
], ids=["sparse", "px-symbol-as-value", "px-symbol-and-status"])
def test_parse_tolerates_bom_string_and_sparse_values_and_never_zero_fills(value, status, shown):
    payload = "\ufeff" + json.dumps(
        {
            "version": "2.0",
            "class": "dataset",
            "id": ["Region", "Kon", "Tid"],
            "size": [1, 2, 1],
            "updated": "u",
            "dimension": {
                "Region": {"category": {"index": ["0580"]}},
                "Kon": {"category": {"index": {"1": 0, "2": 1}}},
                "Tid": {"category": {"index": ["2025"]}},
            },
            "value": value,
            **({"status": status} if status else {}),
        }
    )
    frame = parse_jsonstat2(payload, "TAB5557")
    assert frame.population.tolist()[0] == 84000 and pd.isna(frame.population.tolist()[1])
    assert frame.value_status.isna().tolist() == [True, False] and frame.value_status.iloc[1] == shown


def test_parse_rejects_other_contents_and_marital_breakdowns():
    base = {
        "version": "2.0",
        "class": "dataset",
        "id": ["Region", "ContentsCode", "Tid"],
        "size": [1, 1, 1],
        "dimension": {
            "Region": {"category": {"index": ["0580"]}},
            "ContentsCode": {"category": {"index": ["BE0101N2"]}},
            "Tid": {"category": {"index": ["2024"]}},
        },
        "value": [5],
    }
    with pytest.raises(ValueError, match="BE0101N2"):
        parse_jsonstat2(base, "TAB638")


def test_offline_files_round_trip_the_reference_csv(tmp_path):
    csv = REFERENCE_DIR / "population_ostergotland.csv"
    paths = build_offline_population(csv, tmp_path)
    assert sorted(p.name for p in paths) == [
        "TAB638.json",
        "TAB638_sex_total.json",
    ]  # no year >= 2025 in the CSV
    frame = read_offline_population(tmp_path)
    reference = pd.read_csv(csv, dtype=str)
    got = frame.dropna(subset=["population"])
    assert len(got) == len(reference)
    merged = reference.assign(
        year=reference.year.astype(int), population=reference.population.astype(int)
    ).merge(
        got.assign(year=got.year.astype(int)),
        left_on=["municipality_code", "year", "sex"],
        right_on=["region_code", "year", "sex"],
        suffixes=("_ref", ""),
    )
    assert len(merged) == len(reference) and (merged.population_ref == merged.population.astype(int)).all()
    assert set(frame.source_table) == {"TAB638"}
    assert frame[frame.population.isna()].value_status.eq("..").all()


def test_offline_county_row_only_if_in_csv(tmp_path):
    csv = tmp_path / "pop.csv"
    csv.write_text(
        "municipality_code,year,sex,age_group,population,source\n"
        "0580,2025,total,total,168000,x\n0581,2025,total,total,145000,x\n"
    )
    paths = build_offline_population(csv, tmp_path / "out")
    assert [p.name for p in paths] == ["TAB5557.json"]
    frame = read_offline_population(tmp_path / "out")
    assert set(frame.region_code) == {"0580", "0581"}  # never a derived "05"
    assert set(frame.source_table) == {"TAB5557"}
    assert frame.set_index("region_code").population.to_dict() == {"0580": 168000, "0581": 145000}


def test_population_result_quarantines_impossible_rows(tmp_path):
    from lagesbild.sources.pxweb import population_result
    from lagesbild.sources.reference import load_municipalities

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    frame = read_offline_population(tmp_path)
    extra = frame.iloc[[0, 1]].copy()
    extra.loc[extra.index[0], "region_code"] = "9999"
    extra.loc[extra.index[1], "population"] = -5
    extra.loc[extra.index[1], "region_code"] = "0580"
    doubled = pd.concat([frame, frame.iloc[[2]], extra], ignore_index=True)
    result = population_result(doubled, load_municipalities())
    assert result.quarantine.reason.value_counts().to_dict() == {
        "unknown_region": 1,
        "impossible_value": 1,
        "duplicate": 1,
    }
    assert len(result.rows) == len(frame)
    assert result.metadata["years_by_table"] == {"TAB638": [2019, 2024]}
    assert result.metadata["null_values"] == int(frame.population.isna().sum())


def _first_value(raw: bytes, token: bytes) -> bytes:
    import re

    return re.sub(rb'"value": \[[^,\]]*', b'"value": [' + token, raw, count=1)


def _with_dimension(raw: bytes, name: str, codes: list[str]) -> bytes:
    """The dataset with one more dimension, its values repeated for each of its categories."""
    data = json.loads(raw)
    data["id"].insert(1, name)
    data["size"].insert(1, len(codes))
    data["dimension"][name] = {"label": name, "category": {"index": {c: i for i, c in enumerate(codes)}}}
    outer = data["size"][0]
    values, per = data["value"], len(data["value"]) // outer
    data["value"] = [v for i in range(outer) for _ in codes for v in values[i * per:(i + 1) * per]]
    data.pop("status", None)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda raw: raw[: len(raw) // 2], r"TAB638\.json .*line 1 column \d+"),  # cut short
        (lambda raw: b"[]", r"TAB638\.json .*a JSON list, not an object"),
        (lambda raw: b"", r"TAB638\.json .*line 1 column 1"),
        (lambda raw: raw.decode().encode("utf-16"), r"TAB638\.json .*utf-8"),
        (lambda raw: _first_value(raw, b"NaN"), r"TAB638\.json .*value 0 \(Region .*\) is not a number"),
        (lambda raw: _first_value(raw, b"Infinity"), r"TAB638\.json .*is not a number"),
        (lambda raw: _first_value(raw, b"[1]"), r"TAB638\.json .*is not a number"),
        (lambda raw: raw.replace(b'"Region": {', b'"Regionen": {', 1), r"TAB638\.json .*KeyError: 'Region'"),
        (lambda raw: b"[" * 100_000 + b"]" * 100_000, r"TAB638\.json .*nested too deeply"),
        # a fraction is not a count: rounding would change 100.5 silently and let -0.4 pass as 0
        (lambda raw: _first_value(raw, b"100.5"), r"TAB638\.json .*value 0 \(Region .*\) is not a whole number"),
        (lambda raw: _first_value(raw, b"-0.4"), r"TAB638\.json .*is not a whole number"),
        (lambda raw: _first_value(raw, b'"100.5"'), r"TAB638\.json .*is not a whole number"),
        # two datasets pasted into one object: the second "value" replaced the first without a word
        (lambda raw: raw[:-1] + b', "value": [1]}', r"TAB638\.json .*the JSON name 'value' occurs twice"),
        # one more variable (country of birth, one category): its sub-population was read as the population
        (lambda raw: _with_dimension(raw, "Fodelseland", ["010"]), r"TAB638\.json .*a dimension 'Fodelseland' \(1 "),
    ],
)
def test_a_broken_offline_file_is_an_error_naming_the_file(tmp_path, change, expected):
    """A cut, empty, re-encoded or malformed json-stat2 file is one ValueError naming the file (and the line
    and column or the cell), not a JSONDecodeError, KeyError, TypeError or OverflowError without a name."""
    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    path = tmp_path / "TAB638.json"
    raw = json.dumps(json.loads(path.read_bytes())).encode()  # one line, so replace() finds the keys
    path.write_bytes(change(raw))
    with pytest.raises(ValueError, match=expected):
        read_offline_population(tmp_path)


def test_an_offline_file_past_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A wrong multi-GB file in the population folder is one error naming the file and the limit, read
    neither whole nor in part (the limit is lowered here so the test writes no gigabytes)."""
    from lagesbild.sources import pxweb

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    size = (tmp_path / "TAB638.json").stat().st_size
    monkeypatch.setattr(pxweb, "MAX_POPULATION_FILE_BYTES", size - 1)
    monkeypatch.setattr(pxweb, "_load", lambda payload: pytest.fail("a file past the limit was read"))
    with pytest.raises(ValueError, match=rf"TAB638.json .*{size:,} bytes, more than {size - 1:,}"):
        read_offline_population(tmp_path)
    monkeypatch.undo()
    monkeypatch.setattr(pxweb, "MAX_POPULATION_FILE_BYTES", size)  # at the limit: read
    assert len(read_offline_population(tmp_path)) > 0


def test_offline_files_in_other_forms_are_read_or_listed(tmp_path):
    """TAB638.JSON (a copy from Windows) is read; a .json.gz or a note is not read but listed in the metadata."""
    from lagesbild.sources.pxweb import population_result
    from lagesbild.sources.reference import load_municipalities

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    expected = len(read_offline_population(tmp_path))
    (tmp_path / "TAB638_sex_total.json").rename(tmp_path / "TAB638_sex_total.JSON")
    (tmp_path / "TAB5557.json.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "LASMIG.txt").write_text("x")
    (tmp_path / ".DS_Store").write_bytes(b"")
    frame = read_offline_population(tmp_path)
    assert len(frame) == expected
    result = population_result(frame, load_municipalities())
    assert result.metadata["ignored_files"] == ["LASMIG.txt", "TAB5557.json.gz"]


def test_a_sparse_value_key_that_is_no_cell_is_an_error_not_dropped():
    """json-stat2's sparse {index: value}: a key past the last cell ("7" of 2) or not an index ("01") held a
    figure that no row would carry; the file is refused naming the key, not read without it."""
    base = {
        "version": "2.0", "class": "dataset", "id": ["Region", "Tid"], "size": [2, 1],
        "dimension": {"Region": {"category": {"index": ["0580", "0581"]}}, "Tid": {"category": {"index": ["2024"]}}},
    }
    assert parse_jsonstat2({**base, "value": {"0": 5, "1": 6}}, "TAB638").population.tolist() == [5, 6]
    for stray in ("7", "01", "x"):
        with pytest.raises(ValueError, match=f"key '{stray}' is not the index of one of 2 cells"):
            parse_jsonstat2({**base, "value": {"0": 5, stray: 6}}, "TAB638")


def test_hidden_files_and_subfolders_of_the_population_folder_are_listed_not_read(tmp_path):
    """macOS writes '._TAB638.json' (binary metadata) beside a copied file: it is not read (it failed the whole
    run), nor is a stale hidden copy ('.TAB638.json', which sorted first and won over the real file); both are
    listed, as is a subfolder, whose files are not read."""
    from lagesbild.sources.pxweb import population_result
    from lagesbild.sources.reference import load_municipalities

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    expected = read_offline_population(tmp_path)
    (tmp_path / "._TAB638.json").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    stale = json.loads((tmp_path / "TAB638.json").read_text(encoding="utf-8"))
    stale["value"] = [1 if v is not None else None for v in stale["value"]]
    (tmp_path / ".TAB638.json").write_text(json.dumps(stale), encoding="utf-8")
    (tmp_path / "2025").mkdir()
    (tmp_path / "2025" / "TAB5557.json").write_text("{}", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / "TAB5557.json").symlink_to(tmp_path / "unmounted" / "TAB5557.json")  # a link to a share not mounted
    frame = read_offline_population(tmp_path)
    pd.testing.assert_frame_equal(frame, expected)
    result = population_result(frame, load_municipalities())
    assert result.quarantine.empty
    assert result.metadata["ignored_files"] == [".TAB638.json", "._TAB638.json", "2025/",
                                                "TAB5557.json (not a regular file: not read)"]


@pytest.mark.parametrize("answered", ["/data", "/config"])
@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b"", b'{"class": "dataset"', b"\xff\xfe{"])
def test_an_answer_that_is_not_json_stat2_names_the_url(body, answered):
    """A proxy's HTML error page with status 200, an empty or cut body, another encoding: one ValueError naming
    the request, not a bare JSONDecodeError/UnicodeDecodeError from deep inside the parser (for /config too)."""
    fake = FakePxWeb()

    def transport(request):
        if not request.url.path.endswith(answered):
            return fake(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    client = PxWebClient(BASE, client=httpx.Client(transport=httpx.MockTransport(transport)),
                         sleep=lambda s: None, clock=lambda: 0.0)
    said = (r"^POST https://px\.test/api/v2/tables/TAB638/data: the answer is not usable" if answered == "/data"
            else r"^GET https://px\.test/api/v2/config: the answer is not usable JSON")
    with pytest.raises(ValueError, match=said):
        client.fetch_population(["0580"], [2024], by_age=False)


@pytest.mark.parametrize(("variable", "codes", "said"), [
    ("Tid", ["2023"], r"other years than asked; missing: 2024; not asked: 2023"),  # the table's default selection
    ("Region", ["0580"], r"other regions than asked; missing: 0581$"),
])
def test_an_answer_for_other_years_or_regions_than_asked_names_the_url(variable, codes, said):
    """PxWeb answers a selection it cannot apply with the table's default one, and a cache may answer another
    query's body: another year's figures were stored under their own year, the asked one missing without a word."""
    fake = FakePxWeb()

    def transport(request):
        if request.url.path.endswith("/data"):
            body = json.loads(request.content)
            for part in body["selection"]:
                if part["variableCode"] == variable:
                    part["valueCodes"] = codes
            request = httpx.Request("POST", request.url, json=body)
        return fake(request)

    client = PxWebClient(BASE, client=httpx.Client(transport=httpx.MockTransport(transport)),
                         sleep=lambda s: None, clock=lambda: 0.0)
    with pytest.raises(ValueError, match=r"^POST https://px\.test/api/v2/tables/TAB638/data: .*" + said):
        client.fetch_population(["0580", "0581"], [2024], by_age=False)


def test_a_second_download_of_a_table_is_listed_and_a_differing_one_is_quarantined_by_file_and_cell(tmp_path):
    """'TAB638 (1).json' beside 'TAB638.json' (a table downloaded twice): every row of the copy was a duplicate, a
    third of the rows quarantined (the run fails its threshold), each named by the table and its row in all files
    together. The same cells again are listed, not read; a copy that differs is quarantined by file and cell."""
    from lagesbild.sources.pxweb import population_result
    from lagesbild.sources.reference import load_municipalities

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    expected = len(read_offline_population(tmp_path))
    original = json.loads((tmp_path / "TAB638.json").read_bytes())
    (tmp_path / "TAB638 (1).json").write_bytes((tmp_path / "TAB638.json").read_bytes())
    frame = read_offline_population(tmp_path)
    result = population_result(frame, load_municipalities())
    assert (len(result.rows), len(result.quarantine)) == (expected, 0)
    assert result.metadata["ignored_files"] == ["TAB638.json (the same cells as TAB638 (1).json: not read)"]
    original["value"][3] = (original["value"][3] or 0) + 1  # another vintage: one cell differs
    (tmp_path / "TAB638 (1).json").write_text(json.dumps(original))
    result = population_result(read_offline_population(tmp_path), load_municipalities())
    cells = len(original["value"])
    assert result.quarantine[["file", "reason"]].drop_duplicates().values.tolist() == [["TAB638.json", "duplicate"]]
    assert result.quarantine.position.tolist() == list(range(1, cells + 1))  # the cells of that file, 1-based
