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

#: mart_hidden_population.estimate_status / chao2_status (and suppressed_disclosure from
#: config/disclosure_policy.yml) in Swedish; every status the mart can carry is here.
HIDDEN_STATUS = {
    "ok": "skattning gjord",
    "low_overlap": (
        "osäker skattning: färre än 7 annonsörer på båda sajterna, brett intervall och sannolikt för låg"
    ),
    "low_doubletons": (
        "osäker skattning: färre än 7 annonsörer sedda exakt två veckor, brett intervall; när veckorna "
        "ser få av många annonsörer kan även den övre gränsen ligga under det sanna antalet"
    ),
    "too_few_weeks": "bara en vecka av året: ingen veckoskattning möjlig",
    "no_overlap": "ingen annonsör på båda sajterna: ingen skattning möjlig",
    "no_advertisers": "inga annonsörer sedda",
    "suppressed_disclosure": (
        "dold av röjandeskydd: ett av underlagen är under gränsen, så skattningen döljs med det"
    ),
}

#: mart_hidden_population.ci_method / chao2_ci_method in Swedish.
HIDDEN_CI_METHOD = {
    "chao1987_log_normal": (
        "log-normalt intervall (Chao 1987), aldrig under antalet sedda; för Chapman-skattningen (två sajter) är den övre "
        "gränsen minst en skalad Poissongräns för antalet på båda"
    ),
    "full_overlap_binomial_bound": (
        "alla annonsörer på ena sajten fanns på den andra: nedre gräns = sedda, övre gräns ur "
        "sannolikheten för fullt överlapp"
    ),
    "low_overlap_seen_to_poisson_bound": (
        "få annonsörer på båda sajterna: nedre gräns = sedda, övre gräns den största av den log-normala "
        "(Chao 1987) och Poissons 97,5 %-gräns för antalet på båda"
    ),
    "low_doubletons_seen_to_log_normal": (
        "få annonsörer sedda exakt två veckor: nedre gräns = sedda, övre gräns log-normal (Chao 1987)"
    ),
    "no_singletons_poisson_bound": (
        "ingen annonsör sedd bara en vecka: nedre gräns = sedda, övre gräns ur Poissons 97,5 %-gräns"
    ),
}


#: mart_prevalence_yearly.purchases_incl_hidden_method in Swedish.
PURCHASES_INCL_HIDDEN_METHOD = {
    "lognormal_propagation": (
        "osäkerhetsspann ur antagandena, tre osäkerhetskällor (andel arbetade dagar, kunder per arbetad "
        "dag och mörkertalsfaktorn) log-normalt sammanvägda; inte ett kalibrerat 95 %-intervall"
    ),
    "no_hidden_population_estimate": "ingen mörkertalsskattning för länet det året",
}

#: docs/estimation.md (simulation with known truth): how much too low the two-site (Chapman)
#: estimate is when advertisers are unequally active; the report states these numbers.
CHAPMAN_BIAS_MODERATE = "omkring 11 %"
CHAPMAN_BIAS_STRONG = "upp till 45 %"
