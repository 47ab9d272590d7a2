"""Settings read from the environment: one typed model for every ``LAGESBILD_*`` variable.

Everything a deployment changes lives here, read once from ``LAGESBILD_*`` variables. Paths are
never built elsewhere: Dagster's ``LagesbildResource`` owns the data dir and hands it on.

Two levels of validation, both before any work starts:

* ``Settings.from_env()`` checks types and allowed values (a mode that is not ``demo``/``real``, a
  share above 1, a week that is not a Monday) and raises :class:`SettingsError` naming the variable;
* ``Settings.check()`` checks the world the settings point at (folders exist and are readable, the
  data dir is writable, real mode has a key and its sources) plus the ``LAGESBILD_QUALITY_*`` and
  ``LAGESBILD_ALERT_*`` families, and raises one :class:`SettingsError` listing every problem.

``make run`` calls :func:`preflight` before its first step and every Dagster run does when its
``lagesbild`` resource starts, so a wrong setting fails in seconds and is never retried. The settings
table in README.md is generated from this model (``python -m lagesbild.settings --markdown``; a test
keeps them equal).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from pydantic import Field, field_validator
from pydantic.dataclasses import dataclass

#: The demo pseudonymisation key. It is public on purpose and says so: it is only for demo data.
DEMO_PSEUDONYM_KEY = "lagesbild-DEMO-KEY-not-secret-do-not-use-for-real-data"
#: A real key shorter than this is refused (an HMAC key should be a long random secret).
MIN_KEY_LENGTH = 16

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds" / "reference"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

#: Variables the pipeline sets for dbt's ``env_var()`` (the week window: orchestration/assets/dbt.py; the
#: warehouse file: orchestration/dbt_command.py); read by dbt, never by Python, never set by an operator.
INTERNAL_VARIABLES = frozenset({"LAGESBILD_DBT_WEEKS_FROM", "LAGESBILD_DBT_WEEKS_TO", "LAGESBILD_DBT_WAREHOUSE"})
#: Families with their own typed model (validated by ``Settings.check``): prefix -> (module, model, doc).
FAMILIES = {
    "LAGESBILD_QUALITY_": ("lagesbild.quality.config", "QualityConfig", "docs/quality.md"),
    "LAGESBILD_ALERT_": ("lagesbild.alerts.config", "AlertConfig", "docs/alerts.md"),
}
_MEMORY = r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*$"
_TRUE = {"on", "1", "true", "yes", "running"}
_FALSE = {"off", "0", "false", "no", "stopped", ""}


class SettingsError(ValueError):
    """A setting that cannot work; the message names the variable and the fix."""


def parse_bool(raw: str) -> bool:
    """The one on/off parser: ``on 1 true yes running`` and ``off 0 false no stopped`` (or empty)."""
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{raw!r} is neither on nor off")


def parse_list(raw: str) -> tuple[str, ...]:
    """The one list parser: comma-separated, blanks dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_as(raw: str, default: object) -> object:
    """``raw`` as the type of ``default`` (tuple: a list; None: text)."""
    if isinstance(default, tuple):
        return parse_list(raw)
    if isinstance(default, bool):
        return parse_bool(raw)
    if isinstance(default, int | float):
        return type(default)(raw)
    return raw


def read_family(cls, env_name, environ=None, fallback: dict[str, str] | None = None, error=ValueError):
    """A ``LAGESBILD_QUALITY_*`` / ``LAGESBILD_ALERT_*`` dataclass from the environment: one variable
    per field (``env_name(field)``; ``fallback`` maps a field to a second variable read when the first
    is unset), parsed as the field default's type. A value that does not parse raises ``error``
    naming the variable and the value. The families' own ``__post_init__`` checks ranges."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for var in (env_name(f.name), (fallback or {}).get(f.name)):
            raw = env.get(var) if var else None
            if raw is not None and raw.strip():
                try:
                    values[f.name] = _parse_as(raw.strip(), default)
                except ValueError as exc:
                    kind = "list" if isinstance(default, tuple) else type(default).__name__
                    raise error(f"{var}={raw!r} is not a valid {kind}") from exc
                break
    return cls(**values)


def setting(env: str, help: str, default=dataclasses.MISSING, *, default_doc: str | None = None, **kw):
    """A field with its environment variable and its one-line meaning (the README table's row)."""
    extra = {"env": env, "help": help}
    if default_doc is not None:
        extra["default_doc"] = default_doc
    if "default_factory" in kw:
        return Field(json_schema_extra=extra, **kw)
    return Field(default, json_schema_extra=extra, **kw)


@dataclass(frozen=True, config=pydantic.ConfigDict(arbitrary_types_allowed=True))
class Settings:
    data_dir: Path = setting(
        "LAGESBILD_DATA_DIR",
        "everything a run writes (raw Parquet, warehouse, marts, publications, alerts)",
        Path("data"),
    )
    county_code: Annotated[str, Field(pattern=r"^\d{2}$")] = setting(
        "LAGESBILD_COUNTY",
        "the county this deployment serves (two digits); its municipalities come from the reference table of all 290",
        "05",
    )
    #: "demo" reads the generated demo folder with the demo key; "real" needs real endpoints and a key.
    source_mode: Literal["demo", "real"] = setting(
        "LAGESBILD_SOURCE_MODE",
        "`demo` or `real`; `real` reads the sources below and refuses to run without a key",
        "demo",
    )
    pseudonym_key: str | None = setting(
        "LAGESBILD_PSEUDONYM_KEY",
        "HMAC key for phone and case numbers: a long random secret from your secret store, never in the repo; "
        "keep it stable, keys only link across runs made with the same key",
        None,
        default_doc="the labelled demo key, in demo mode only",
        repr=False,
    )
    snapshots_url: str | None = setting(
        "LAGESBILD_SNAPSHOTS_URL",
        "an HTTP archive serving `index.json` and `files/<site>/<name>` (wins over the folder)",
        None,
        default_doc="unset",
    )
    snapshots_dir: Path | None = setting(
        "LAGESBILD_SNAPSHOTS_DIR",
        "a folder `<site>/<site>_<YYYYMMDDTHHMM>Z.jsonl[.gz]`",
        None,
        default_doc="the demo folder",
    )
    verdicts_path: Path | None = setting(
        "LAGESBILD_VERDICTS_PATH",
        "the register (CSV/XLSX) or its inbox folder (watched by the sensor)",
        None,
        default_doc="the demo folder",
    )
    pxweb_base_url: str = setting(
        "LAGESBILD_PXWEB_URL", "Statistics Sweden's PxWeb API v2 (real mode)", "https://statistikdatabasen.scb.se/api/v2"
    )
    population_file_dir: Path | None = setting(
        "LAGESBILD_POPULATION_DIR",
        "a folder of json-stat2 files read instead of PxWeb (offline)",
        None,
        default_doc="the demo folder",
    )
    population_first_year: Annotated[int, Field(ge=1968, le=2100)] = setting(
        "LAGESBILD_POPULATION_FIRST_YEAR", "first population year read", 2019
    )
    quarantine_max_share: Annotated[float, Field(ge=0, le=1)] = setting(
        "LAGESBILD_QUARANTINE_MAX_SHARE",
        "quarantined share (0-1) that fails an ingest run (from `LAGESBILD_QUARANTINE_MIN_ROWS` bad rows)",
        0.05,
    )
    #: Below this many quarantined rows a run never fails on the share (tiny weeks are noisy).
    quarantine_min_rows: Annotated[int, Field(ge=0)] = setting(
        "LAGESBILD_QUARANTINE_MIN_ROWS", "below this many quarantined rows a run never fails on the share", 5
    )
    publications_keep: Annotated[int, Field(ge=1)] = setting(
        "LAGESBILD_PUBLICATIONS_KEEP", "publications kept", 10
    )
    first_week: date = setting(
        "LAGESBILD_FIRST_WEEK", "the first weekly partition (a Monday)", date(2024, 1, 1)
    )
    last_week: date | None = setting(
        "LAGESBILD_LAST_WEEK",
        "the last weekly partition (a Monday); set it empty in production so partitions run to the newest week",
        date(2025, 12, 22),
    )
    duckdb_memory_limit: Annotated[str, Field(pattern=_MEMORY)] = setting(
        "LAGESBILD_DUCKDB_MEMORY_LIMIT",
        "DuckDB's memory cap in dbt and in lagesbild's own connections; above it DuckDB spills to disk",
        "1000MB",
    )
    alert_duckdb_memory: Annotated[str, Field(pattern=_MEMORY)] = setting(
        "LAGESBILD_ALERT_DUCKDB_MEMORY", "DuckDB's memory cap in the alert computation", "256MB"
    )
    executor: Literal["in_process", "default"] = setting(
        "LAGESBILD_EXECUTOR",
        "`in_process`, or `default` for the Definitions' executor (Kubernetes, Celery)",
        "in_process",
    )
    automation: bool = setting(
        "LAGESBILD_AUTOMATION", "`on` starts the schedules and the inbox sensor as RUNNING", False,
        default_doc="off",
    )
    verdict_settle_seconds: Annotated[float, Field(ge=0)] = setting(
        "LAGESBILD_VERDICT_SETTLE_SECONDS", "a register file younger than this is left to settle", 5.0
    )
    snapshot_settle_seconds: Annotated[float, Field(ge=0)] = setting(
        "LAGESBILD_SNAPSHOT_SETTLE_SECONDS",
        "a capture file in LAGESBILD_SNAPSHOTS_DIR younger than this is refused as being written",
        5.0,
    )
    run_failure_webhook: str | None = setting(
        "LAGESBILD_RUN_FAILURE_WEBHOOK", "URL that receives a POST when a run fails", None, default_doc="unset"
    )
    dagster_url: str | None = setting(
        "LAGESBILD_DAGSTER_URL", "the UI's base URL, for links in failure alerts", None, default_doc="unset"
    )
    test_pause_at: str | None = setting(
        "LAGESBILD_TEST_PAUSE_AT",
        "test hook only: the publication step at which a test process pauses to be killed; never set it",
        None,
        default_doc="unset",
    )
    pull_token: str | None = setting(
        "LAGESBILD_PULL_TOKEN",
        "(municipality side) the token `lagesbild pull` sends (read it from a 0600 file, see below)",
        None,
        default_doc="unset",
        repr=False,
    )

    @field_validator("first_week", "last_week")
    @classmethod
    def _monday(cls, value: date | None) -> date | None:
        if value is not None and value.weekday() != 0:
            raise ValueError(f"{value} is a {value:%A}; weeks start on Monday (ISO 8601)")
        return value

    @field_validator("snapshots_url", "pxweb_base_url", "run_failure_webhook", "dagster_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("automation", mode="before")
    @classmethod
    def _on_off(cls, value):
        return parse_bool(value) if isinstance(value, str) else value

    @field_validator("executor", mode="before")
    @classmethod
    def _lower(cls, value):
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read every ``LAGESBILD_*`` variable; a wrong type or value raises one :class:`SettingsError`."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for name, info in _fields().items():
            raw = env.get(info["env"])
            if name == "last_week" and raw is not None and raw.strip() == "":
                values[name] = None  # empty on purpose: no last week (production)
                continue
            if raw is None or raw.strip() == "":
                continue
            values[name] = raw.strip() if name not in ("pseudonym_key", "pull_token") else raw
        try:
            return cls(**values)
        except pydantic.ValidationError as exc:
            raise SettingsError(_describe_validation(exc, values)) from None

    def resolved_pseudonym_key(self) -> bytes:
        """The HMAC key. Demo mode uses the labelled demo key; anything else refuses to run without one."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode("utf-8")
        if self.source_mode == "demo":
            return DEMO_PSEUDONYM_KEY.encode("utf-8")
        raise RuntimeError(
            "LAGESBILD_PSEUDONYM_KEY is not set: a non-demo source cannot be read without a secret "
            "pseudonymisation key (set it in the environment, never in the repo)."
        )

    # -- the world the settings point at -------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every setting that cannot work as set, one line each: the variable, what is wrong, the fix."""
        found: list[str] = []
        found += _writable_dir("LAGESBILD_DATA_DIR", Path(self.data_dir))
        if self.snapshots_dir is not None and not self.snapshots_url:
            found += _readable("LAGESBILD_SNAPSHOTS_DIR", Path(self.snapshots_dir), folder=True,
                               fix="point it at the folder holding <site>/<site>_<YYYYMMDDTHHMM>Z.jsonl[.gz]"
                               + (" or unset it to read the demo" if self.source_mode == "demo" else ""))
        if self.verdicts_path is not None:
            found += _readable("LAGESBILD_VERDICTS_PATH", Path(self.verdicts_path), folder=None,
                               fix="point it at the register (.csv/.xlsx) or its inbox folder")
        if self.population_file_dir is not None:
            found += _readable("LAGESBILD_POPULATION_DIR", Path(self.population_file_dir), folder=True,
                               fix="point it at a folder of json-stat2 files, or unset it")
        if self.last_week is not None and self.last_week < self.first_week:
            found.append(
                f"LAGESBILD_LAST_WEEK={self.last_week} is before LAGESBILD_FIRST_WEEK={self.first_week}: "
                "set a later last week, or leave it empty for no end."
            )
        if self.source_mode == "real":
            if not self.pseudonym_key:
                found.append(
                    "LAGESBILD_PSEUDONYM_KEY is not set, and real mode never runs without it: set it from your "
                    "secret store (a long random value, the same for every run), never in the repo."
                )
            elif self.pseudonym_key == DEMO_PSEUDONYM_KEY or len(self.pseudonym_key) < MIN_KEY_LENGTH:
                found.append(
                    f"LAGESBILD_PSEUDONYM_KEY is the demo key or shorter than {MIN_KEY_LENGTH} characters: "
                    "real data needs a long random secret (e.g. `openssl rand -hex 32`)."
                )
            if not self.snapshots_url and self.snapshots_dir is None:
                found.append(
                    "LAGESBILD_SNAPSHOTS_URL / LAGESBILD_SNAPSHOTS_DIR: real mode needs one snapshot source: set "
                    "the archive's URL or the snapshot folder."
                )
            if self.verdicts_path is None:
                found.append(
                    "LAGESBILD_VERDICTS_PATH is not set: real mode needs the verdict register (.csv/.xlsx) or "
                    "its inbox folder."
                )
        for family in FAMILIES.values():
            if problem := _family_problem(*family):
                found.append(problem)
        return found

    def check(self) -> Settings:
        """Raise one :class:`SettingsError` listing every problem, or return self."""
        found = self.problems()
        if found:
            raise SettingsError(_message(found))
        return self


def _fields() -> dict[str, dict]:
    """Field name -> {env, help, default_doc?, default} for every setting with a variable."""
    out: dict[str, dict] = {}
    for f in dataclasses.fields(Settings):
        info = _field_info(f)
        if info is None:
            continue
        out[f.name] = info
    return out


def _field_info(f: dataclasses.Field) -> dict | None:
    field_info = Settings.__pydantic_fields__.get(f.name)
    extra = field_info.json_schema_extra if field_info is not None else None
    if not isinstance(extra, dict) or "env" not in extra:
        return None
    default = field_info.default_factory() if field_info.default_factory is not None else field_info.default
    return {**extra, "default": default}


def _describe_validation(exc: pydantic.ValidationError, values: dict) -> str:
    fields = _fields()
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        info = fields.get(name, {"env": name, "help": ""})
        shown = "(set, hidden)" if name in ("pseudonym_key", "pull_token") else repr(values.get(name))
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "literal_error":
            reason = "allowed: " + error["ctx"]["expected"]
        lines.append(f"{info['env']}={shown}: {reason}. Fix: set {info['env']} to a valid value ({info['help']}).")
    return _message(lines)


def _message(lines: list[str]) -> str:
    return "Configuration error, nothing was run:\n" + "\n".join(f"  - {line}" for line in lines)


def _writable_dir(var: str, path: Path) -> list[str]:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return [f"{var}={path}: {probe} is a file, not a folder. Fix: point it at a folder this user can write."]
    if not os.access(probe, os.W_OK | os.X_OK):
        return [f"{var}={path}: {probe} is not writable by this user. Fix: point it at a folder you can write."]
    return []


def _readable(var: str, path: Path, folder: bool | None, fix: str) -> list[str]:
    if not path.exists():
        return [f"{var}={path}: does not exist. Fix: {fix}."]
    if folder is True and not path.is_dir():
        return [f"{var}={path}: is a file, not a folder. Fix: {fix}."]
    mode = os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, mode):
        return [f"{var}={path}: is not readable by this user. Fix: {fix}, or grant read access."]
    return []


def _family_problem(module: str, model: str, doc: str) -> str | None:
    """Why a family's variables do not load into its typed model (``module.model.from_env()``), or None."""
    try:
        getattr(importlib.import_module(module), model).from_env()
    except (ValueError, TypeError) as exc:
        return f"{exc}. Fix: see {doc} for the allowed values."
    return None


def preflight(environ: dict[str, str] | None = None) -> Settings:
    """Read and check the whole configuration; raises one :class:`SettingsError`."""
    return Settings.from_env(environ).check()


def _default_doc(info: dict) -> str:
    if "default_doc" in info:
        return info["default_doc"]
    value = info["default"]
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`"


def markdown_table() -> str:
    """The README's settings table, generated from the model (one source)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for info in _fields().values():
        rows.append(f"| `{info['env']}` | {_default_doc(info)} | {info['help']} |")
    for prefix, (module, model, doc) in FAMILIES.items():
        where = f"{module}.{model} ({doc})"
        rows.append(f"| `{prefix}*` | see docs | a family with its own typed model: {where} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--markdown"]:
        print(markdown_table())
        return 0
    try:
        settings = preflight()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Configuration OK: source mode {settings.source_mode}, county {settings.county_code}, data in {settings.data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
