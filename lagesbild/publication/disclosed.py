"""From marts to a publication: disclosure control, split by region, publish, verify what was written."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lagesbild.disclosure import DisclosurePolicy, apply_policy
from lagesbild.disclosure.parts import verify_in_parts
from lagesbild.publication.core import PublicationInfo, publish
from lagesbild.publication.layout import split_by_region
from lagesbild.publication.target import PublicationTarget


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Published Parquet: defined row order and fixed writer settings (identical rows, identical bytes)."""
    from lagesbild.warehouse import parquet_bytes as _parquet_bytes

    return _parquet_bytes(df)


def reassemble(files: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    """The full marts as a reader holding every published file would see them (for verification)."""
    parts: dict[str, list[pa.Table]] = {}
    for relpath, data in files.items():
        if relpath.endswith(".parquet") and relpath.split("/")[0] in ("county", "municipalities"):
            parts.setdefault(Path(relpath).stem, []).append(pq.read_table(io.BytesIO(data)))
    # one conversion per mart, not per file: a national publication has some 1,450 files
    return {
        m: pa.concat_tables(tables, promote_options="default").to_pandas().drop_duplicates(ignore_index=True)
        for m, tables in parts.items()
    }


def publication_check(policy: DisclosurePolicy):
    """A ``publish(check=...)`` callback: the disclosure verification over the files read back."""

    def check(files: dict[str, bytes]) -> list:
        return verify_in_parts(reassemble(files), policy)

    return check


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """The same columns and the same rows in any order (values compared as Parquet gives them back)."""
    from lagesbild.warehouse import canonical_rows

    if sorted(a.columns) != sorted(b.columns) or len(a) != len(b):
        return False
    columns = sorted(a.columns)
    return canonical_rows(a[columns].astype(str)).equals(canonical_rows(b[columns].astype(str)))


def same_rows_check(expected: dict[str, pd.DataFrame], what: str):
    """A ``publish(check=...)`` callback: the marts reassembled from the files read back hold exactly
    the rows of ``expected`` (``what`` names them in the problems), no more marts and no fewer rows."""

    def check(files: dict[str, bytes]) -> list[str]:
        back = reassemble(files)
        problems = [f"{name}: not in {what}" for name in back if name not in expected]
        problems += [
            f"{name}: the files read back are not {what}"
            for name, rows in expected.items()
            if not _same_rows(rows, back.get(name, rows.iloc[0:0]))
        ]
        return problems

    return check


def verified_check(marts: dict[str, pd.DataFrame]):
    """The pipeline's publication check: the files read back are the disclosed marts that
    ``disclosed_marts`` verified (part by part, read back from what it wrote; ``read_disclosed`` checks
    their sha256), so nothing is published that did not pass ``verify``, without solving it again."""
    return same_rows_check(marts, "the disclosed marts as verified")


def county_slice_check(part: dict[str, pd.DataFrame]):
    """A ``publish(check=...)`` callback for a county's publication cut from a national one that
    passed ``verify``: the files read back hold exactly ``part``, the county's part of it
    (``county_slice``).

    Not ``verify`` on the part itself: the part keeps the flows with a side in the county, so a row of
    homes in another county and a column of purchases outside it (``unknown`` too) are partial lines,
    and verify, which takes every line's margin as known, refused cells those lines do not give back
    (about one county part in eight of random national marts). A reader of the part holds a subset
    of the national publication's cells, published and hidden alike, so the part gives back nothing
    the national publication does not; ``publish_counties`` verifies that one first."""
    return same_rows_check(part, "the county's part of the national publication")


def publish_marts(
    target: PublicationTarget,
    marts: dict[str, pd.DataFrame],
    policy: DisclosurePolicy,
    county_code: str,
    manifest_fields: dict | None = None,
    extra_files: dict[str, bytes | Path] | None = None,
    keep: int = 5,
) -> PublicationInfo:
    """Apply the policy, split by region, publish with the disclosure summary in the manifest."""
    result = apply_policy(marts, policy, county_code)
    files: dict[str, bytes | Path] = {
        p: parquet_bytes(df) for p, df in split_by_region(result.marts, county_code).items()
    }
    files.update(extra_files or {})
    fields = dict(manifest_fields or {})
    fields.setdefault("county_code", county_code)  # as the pipeline's manifest: the server scopes tokens by it
    fields["disclosure"] = {"policy": policy.to_manifest(), "suppression": result.stats}
    if "model_version" not in fields:
        versions = {
            str(v)
            for df in marts.values()
            if "model_version" in df.columns
            for v in df["model_version"].dropna().unique()
        }
        fields["model_version"] = sorted(versions)[-1] if versions else None
    return publish(target, files, fields, keep=keep, check=publication_check(policy))
