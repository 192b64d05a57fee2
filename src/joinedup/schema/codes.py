"""Code lists of the canonical schema.

Codes follow the NHS Data Model and Dictionary where a national code exists
(admission method, admission source, discharge destination, A&E department type,
attendance disposal, outpatient attendance status, ethnic category, treatment
function). Where the national standard is a SNOMED value set too large to ship
(ECDS arrival mode) a small documented local list is used and named as such.
Each code list maps code -> meaning.
"""

SEX = {"F": "Female", "M": "Male", "U": "Not known / not specified"}

# NHS ethnic category (2001 census categories), Data Dictionary ETHNIC CATEGORY.
ETHNIC_CATEGORY = {
    "A": "White - British",
    "B": "White - Irish",
    "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean",
    "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian",
    "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian",
    "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi",
    "L": "Asian or Asian British - Any other Asian background",
    "M": "Black or Black British - Caribbean",
    "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black background",
    "R": "Other Ethnic Groups - Chinese",
    "S": "Other Ethnic Groups - Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}

# Broad groups used for breakdowns (ONS 5-group classification).
ETHNIC_GROUP = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
    "Z": "Unknown",
    "99": "Unknown",
}

PLACE_OF_DEATH = {
    "home": "Usual residence: own home",
    "care_home": "Care home (residential or nursing)",
    "hospital": "NHS or independent hospital",
    "hospice": "Hospice",
    "other": "Elsewhere (public place, other communal establishment)",
}

ORGANISATION_KIND = {
    "commissioner": "Integrated care board / clinical commissioning group",
    "acute_trust": "Acute hospital trust",
    "acute_site": "Hospital site of an acute trust",
    "community_trust": "Community health services provider",
    "mental_health_trust": "Mental health trust",
    "council": "Local authority (adult social care, public health)",
    "ambulance_trust": "Ambulance service",
    "hospice": "Hospice",
}

# ADMISSION METHOD (Hospital Provider Spell), NHS Data Dictionary.
ADMISSION_METHOD = {
    "11": "Elective admission: waiting list",
    "12": "Elective admission: booked",
    "13": "Elective admission: planned",
    "21": "Emergency admission: emergency care department",
    "22": "Emergency admission: GP",
    "23": "Emergency admission: bed bureau",
    "24": "Emergency admission: consultant clinic",
    "25": "Emergency admission: mental health crisis resolution team",
    "2A": "Emergency admission: emergency care department of another provider",
    "2B": "Emergency admission: transfer from another provider",
    "2C": "Emergency admission: baby born at home as intended",
    "2D": "Emergency admission: other emergency admission",
    "28": "Emergency admission: other means (legacy)",
    "31": "Maternity admission: ante-partum",
    "32": "Maternity admission: post-partum",
    "81": "Transfer of an admitted patient from another hospital provider",
    "82": "Birth of a baby in this health care provider",
    "83": "Birth of a baby outside the health care provider",
}
ELECTIVE_METHODS = ("11", "12", "13")
EMERGENCY_METHODS = ("21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28")
MATERNITY_METHODS = ("31", "32")

# PATIENT CLASSIFICATION: separates day cases from ordinary admissions.
PATIENT_CLASSIFICATION = {
    "1": "Ordinary admission",
    "2": "Day case admission",
    "3": "Regular day admission",
    "4": "Regular night admission",
    "5": "Mothers and babies using delivery facilities only",
}

# ADMISSION SOURCE (Hospital Provider Spell), NHS Data Dictionary (common values).
ADMISSION_SOURCE = {
    "19": "Usual place of residence",
    "29": "Temporary place of residence",
    "37": "Court",
    "39": "Penal establishment, court or police station (retired code, in older HES years)",
    "40": "Penal establishment: police station",
    "41": "Penal establishment: court",
    "42": "Penal establishment: prison",
    "49": "NHS other hospital provider: high security psychiatric accommodation",
    "50": "NHS other hospital provider: medium secure unit",
    "51": "NHS other hospital provider: general ward",
    "52": "NHS other hospital provider: ward for maternity patients or neonates",
    "53": "NHS other hospital provider: ward for patients who are mentally ill",
    "54": "NHS run care home",
    "65": "Local authority residential accommodation",
    "66": "Local authority foster care",
    "69": "Local authority home or care home (retired code, in older HES years)",
    "79": "Babies born in or on the way to hospital",
    "85": "Non-NHS run care home",
    "86": "Non-NHS run nursing home (retired code, in older HES years)",
    "87": "Independent sector hospital",
    "88": "Non-NHS run hospice",
    "89": "Non-NHS run institution (retired code, in older HES years)",
    "98": "Not applicable",
    "99": "Not known",
}

# DISCHARGE DESTINATION (Hospital Provider Spell), NHS Data Dictionary, with the
# retired codes older HES years carry (40, 42, 55, 56: the current codes SUS+ and MHSDS
# carry, e.g. OpenSAFELY's APCS Discharge_Destination values).
DISCHARGE_DESTINATION = {
    "19": "Usual place of residence",
    "29": "Temporary place of residence",
    "30": "Repatriation from high security psychiatric hospital",
    "37": "Court",
    "38": "Penal establishment or police station (retired code, in older years)",
    "40": "Penal establishment",
    "42": "Police station / police custody suite",
    "48": "High security psychiatric hospital, Scotland",
    "49": "NHS other hospital provider: high security psychiatric",
    "50": "NHS other hospital provider: medium secure unit",
    "51": "NHS other hospital provider: general ward",
    "52": "NHS other hospital provider: ward for maternity patients or neonates",
    "53": "NHS other hospital provider: ward for patients who are mentally ill",
    "54": "NHS run care home",
    "55": "Care home with nursing",
    "56": "Care home without nursing",
    "65": "Local authority residential accommodation",
    "66": "Local authority foster care",
    "69": "Local authority home or care home (retired code, in older HES years)",
    "79": "Not applicable: patient died or still birth",
    "84": "Non-NHS run hospital: medium secure unit",
    "85": "Non-NHS run care home",
    "86": "Non-NHS run nursing home (retired code, in older HES years)",
    "87": "Independent sector hospital",
    "88": "Non-NHS run hospice",
    "89": "Non-NHS run institution (retired code, in older HES years); since 2021 the "
    "organisation responsible for forced repatriation",
    "98": "Not applicable: hospital provider spell not finished",
    "99": "Not known",
}

# TREATMENT FUNCTION CODE (the subset the synthetic economy uses and ingest accepts
# without warning; ingest accepts any three-digit code).
TREATMENT_FUNCTION = {
    "100": "General surgery",
    "101": "Urology",
    "110": "Trauma and orthopaedics",
    "120": "Ear, nose and throat",
    "130": "Ophthalmology",
    "180": "Emergency medicine",
    "191": "Pain management",
    "300": "General internal medicine",
    "301": "Gastroenterology",
    "302": "Endocrinology",
    "320": "Cardiology",
    "328": "Stroke medicine",
    "330": "Dermatology",
    "340": "Respiratory medicine",
    "361": "Nephrology",
    "370": "Medical oncology",
    "400": "Neurology",
    "410": "Rheumatology",
    "420": "Paediatrics",
    "430": "Geriatric medicine",
    "501": "Obstetrics",
    "502": "Gynaecology",
    "710": "Adult mental illness",
    "715": "Old age psychiatry",
}

# A&E DEPARTMENT TYPE, NHS Data Dictionary.
DEPARTMENT_TYPE = {
    1: "Type 1: consultant-led 24 hour service with full resuscitation facilities",
    2: "Type 2: consultant-led single specialty service",
    3: "Type 3: other type of A&E / minor injury unit / urgent treatment centre",
    4: "Type 4: NHS walk-in centre",
}

# Arrival mode: HES A&E ARRIVAL MODE (ECDS records a SNOMED value set; ingest maps it).
ARRIVAL_MODE = {"1": "Brought in by ambulance (including helicopter)", "2": "Other"}

# A&E ATTENDANCE DISPOSAL, HES A&E.
AE_DISPOSAL = {
    "01": "Admitted to hospital bed / became a lodged patient",
    "02": "Discharged: follow-up treatment by general practitioner",
    "03": "Discharged: did not require any follow-up treatment",
    "04": "Referred to A&E clinic",
    "05": "Referred to fracture clinic",
    "06": "Referred to other outpatient clinic",
    "07": "Transferred to other health care provider",
    "10": "Died in department",
    "11": "Referred to other health care professional",
    "12": "Left department before being treated",
    "13": "Left department having refused treatment",
    "14": "Other",
}
AE_ADMITTED = ("01",)

# ATTENDED OR DID NOT ATTEND, NHS Data Dictionary (outpatients).
OP_ATTENDED = {
    "5": "Attended on time, or late but seen",
    "6": "Arrived late, after the relevant care professional was ready, but seen",
    "7": "Arrived late and could not be seen",
    "2": "Appointment cancelled by, or on behalf of, the patient",
    "3": "Did not attend, no advance warning given",
    "4": "Appointment cancelled or postponed by the health care provider",
}
OP_SEEN = ("5", "6")
OP_DNA = ("3", "7")

CONSULTATION_MEDIUM = {
    "face_to_face": "Face to face",
    "telephone": "Telephone",
    "video": "Video consultation",
    "home_visit": "Home visit",
    "online": "Online / electronic",
}

GP_STAFF_ROLE = {
    "gp": "General practitioner",
    "nurse": "Practice nurse",
    "other_direct_care": "Other direct patient care staff (pharmacist, physiotherapist, HCA...)",
}

COMMUNITY_SERVICE = {
    "district_nursing": "District / community nursing",
    "community_matron": "Community matron / case management",
    "intermediate_care": "Intermediate care and rapid response",
    "therapy": "Community physiotherapy and occupational therapy",
    "specialist_nursing": "Specialist nursing (diabetes, respiratory, heart failure)",
    "community_mental_health": "Community mental health team",
    "palliative_care": "Community palliative care",
}

# Social care service types (Adult Social Care client level data, simplified).
SOCIAL_CARE_SERVICE = {
    "home_care": "Long term: home care",
    "residential_care": "Long term: residential care",
    "nursing_care": "Long term: nursing care",
    "direct_payment": "Long term: direct payment",
    "day_care": "Long term: day care",
    "reablement": "Short term: reablement",
    "equipment": "Short term: equipment and adaptations",
}
SOCIAL_CARE_LONG_TERM = (
    "home_care",
    "residential_care",
    "nursing_care",
    "direct_payment",
    "day_care",
)

CODE_SYSTEM = {
    "snomed": "SNOMED CT concept id",
    "icd10": "ICD-10 (4 character, no dot)",
    "register": "QOF register name (code holds the register name)",
}

# Long-term conditions: QOF register names with a representative SNOMED CT concept.
CONDITION = {
    "hypertension": "Hypertension (QOF HYP)",
    "depression": "Depression (QOF DEP, 18+)",
    "diabetes": "Diabetes mellitus (QOF DM, 17+)",
    "asthma": "Asthma (QOF AST, 6+)",
    "ckd": "Chronic kidney disease stage 3-5 (QOF CKD, 18+)",
    "cancer": "Cancer (QOF CAN)",
    "chd": "Coronary heart disease (QOF CHD)",
    "atrial_fibrillation": "Atrial fibrillation (QOF AF)",
    "copd": "Chronic obstructive pulmonary disease (QOF COPD)",
    "stroke_tia": "Stroke and transient ischaemic attack (QOF STIA)",
    "heart_failure": "Heart failure (QOF HF)",
    "serious_mental_illness": "Schizophrenia, bipolar disorder and other psychoses (QOF MH)",
    "dementia": "Dementia (QOF DEM)",
    "learning_disability": "Learning disability (QOF LD)",
    "osteoporosis": "Osteoporosis (QOF OST, 50+)",
    "epilepsy": "Epilepsy (QOF EP, 18+)",
}
CONDITION_SNOMED = {
    "hypertension": "38341003",
    "depression": "35489007",
    "diabetes": "44054006",
    "asthma": "195967001",
    "ckd": "709044004",
    "cancer": "363346000",
    "chd": "53741008",
    "atrial_fibrillation": "49436004",
    "copd": "13645005",
    "stroke_tia": "230690007",
    "heart_failure": "84114007",
    "serious_mental_illness": "58214004",
    "dementia": "52448006",
    "learning_disability": "110359009",
    "osteoporosis": "64859006",
    "epilepsy": "84757009",
}

PROGRAMME = {
    "telephone_care_management": (
        "Telephone care management for people with long-term conditions "
        "(nurse-led coaching and monitoring by telephone)"
    ),
    "integrated_neighbourhood_teams": (
        "Integrated neighbourhood teams: GP, community nursing, social care and the "
        "voluntary sector working as one team for the practices of a place"
    ),
}
# The units a place-based programme starts in (programme_rollout.unit_level).
UNIT_LEVEL = {
    "practice": "A GP practice (unit_code is its ODS practice code)",
    "footprint": "A neighbourhood footprint (unit_code is its footprint code)",
    "cluster": "A GP cluster / primary care network (unit_code is its cluster code)",
}

# What people report: instruments of the feedback_response table.
FEEDBACK_INSTRUMENT = {
    "fft": "NHS Friends and Family Test",
    "local_experience": "Local patient experience survey",
    "eq5d": "EQ-5D-5L health status index (patient-reported outcome)",
    "pam": "Patient Activation Measure score (0-100)",
    "ltc_confidence": "Confidence in managing one's long-term condition",
}
# Services feedback is about.
FEEDBACK_SETTING = {
    "ae": "A&E / urgent treatment centre",
    "inpatient": "Hospital stay",
    "outpatient": "Outpatient appointment",
    "gp": "General practice",
    "community": "Community health services",
    "telephone_care": "Telephone care management",
}
# FFT: "Overall, how was your experience of our service?" (NHS England FFT guidance 2020).
FFT_ANSWER = {
    "1": "Very good",
    "2": "Good",
    "3": "Neither good nor poor",
    "4": "Poor",
    "5": "Very poor",
    "6": "Don't know",
}
FFT_POSITIVE = ("1", "2")
FFT_NEGATIVE = ("4", "5")
# "How confident are you that you can manage any issues arising from your condition?"
# (GP Patient Survey wording).
LTC_CONFIDENCE_ANSWER = {
    "1": "Very confident",
    "2": "Fairly confident",
    "3": "Not very confident",
    "4": "Not at all confident",
}
FEEDBACK_TIMING = {"pre": "Before treatment", "post": "After treatment"}
