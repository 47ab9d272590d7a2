"""Pull for counties other than Östergötland and for national mode, over real loopback HTTP:
a Gothenburg (1480) token in a Västra Götaland publication and in a national one, and a county-level
token (scope "14") that sees every municipality of its county and nothing of another county's."""

from __future__ import annotations

import io
import json

import httpx
import pandas as pd
import pytest
from mart_frames import WEEKLY_COLUMNS
from pull_server import serving

from lagesbild.cli import main as cli_main
from lagesbild.disclosure import load_policy
from lagesbild.publication import LocalFolderTarget, publish_marts
from lagesbild.publication.layout import county_slice, split_by_region, visible_to
from lagesbild.pull.tokens import TokenStore

MUNICIPALITIES = {"0580": ("05", 14), "0581": ("05", 12), "1480": ("14", 20), "1481": ("14", 9)}
COUNTIES = {"05": "Östergötlands län", "14": "Västra Götalands län"}


def _weekly(county: str) -> pd.DataFrame:
    """Weekly advertisers per region: municipalities, their counties and, for '00', Sweden."""
    rows = []
    for week in pd.date_range("2025-01-06", periods=3, freq="7D"):
        chosen = {c: v for c, v in MUNICIPALITIES.items() if county in ("00", v[0])}
        for code, (_, n) in chosen.items():
            rows.append((code, code, "municipality", week, 2025, n, n * 5))
        for c in sorted({v[0] for v in chosen.values()}):
            n = sum(v[1] for v in chosen.values() if v[0] == c)
            rows.append((c, COUNTIES[c], "county", week, 2025, n, n * 5))
        if county == "00":
            n = sum(v[1] for v in chosen.values())
            rows.append(("00", "Sverige", "country", week, 2025, n, n * 5))
    return pd.DataFrame(rows, columns=WEEKLY_COLUMNS)


@pytest.fixture(scope="module", params=["14", "00"])
def site(request, tmp_path_factory):
    county = request.param
    root = tmp_path_factory.mktemp(f"pull{county}")
    pubs, tokens = root / "publications", root / "tokens.json"
    info = publish_marts(
        LocalFolderTarget(pubs), {"mart_prevalence_weekly": _weekly(county)}, load_policy(), county
    )
    store = TokenStore(tokens)
    _, t1480 = store.create("1480")
    _, t14 = store.create("14")
    _, t0580 = store.create("0580")
    with serving(pubs, tokens) as port:
        yield {"url": f"http://127.0.0.1:{port}", "id": info.id, "county": county, "t1480": t1480, "t14": t14,
               "t0580": t0580}


def _status(site, path, token):
    url = f"{site['url']}/v1/publications/{site['id']}/{path}"
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_gothenburg_token_sees_its_files_and_the_county_not_its_neighbour(site):
    assert _status(site, "municipalities/1480/mart_prevalence_weekly.parquet", site["t1480"]) == 200
    assert _status(site, "county/mart_prevalence_weekly.parquet", site["t1480"]) == 200
    assert _status(site, "municipalities/1481/mart_prevalence_weekly.parquet", site["t1480"]) == 403
    if site["county"] == "00":
        assert _status(site, "municipalities/0580/mart_prevalence_weekly.parquet", site["t1480"]) == 403


def test_a_token_of_another_county_sees_nothing_of_a_county_publication(site):
    """A Linköping token on Västra Götaland's publications (a shared token file, two counties
    publishing into one folder by mistake) saw that county's county files, and a pull replaced its
    copy with another county's publication. The national publication is for every municipality."""
    expected = 200 if site["county"] == "00" else 403
    assert _status(site, "county/mart_prevalence_weekly.parquet", site["t0580"]) == expected
    assert _status(site, "manifest.json", site["t0580"]) == expected
    latest = httpx.get(f"{site['url']}/v1/publications/latest/manifest.json",
                       headers={"Authorization": f"Bearer {site['t0580']}"}, timeout=10)
    assert latest.status_code == expected


def test_county_level_token_sees_every_municipality_of_its_county_only(site):
    assert _status(site, "municipalities/1480/mart_prevalence_weekly.parquet", site["t14"]) == 200
    assert _status(site, "municipalities/1481/mart_prevalence_weekly.parquet", site["t14"]) == 200
    if site["county"] == "00":
        assert _status(site, "municipalities/0580/mart_prevalence_weekly.parquet", site["t14"]) == 403


def test_pull_for_gothenburg_gets_its_rows_its_county_and_sweden(site, tmp_path, monkeypatch, capsys):
    dest = tmp_path / "goteborg"
    monkeypatch.setenv("LAGESBILD_PULL_TOKEN", site["t1480"])
    assert cli_main(["pull", "--server", site["url"], "--dest", str(dest)]) == 0
    capsys.readouterr()
    df = pd.read_parquet(dest / "municipalities/1480/mart_prevalence_weekly.parquet")
    expected = {"1480", "14"} | ({"00"} if site["county"] == "00" else set())
    assert set(df["region_code"]) == expected  # its own rows, its county's (not another county's), Sweden's
    county = pd.read_parquet(dest / "county/mart_prevalence_weekly.parquet")
    assert set(county["region_code"]) == ({"05", "14", "00"} if site["county"] == "00" else {"14"})
    assert not (dest / "municipalities/1481").exists() and not (dest / "municipalities/0580").exists()


def test_county_slice_of_national_marts_is_the_county_build():
    national = {"mart_prevalence_weekly": _weekly("00")}
    part = county_slice(national, "14")["mart_prevalence_weekly"]
    county = _weekly("14")
    assert part.reset_index(drop=True).equals(county.reset_index(drop=True))
    files = split_by_region(national, "00")
    assert {p for p in files if p.startswith("municipalities/")} == {
        f"municipalities/{c}/mart_prevalence_weekly.parquet" for c in MUNICIPALITIES
    }


@pytest.mark.parametrize(
    ("path", "scope", "visible"),
    [
        ("municipalities/1480/x.parquet", "1480", True),
        ("municipalities/1480/x.parquet", "14", True),
        ("municipalities/1480/x.parquet", "05", False),
        ("reports/1481.html", "1480", False),
        ("reports/14.html", "0580", True),  # county and national pages are for everyone
        ("county/x.parquet", "14", True),
        # fail closed: a municipality's file named other than by its code alone is still its own
        ("municipalities/0581-print/x.parquet", "0580", False),
        ("municipalities/0581_old/x.parquet", "0580", False),
        ("municipalities/0581-print/x.parquet", "0581", True),
        ("reports/0581-print.html", "0580", False),
        ("reports/0581_flows.svg", "0580", False),
        ("reports/0581_flows.svg", "05", True),
        ("municipalities/linkoping/x.parquet", "0580", False),  # under municipalities/: a code or nobody's
        ("municipalities/x.parquet", "0580", False),
        ("reports/05.html", "0580", True),
        ("reports/20260101.html", "0580", True),  # a date, not a code
    ],
)
def test_visible_to_scopes(path, scope, visible):
    assert visible_to(path, scope) is visible


def test_county_publications_hold_the_national_publication_not_the_working_files(tmp_path, monkeypatch):
    """``publish_counties`` holds the national publication (a lease) and names it in each county's
    manifest, with its quality results and pages, but read the marts from ``disclosed/``: the working
    files of whichever national run wrote them last, maybe one whose publication was refused or is
    still running. A county must get the rows of the publication it names."""
    import hashlib

    from orchestration import run_counties
    from orchestration.assets import publication as publication_asset

    monkeypatch.setattr(publication_asset, "MARTS", ["mart_prevalence_weekly"])
    national = _weekly("00")
    info = publish_marts(
        LocalFolderTarget(tmp_path / "publications"), {"mart_prevalence_weekly": national}, load_policy(), "00"
    )
    later = national.copy()
    later["active_advertisers"] = later["active_advertisers"] + 100  # a later run, refused or unfinished
    from lagesbild.disclosure import apply_policy

    (tmp_path / "disclosed").mkdir()
    disclosed = apply_policy({"mart_prevalence_weekly": later}, load_policy(), "00").marts
    disclosed["mart_prevalence_weekly"].to_parquet(tmp_path / "disclosed" / "mart_prevalence_weekly.parquet")
    result = run_counties.publish_counties(tmp_path, only=["14"])
    county = LocalFolderTarget(tmp_path / "counties" / "14" / "publications")
    manifest = json.loads(county.read(county.get_latest(), "manifest.json"))
    assert manifest["national_publication"] == info.id and result["14"]["files"] > 0
    path = "municipalities/1480/mart_prevalence_weekly.parquet"
    mine = pd.read_parquet(tmp_path / "counties" / "14" / "publications" / county.get_latest() / path)
    assert sorted(mine["active_advertisers"].dropna().astype(int)) == sorted(
        national.loc[national["region_code"].isin(["1480", "14"]), "active_advertisers"]
    )
    assert hashlib.sha256(county.read(county.get_latest(), path)).hexdigest() == manifest["files"][path]["sha256"]


def _national_flows() -> pd.DataFrame:
    """Flows of four municipalities in two counties; 0580's three buyers of unknown place are hidden,
    and so is one more cell of that column (national mode: the column's other cells are in county 14)."""
    flows = pd.DataFrame(
        [("0580", "0580", 30), ("0580", "unknown", 3), ("0581", "0581", 30), ("0581", "unknown", 20),
         ("1480", "1480", 30), ("1480", "unknown", 4), ("1481", "1481", 30)],
        columns=["home_region_code", "purchase_region_code", "buyers"],
    ).assign(period_start_year=2025, period_end_year=2025)
    flows["home_region_name"] = flows["home_region_code"]
    flows["purchase_region_name"] = flows["purchase_region_code"]
    return flows


def test_a_county_part_of_a_verified_national_publication_is_published_and_checked_to_be_that_part(
    tmp_path, monkeypatch
):
    """A county's part keeps the flows with a side in it, so the ``unknown`` column is partial there:
    verify on the part took that column's margin for known and refused 0580's hidden 3 (the national
    column has two hidden cells). The county publication is now checked to be exactly its part of the
    national publication, which passed verify; a file that differs from that part is refused."""
    from lagesbild.disclosure import apply_policy, verify
    from lagesbild.publication import PublicationError
    from lagesbild.publication.disclosed import county_slice_check, parquet_bytes
    from orchestration import run_counties
    from orchestration.assets import publication as publication_asset

    policy = load_policy()
    national = apply_policy({"mart_flows": _national_flows()}, policy, "00").marts
    assert verify(national, policy) == []
    assert verify(county_slice(national, "05"), policy) != []  # what refused county 05 before

    monkeypatch.setattr(publication_asset, "MARTS", ["mart_flows"])
    publish_marts(LocalFolderTarget(tmp_path / "publications"), {"mart_flows": _national_flows()}, policy, "00")
    result = run_counties.publish_counties(tmp_path, only=["05", "14"])
    assert set(result) == {"05", "14"} and all(r["files"] > 0 for r in result.values())

    files = {p: parquet_bytes(df) for p, df in split_by_region(county_slice(national, "05"), "05").items()}
    check = county_slice_check(county_slice(national, "05"))
    assert check(files) == []
    [path] = [p for p in files if p.endswith("mart_flows.parquet") and "/0580/" in p]
    shown = pd.read_parquet(io.BytesIO(files[path]))
    shown["buyers"] = shown["buyers"].fillna(3)  # the hidden 3 written out
    assert check({**files, path: parquet_bytes(shown)}) == [
        "mart_flows: the files read back are not the county's part of the national publication"
    ]

    # a national publication that fails verify as read back makes no county publication
    monkeypatch.setattr("lagesbild.disclosure.parts.verify_in_parts", lambda marts, policy: ["a planted violation"])
    with pytest.raises(PublicationError, match="1 disclosure violation"):
        run_counties.publish_counties(tmp_path, only=["05"])
