"""The canonical tables: every table, column, type and code list, in one place.

Ingest validates against these definitions, the synthetic economy writes them, the
warehouse creates them and ``docs/schema.md`` is generated from them.
"""

from __future__ import annotations

from joinedup.schema import codes
from joinedup.schema.model import Column, Table

ODS_ORG = r"[A-Z0-9]{3,5}"
ODS_PRACTICE = r"[A-Z][0-9]{5}"
LSOA_2021 = r"[EW]0[0-9]{7}"
PERSON_ID = r"[0-9a-f]{20}"
ICD10 = r"[A-Z][0-9]{2}[0-9X]?"


def _episode() -> Column:
    return Column(
        "episode",
        "int16",
        "Episode of the spell the code was recorded in (1 = first; HES EPIORDER); "
        "empty where the source gives spells only",
        minimum=1,
        maximum=99,
    )


def _person_id(
    description: str = "Pseudonymised person identifier (keyed HMAC of the NHS number)",
) -> Column:
    return Column("person_id", "string", description, nullable=False, pattern=PERSON_ID)


def _provider(description: str = "ODS code of the providing organisation") -> Column:
    return Column("provider_code", "string", description, nullable=False, pattern=ODS_ORG)


def _cost() -> Column:
    return Column("cost", "float64", "Cost in pounds at the tariff's price base", minimum=0)


ORGANISATION = Table(
    "organisation",
    grain="one partner or provider organisation (or a site of one)",
    description="Partners and providers of the partnership, with ODS codes.",
    primary_key=("org_code",),
    columns=(
        Column("org_code", "string", "ODS code", nullable=False, pattern=ODS_ORG),
        Column("name", "string", "Organisation name", nullable=False),
        Column(
            "kind",
            "string",
            "Kind of organisation",
            nullable=False,
            codes=codes.ORGANISATION_KIND,
            code_list="ORGANISATION_KIND",
        ),
        Column(
            "parent_code", "string", "ODS code of the parent (a trust for a site)", pattern=ODS_ORG
        ),
    ),
)

FOOTPRINT = Table(
    "footprint",
    grain="one neighbourhood / service delivery footprint",
    description="Neighbourhood footprints of 30,000 to 50,000 registered patients.",
    primary_key=("footprint_code",),
    columns=(
        Column("footprint_code", "string", "Local footprint code", nullable=False),
        Column("name", "string", "Footprint name", nullable=False),
    ),
)

LSOA = Table(
    "lsoa",
    grain="one lower layer super output area (2021)",
    description="Small areas with their Index of Multiple Deprivation decile.",
    primary_key=("lsoa_code",),
    columns=(
        Column("lsoa_code", "string", "LSOA 2021 code", nullable=False, pattern=LSOA_2021),
        Column(
            "imd_decile",
            "int16",
            "IMD 2019 decile: 1 most deprived, 10 least",
            nullable=False,
            minimum=1,
            maximum=10,
        ),
        Column("footprint_code", "string", "Footprint the area lies in"),
    ),
)

PRACTICE = Table(
    "practice",
    grain="one GP practice",
    description="GP practices, their cluster (primary care network) and footprint.",
    primary_key=("practice_code",),
    columns=(
        Column(
            "practice_code", "string", "ODS practice code", nullable=False, pattern=ODS_PRACTICE
        ),
        Column("name", "string", "Practice name", nullable=False),
        Column("cluster_code", "string", "GP cluster / primary care network", nullable=False),
        Column("footprint_code", "string", "Footprint the practice belongs to", nullable=False),
    ),
)

PERSON = Table(
    "person",
    grain="one pseudonymised person ever registered in the partnership",
    description="Demographics and registration of each person.",
    primary_key=("person_id",),
    person_level=True,
    columns=(
        _person_id(),
        Column(
            "year_of_birth", "int16", "Year of birth", nullable=False, minimum=1900, maximum=2100
        ),
        Column("sex", "string", "Sex", nullable=False, codes=codes.SEX, code_list="SEX"),
        Column(
            "ethnicity",
            "string",
            "NHS ethnic category",
            codes=codes.ETHNIC_CATEGORY,
            code_list="ETHNIC_CATEGORY",
        ),
        Column("lsoa_code", "string", "LSOA 2021 of residence", pattern=LSOA_2021),
        Column(
            "imd_decile",
            "int16",
            "IMD 2019 decile of residence: 1 most deprived",
            minimum=1,
            maximum=10,
        ),
        Column(
            "practice_code",
            "string",
            "Registered GP practice",
            nullable=False,
            pattern=ODS_PRACTICE,
        ),
        Column(
            "registered_from", "date", "Date registration with the practice began", nullable=False
        ),
        Column("registered_to", "date", "Date registration ended (null while registered)"),
        Column("date_of_death", "date", "Date of death (null if alive)"),
        Column(
            "place_of_death",
            "string",
            "Place of death",
            codes=codes.PLACE_OF_DEATH,
            code_list="PLACE_OF_DEATH",
        ),
    ),
)

CONDITION = Table(
    "condition",
    grain="one recorded long-term condition of one person",
    description="Long-term conditions from primary care registers.",
    primary_key=("person_id", "condition"),
    person_level=True,
    event_date_columns=("recorded_on",),
    columns=(
        _person_id(),
        Column(
            "condition",
            "string",
            "Condition (QOF register name)",
            nullable=False,
            codes=codes.CONDITION,
            code_list="CONDITION",
        ),
        Column(
            "code_system",
            "string",
            "Code system of `code`",
            nullable=False,
            codes=codes.CODE_SYSTEM,
            code_list="CODE_SYSTEM",
        ),
        Column("code", "string", "Code recorded", nullable=False),
        Column("recorded_on", "date", "Date first recorded", nullable=False),
    ),
)

GP_APPOINTMENT = Table(
    "gp_appointment",
    grain="one primary care appointment attended",
    description="Appointments in general practice.",
    person_level=True,
    event_date_columns=("date",),
    columns=(
        _person_id(),
        Column(
            "practice_code", "string", "Practice that gave the appointment", pattern=ODS_PRACTICE
        ),
        Column("date", "date", "Appointment date", nullable=False),
        Column(
            "mode",
            "string",
            "Mode of appointment",
            nullable=False,
            codes=codes.CONSULTATION_MEDIUM,
            code_list="CONSULTATION_MEDIUM",
        ),
        Column(
            "staff_role",
            "string",
            "Role of the clinician seen",
            nullable=False,
            codes=codes.GP_STAFF_ROLE,
            code_list="GP_STAFF_ROLE",
        ),
    ),
)

APC_SPELL = Table(
    "apc_spell",
    grain="one hospital provider spell (admission to discharge)",
    description="Admitted patient care: one row per hospital spell.",
    primary_key=("spell_id",),
    person_level=True,
    event_date_columns=("admitted_on", "discharged_on"),
    columns=(
        Column("spell_id", "string", "Spell identifier", nullable=False),
        _person_id(),
        _provider(),
        Column("site_code", "string", "ODS code of the hospital site", pattern=ODS_ORG),
        Column("admitted_on", "date", "Admission date", nullable=False),
        Column(
            "discharged_on",
            "date",
            "Discharge date (on or after admission); empty while the spell is unfinished, "
            "when the discharge destination is 98 or not given",
        ),
        Column(
            "admission_method",
            "string",
            "Admission method",
            nullable=False,
            codes=codes.ADMISSION_METHOD,
            code_list="ADMISSION_METHOD",
        ),
        Column(
            "patient_classification",
            "string",
            "Patient classification (day case = 2)",
            nullable=False,
            codes=codes.PATIENT_CLASSIFICATION,
            code_list="PATIENT_CLASSIFICATION",
        ),
        Column(
            "admission_source",
            "string",
            "Admission source",
            codes=codes.ADMISSION_SOURCE,
            code_list="ADMISSION_SOURCE",
        ),
        Column(
            "discharge_destination",
            "string",
            "Discharge destination",
            codes=codes.DISCHARGE_DESTINATION,
            code_list="DISCHARGE_DESTINATION",
        ),
        Column(
            "specialty",
            "string",
            "Treatment function code of the main specialty",
            pattern=r"[0-9]{3}",
        ),
        Column(
            "primary_diagnosis", "string", "Primary diagnosis, ICD-10 without dot", pattern=ICD10
        ),
        Column(
            "primary_procedure",
            "string",
            "Main procedure, OPCS-4 without dot",
            pattern=r"[A-Z][0-9]{2,3}",
        ),
        _cost(),
    ),
)

APC_DIAGNOSIS = Table(
    "apc_diagnosis",
    grain="one coded diagnosis of one spell (of one episode, where the source has them)",
    description="Every coded diagnosis of each spell; position 1 is the primary diagnosis "
    "(of the spell's first episode, where episodes are kept).",
    primary_key=("spell_id", "episode", "position"),
    columns=(
        Column("spell_id", "string", "Spell identifier", nullable=False),
        Column(
            "position",
            "int16",
            "Diagnosis position (1 = primary)",
            nullable=False,
            minimum=1,
            maximum=20,
        ),
        Column(
            "icd10",
            "string",
            "ICD-10 code, no dot, 3 or 4 characters",
            nullable=False,
            pattern=ICD10,
        ),
        _episode(),
    ),
)

APC_PROCEDURE = Table(
    "apc_procedure",
    grain="one coded procedure of one spell (of one episode, where the source has them)",
    description="Every coded procedure (OPCS-4) of each spell; position 1 is the main "
    "procedure of its episode.",
    primary_key=("spell_id", "episode", "position"),
    columns=(
        Column("spell_id", "string", "Spell identifier", nullable=False),
        Column(
            "position",
            "int16",
            "Procedure position (1 = main)",
            nullable=False,
            minimum=1,
            maximum=24,
        ),
        Column(
            "opcs4",
            "string",
            "OPCS-4 code, no dot, 3 or 4 characters",
            nullable=False,
            pattern=r"[A-Z][0-9]{2,3}",
        ),
        _episode(),
    ),
)

AE_ATTENDANCE = Table(
    "ae_attendance",
    grain="one A&E / urgent treatment centre attendance",
    description="Emergency care attendances of every department type.",
    primary_key=("attendance_id",),
    person_level=True,
    event_date_columns=("arrived_at",),
    columns=(
        Column("attendance_id", "string", "Attendance identifier", nullable=False),
        _person_id(),
        _provider(),
        Column("site_code", "string", "ODS code of the site", pattern=ODS_ORG),
        Column("arrived_at", "timestamp", "Arrival date and time", nullable=False),
        Column("departed_at", "timestamp", "Departure date and time (after arrival)"),
        Column(
            "department_type",
            "int16",
            "A&E department type 1-4; empty where the source says not known (HES 99)",
            codes=codes.DEPARTMENT_TYPE,
            code_list="DEPARTMENT_TYPE",
        ),
        Column(
            "arrival_mode",
            "string",
            "Arrival mode",
            codes=codes.ARRIVAL_MODE,
            code_list="ARRIVAL_MODE",
        ),
        Column(
            "disposal",
            "string",
            "Attendance disposal",
            codes=codes.AE_DISPOSAL,
            code_list="AE_DISPOSAL",
        ),
        _cost(),
    ),
)

OP_APPOINTMENT = Table(
    "op_appointment",
    grain="one outpatient appointment (attended or not)",
    description="Consultant-led outpatient appointments.",
    primary_key=("appointment_id",),
    person_level=True,
    event_date_columns=("date",),
    columns=(
        Column("appointment_id", "string", "Appointment identifier", nullable=False),
        _person_id(),
        _provider(),
        Column("date", "date", "Appointment date", nullable=False),
        Column("specialty", "string", "Treatment function code", pattern=r"[0-9]{3}"),
        Column(
            "first_attendance",
            "boolean",
            "True for a first appointment, False for a follow-up",
            nullable=False,
        ),
        Column(
            "attended",
            "string",
            "Attended or did not attend",
            nullable=False,
            codes=codes.OP_ATTENDED,
            code_list="OP_ATTENDED",
        ),
        Column(
            "medium",
            "string",
            "Consultation medium",
            codes=codes.CONSULTATION_MEDIUM,
            code_list="CONSULTATION_MEDIUM",
        ),
        _cost(),
    ),
)

COMMUNITY_CONTACT = Table(
    "community_contact",
    grain="one community health service contact",
    description="Contacts with community health services.",
    person_level=True,
    event_date_columns=("date",),
    columns=(
        _person_id(),
        _provider(),
        Column("date", "date", "Contact date", nullable=False),
        Column(
            "service",
            "string",
            "Community service",
            nullable=False,
            codes=codes.COMMUNITY_SERVICE,
            code_list="COMMUNITY_SERVICE",
        ),
        Column("team", "string", "Team (usually the footprint's team)"),
        _cost(),
    ),
)

SOCIAL_CARE_SERVICE = Table(
    "social_care_service",
    grain="one social care service package",
    description="Adult social care packages from the council's client level data.",
    person_level=True,
    event_date_columns=("started_on",),
    columns=(
        _person_id(),
        Column(
            "service_type",
            "string",
            "Type of service",
            nullable=False,
            codes=codes.SOCIAL_CARE_SERVICE,
            code_list="SOCIAL_CARE_SERVICE",
        ),
        Column("started_on", "date", "Start date", nullable=False),
        Column("ended_on", "date", "End date (null while open; on or after start)"),
        Column("weekly_cost", "float64", "Gross weekly cost in pounds", minimum=0),
    ),
)

PROGRAMME_ENROLMENT = Table(
    "programme_enrolment",
    grain="one person's enrolment in one intervention programme",
    description="Who was enrolled in which programme and when.",
    primary_key=("person_id", "programme", "enrolled_on"),
    person_level=True,
    event_date_columns=("enrolled_on",),
    columns=(
        _person_id(),
        Column("programme", "string", "Programme name", nullable=False),
        Column("enrolled_on", "date", "Enrolment date", nullable=False),
        Column("left_on", "date", "Date the person left (null while enrolled)"),
    ),
)

PROGRAMME_ROLLOUT = Table(
    "programme_rollout",
    grain="one unit's start in one place-based programme",
    description=(
        "When a place-based programme (one that serves everyone registered in a place, "
        "not people enrolled one by one) started in each practice, footprint or cluster: "
        "places that never started have no row."
    ),
    primary_key=("programme", "unit_level", "unit_code"),
    columns=(
        Column("programme", "string", "Programme name", nullable=False),
        Column(
            "unit_level",
            "string",
            "Kind of unit the programme started in",
            nullable=False,
            codes=codes.UNIT_LEVEL,
            code_list="UNIT_LEVEL",
        ),
        Column(
            "unit_code",
            "string",
            "Code of the unit: a practice, footprint or cluster code",
            nullable=False,
        ),
        Column("started_on", "date", "Date the programme started in the unit", nullable=False),
        Column("ended_on", "date", "Date it ended there (null while running; on or after start)"),
    ),
)

FEEDBACK_RESPONSE = Table(
    "feedback_response",
    grain="one answer of one respondent to one survey or outcome measure",
    description=(
        "What people report: Friends and Family Test, experience surveys and "
        "patient-reported outcome and activation measures, linked to the person "
        "where the instrument allows and anonymous where it does not."
    ),
    primary_key=("response_id",),
    person_level=True,
    event_date_columns=("responded_on",),
    columns=(
        Column("response_id", "string", "Response identifier", nullable=False),
        Column(
            "person_id",
            "string",
            "Pseudonymised person (null for an anonymous response)",
            pattern=PERSON_ID,
        ),
        Column(
            "instrument",
            "string",
            "Survey or measure",
            nullable=False,
            codes=codes.FEEDBACK_INSTRUMENT,
            code_list="FEEDBACK_INSTRUMENT",
        ),
        Column(
            "setting",
            "string",
            "Service the feedback is about",
            nullable=False,
            codes=codes.FEEDBACK_SETTING,
            code_list="FEEDBACK_SETTING",
        ),
        Column(
            "provider_code",
            "string",
            "ODS code of the provider or practice",
            pattern=r"[A-Z0-9]{3,6}",
        ),
        Column("responded_on", "date", "Date of the response", nullable=False),
        Column(
            "answer_code",
            "string",
            "Answer to a closed question as its number (FFT_ANSWER for the FFT, "
            "LTC_CONFIDENCE_ANSWER for confidence)",
            pattern=r"[0-9]{1,2}",
        ),
        Column("score", "float64", "Score of an outcome or activation measure"),
        Column(
            "timing",
            "string",
            "Before or after treatment (outcome measures)",
            codes=codes.FEEDBACK_TIMING,
            code_list="FEEDBACK_TIMING",
        ),
        Column(
            "comment",
            "string",
            "Free-text comment: kept, never shown where it could identify someone",
        ),
    ),
)

GP_EVENT = Table(
    "gp_event",
    grain="one coded event in a GP record (a diagnosis, a resolution, a test result...)",
    description=(
        "Coded events as GP practice systems export them: person, date, SNOMED CT concept "
        "and an optional value. QOF condition registers are derived from them into "
        "`condition` (`joinedup registers derive`)."
    ),
    person_level=True,
    event_date_columns=("date",),
    columns=(
        _person_id(),
        Column("practice_code", "string", "Practice that recorded the event", pattern=ODS_PRACTICE),
        Column("date", "date", "Date of the event (its clinically effective date)", nullable=False),
        Column(
            "code_system",
            "string",
            "Code system of `code`",
            nullable=False,
            codes=codes.CODE_SYSTEM,
            code_list="CODE_SYSTEM",
        ),
        Column("code", "string", "Code recorded (a SNOMED CT concept id)", nullable=False),
        Column("value", "float64", "Value recorded with the code (a result, a measurement)"),
    ),
)

PERSON_FACT = Table(
    "person_fact",
    grain="a person's details as one activity record gave them",
    description="Age, sex, ethnicity, area and practice as recorded on hospital and other "
    "activity (HES, SUS, ECDS): where a partnership has no GP register, people's details "
    "come from here, most recent first (see joinedup.derived.persons).",
    person_level=True,
    columns=(
        _person_id(),
        Column("recorded_on", "date", "Date of the activity that recorded them", nullable=False),
        Column("source_table", "string", "Canonical table of that activity", nullable=False),
        Column("age", "int16", "Age in years on that date", minimum=0, maximum=130),
        Column("sex", "string", "Sex", codes=codes.SEX, code_list="SEX"),
        Column(
            "ethnicity",
            "string",
            "NHS ethnic category",
            codes=codes.ETHNIC_CATEGORY,
            code_list="ETHNIC_CATEGORY",
        ),
        Column("lsoa_code", "string", "LSOA of residence", pattern=LSOA_2021),
        Column("practice_code", "string", "GP practice recorded", pattern=ODS_PRACTICE),
    ),
)

MH_SPELL = Table(
    "mh_spell",
    grain="one mental health hospital provider spell (admission to discharge)",
    description=(
        "Mental health inpatient stays as the Mental Health Services Data Set records them "
        "(MHS501HospProvSpell). Kept apart from apc_spell: mental health providers also "
        "report admissions to SUS, and MHSDS has no patient classification, so putting "
        "these spells in apc_spell would count stays twice and mix them into acute "
        "admission measures."
    ),
    primary_key=("spell_id",),
    person_level=True,
    event_date_columns=("admitted_on", "discharged_on"),
    columns=(
        Column("spell_id", "string", "Hospital provider spell identifier", nullable=False),
        _person_id(),
        _provider(),
        Column("admitted_on", "date", "Start date of the spell", nullable=False),
        Column(
            "discharged_on", "date", "Discharge date (on or after admission); empty in hospital"
        ),
        Column(
            "admission_method",
            "string",
            "Admission method",
            codes=codes.ADMISSION_METHOD,
            code_list="ADMISSION_METHOD",
        ),
        Column(
            "admission_source",
            "string",
            "Admission source",
            codes=codes.ADMISSION_SOURCE,
            code_list="ADMISSION_SOURCE",
        ),
        Column(
            "discharge_destination",
            "string",
            "Discharge destination",
            codes=codes.DISCHARGE_DESTINATION,
            code_list="DISCHARGE_DESTINATION",
        ),
    ),
)

DEATH = Table(
    "death",
    grain="one registered death",
    description=(
        "Registered deaths (ONS civil registration, as the Primary Care Mortality Database "
        "issues them), loaded on their own: a person row needs a GP registration, which a "
        "deaths extract does not carry. Where person.date_of_death is empty, this is the "
        "death to use (see docs/ingest.md, Deaths)."
    ),
    primary_key=("person_id",),
    person_level=True,
    columns=(
        _person_id(),
        Column("date_of_death", "date", "Date of death", nullable=False),
        Column(
            "place_of_death",
            "string",
            "Place of death",
            codes=codes.PLACE_OF_DEATH,
            code_list="PLACE_OF_DEATH",
        ),
        Column(
            "underlying_cause",
            "string",
            "Underlying cause of death, ICD-10 without dot",
            pattern=ICD10,
        ),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ORGANISATION,
        FOOTPRINT,
        LSOA,
        PRACTICE,
        PERSON,
        CONDITION,
        GP_APPOINTMENT,
        APC_SPELL,
        APC_DIAGNOSIS,
        APC_PROCEDURE,
        AE_ATTENDANCE,
        OP_APPOINTMENT,
        COMMUNITY_CONTACT,
        SOCIAL_CARE_SERVICE,
        PROGRAMME_ENROLMENT,
        PROGRAMME_ROLLOUT,
        FEEDBACK_RESPONSE,
        GP_EVENT,
        PERSON_FACT,
        MH_SPELL,
        DEATH,
    )
}

# System tables: kept by the warehouse itself, not loaded from extracts.
LOAD_BATCH = Table(
    "load_batch",
    grain="one load of one file (or one synthetic table) into one canonical table",
    description="Every load, with its row accounting: rows_read = accepted + quarantined.",
    primary_key=("batch_id",),
    columns=(
        Column("batch_id", "string", "Batch identifier", nullable=False),
        Column("table_name", "string", "Canonical table loaded", nullable=False),
        Column("source_file", "string", "File (or generator) the rows came from", nullable=False),
        Column("content_hash", "string", "SHA-256 of the source content", nullable=False),
        Column("rows_read", "int64", "Rows read from the source", nullable=False),
        Column("rows_accepted", "int64", "Rows loaded into the table", nullable=False),
        Column("rows_quarantined", "int64", "Rows kept in quarantine", nullable=False),
        Column("status", "string", "loaded, or replaced by a later batch", nullable=False),
        Column("loaded_at", "timestamp", "When the batch was committed", nullable=False),
        Column("replaces_batch_id", "string", "Batch this one replaced, if any"),
        Column("code_version", "string", "joinedup version that loaded the batch"),
        Column(
            "person_key",
            "string",
            "How the rows were keyed to people: nhs_number, a source key scheme "
            "(e.g. hesid; see joinedup keys), or empty for tables without people",
        ),
    ),
)

QUARANTINE = Table(
    "quarantine",
    grain="one problem found in one source row",
    description="Rows that failed validation, kept with the reason, never lost.",
    columns=(
        Column("batch_id", "string", "Batch the row arrived in", nullable=False),
        Column("table_name", "string", "Canonical table the row was meant for", nullable=False),
        Column("source_file", "string", "Source file", nullable=False),
        Column(
            "source_row", "int64", "Row number in the source (1 = first data row)", nullable=False
        ),
        Column("field", "string", "Field that failed"),
        Column("value", "string", "Value found (identifiers are never kept here)"),
        Column("reason", "string", "What was expected, in words", nullable=False),
        Column("raw_row", "string", "The source row as JSON, identifiers removed"),
    ),
)

SYSTEM_TABLES: dict[str, Table] = {t.name: t for t in (LOAD_BATCH, QUARANTINE)}
