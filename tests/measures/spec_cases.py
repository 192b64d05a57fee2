"""Spec cases for the measure engine: a tiny hand-made warehouse and answers worked by hand.

Data and expected values only (no engine code), so the same cases can run on every
warehouse backend (DuckDB now, Spark later). Every expected number is derived in the
comments from the rows below; none was produced by running the engine.

The people (ages are at the financial-year midpoint, 30 September 2023; age is
calendar year minus year of birth, as the engine defines it):

    p1  born 1950 (73), F, practice P1, IMD decile 1, heart failure since 2020
    p2  born 1980 (43), M, practice P1, IMD decile 3, diabetes recorded 10 Jul 2023
    p3  born 1940 (83), F, practice P2, died in hospital 10 Feb 2024
    p4  born 2000 (23), M, practice P2, registered only from 15 Oct 2023
    p5  born 1955 (68), M, practice P2, left the list 1 Aug 2023, COPD from 15 Aug 2023
    p6  born 1990 (33), F, practice P1

Registered and alive at 30 Sep 2023: p1, p2, p3, p6 (p4 not yet, p5 gone) -> 4 people;
P1: p1, p2, p6 = 3; P2: p3 = 1. Aged 65+: p1, p3 = 2; 75+: p3 = 1.

Hospital spells (method 21/22 emergency, 11 elective, 31 maternity):

    s7  p1  15 Mar 2023 - 20 Mar 2023  emergency  (previous year: outside 2023-24)
    s1  p1  01 May 2023 - 05 May 2023  emergency  LOS 4   I50 (heart failure, chronic ACSC)
    s2  p1  20 May 2023 - 20 May 2023  emergency  LOS 0   R69  -> s1 readmitted (15 days)
    s4  p2  01 Jul 2023 - 03 Jul 2023  elective   LOS 2   K40
    s6  p2  20 Jul 2023 - 25 Jul 2023  emergency  LOS 5   R10  -> s4 readmitted (17 days)
    s8  p6  10 Aug 2023 - 11 Aug 2023  maternity  LOS 1   O80
    s5  p5  01 Sep 2023 - 03 Sep 2023  emergency  LOS 2   J44 (COPD, chronic ACSC)
    s3  p3  10 Jan 2024 - 10 Feb 2024  emergency  LOS 31  S720 + W01 (hip fracture, fall),
                                                  died in hospital (destination 79)

Financial year 2023-24 (1 Apr 2023 - 31 Mar 2024) has 366 days, so a yearly rate is
count / population x multiplier x 365.25 / 366. The data run to 30 Jun 2024 (a GP
appointment of p1), so 30-day readmissions and 90-day end-of-life follow-up are
complete for 2023-24.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

# --- the warehouse --------------------------------------------------------------------

PRACTICES = [
    {"practice_code": "P1", "name": "One", "cluster_code": "C1", "footprint_code": "F1"},
    {"practice_code": "P2", "name": "Two", "cluster_code": "C2", "footprint_code": "F1"},
]


def _person(pid, yob, sex, practice, decile, reg_from=date(2000, 1, 1), reg_to=None, **kw):
    return {
        "person_id": pid,
        "year_of_birth": yob,
        "sex": sex,
        "ethnicity": "A",
        "lsoa_code": None,
        "imd_decile": decile,
        "practice_code": practice,
        "registered_from": reg_from,
        "registered_to": reg_to,
        "date_of_death": kw.get("died"),
        "place_of_death": kw.get("place"),
    }


PERSONS = [
    _person("p1", 1950, "F", "P1", 1),
    _person("p2", 1980, "M", "P1", 3),
    _person("p3", 1940, "F", "P2", 5, died=date(2024, 2, 10), place="hospital"),
    _person("p4", 2000, "M", "P2", 7, reg_from=date(2023, 10, 15)),
    _person("p5", 1955, "M", "P2", 9, reg_to=date(2023, 8, 1)),
    _person("p6", 1990, "F", "P1", 2),
]

CONDITIONS = [
    {"person_id": "p1", "condition": "heart_failure", "code_system": "icd10", "code": "I50",
     "recorded_on": date(2020, 1, 1)},
    {"person_id": "p2", "condition": "diabetes", "code_system": "icd10", "code": "E11",
     "recorded_on": date(2023, 7, 10)},
    {"person_id": "p5", "condition": "copd", "code_system": "icd10", "code": "J44",
     "recorded_on": date(2023, 8, 15)},
]  # fmt: skip


def _spell(sid, pid, adm, dis, method, diag, cost, dest="19", cls="1"):
    return {
        "spell_id": sid,
        "person_id": pid,
        "provider_code": "RXX",
        "site_code": None,
        "admitted_on": adm,
        "discharged_on": dis,
        "admission_method": method,
        "patient_classification": cls,
        "admission_source": "19",
        "discharge_destination": dest,
        "specialty": "300",
        "primary_diagnosis": diag,
        "primary_procedure": None,
        "cost": cost,
    }


SPELLS = [
    _spell("s7", "p1", date(2023, 3, 15), date(2023, 3, 20), "21", "I50", 600.0),
    _spell("s1", "p1", date(2023, 5, 1), date(2023, 5, 5), "21", "I50", 1000.0),
    _spell("s2", "p1", date(2023, 5, 20), date(2023, 5, 20), "21", "R69", 500.0),
    _spell("s4", "p2", date(2023, 7, 1), date(2023, 7, 3), "11", "K40", 1200.0),
    _spell("s6", "p2", date(2023, 7, 20), date(2023, 7, 25), "21", "R10", 900.0),
    _spell("s8", "p6", date(2023, 8, 10), date(2023, 8, 11), "31", "O80", 1500.0),
    _spell("s5", "p5", date(2023, 9, 1), date(2023, 9, 3), "21", "J44", 700.0),
    _spell("s3", "p3", date(2024, 1, 10), date(2024, 2, 10), "22", "S720", 8000.0, dest="79"),
]
DIAGNOSES = [
    {"spell_id": "s3", "position": 1, "icd10": "S720"},
    {"spell_id": "s3", "position": 2, "icd10": "W01"},
]


def _ae(aid, pid, arrived, minutes, dtype, mode, disposal):
    t = datetime.fromisoformat(arrived)
    return {
        "attendance_id": aid,
        "person_id": pid,
        "provider_code": "RXX",
        "site_code": None,
        "arrived_at": t,
        "departed_at": t + timedelta(minutes=minutes),
        "department_type": dtype,
        "arrival_mode": mode,
        "disposal": disposal,
        "cost": 200.0,
    }


AE = [
    _ae("a1", "p1", "2023-06-01T10:00", 180, 1, "1", "01"),  # ambulance, admitted, < 4 h
    _ae("a2", "p2", "2023-06-02T10:00", 300, 1, "2", "02"),  # 5 hours
    _ae("a3", "p6", "2023-11-11T09:00", 60, 3, "2", "03"),  # type 3
]


def _op(oid, pid, day, first, attended):
    return {
        "appointment_id": oid,
        "person_id": pid,
        "provider_code": "RXX",
        "date": day,
        "specialty": "100",
        "first_attendance": first,
        "attended": attended,
        "medium": None,
        "cost": 150.0,
    }


OUTPATIENTS = [
    _op("o1", "p1", date(2023, 6, 5), True, "5"),  # first, seen
    _op("o2", "p1", date(2023, 7, 5), False, "5"),  # follow-up, seen
    _op("o3", "p1", date(2023, 8, 5), False, "3"),  # follow-up, did not attend
    _op("o4", "p2", date(2023, 6, 5), True, "6"),  # first, seen
    _op("o5", "p2", date(2023, 9, 5), False, "6"),  # follow-up, seen
    _op("o6", "p6", date(2023, 10, 5), True, "2"),  # cancelled: neither seen nor DNA
]


def _gp(pid, day):
    return {"person_id": pid, "practice_code": None, "date": day, "mode": "face_to_face",
            "staff_role": "gp"}  # fmt: skip


GP = [
    _gp("p1", date(2023, 4, 10)),
    _gp("p1", date(2023, 5, 10)),
    _gp("p2", date(2023, 6, 10)),
    _gp("p6", date(2023, 12, 10)),
    _gp("p1", date(2024, 6, 30)),  # after 2023-24: marks the end of the data
]
COMMUNITY = [
    {"person_id": "p3", "provider_code": "RYY", "date": date(2023, 5, 5), "service": "nursing",
     "team": None, "cost": 50.0},
]  # fmt: skip
SOCIAL_CARE = [
    {"person_id": "p1", "service_type": "residential_care", "started_on": date(2023, 10, 1),
     "ended_on": None, "weekly_cost": 900.0},
]  # fmt: skip

TABLES = {
    "practice": PRACTICES,
    "person": PERSONS,
    "condition": CONDITIONS,
    "apc_spell": SPELLS,
    "apc_diagnosis": DIAGNOSES,
    "ae_attendance": AE,
    "op_appointment": OUTPATIENTS,
    "gp_appointment": GP,
    "community_contact": COMMUNITY,
    "social_care_service": SOCIAL_CARE,
}

# --- expected answers -----------------------------------------------------------------

FY = "2023-24"
YEAR = 365.25 / 366  # annualising factor for 2023-24 (a leap year)
MAY = 365.25 / 31

# (measure id, grouping, period kind) -> {(period label, group): expected columns}.
# value is in the measure's unit; None means no value (e.g. nobody in the denominator).
CASES: list[tuple[str, str, str, dict[tuple[str, str], dict[str, float | None]]]] = [
    # Emergency spells admitted in 2023-24: s1, s2, s6, s5, s3 = 5 (s7 is 2022-23,
    # s4 elective, s8 maternity); p5's s5 counts although p5 left the list.
    ("emergency_admissions", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 5, "denominator": 4, "value": 5 / 4 * 1000 * YEAR}}),
    # P1: s1, s2 (p1), s6 (p2) = 3 of 3 people; P2: s5 (p5), s3 (p3) = 2 of 1 person.
    ("emergency_admissions", "practice", "financial_year",
     {(FY, "P1"): {"numerator": 3, "denominator": 3, "value": 3 / 3 * 1000 * YEAR},
      (FY, "P2"): {"numerator": 2, "denominator": 1, "value": 2 / 1 * 1000 * YEAR}}),
    # Both practices are in footprint F1; clusters C1 (P1) and C2 (P2).
    ("emergency_admissions", "footprint", "financial_year",
     {(FY, "F1"): {"numerator": 5, "denominator": 4}}),
    ("emergency_admissions", "cluster", "financial_year",
     {(FY, "C1"): {"numerator": 3, "denominator": 3},
      (FY, "C2"): {"numerator": 2, "denominator": 1}}),
    # Age at admission: p1 73 (s1, s2), p5 68 (s5) -> 65-74: 3; p2 43 (s6) -> 18-44: 1;
    # p3 84 on 10 Jan 2024 (s3) -> 75-84: 1. Population at midpoint: 65-74 p1; 18-44 p2,
    # p6; 75-84 p3.
    ("emergency_admissions", "age_band", "financial_year",
     {(FY, "65-74"): {"numerator": 3, "denominator": 1},
      (FY, "18-44"): {"numerator": 1, "denominator": 2},
      (FY, "75-84"): {"numerator": 1, "denominator": 1}}),
    # Sex: F = p1 (2), p3 (1) = 3 of p1, p3, p6; M = p2 (1), p5 (1) = 2 of p2.
    ("emergency_admissions", "sex", "financial_year",
     {(FY, "F"): {"numerator": 3, "denominator": 3},
      (FY, "M"): {"numerator": 2, "denominator": 1}}),
    # IMD quintile = (decile + 1) // 2: p1 1 -> 1, p2 3 -> 2, p3 5 -> 3, p5 9 -> 5, p6 2 -> 1.
    ("emergency_admissions", "imd_quintile", "financial_year",
     {(FY, "1"): {"numerator": 2, "denominator": 2},
      (FY, "2"): {"numerator": 1, "denominator": 1},
      (FY, "3"): {"numerator": 1, "denominator": 1},
      (FY, "5"): {"numerator": 1, "denominator": 0}}),
    # May 2023 (31 days, midpoint 16 May): s1, s2; registered: p1, p2, p3, p5, p6 = 5.
    ("emergency_admissions", "partnership", "month",
     {("2023-05", "all"): {"numerator": 2, "denominator": 5, "value": 2 / 5 * 1000 * MAY}}),
    # 65+ at admission: s1, s2 (73), s5 (68), s3 (84) = 4; population 65+: p1, p3.
    ("emergency_admissions_65plus", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 4, "denominator": 2, "value": 4 / 2 * 1000 * YEAR}}),
    ("emergency_admissions_75plus", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 1, "value": 1000 * YEAR}}),
    # Readmissions: denominator = spells in 2023-24 not maternity and not ending in death:
    # s1, s2, s4, s6, s5 = 5; readmitted within 30 days of discharge: s1 (s2 after 15
    # days), s4 (s6 after 17 days) = 2 -> 40%.
    ("emergency_readmissions_30d", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 2, "denominator": 5, "value": 40.0}}),
    # Mean LOS of emergency spells: (4 + 0 + 5 + 2 + 31) / 5 = 8.4; sum of squares 1006,
    # variance (1006 - 5 x 8.4^2) / 4 = 163.3; t(0.975, 4 df) = 2.7764451 (tables).
    ("emergency_mean_length_of_stay", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 5, "value": 8.4,
                    "lower": 8.4 - 2.7764451051977987 * (163.3 / 5) ** 0.5,
                    "upper": 8.4 + 2.7764451051977987 * (163.3 / 5) ** 0.5}}),
    # 21+ days: s3 only; same day: s2 only (of 5 emergency spells).
    ("emergency_stays_21_days_plus", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 5, "value": 20.0}}),
    ("emergency_same_day_share", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 5, "value": 20.0}}),
    # Bed days 4 + 0 + 5 + 2 + 31 = 42; excess over 14 days: s3 31 - 14 = 17.
    ("emergency_bed_days", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 42, "denominator": 4, "value": 42 / 4 * 1000 * YEAR}}),
    ("excess_bed_days", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 17, "denominator": 4, "value": 17 / 4 * 1000 * YEAR}}),
    ("elective_admissions", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 4}}),
    # Chronic ACSC: s1 (I50), s5 (J44). Directly standardised: fewer than 10 events, so
    # the rate is withheld (PHE convention), but the counts are reported.
    ("chronic_acsc_admissions", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 2, "denominator": 4, "value": None}}),
    # Hip fracture and falls 65+: s3 (S720 primary, W01 external cause, aged 84).
    ("hip_fractures_65plus", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 2, "value": None}}),
    ("falls_admissions_65plus", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 2, "value": None}}),
    # Heart failure: p1 (since 2020) has s1, s2; population with HF at midpoint: p1.
    ("heart_failure_emergency_admissions", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 2, "denominator": 1, "value": 2 * 1000 * YEAR}}),
    # Diabetes recorded 10 Jul 2023: p2's s6 (20 Jul) counts, s4 (elective) would not
    # anyway; p2 has diabetes at the midpoint.
    ("diabetes_emergency_admissions", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 1, "value": 1000 * YEAR}}),
    # COPD from 15 Aug 2023: p5's s5 (1 Sep) counts; but p5 is not registered at the
    # midpoint, so the denominator is 0 and there is no rate.
    ("copd_emergency_admissions", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 0, "value": None}}),
    # Deaths in 2023-24: p3, in hospital. Emergency admissions in the last 90 days of
    # life: s3 (31 days before death) -> 1 per death.
    ("deaths_in_hospital", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 1, "value": 100.0}}),
    ("deaths_in_usual_place_of_residence", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 0, "denominator": 1, "value": 0.0}}),
    ("deaths_in_hospital", "partnership", "quarter",
     {("2023-24 Q4", "all"): {"numerator": 1, "denominator": 1, "value": 100.0}}),
    ("emergency_admissions_last_90_days_of_life", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 1, "value": 1.0}}),
    # Care home admissions 65+: p1 starts residential care 1 Oct 2023; 65+ population 2.
    ("care_home_admissions_65plus", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 2, "value": 1 / 2 * 100_000 * YEAR}}),
    # GP appointments in 2023-24: 4 (the fifth is June 2024); per person per year.
    ("gp_appointments_per_person", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 4, "denominator": 4, "value": 4 / 4 * YEAR}}),
    ("community_contacts", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 4}}),
    # Spend on spells admitted in 2023-24 (all but s7): 1000 + 500 + 1200 + 900 + 1500
    # + 700 + 8000 = 13,800 pounds.
    ("acute_spend_per_head", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 13_800, "denominator": 4, "value": 13_800 / 4 * YEAR}}),
    ("ae_spend_per_head", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 600, "denominator": 4, "value": 600 / 4 * YEAR}}),
    # A&E: a1, a2 type 1; a1 by ambulance and admitted; a2 over 4 hours.
    ("ae_attendances", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 3, "denominator": 4, "value": 3 / 4 * 1000 * YEAR}}),
    ("ae_type1_attendances", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 2, "denominator": 4}}),
    ("ae_ambulance_arrivals", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 3, "value": 100 / 3}}),
    ("ae_type1_admitted", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 2, "value": 50.0}}),
    ("ae_within_4_hours", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 2, "denominator": 3, "value": 200 / 3}}),
    # Outpatients: follow-ups seen o2, o5 per firsts seen o1, o4; DNA o3 of the five
    # seen or not attended (o6 was cancelled); attendances seen: 4.
    ("outpatient_first_followup_ratio", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 2, "denominator": 2, "value": 1.0}}),
    ("outpatient_dna_rate", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 1, "denominator": 5, "value": 20.0}}),
    ("outpatient_attendances", "partnership", "financial_year",
     {(FY, "all"): {"numerator": 4, "denominator": 4}}),
    # Provider grouping (event denominators only): everything at RXX.
    ("emergency_readmissions_30d", "provider", "financial_year",
     {(FY, "RXX"): {"numerator": 2, "denominator": 5}}),
]  # fmt: skip


def check_case(frame, measure: str, by: str, expected: dict, rel: float) -> None:
    """Assert the computed ``frame`` holds every expected value of one spec case.

    Counts must match exactly; values to relative tolerance ``rel``; None means "no
    value" (suppressed or undefined).
    """
    import pandas as pd
    import pytest

    frame = frame[(frame["measure_id"] == measure) & (frame["grouping"] == by)]
    for (label, group), want in expected.items():
        row = frame[(frame["period"] == label) & (frame["group"] == group)]
        assert len(row) == 1, f"{measure} by {by}: no single row for {label} / {group}"
        row = row.iloc[0]
        for column, value in want.items():
            got = row[column]
            if value is None:
                assert pd.isna(got), f"{measure} {group} {column}: expected no value, got {got}"
            elif column in ("numerator", "denominator"):
                assert got == value, f"{measure} {group} {column}: {got} != {value}"
            else:
                assert got == pytest.approx(value, rel=rel), f"{measure} {group} {column}"
