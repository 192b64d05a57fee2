"""National extracts as issued (SUS+ APCS, APCE, OPA and ECDS; CSDS; MHSDS; ASC CLD;
PCMD deaths) load with the shipped layouts, each recognised from its header alone: the
files below have real headers, unhelpful names and one bad row each."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from joinedup.ingest import ingest
from joinedup.ingest.keys import source_person_id
from joinedup.ingest.mapping import ColumnSpec, _column, load_mapping, split_codes
from joinedup.ingest.pseudonymise import load_or_create_key, person_id
from joinedup.ingest.readers import peek_header
from joinedup.ingest.recognise import candidates, recognise

from .helpers import invalid_nhs_number, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

APCS = (
    ["APCS_Ident", "Der_Spell_ID", "Der_Pseudo_NHS_Number", "Der_Provider_Code",
     "Der_Provider_Site_Code", "Admission_Date", "Discharge_Date", "Admission_Method",
     "Patient_Classification", "Source_of_Admission", "Discharge_Destination",
     "Der_Admit_Treatment_Function_Code", "Der_Diagnosis_All", "Der_Procedure_All",
     "Age_At_Start_of_Spell_SUS", "Sex", "Ethnic_Group", "Der_Postcode_LSOA_2021_Code",
     "GP_Practice_Code"],
    [
        # two episodes' codes; the second episode's procedure is "-" (none)
        ["1001", "S1", "P001", "rxx", "RXX01", "2024-01-05", "2024-01-09", "21", "1", "19",
         "19", "300", "||I500 ,E119 ,I10 ||J189", "||E851,X403||-", "81", "2", "A",
         "E01000001", "A81001"],
        # no Der_Spell_ID: the spell id is APCS_Ident
        ["1002", "", "P002", "RYY", "", "2024-02-01", "2024-02-01", "11", "2", "19", "19",
         "101", "||C509", "", "64", "1", "99", "", "V81999"],
        # bad: discharged before admission
        ["1003", "S3", "P003", "RXX", "", "2024-03-05", "2024-03-01", "21", "1", "19", "19",
         "300", "||R69X", "", "40", "1", "A", "", ""],
    ],
)  # fmt: skip
APCE = (
    ["APCE_Ident", "Der_Spell_ID", "Episode_Number", "Der_Pseudo_NHS_Number",
     "Der_Provider_Code", "Admission_Date", "Discharge_Date", "Admission_Method",
     "Patient_Classification", "Discharge_Destination", "Treatment_Function_Code",
     "Der_Diagnosis_All", "Der_Procedure_All", "Sex", "Ethnic_Group"],
    [
        # spell A: two episodes; admission from the first, discharge from the second
        ["E1", "A", "01", "P001", "RXX", "2024-04-01", "", "21", "1", "98", "300",
         "||J440 ,J189", "||E851", "2", "A"],
        ["E2", "A", "02", "P001", "RXX", "2024-04-01", "2024-04-10", "21", "1", "19", "320",
         "||I10", "", "2", "A"],
        # spells B and D: the same person, provider and admission date, two spell ids
        ["E3", "B", "01", "P002", "RYY", "2024-05-01", "2024-05-01", "11", "2", "19", "101",
         "||C509", "||B281", "1", "99"],
        ["E4", "D", "01", "P002", "RYY", "2024-05-01", "2024-05-03", "21", "1", "19", "300",
         "||R07X", "", "1", "99"],
        # bad: an admission method that is no code
        ["E5", "C", "01", "P003", "RXX", "2024-06-01", "2024-06-02", "ZZ", "1", "19", "300",
         "||R55X", "", "1", "A"],
    ],
)  # fmt: skip
OPA = (
    ["OPA_Ident", "Der_Pseudo_NHS_Number", "Der_Provider_Code", "Appointment_Date",
     "Treatment_Function_Code", "First_Attendance", "Attendance_Status",
     "Consultation_Medium_Used", "Der_Age_at_CDS_Activity_Date", "Sex", "Ethnic_Category"],
    [
        ["O1", "P001", "RXX", "2024-02-10", "320", "1", "5", "01", "81", "2", "A"],
        ["O2", "P002", "RYY", "2024-02-11", "110", "4", "3", "11", "64", "1", "B"],
        # bad: First_Attendance 9 (not known) says neither first nor follow-up
        ["O3", "P003", "RXX", "2024-02-12", "320", "9", "5", "02", "40", "1", "A"],
    ],
)  # fmt: skip
EC = (
    ["EC_Ident", "Der_Pseudo_NHS_Number", "Der_Provider_Code", "Der_Provider_Site_Code",
     "Arrival_Date", "Arrival_Time", "EC_Departure_Date", "EC_Departure_Time",
     "EC_Department_Type", "EC_Arrival_Mode_SNOMED_CT", "Discharge_Destination_SNOMED_CT",
     "SUS_Final_Price", "Age_At_Arrival", "Sex", "Ethnic_Category",
     "Der_Postcode_LSOA_2011_Code"],
    [
        ["10", "P001", "RXX", "RXX01", "2024-01-05", "08:15:00", "2024-01-05", "12:00:00",
         "01", "1048031000000100", "306706006", "250.5", "81", "2", "A", "E01000001"],
        ["11", "P002", "RYY", "", "2024-01-06", "23:50:00", "2024-01-07", "01:10:00", "03",
         "1048071000000103", "1066341000000100", "", "64", "1", "B", ""],
        # bad: an arrival mode that is not in the ECDS value set
        ["12", "P003", "RXX", "", "2024-01-07", "10:00:00", "", "", "01", "999999999",
         "306689006", "", "40", "1", "A", ""],
    ],
)  # fmt: skip
CSDS = (
    ["Person_ID", "OrgID_Provider", "CareContactID", "ServiceRequestID", "Contact_Date",
     "Contact_Time", "TeamType", "TeamID_Local", "AttendanceStatus"],
    [
        ["C001", "RY1", "CC1", "SR1", "2024-01-10", "09:00", "12", "DN-NORTH", "5"],
        ["C001", "RY1", "CC2", "SR2", "2024-01-11", "10:00", "51", "UCR", "5"],
        ["C002", "RY1", "CC3", "SR3", "2024-01-12", "11:00", "19", "", "6"],
        # bad: podiatry (27) has no canonical community service
        ["C002", "RY1", "CC4", "SR4", "2024-01-13", "12:00", "27", "POD", "5"],
    ],
)  # fmt: skip
MHS201 = (
    ["Person_ID", "OrgIDProv", "UniqCareContID", "UniqServReqID", "CareContDate",
     "CareProfTeamLocalId", "AttendOrDNACode", "ConsMechanismMH"],
    [
        ["M001", "RXT", "RXTC1", "RXTS1", "2024-01-15", "CMHT-A", "5", "01"],
        ["M002", "RXT", "RXTC2", "RXTS2", "2024-01-16", "", "6", "11"],
        # bad: no such date
        ["M002", "RXT", "RXTC3", "RXTS2", "2024-02-30", "", "5", "01"],
    ],
)  # fmt: skip
MHS501 = (
    ["UniqHospProvSpellID", "Person_ID", "OrgIDProv", "UniqServReqID",
     "StartDateHospProvSpell", "DischDateHospProvSpell", "MethAdmMHHospProvSpell",
     "SourceAdmMHHospProvSpell", "DestOfDischHospProvSpell"],
    [
        ["RXTH1", "M001", "RXT", "RXTS1", "2024-02-01", "2024-03-01", "21", "19", "19"],
        # still in hospital
        ["RXTH2", "M002", "RXT", "RXTS2", "2024-03-10", "", "2A", "51", ""],
        # bad: discharged before admission
        ["RXTH3", "M003", "RXT", "RXTS3", "2024-03-10", "2024-03-01", "21", "19", "19"],
    ],
)  # fmt: skip
CLD_HEADER = ["NHS_Number", "LA_Person_Unique_Identifier", "Event_Type", "Service_Type",
              "Service_Component", "Delivery_Mechanism", "Event_Start_Date", "Event_End_Date",
              "Gender", "Ethnicity"]  # fmt: skip
PCMD_HEADER = ["DEC_NHS_NUMBER", "REG_DATE_OF_DEATH", "REG_DATE", "S_UNDERLYING_COD_ICD10",
               "POD_CODE", "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE"]  # fmt: skip
PEOPLE = nhs_numbers(6, seed=21)


def cld_rows() -> list[list[str]]:
    p = PEOPLE
    return [
        [p[0], "LA1", "Service", "Long Term Support: Nursing Care", "", "", "01/04/2023", "",
         "Female", "White - English, Welsh, Scottish, Northern Irish or British"],
        [p[1], "LA2", "Service", "Long Term Support: Community", "Direct Payment",
         "Direct Payment", "01/05/2023", "31/10/2023", "Male", "Asian or Asian British - Chinese"],
        [p[2], "LA3", "Service", "Long Term Support: Community", "",
         "CASSR Commissioned Support", "01/06/2023", "", "Female", "No data - Refused"],
        [p[3], "LA4", "Service", "Short Term Support: ST-Max", "", "", "01/07/2023",
         "28/07/2023", "Male", ""],
        # bad: prison support has no canonical service type
        [p[4], "LA5", "Service", "Long Term Support: Prison", "", "", "01/08/2023", "", "Male",
         ""],
    ]  # fmt: skip


def pcmd_rows() -> list[list[str]]:
    p = PEOPLE
    return [
        [p[0], "20240110", "20240115", "C349", "H", "", ""],
        [p[1], "20240111", "20240116", "I21.9", "E1234", "1", "01"],  # NHS hospital
        [p[2], "20240112", "20240117", "F03X", "A1234", "2", "3"],  # care home, one digit
        [p[3], "20240113", "20240118", "C61X", "B5678", "2", "83"],  # hospice
        [invalid_nhs_number(p[5]), "20240114", "20240119", "J449", "E", "", ""],  # bad
    ]


FILES = {  # unhelpful names: the header says which layout each file is
    "extract_01.csv": (APCS, "sus_apcs"),
    "extract_02.csv": (APCE, "sus_apce"),
    "extract_03.csv": (OPA, "sus_opa"),
    "extract_04.csv": (EC, "sus_ecds"),
    "extract_05.csv": (CSDS, "csds_contacts"),
    "extract_06.csv": (MHS201, "mhsds_contacts"),
    "extract_07.csv": (MHS501, "mhsds_spells"),
    "extract_08.csv": ((CLD_HEADER, None), "social_care_cld"),
    "extract_09.csv": ((PCMD_HEADER, None), "pcmd_deaths"),
}


def _write(folder, name):
    (header, rows), _ = FILES[name]
    if rows is None:
        rows = cld_rows() if header is CLD_HEADER else pcmd_rows()
    return write_csv(folder / name, header, rows)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("national")
    wh, key_file = tmp / "w.duckdb", tmp / "k.key"
    reports = {}
    for name in FILES:
        [report] = ingest([_write(tmp, name)], warehouse=wh, key_file=key_file)
        reports[name] = report
    con = duckdb.connect(str(wh), read_only=True)
    yield reports, con, load_or_create_key(key_file)
    con.close()


def _q(con, sql):
    return con.execute(sql).fetchall()


def _quarantined(con, name):
    return _q(
        con,
        "SELECT DISTINCT source_row, field, reason FROM quarantine "
        f"WHERE source_file LIKE '%{name}' ORDER BY 1, 2",
    )


@pytest.mark.parametrize("name", list(FILES))
def test_the_header_alone_picks_the_layout(tmp_path, name):
    path = _write(tmp_path, name)
    assert recognise(path, peek_header(path), candidates()).name == FILES[name][1]


def test_each_file_loads_into_its_table_keyed_by_its_pseudonym(loaded):
    reports, _, _ = loaded
    got = {n: (r.table, r.person_key, r.rows_read, r.rows_accepted) for n, r in reports.items()}
    assert got == {
        "extract_01.csv": ("apc_spell", "sus_pseudo", 3, 2),
        "extract_02.csv": ("apc_spell", "sus_pseudo", 5, 4),
        "extract_03.csv": ("op_appointment", "sus_pseudo", 3, 2),
        "extract_04.csv": ("ae_attendance", "sus_pseudo", 3, 2),
        "extract_05.csv": ("community_contact", "csds_person_id", 4, 3),
        "extract_06.csv": ("community_contact", "mhsds_person_id", 3, 2),
        "extract_07.csv": ("mh_spell", "mhsds_person_id", 3, 2),
        "extract_08.csv": ("social_care_service", "nhs_number", 5, 4),
        "extract_09.csv": ("death", "nhs_number", 5, 4),
    }
    for r in reports.values():
        assert r.rows_read == r.rows_accepted + r.rows_quarantined


def test_the_bad_row_of_each_file_is_quarantined_with_its_reason(loaded):
    _, con, _ = loaded
    assert _quarantined(con, "extract_01.csv") == [
        (3, "discharged_on", "expected discharge on or after admission")
    ]
    [(row, field, reason)] = _quarantined(con, "extract_02.csv")
    assert (row, field) == (5, "admission_method") and "ADMISSION_METHOD" in reason
    [(row, field, _)] = _quarantined(con, "extract_03.csv")
    assert (row, field) == (3, "first_attendance")
    [(row, field, reason)] = _quarantined(con, "extract_04.csv")
    assert (row, field) == (3, "arrival_mode") and "ARRIVAL_MODE" in reason
    [(row, field, reason)] = _quarantined(con, "extract_05.csv")
    assert (row, field) == (4, "service") and "COMMUNITY_SERVICE" in reason
    [(row, field, _)] = _quarantined(con, "extract_06.csv")
    assert (row, field) == (3, "date")
    assert _quarantined(con, "extract_07.csv") == [
        (3, "discharged_on", "expected discharge on or after admission")
    ]
    [(row, field, reason)] = _quarantined(con, "extract_08.csv")
    assert (row, field) == (5, "service_type") and "SOCIAL_CARE_SERVICE" in reason
    [(row, field, reason)] = _quarantined(con, "extract_09.csv")
    assert (row, field) == (5, "nhs_number") and "modulus 11" in reason


def test_sus_files_sharing_a_pseudonym_link_to_one_person(loaded):
    _, con, key = loaded
    p001 = source_person_id("P001", "sus_pseudo", key)
    assert {
        t: {pid for (pid,) in _q(con, f"SELECT person_id FROM {t}")}
        for t in ("op_appointment", "ae_attendance")
    } == {
        "op_appointment": {p001, source_person_id("P002", "sus_pseudo", key)},
        "ae_attendance": {p001, source_person_id("P002", "sus_pseudo", key)},
    }
    spells = _q(con, f"SELECT spell_id FROM apc_spell WHERE person_id = '{p001}' ORDER BY 1")
    assert spells == [("A",), ("S1",)]  # from APCE and from APCS
    # MHSDS contacts and spells link by Person_ID; CSDS's Person_ID is another scheme
    m001 = source_person_id("M001", "mhsds_person_id", key)
    assert _q(con, "SELECT person_id FROM mh_spell WHERE spell_id = 'RXTH1'") == [(m001,)]
    assert (m001,) in _q(con, "SELECT person_id FROM community_contact")
    assert source_person_id("M001", "csds_person_id", key) != m001


def test_apcs_spells_with_every_episodes_codes(loaded):
    _, con, _ = loaded
    assert _q(
        con,
        "SELECT spell_id, provider_code, site_code, admitted_on::VARCHAR, "
        "discharged_on::VARCHAR, admission_method, patient_classification, specialty, "
        "primary_diagnosis, primary_procedure FROM apc_spell "
        "WHERE spell_id IN ('S1', '1002') ORDER BY 1",
    ) == [
        ("1002", "RYY", None, "2024-02-01", "2024-02-01", "11", "2", "101", "C509", None),
        ("S1", "RXX", "RXX01", "2024-01-05", "2024-01-09", "21", "1", "300", "I500", "E851"),
    ]
    assert _q(
        con,
        "SELECT spell_id, episode, position, icd10 FROM apc_diagnosis "
        "WHERE spell_id IN ('S1', '1002') ORDER BY 1, 2, 3",
    ) == [
        ("1002", 1, 1, "C509"),
        ("S1", 1, 1, "I500"),
        ("S1", 1, 2, "E119"),
        ("S1", 1, 3, "I10"),
        ("S1", 2, 1, "J189"),
    ]
    assert _q(
        con,
        "SELECT spell_id, episode, position, opcs4 FROM apc_procedure "
        "WHERE spell_id = 'S1' ORDER BY 2, 3",
    ) == [("S1", 1, 1, "E851"), ("S1", 1, 2, "X403")]


def test_apce_episodes_become_spells_by_spell_id(loaded):
    reports, con, _ = loaded
    assert reports["extract_02.csv"].spells == 3
    assert _q(
        con,
        "SELECT spell_id, admitted_on::VARCHAR, discharged_on::VARCHAR, "
        "discharge_destination, specialty, primary_diagnosis, primary_procedure "
        "FROM apc_spell WHERE spell_id IN ('A', 'B', 'D') ORDER BY 1",
    ) == [
        # admission, specialty and primary codes from episode 1; discharge from episode 2
        ("A", "2024-04-01", "2024-04-10", "19", "300", "J440", "E851"),
        # the same person, provider and admission date: two spells, by spell id
        ("B", "2024-05-01", "2024-05-01", "19", "101", "C509", "B281"),
        ("D", "2024-05-01", "2024-05-03", "19", "300", "R07X", None),
    ]
    assert _q(
        con,
        "SELECT episode, position, icd10 FROM apc_diagnosis WHERE spell_id = 'A' ORDER BY 1, 2",
    ) == [(1, 1, "J440"), (1, 2, "J189"), (2, 1, "I10")]


def test_opa_ecds_codes_become_the_canonical_codes(loaded):
    _, con, _ = loaded
    assert _q(
        con,
        "SELECT appointment_id, first_attendance, attended, medium, specialty "
        "FROM op_appointment ORDER BY 1",
    ) == [("O1", True, "5", "face_to_face", "320"), ("O2", False, "3", "video", "110")]
    assert _q(
        con,
        "SELECT attendance_id, arrived_at::VARCHAR, departed_at::VARCHAR, department_type, "
        "arrival_mode, disposal, cost FROM ae_attendance ORDER BY 1",
    ) == [
        ("10", "2024-01-05 08:15:00", "2024-01-05 12:00:00", 1, "1", "01", 250.5),
        ("11", "2024-01-06 23:50:00", "2024-01-07 01:10:00", 3, "2", "14", None),
    ]


def test_person_details_come_from_sus_activity(loaded):
    _, con, key = loaded
    p001 = source_person_id("P001", "sus_pseudo", key)
    assert _q(
        con,
        "SELECT source_table, recorded_on::VARCHAR, age, sex, ethnicity, lsoa_code, "
        f"practice_code FROM person_fact WHERE person_id = '{p001}' ORDER BY 1, 2",
    ) == [
        ("ae_attendance", "2024-01-05", 81, "F", "A", "E01000001", None),
        ("apc_spell", "2024-01-05", 81, "F", "A", "E01000001", "A81001"),  # APCS
        ("apc_spell", "2024-04-01", None, "F", "A", None, None),  # APCE, episode 1
        ("apc_spell", "2024-04-01", None, "F", "A", None, None),  # APCE, episode 2
        ("op_appointment", "2024-02-10", 81, "F", "A", None, None),
    ]
    # V81999 (practice not known) reads as empty
    p002 = source_person_id("P002", "sus_pseudo", key)
    assert _q(
        con,
        f"SELECT practice_code, ethnicity FROM person_fact WHERE person_id = '{p002}' "
        "AND recorded_on = '2024-02-01'",
    ) == [(None, "99")]


def test_community_and_mental_health_contacts_and_spells(loaded):
    _, con, _ = loaded
    assert _q(
        con,
        "SELECT provider_code, date::VARCHAR, service, team FROM community_contact ORDER BY 2",
    ) == [
        ("RY1", "2024-01-10", "district_nursing", "DN-NORTH"),
        ("RY1", "2024-01-11", "intermediate_care", "UCR"),
        ("RY1", "2024-01-12", "community_matron", None),
        ("RXT", "2024-01-15", "community_mental_health", "CMHT-A"),
        ("RXT", "2024-01-16", "community_mental_health", None),
    ]
    assert _q(
        con,
        "SELECT spell_id, provider_code, admitted_on::VARCHAR, discharged_on::VARCHAR, "
        "admission_method, admission_source, discharge_destination FROM mh_spell ORDER BY 1",
    ) == [
        ("RXTH1", "RXT", "2024-02-01", "2024-03-01", "21", "19", "19"),
        ("RXTH2", "RXT", "2024-03-10", None, "2A", "51", None),
    ]


def test_social_care_services_and_deaths(loaded):
    _, con, key = loaded
    pid = {person_id(n, key): i for i, n in enumerate(PEOPLE)}
    services = _q(
        con,
        "SELECT person_id, service_type, started_on::VARCHAR, ended_on::VARCHAR "
        "FROM social_care_service",
    )
    assert sorted((pid[p], *rest) for p, *rest in services) == [
        (0, "nursing_care", "2023-04-01", None),
        (1, "direct_payment", "2023-05-01", "2023-10-31"),
        (2, "home_care", "2023-06-01", None),
        (3, "reablement", "2023-07-01", "2023-07-28"),
    ]
    facts = _q(con, "SELECT person_id, sex, ethnicity FROM person_fact WHERE "
               "source_table = 'social_care_service'")  # fmt: skip
    # the quarantined service's details go with it
    assert sorted((pid[p], s, e) for p, s, e in facts) == [
        (0, "F", "A"), (1, "M", "R"), (2, "F", "Z"), (3, "M", None)
    ]  # fmt: skip
    deaths = _q(
        con,
        "SELECT person_id, date_of_death::VARCHAR, place_of_death, underlying_cause FROM death",
    )
    assert sorted((pid[p], *rest) for p, *rest in deaths) == [
        (0, "2024-01-10", "home", "C349"),
        (1, "2024-01-11", "hospital", "I219"),
        (2, "2024-01-12", "care_home", "F03X"),
        (3, "2024-01-13", "hospice", "C61X"),
    ]


def test_the_nhs_number_form_of_ecds_still_loads(tmp_path):
    path = write_csv(
        tmp_path / "attendances.csv",
        ["EC_IDENT", "NHS_NUMBER", "ORG_CODE_PROVIDER", "ARRIVAL_DATE", "ARRIVAL_TIME",
         "EC_DEPARTMENT_TYPE", "EC_ARRIVAL_MODE_SNOMED_CT", "DISCHARGE_DESTINATION_SNOMED_CT"],
        [["1", PEOPLE[0], "RXX", "05/01/2024", "10:00", "01", "1048001000000106", "305398007"]],
    )  # fmt: skip
    assert recognise(path, peek_header(path), candidates()).name == "ecds"
    [r] = ingest([path], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
    assert (r.rows_accepted, r.person_key) == (1, "nhs_number")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        # police transport is not an ambulance; died in the department
        assert _q(con, "SELECT arrival_mode, disposal FROM ae_attendance") == [("2", "10")]


# -- the mapping options the layouts use -------------------------------------------------


@pytest.mark.unit
def test_split_codes_cuts_a_list_into_numbered_pieces():
    text = pa.array(["||E119 ,J849 ||I801 ,N179", None, "", "|| ||R69X", "I10,E119"])
    rows, group, position, pieces = split_codes(text, ",", "||", numbered=True)
    assert list(zip(rows, group, position, pieces.to_pylist(), strict=True)) == [
        (0, 0, 0, "E119"),
        (0, 0, 1, "J849"),
        (0, 1, 0, "I801"),
        (0, 1, 1, "N179"),
        (3, 1, 0, "R69X"),  # an empty group keeps its place: R69X is in group 2
        (4, 0, 0, "I10"),  # no leading separator: the text is the first group
        (4, 0, 1, "E119"),
    ]
    # unnumbered groups: positions run on across the row
    _, _, position, _ = split_codes(text, ",", "||")
    assert list(position) == [0, 1, 2, 3, 0, 0, 1]


@pytest.mark.unit
def test_a_column_spec_takes_the_first_code_and_the_first_alternative_that_gives_one():
    chunk = pa.table(
        {
            "Codes": pa.array(["||j44.0 ,I10", "", "|| ,C509"]),
            "A": pa.array(["x", "", "zz"]),
            "B": pa.array(["b1", "b2", ""]),
        }
    )
    headers = {"codes": "Codes", "a": "A", "b": "B"}
    first_code = ColumnSpec.parse(
        {"column": "Codes", "split": {"separator": ",", "groups": "||"}, "transform": "icd10"},
        "t",
    )
    assert _column(first_code, chunk, headers, 3, None).to_pylist() == ["J440", None, "C509"]
    either = ColumnSpec.parse(
        {"first": [{"column": "A", "codes": {"zz": None}}, "B", {"value": "c"}]}, "t"
    )
    assert _column(either, chunk, headers, 3, None).to_pylist() == ["x", "b2", "c"]
    assert either.required_sources() == ("A", "B")


@pytest.mark.unit
def test_a_split_repeat_must_read_the_split_column():
    with pytest.raises(Exception, match="must read 'Der_Diagnosis_All'"):
        load_mapping_from(
            {
                "table": "apc_diagnosis",
                "columns": {"spell_id": "S"},
                "repeat": {
                    "index": "position",
                    "split": {"column": "Der_Diagnosis_All", "separator": ","},
                    "columns": {"icd10": "DIAG"},
                },
            }
        )
    m = load_mapping_from(
        {
            "table": "apc_diagnosis",
            "columns": {"spell_id": "S"},
            "repeat": {
                "index": "position",
                "split": {"column": "D", "separator": ",", "groups": "||"},
                "columns": {"icd10": {"column": "D", "transform": "icd10"}},
            },
        }
    )
    assert m.target.repeat.stop is None and m.target.repeat.source_names() == ["D"]


def load_mapping_from(doc: dict):
    """A mapping from its YAML document (as a dict)."""
    from joinedup.ingest.mapping import _from_dict

    return _from_dict(doc, "test")


def test_shipped_layouts_load():
    for name in ("sus_apcs", "sus_apce", "sus_opa", "sus_ecds", "csds_contacts",
                 "mhsds_contacts", "mhsds_spells", "social_care_cld", "pcmd_deaths"):  # fmt: skip
        m = load_mapping(name)
        assert m.source and m.files, name
