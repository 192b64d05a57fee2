"""ICD-10 code lists that derived flags use (prefix match on codes without the dot)."""

# Chronic ambulatory care sensitive conditions, NHS Outcomes Framework indicator 2.3.i
# (primary diagnosis). The indicator's procedure-based exclusions for angina and the
# J20-with-secondary-COPD rule are not applied: documented in docs/measures.md.
CHRONIC_ACSC = (
    # angina
    "I20", "I240", "I248", "I249", "I25", "Z951", "Z955",
    # asthma
    "J45", "J46",
    # congestive heart failure
    "I110", "I50", "J81",
    # COPD
    "J41", "J42", "J43", "J44", "J47",
    # convulsions and epilepsy
    "G40", "G41", "R56", "O15",
    # dementia
    "F00", "F01", "F02", "F03", "G30",
    # diabetes complications
    "E100", "E101", "E102", "E103", "E104", "E105", "E106", "E107", "E108",
    "E110", "E111", "E112", "E113", "E114", "E115", "E116", "E117", "E118",
    "E120", "E121", "E122", "E123", "E124", "E125", "E126", "E127", "E128",
    "E130", "E131", "E132", "E133", "E134", "E135", "E136", "E137", "E138",
    "E140", "E141", "E142", "E143", "E144", "E145", "E146", "E147", "E148",
    # hypertension
    "I10", "I119",
    # iron deficiency anaemia
    "D501", "D508", "D509", "D51", "D52",
    # nutritional deficiencies
    "E40", "E41", "E42", "E43", "E550", "E643",
    # atrial fibrillation and flutter
    "I48",
)  # fmt: skip

# Falls: external cause W00-W19 in any position (PHOF indicator C29, with an injury
# primary diagnosis S00-T98).
FALL_EXTERNAL_CAUSE = tuple(f"W{n:02d}" for n in range(20))
INJURY_PRIMARY = ("S", "T")

# Hip fracture, PHOF indicator C28: primary diagnosis S72.0, S72.1, S72.2.
HIP_FRACTURE = ("S720", "S721", "S722")

# Cancer, as the national emergency readmission indicators exclude it (NHS Digital
# I02040 / NHS Outcomes Framework 3b): malignant neoplasms C00-C97 and neoplasms of
# uncertain behaviour D37-D48, in any diagnosis position.
CANCER = ("C", *(f"D{n}" for n in range(37, 49)))

# Main specialties of obstetric care (treatment function codes): obstetrics, midwifery.
OBSTETRIC_SPECIALTIES = ("501", "560")
