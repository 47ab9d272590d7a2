"""Asset checks: GX suites (one per raw dataset and mart) and gap checks.

``all_asset_checks`` goes into ``Definitions(asset_checks=...)``; the alert checks live in
``alerts.py`` beside these and are wired separately.
"""

from orchestration.checks.gap_checks import build_gap_checks
from orchestration.checks.gx_checks import build_gx_checks

all_asset_checks: list = [*build_gx_checks(), *build_gap_checks()]

__all__ = ["all_asset_checks"]


def all_check_keys() -> list:
    """Every check key defined here, for ``quality_summary_from_instance(..., check_keys=...)``."""
    return [key for checks in all_asset_checks for key in checks.check_keys]


__all__ += ["all_check_keys"]
