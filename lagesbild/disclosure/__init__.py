"""Disclosure control: nothing leaves the county board with a person count below the threshold."""

from lagesbild.disclosure.apply import DisclosureResult, apply_policy
from lagesbild.disclosure.policy import (
    DEFAULT_POLICY_PATH,
    FLAG_SUFFIX,
    DisclosurePolicy,
    MartRules,
    load_policy,
)
from lagesbild.disclosure.verify import Violation, verify

__all__ = [
    "DEFAULT_POLICY_PATH",
    "FLAG_SUFFIX",
    "DisclosurePolicy",
    "DisclosureResult",
    "MartRules",
    "Violation",
    "apply_policy",
    "load_policy",
    "verify",
]
