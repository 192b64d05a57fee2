"""Worked cases of the QOF register rules: people, their coded events, and who is on which
register, worked out by hand from the rules in joinedup/derived/qof/registers.yaml.

Shared by tests/derived/test_registers.py (DuckDB) and tests/spark (every backend).
Codes are SNOMED CT concepts of the shipped clusters (test_registers checks each is where
this module says). Ages are the as-of year minus the year of birth.
"""

from __future__ import annotations

from datetime import date

# SNOMED CT concepts and the clusters they are in.
DM = "44054006"  # Diabetes mellitus type 2 (DM_COD)
DM1 = "46635009"  # Diabetes mellitus type 1 (DM_COD)
DM_ANY = "73211009"  # Diabetes mellitus (DM_COD)
DMRES = "315051004"  # Diabetes resolved (DMRES_COD)
HYP = "59621000"  # Essential hypertension (HYP_COD)
HYPRES = "162659009"  # Hypertension resolved (HYPRES_COD)
CKD5 = "433146000"  # Chronic kidney disease stage 5 (CKD_COD)
CKD3B = "700379002"  # Chronic kidney disease stage 3B (CKD_COD)
CKD2 = "431856006"  # Chronic kidney disease stage 2 (CKD1AND2_COD)
DEPR = "35489007"  # Depressive disorder (DEPR_COD)
DEPRES = "196381000000100"  # Depression resolved (DEPRES_COD)
AST = "195967001"  # Asthma (AST_COD)
TIA = "266257000"  # Transient ischemic attack (TIA_COD)
MH = "58214004"  # Schizophrenia (MH_COD)
OUTSIDE = "271649006"  # Systolic blood pressure: in no shipped cluster

CLUSTER_OF = {
    DM: "DM_COD", DM1: "DM_COD", DM_ANY: "DM_COD", DMRES: "DMRES_COD", HYP: "HYP_COD",
    HYPRES: "HYPRES_COD", CKD5: "CKD_COD", CKD3B: "CKD_COD", CKD2: "CKD1AND2_COD",
    DEPR: "DEPR_COD", DEPRES: "DEPRES_COD", AST: "AST_COD", TIA: "TIA_COD", MH: "MH_COD",
}  # fmt: skip

# person -> year of birth ("nobody" has coded events but no person row)
BORN = {
    "dm_on": 1960, "dm_resolved": 1960, "dm_back": 1960, "dm_young": 2008,
    "dm_future": 1960, "dm_res_future": 1960, "dm_same_day": 1960, "two_codes": 1960,
    "outside": 1960, "hyp_res": 1950, "ckd_staged_down": 1950, "ckd_on": 1950,
    "ckd_young": 2007, "dep_old": 1970, "dep_since": 1970, "dep_res": 1970, "ast_5": 2019,
    "tia": 1950, "smi": 1980, "multi": 1950,
}  # fmt: skip

D = date
# (person, date, code system, code)
EVENTS = [
    ("dm_on", D(2015, 6, 1), "snomed", DM),
    # resolved after the diagnosis: off
    ("dm_resolved", D(2010, 1, 1), "snomed", DM),
    ("dm_resolved", D(2018, 1, 1), "snomed", DMRES),
    # diagnosed again after a resolution: back on; the episode starts 5 May 2020
    ("dm_back", D(2010, 1, 1), "snomed", DM),
    ("dm_back", D(2015, 1, 1), "snomed", DMRES),
    ("dm_back", D(2020, 5, 5), "snomed", DM1),
    ("dm_back", D(2021, 1, 1), "snomed", DM),
    # born 2008: 16 on 31 Mar 2024 (off: diabetes is 17+), 17 on 30 Jun 2025 (on)
    ("dm_young", D(2020, 2, 2), "snomed", DM),
    # diagnosed after 31 Mar 2024: off then, on at 30 Jun 2025
    ("dm_future", D(2024, 6, 1), "snomed", DM),
    # resolved after 31 Mar 2024: on then, off at 30 Jun 2025
    ("dm_res_future", D(2019, 3, 3), "snomed", DM),
    ("dm_res_future", D(2024, 5, 1), "snomed", DMRES),
    # resolved the same day: not followed by a later resolved code, so on
    ("dm_same_day", D(2019, 1, 1), "snomed", DM),
    ("dm_same_day", D(2019, 1, 1), "snomed", DMRES),
    # two diagnosis codes the same day: the smaller code is kept
    ("two_codes", D(2016, 7, 7), "snomed", DM_ANY),
    ("two_codes", D(2016, 7, 7), "snomed", DM),
    # codes outside every cluster, and a cluster's code under another code system
    ("outside", D(2020, 1, 1), "snomed", OUTSIDE),
    ("outside", D(2020, 1, 1), "icd10", "E119"),
    ("outside", D(2020, 1, 1), "icd10", DM),
    ("hyp_res", D(2012, 1, 1), "snomed", HYP),
    ("hyp_res", D(2013, 1, 1), "snomed", HYPRES),
    # CKD stage 3B re-staged as stage 2 later: off
    ("ckd_staged_down", D(2016, 1, 1), "snomed", CKD3B),
    ("ckd_staged_down", D(2019, 1, 1), "snomed", CKD2),
    ("ckd_on", D(2018, 1, 1), "snomed", CKD5),
    # born 2007: 17 on 31 Mar 2024 (off: CKD is 18+), 18 on 30 Jun 2025 (on)
    ("ckd_young", D(2020, 8, 8), "snomed", CKD3B),
    # depression counts from 1 April 2006
    ("dep_old", D(2005, 1, 1), "snomed", DEPR),
    ("dep_since", D(2005, 1, 1), "snomed", DEPR),
    ("dep_since", D(2010, 10, 10), "snomed", DEPR),
    ("dep_res", D(2010, 1, 1), "snomed", DEPR),
    ("dep_res", D(2012, 1, 1), "snomed", DEPRES),
    # born 2019: 5 on 31 Mar 2024 (off: asthma is 6+), 6 on 30 Jun 2025 (on)
    ("ast_5", D(2023, 9, 9), "snomed", AST),
    ("tia", D(2011, 11, 11), "snomed", TIA),
    ("smi", D(2001, 1, 1), "snomed", MH),
    ("multi", D(2000, 1, 1), "snomed", HYP),
    ("multi", D(2001, 1, 1), "snomed", DM),
    # no person row: left out
    ("nobody", D(2015, 1, 1), "snomed", DM),
]

AS_OF_2024 = D(2024, 3, 31)
AS_OF_2025 = D(2025, 6, 30)
END_OF_DATA = D(2024, 6, 1)  # the latest event date: the default as-of date

# (person, condition, code, recorded_on) on 31 March 2024
EXPECTED_2024 = {
    ("dm_on", "diabetes", DM, D(2015, 6, 1)),
    ("dm_back", "diabetes", DM1, D(2020, 5, 5)),
    ("dm_res_future", "diabetes", DM, D(2019, 3, 3)),
    ("dm_same_day", "diabetes", DM, D(2019, 1, 1)),
    ("two_codes", "diabetes", DM, D(2016, 7, 7)),
    ("multi", "diabetes", DM, D(2001, 1, 1)),
    ("multi", "hypertension", HYP, D(2000, 1, 1)),
    ("ckd_on", "ckd", CKD5, D(2018, 1, 1)),
    ("dep_since", "depression", DEPR, D(2010, 10, 10)),
    ("tia", "stroke_tia", TIA, D(2011, 11, 11)),
    ("smi", "serious_mental_illness", MH, D(2001, 1, 1)),
}

# on 30 June 2025: the resolution of May 2024 counts, the diagnosis of June 2024 too,
# and three people are old enough now
EXPECTED_2025 = (EXPECTED_2024 - {("dm_res_future", "diabetes", DM, D(2019, 3, 3))}) | {
    ("dm_future", "diabetes", DM, D(2024, 6, 1)),
    ("dm_young", "diabetes", DM, D(2020, 2, 2)),
    ("ckd_young", "ckd", CKD3B, D(2020, 8, 8)),
    ("ast_5", "asthma", AST, D(2023, 9, 9)),
}

# on 1 June 2024 (the end of the data): resolved in May 2024, diagnosed 1 June 2024
EXPECTED_END = (EXPECTED_2024 - {("dm_res_future", "diabetes", DM, D(2019, 3, 3))}) | {
    ("dm_future", "diabetes", DM, D(2024, 6, 1)),
}


def person_rows() -> list[dict]:
    """``person`` rows of the people in BORN (all registered at P00001 since 2000)."""
    return [
        {"person_id": pid, "year_of_birth": born, "sex": "F", "ethnicity": "A",
         "lsoa_code": None, "imd_decile": 5, "practice_code": "P00001",
         "registered_from": D(2000, 1, 1), "registered_to": None, "date_of_death": None,
         "place_of_death": None}
        for pid, born in BORN.items()
    ]  # fmt: skip


def event_rows(events=EVENTS) -> list[dict]:
    """``gp_event`` rows of ``events``."""
    return [
        {"person_id": pid, "practice_code": "P00001", "date": day, "code_system": system,
         "code": code, "value": None}
        for pid, day, system, code in events
    ]  # fmt: skip


def as_tuples(table) -> set[tuple]:
    """(person, condition, code, recorded_on) of derived rows (an Arrow table), checking
    every row's code system on the way."""
    rows = table.to_pylist()
    assert all(r["code_system"] == "snomed" for r in rows)
    out = {(r["person_id"], r["condition"], r["code"], r["recorded_on"]) for r in rows}
    assert len(out) == len(rows), "a person appears twice on one register"
    return out
