"""The fixed Swedish texts of the situation picture: method, known biases, labels.

Kept apart from the rendering code so an analyst can review the wording in one place.
"""

from __future__ import annotations

from lagesbild.report.cells import SUPPRESSED_MARK

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
    "no_overlap": "ingen annonsör på båda sajterna: ingen skattning möjlig",
    "no_advertisers": "inga annonsörer sedda",
    "suppressed_disclosure": (
        "dold av röjandeskydd: ett av underlagen är under gränsen, så skattningen döljs med det"
    ),
    "overlap_too_small": "för litet överlapp mellan sajterna för en skattning",
}

#: mart_hidden_population.ci_method / chao2_ci_method in Swedish.
HIDDEN_CI_METHOD = {
    "chao1987_log_normal": "log-normalt intervall (Chao 1987), aldrig under antalet sedda",
    "full_overlap_binomial_bound": (
        "alla annonsörer på ena sajten fanns på den andra: nedre gräns = sedda, övre gräns ur "
        "sannolikheten för fullt överlapp"
    ),
    "low_overlap_seen_to_log_normal": (
        "få annonsörer på båda sajterna: nedre gräns = sedda, övre gräns log-normal (Chao 1987)"
    ),
    "no_singletons_poisson_bound": (
        "ingen annonsör sedd bara en vecka: nedre gräns = sedda, övre gräns ur Poissons 97,5 %-gräns"
    ),
}


def method_html(model_version: str) -> str:
    """How the numbers were made, in the order a reader meets them in the report."""
    return f"""
<ul>
<li><strong>Annonser.</strong> En eller flera annonssajter bevakas med återkommande ögonblicksbilder.
Varje annons knyts till en kommun genom den ort som annonsen anger (ett ortsregister med
stavningsvarianter). Annonser med okänd ort eller ort utanför länet räknas, men knyts inte till någon
kommun. Telefonnummer ersätts redan vid inläsningen med en nyckelad kod (pseudonym); annonser som delar
telefonnummer räknas som samma annonsör. Rapporten innehåller inga telefonnummer, målnummer eller
personuppgifter.</li>
<li><strong>Skattade köp.</strong> Skattade köp = annonsörsdagar × andel annonserade dagar som faktiskt
arbetas × kunder per arbetad dag, summerat över veckorna. Annonsörer räknas en gång per vecka även om
de har många annonser. Parametrarna har ett lågt, ett centralt och ett högt värde
(modellversion {model_version}); låg–hög är ett scenariospann mellan låga och höga antaganden, inte
ett konfidensintervall, och räknar bara de annonsörer som syns. Skattningen med mörkertal
multiplicerar det centrala värdet med länets fångst–återfångstfaktor (skattade ÷ sedda annonsörer) och
har ett 95 %-spann som bygger på antagna fördelningar för parametrarna och faktorns osäkerhet.</li>
<li><strong>Andel av länet och per 10 000 invånare.</strong> Kommunens skattade köp delat med länets,
och med kommunens folkmängd enligt SCB (31 december). Från 2025 lägger SCB till ett litet brus i
tabellerna, så kommunernas summa behöver inte bli exakt länets.</li>
<li><strong>Domar.</strong> Domar och strafförelägganden för köp av sexuell tjänst (6 kap. 11 §
brottsbalken), kodade av länsstyrelsens analytiker: köparens ålder, hemkommun och kommunen där köpet
skedde.</li>
<li><strong>Mörkertal.</strong> Fångst–återfångst mellan två sajter på telefonnummer (Chapmans
skattning <em>N</em> = (<em>n</em>₁+1)(<em>n</em>₂+1)/(<em>m</em>₂+1) − 1 med log-normalt 95 %
intervall enligt Chao 1987, aldrig under antalet sedda annonsörer): hur många annonsörer som finns i
den population båda sajterna når, och därmed hur stor del en sajt ensam missar. En andra, oberoende
skattning bygger på hur många veckor varje annonsör syns (Chao). Skattningen förutsätter att sajterna
når annonsörerna oberoende av varandra och att alla annonsörer är lika lätta att se. I simuleringar
med känt facit täcker intervallet 94–96 % när antagandena håller, men när annonsörerna är olika
aktiva blir skattningen för låg: 11 % för låg när aktiviteten varierar måttligt, upp till 45 % när
några få är mycket aktivare än resten. Läs den därför som en nedre gräns.</li>
<li><strong>Röjandekontroll.</strong> Antal personer (köpare, annonsörer) under gränsen för
röjandekontroll visas inte, och inte heller medelvärden, andelar och åldersgrupper som bygger på för
få personer. Värden som annars skulle kunna räknas fram ur en summa döljs också. Små kommuner kan
redovisas sammanslagna som ”Övriga länet”. I tabellerna står då {SUPPRESSED_MARK}; i diagrammen ritas värdet
inte.</li>
</ul>
"""


BIASES_HTML = """
<ul>
<li><strong>Domarna följer polisens prioriteringar.</strong> Antalet lagförda köpare visar var och när
polisen har arbetat med sexköp, inte hur många köp som sker. En ökning kan betyda fler insatser.</li>
<li><strong>En sajt är inte hela marknaden.</strong> Kontakter via andra sajter, sociala medier,
gatan eller bekanta syns inte i annonsräkningen. Mörkertalsskattningen avser bara det som någon av de
bevakade sajterna kan nå.</li>
<li><strong>Annonser är inte personer.</strong> En person kan ha flera annonser och telefonnummer, och
ett nummer kan användas för flera personer. Annonsens ort behöver inte vara platsen där köpet sker.</li>
<li><strong>Luckor i bevakningen.</strong> Veckor utan full bevakning visas som luckor i diagrammen,
inte som nollor, och ingår inte i veckoserien.</li>
<li><strong>Modellens antaganden.</strong> Andelen arbetade dagar och antalet kunder per dag är
antaganden från tidigare kartläggningar. Jämför helst över tid inom samma modellversion.</li>
</ul>
"""
