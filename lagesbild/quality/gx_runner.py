"""Run a Great Expectations (GX Core 1.x) suite stored as JSON against a pandas DataFrame.

GX is imported inside :func:`run_suite` because importing it takes seconds, and nothing else in
lagesbild should pay for it. Each expectation carries ``meta.severity`` (``critical`` blocks the
publication, ``warning`` does not). An expectation that raised inside GX, or that GX refuses to
build (bad kwargs), is ``broken``: never a pass and never "bad data". Its exception is kept.

Privacy: GX reports sample unexpected values. A value can be anything the column held (in the worst
case a phone number that escaped pseudonymisation), so samples are only kept for expectations on
closed value sets and ranges, and any sample that looks like a phone number is masked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lagesbild.settings import EXPECTATIONS_DIR

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "warning")
_SAMPLE_OK = ("expect_column_values_to_be_in_set", "expect_column_values_to_be_between")
_PHONE_LIKE = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
_INDEX_KEY = "_lagesbild_index"


@dataclass
class ExpectationOutcome:
    type: str
    column: str | None
    kwargs: dict
    severity: str
    status: str  # "passed" | "failed" | "broken"
    observed: dict = field(default_factory=dict)
    exception_info: str | None = None

    @property
    def success(self) -> bool:
        return self.status == "passed"


@dataclass
class SuiteResult:
    suite_name: str
    rows: int
    expectations: list[ExpectationOutcome]
    #: Set when the suite could not be run at all (unreadable file, GX failed before validating).
    suite_exception: str | None = None

    def by_status(self, status: str, severity: str | None = None) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if e.status == status and severity in (None, e.severity)]

    def passed(self, severity: str | None = None) -> bool:
        """True when every expectation (of ``severity``) passed: failed and broken both count against."""
        if self.suite_exception:
            return False
        return all(e.success for e in self.expectations if severity in (None, e.severity))

    def broken(self, severity: str | None = None) -> bool:
        return bool(self.suite_exception) or bool(self.by_status("broken", severity))

    def to_dict(self) -> dict:
        return {
            "suite_name": self.suite_name,
            "rows": self.rows,
            "suite_exception": self.suite_exception,
            "expectations": [asdict(e) | {"success": e.success} for e in self.expectations],
        }


def load_suite(name_or_path: str | Path, expectations_dir: Path = EXPECTATIONS_DIR) -> dict:
    """A suite's JSON: ``name_or_path`` is a file, or a suite name looked up as ``<dir>/<name>.json``."""
    path = Path(name_or_path)
    if not path.suffix:
        path = Path(expectations_dir) / f"{name_or_path}.json"
    with open(path, encoding="utf-8") as fh:
        suite = json.load(fh)
    if not isinstance(suite.get("expectations"), list):
        raise ValueError(f"{path}: not an expectation suite (no 'expectations' list)")
    suite.setdefault("name", path.stem)
    return suite


def _severity(exp: dict) -> str:
    sev = (exp.get("meta") or {}).get("severity", "critical")
    return sev if sev in SEVERITIES else "critical"


def _column(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs.get('column_B')}"
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    return None


def _mask(value: Any) -> Any:
    if isinstance(value, str) and _PHONE_LIKE.search(value):
        return "<masked>"
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _observed(exp_type: str, result: dict) -> dict:
    """A short, publishable summary of what GX saw."""
    keep = {
        k: result[k]
        for k in ("element_count", "unexpected_count", "unexpected_percent", "missing_count")
        if k in result and result[k] is not None
    }
    if "observed_value" in result:
        keep["observed_value"] = _mask(result["observed_value"])
    if exp_type in _SAMPLE_OK and result.get("partial_unexpected_list"):
        keep["unexpected_sample"] = [_mask(v) for v in result["partial_unexpected_list"][:5]]
    if "unexpected_percent" in keep:
        keep["unexpected_percent"] = round(float(keep["unexpected_percent"]), 3)
    return keep


def _exception_text(exception_info: dict) -> str | None:
    """GX nests exception info per metric; flatten it to 'message' lines (no tracebacks)."""
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    messages = [
        str(i.get("exception_message")) for i in infos if isinstance(i, dict) and i.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _normalise_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Make date and timestamp columns numpy ``datetime64`` so suites can use full ISO bounds everywhere.

    Parquet ``date32`` reads as Python ``date`` objects, or as ``date32[pyarrow]`` when the file
    carries pandas metadata; GX cannot compare either with ISO datetime bounds (it raises). Arrow
    timestamps become numpy timestamps with their time zone kept.
    """
    import pyarrow as pa

    out = df.copy()
    for col in df.columns:
        dtype = df[col].dtype
        if isinstance(dtype, pd.ArrowDtype) and (
            pa.types.is_date(dtype.pyarrow_dtype) or pa.types.is_timestamp(dtype.pyarrow_dtype)
        ):
            tz = getattr(dtype.pyarrow_dtype, "tz", None)
            target = f"datetime64[ns, {tz}]" if tz else "datetime64[ns]"
            out[col] = df[col].astype(target)
        elif pd.api.types.is_object_dtype(dtype):
            sample = df[col].dropna().head(50)
            if len(sample) and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in sample):
                out[col] = pd.to_datetime(df[col])
    return out


def _context():
    """GX and an in-memory context without progress bars, through GX's public API only.

    ``DataContextConfig`` and ``InMemoryStoreBackendDefaults`` are in GX's API reference; the
    progress-bar switch is the documented ``progress_bars`` field of that config (tqdm bars on
    stderr would otherwise flood the Dagster logs).
    """
    import great_expectations as gx  # lazy: seconds to import
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(), progress_bars={"globally": False}
    )
    return gx, gx.get_context(mode="ephemeral", project_config=config)


def _expectation(gx, exp_type: str, kwargs: dict, meta: dict):
    """The GX expectation object for a JSON rule: ``expect_column_values_to_be_between`` is
    ``gx.expectations.ExpectColumnValuesToBeBetween``. An unknown type or bad kwargs raise."""
    class_name = "".join(part.capitalize() for part in str(exp_type).split("_"))
    if not class_name.startswith("Expect") or not hasattr(gx.expectations, class_name):
        raise ValueError(f"unknown expectation type {exp_type!r}")
    return getattr(gx.expectations, class_name)(**kwargs, meta=meta)


def run_suite(
    suite: str | Path | dict, df: pd.DataFrame, expectations_dir: Path = EXPECTATIONS_DIR
) -> SuiteResult:
    """Validate ``df`` against ``suite`` (a name in ``expectations/``, a path, or the parsed JSON).

    Never raises for a problem inside the suite: it comes back as a broken expectation or as
    ``suite_exception``, so the caller can fail the check with the reason.
    """
    try:
        spec = suite if isinstance(suite, dict) else load_suite(suite, expectations_dir)
    except (OSError, ValueError) as exc:
        return SuiteResult(str(suite), len(df), [], suite_exception=f"{type(exc).__name__}: {exc}")
    name = spec.get("name", "suite")
    outcomes: dict[int, ExpectationOutcome] = {}
    try:
        gx, context = _context()
        gx_suite = gx.ExpectationSuite(name=name)
        for i, exp in enumerate(spec["expectations"]):
            exp_type, kwargs = exp.get("type") or exp.get("expectation_type"), dict(exp.get("kwargs") or {})
            outcomes[i] = ExpectationOutcome(str(exp_type), _column(kwargs), kwargs, _severity(exp), "broken")
            try:
                meta = {**(exp.get("meta") or {}), _INDEX_KEY: i}
                gx_suite.add_expectation(_expectation(gx, exp_type, kwargs, meta))
            except Exception as exc:  # noqa: BLE001 - any refusal to build is a broken expectation
                outcomes[i].exception_info = f"{type(exc).__name__}: {exc}"
        source = context.data_sources.add_pandas("lagesbild")
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        batch = batch_def.get_batch(batch_parameters={"dataframe": _normalise_dates(df)})
        validation = batch.validate(gx_suite, result_format="SUMMARY") if gx_suite.expectations else None
    except Exception as exc:  # noqa: BLE001 - GX failing outright is a broken suite, not bad data
        log.exception("GX suite %s could not be run", name)
        return SuiteResult(
            name, len(df), list(outcomes.values()), suite_exception=f"{type(exc).__name__}: {exc}"
        )
    for r in validation.results if validation else []:
        i = r.expectation_config.meta[_INDEX_KEY]
        outcome = outcomes[i]
        outcome.exception_info = _exception_text(r.exception_info)
        outcome.status = "broken" if outcome.exception_info else ("passed" if r.success else "failed")
        outcome.observed = _observed(outcome.type, dict(r.result or {}))
    for outcome in outcomes.values():
        if outcome.status == "broken" and outcome.exception_info is None:
            outcome.exception_info = "GX returned no result for this expectation"
    return SuiteResult(name, len(df), [outcomes[i] for i in sorted(outcomes)])
