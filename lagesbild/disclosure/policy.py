"""The disclosure policy: which columns count persons, which are derived, and how cells add up.

The policy is configuration (``config/disclosure_policy.yml``) so that the county board can tighten
it without a code change; the manifest of every publication carries the policy it was made with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lagesbild.settings import PROJECT_ROOT

DEFAULT_POLICY_PATH = PROJECT_ROOT / "config" / "disclosure_policy.yml"
FLAG_SUFFIX = "_suppressed"


@dataclass(frozen=True)
class MartRules:
    counts: tuple[str, ...] = ()
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: computed from published counts only: hidden exactly when a base is hidden (no size rule)
    follows: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (status column, column, value): where ``column`` is suppressed the status says ``value``
    status: tuple[tuple[str, str, str], ...] = ()
    region_group: tuple[str, ...] = ()
    additive_over_regions: tuple[str, ...] = ()
    #: {mean column: its count}: count x mean adds up over regions (a county's mean age is its
    #: municipalities' means weighted by their buyers), where the counts add up exactly
    weighted_over_regions: dict[str, str] = field(default_factory=dict)
    row_sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: {"terms": {col: coefficient}, "only_row_of": [cols]}: sum(coefficient * col) = 0 in a row
    row_identities: tuple[dict, ...] = ()
    period_of: dict | None = None
    cross_table: dict | None = None
    #: the cross table's lines over its period are sums of a yearly mart's rows (flows vs demand)
    line_sums_of: dict | None = None

    @property
    def protected(self) -> list[str]:
        """Every column that gets a ``<col>_suppressed`` flag, in a stable order."""
        return list(dict.fromkeys([*self.counts, *self.derived, *self.follows]))

    def bases(self, col: str) -> tuple[str, ...]:
        """The columns whose suppression hides ``col`` (derived or follows)."""
        return self.derived.get(col) or self.follows.get(col) or ()


@dataclass(frozen=True)
class DisclosurePolicy:
    min_persons: int
    min_persons_for_derived: int
    marts: dict[str, MartRules]
    version: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict) -> DisclosurePolicy:
        marts = {}
        for name, spec in (raw.get("marts") or {}).items():
            spec = spec or {}
            marts[name] = MartRules(
                counts=tuple(spec.get("counts", ())),
                derived={k: tuple(v) for k, v in (spec.get("derived") or {}).items()},
                follows={k: tuple(v) for k, v in (spec.get("follows") or {}).items()},
                status=tuple((s["column"], s["when_suppressed"], s["value"]) for s in spec.get("status", ())),
                region_group=tuple(spec.get("region_group", ())),
                additive_over_regions=tuple(spec.get("additive_over_regions", ())),
                weighted_over_regions=dict(spec.get("weighted_over_regions") or {}),
                row_sums=tuple((r["total"], tuple(r["parts"])) for r in spec.get("row_sums", ())),
                row_identities=tuple(
                    {"terms": dict(r["terms"]), "only_row_of": tuple(r.get("only_row_of", ()))}
                    for r in spec.get("row_identities", ())
                ),
                period_of=spec.get("period_of"),
                cross_table=spec.get("cross_table"),
                line_sums_of=spec.get("line_sums_of"),
            )
        policy = cls(
            min_persons=int(raw["min_persons"]),
            min_persons_for_derived=int(raw["min_persons_for_derived"]),
            marts=marts,
            version=str(raw.get("version", "")),
            raw=raw,
        )
        policy.validate()
        return policy

    def validate(self) -> None:
        """Refuse a policy that references a mart it does not define or is internally inconsistent."""
        if not 1 <= self.min_persons <= self.min_persons_for_derived:
            raise ValueError("disclosure policy: need 1 <= min_persons <= min_persons_for_derived")
        for name, rules in self.marts.items():
            for col, bases in {**rules.derived, **rules.follows}.items():
                if not bases:
                    raise ValueError(f"disclosure policy: mart {name}: derived column {col} has no base")
            for identity in rules.row_identities:
                if len(identity["terms"]) < 2 or not all(identity["terms"].values()):
                    raise ValueError(f"disclosure policy: mart {name}: a row identity needs two non-zero terms")
            if rules.period_of and rules.period_of.get("mart") not in self.marts:
                raise ValueError(f"disclosure policy: mart {name}: period_of names an unknown mart")
            if rules.line_sums_of and (rules.line_sums_of.get("mart") not in self.marts or not rules.cross_table):
                raise ValueError(
                    f"disclosure policy: mart {name}: line_sums_of needs a cross_table and a known mart"
                )

    def to_manifest(self) -> dict:
        return dict(self.raw)


def load_policy(path: Path | str | None = None) -> DisclosurePolicy:
    path = Path(path) if path else DEFAULT_POLICY_PATH
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    try:
        return DisclosurePolicy.from_dict(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid disclosure policy: {exc}") from exc
