"""Swedish labels used by the sections; the running text is in ``templates/``."""

from __future__ import annotations

AGE_BANDS = [
    ("age_18_24", "18–24"),
    ("age_25_34", "25–34"),
    ("age_35_44", "35–44"),
    ("age_45_54", "45–54"),
    ("age_55_69", "55–69"),
    ("age_70_plus", "70+"),
]

WEEKLY_SERIES = [
    ("ads_seen", "Annonser sedda (alla ögonblicksbilder)"),
    ("unique_ads", "Unika annonser"),
    ("active_advertisers", "Aktiva annonsörer (telefonnummer kopplade)"),
]

CHECK_STATUS = {True: "Godkänd", False: "Ej godkänd"}
SEVERITY = {
    "critical": "kritisk",
    "error": "kritisk",
    "warning": "varning",
    "warn": "varning",
    "info": "information",
}

HIDDEN_STATUS = {
    "ok": "skattning gjord",
    "overlap_too_small": "för litet överlapp mellan sajterna",
}
