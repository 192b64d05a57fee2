"""Round trip: canonical rows -> national extract shapes -> ingest -> the same rows back.

The synthetic economy module is not in this tree yet, so a small economy is made here
with a seed; the exporters below write each table the way the national data sets do
(HES/SUS APC with DIAG_4_nn, ECDS with SNOMED codes and split date/time, HES OP,
GP register with dates of birth, social care CLD), each in a different dialect.
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from joinedup.ingest import ingest
from joinedup.ingest.pseudonymise import load_or_create_key, person_id

from .helpers import nhs_numbers, write_csv

pytestmark = pytest.mark.integration

ICD = ["I219", "I10X", "E119", "J189", "N390", "K590", "R69X", "F03X", "S720"]
ARRIVAL_SNOMED = {"1": "1048031000000100", "2": "1048001000000106"}
CLD_TYPE = {"home_care": "Long Term Support: Community", "reablement": "Short Term Support: ST-Max"}


def _economy(seed=5, n=40):
    rng = random.Random(seed)
    people = nhs_numbers(n, seed=seed)
    persons, spells, diags, ae, op, care = [], [], [], [], [], []
    for i, nhs in enumerate(people):
        dob = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30_000))
        persons.append(
            dict(
                nhs=nhs,
                dob=dob,
                sex=rng.choice("MF"),
                ethnicity=rng.choice("ABHNZ"),
                lsoa=f"E0{rng.randrange(10**7):07d}",
                practice="A81001",
                registered_from=dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(5000)),
            )
        )
        for k in range(rng.randrange(3)):
            start = dt.date(2023, 4, 1) + dt.timedelta(days=rng.randrange(300))
            sid = f"SP{i:03d}{k}"
            codes = rng.sample(ICD, rng.randrange(1, 6))
            spells.append(
                dict(
                    spell_id=sid,
                    nhs=nhs,
                    admitted_on=start,
                    discharged_on=start + dt.timedelta(days=rng.randrange(10)),
                    method=rng.choice(["11", "21", "2A"]),
                    cls=rng.choice("12"),
                    specialty="300",
                    diag=codes[0],
                )
            )
            diags += [(sid, pos, c) for pos, c in enumerate(codes, start=1)]
        for k in range(rng.randrange(2)):
            t = dt.datetime(2023, 6, 1, 0, 0) + dt.timedelta(minutes=rng.randrange(400_000))
            ae.append(
                dict(
                    id=f"AE{i:03d}{k}",
                    nhs=nhs,
                    arrived=t,
                    departed=t + dt.timedelta(minutes=rng.randrange(30, 600)),
                    dept=rng.choice([1, 3]),
                    mode=rng.choice("12"),
                )
            )
        if rng.random() < 0.5:
            op.append(
                dict(
                    id=f"OP{i:03d}",
                    nhs=nhs,
                    date=dt.date(2023, 9, 1) + dt.timedelta(days=i),
                    first=rng.random() < 0.5,
                    attended=rng.choice(["5", "3"]),
                )
            )
        if rng.random() < 0.3:
            care.append(
                dict(
                    nhs=nhs,
                    type=rng.choice(sorted(CLD_TYPE)),
                    start=dt.date(2023, 5, i % 28 + 1),
                    cost=round(rng.uniform(50, 900), 2),
                )
            )
    return persons, spells, diags, ae, op, care


def test_national_extract_shapes_round_trip(tmp_path):
    persons, spells, diags, ae, op, care = _economy()
    gp = write_csv(
        tmp_path / "gp.csv",
        [
            "NHS_NUMBER",
            "DATE_OF_BIRTH",
            "SEX",
            "ETHNIC_CATEGORY",
            "LSOA_CODE",
            "PRACTICE_CODE",
            "REGISTRATION_START",
            "POSTCODE",
        ],
        [
            [
                p["nhs"],
                f"{p['dob']:%d/%m/%Y}",
                {"M": "1", "F": "2"}[p["sex"]],
                p["ethnicity"],
                p["lsoa"],
                p["practice"],
                f"{p['registered_from']:%d/%m/%Y}",
                "LS1 4AP",
            ]
            for p in persons
        ],
        encoding="utf-8-sig",
    )
    by_spell = {}
    for sid, pos, code in diags:
        by_spell.setdefault(sid, {})[pos] = code
    apc = write_csv(
        tmp_path / "apc.txt",
        [
            "SUSSPELLID",
            "NEWNHSNO",
            "PROCODE3",
            "ADMIDATE",
            "DISDATE",
            "ADMIMETH",
            "CLASSPAT",
            "MAINSPEF",
        ]
        + [f"DIAG_4_{n:02d}" for n in range(1, 21)],
        [
            [
                s["spell_id"],
                s["nhs"],
                "RXX",
                s["admitted_on"].isoformat(),
                s["discharged_on"].isoformat(),
                s["method"],
                s["cls"],
                s["specialty"],
            ]
            + [by_spell[s["spell_id"]].get(n, "") for n in range(1, 21)]
            for s in spells
        ],
        delimiter="|",
    )
    ecds = write_csv(
        tmp_path / "ecds.csv",
        [
            "EC_IDENT",
            "NHS_NUMBER",
            "ORG_CODE_PROVIDER",
            "ARRIVAL_DATE",
            "ARRIVAL_TIME",
            "EC_DEPARTURE_DATE",
            "EC_DEPARTURE_TIME",
            "EC_DEPARTMENT_TYPE",
            "EC_ARRIVAL_MODE_SNOMED_CT",
        ],
        [
            [
                a["id"],
                a["nhs"],
                "RXX",
                f"{a['arrived']:%d/%m/%Y}",
                f"{a['arrived']:%H:%M}",
                f"{a['departed']:%d/%m/%Y}",
                f"{a['departed']:%H:%M}",
                f"0{a['dept']}",
                ARRIVAL_SNOMED[a["mode"]],
            ]
            for a in ae
        ],
        encoding="cp1252",
    )
    hes_op = write_csv(
        tmp_path / "op.tsv",
        ["ATTENDKEY", "NEWNHSNO", "PROCODE3", "APPTDATE", "FIRSTATT", "ATTENDED"],
        [
            [
                o["id"],
                o["nhs"],
                "RXX",
                f"{o['date']:%Y%m%d}",
                "1" if o["first"] else "2",
                o["attended"],
            ]
            for o in op
        ],
        delimiter="\t",
    )
    cld = write_csv(
        tmp_path / "cld.csv",
        ["NHS_Number", "Service_Type", "Event_Start_Date", "Weekly_Cost"],
        [
            [c["nhs"], CLD_TYPE[c["type"]], f"{c['start']:%d/%m/%Y}", f"£{c['cost']:,.2f}"]
            for c in care
        ],
    )
    env = {"warehouse": tmp_path / "w.duckdb", "key_file": tmp_path / "k.key"}
    for path, mapping in [
        (gp, "gp_register"),
        (apc, "hes_apc"),
        (ecds, "ecds"),
        (hes_op, "hes_op"),
        (cld, "social_care_cld"),
    ]:
        for report in ingest([path], mapping=mapping, **env):
            assert report.rows_quarantined == 0, report.reasons
    key = load_or_create_key(env["key_file"])
    pid = {p["nhs"]: person_id(p["nhs"], key) for p in persons}
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:

        def rows(sql):
            return sorted(con.execute(sql).fetchall())

        assert rows(
            "SELECT person_id, year_of_birth, sex, ethnicity, lsoa_code, practice_code, "
            "registered_from FROM person"
        ) == sorted(
            (
                pid[p["nhs"]],
                p["dob"].year,
                p["sex"],
                p["ethnicity"],
                p["lsoa"],
                p["practice"],
                p["registered_from"],
            )
            for p in persons
        )
        assert rows(
            "SELECT spell_id, person_id, admitted_on, discharged_on, admission_method, "
            "patient_classification, specialty, primary_diagnosis FROM apc_spell"
        ) == sorted(
            (
                s["spell_id"],
                pid[s["nhs"]],
                s["admitted_on"],
                s["discharged_on"],
                s["method"],
                s["cls"],
                s["specialty"],
                s["diag"],
            )
            for s in spells
        )
        assert rows("SELECT spell_id, position, icd10 FROM apc_diagnosis") == sorted(diags)
        assert rows(
            "SELECT attendance_id, person_id, arrived_at, departed_at, department_type, "
            "arrival_mode FROM ae_attendance"
        ) == sorted(
            (a["id"], pid[a["nhs"]], a["arrived"], a["departed"], a["dept"], a["mode"]) for a in ae
        )
        assert rows(
            "SELECT appointment_id, person_id, date, first_attendance, attended FROM op_appointment"
        ) == sorted((o["id"], pid[o["nhs"]], o["date"], o["first"], o["attended"]) for o in op)
        assert rows(
            "SELECT person_id, service_type, started_on, weekly_cost FROM social_care_service"
        ) == sorted((pid[c["nhs"]], c["type"], c["start"], c["cost"]) for c in care)
