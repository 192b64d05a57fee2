"""Ingest end to end through the Python API: validation, quarantine, batches, linkage."""

from __future__ import annotations

import duckdb
import pytest

import known_answers as ka
from joinedup.ingest import IngestError, ingest
from joinedup.ingest.pseudonymise import ReidentificationStore

from .helpers import HES_APC_HEADER, VALID_EXAMPLE, invalid_nhs_number, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

APC_HEADER = [
    "spell_id",
    "nhs_number",
    "provider_code",
    "admitted_on",
    "discharged_on",
    "admission_method",
    "patient_classification",
    "primary_diagnosis",
    "cost",
]


@pytest.fixture
def env(tmp_path):
    return {"warehouse": tmp_path / "w.duckdb", "key_file": tmp_path / "secrets" / "k.key"}


def _query(env, sql):
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_good_and_bad_rows_are_accounted_for_with_reasons(tmp_path, env):
    good = nhs_numbers(3)
    rows = [
        ["S1", good[0], "RXX", "01/02/2024", "03/02/2024", "21", "1", "I21.9", "1200"],
        ["S2", invalid_nhs_number(good[1]), "RXX", "2024-02-01", "", "21", "1", "", ""],
        ["S3", good[2], "RXX", "2024-02-05", "2024-02-01", "21", "1", "", ""],
        ["S4", good[2], "RXX", "2024-02-05", "", "99", "1", "", ""],
        ["S5", good[2], "rxx!", "2024-02-05", "", "21", "1", "E99", ""],
        ["S6", good[2], "RXX", "31/02/2024", "", "21", "1", "", ""],
        ["S7", "", "RXX", "2024-02-05", "", "21", "1", "", ""],
        ["S1", good[0], "RXX", "01/03/2024", "03/03/2024", "21", "1", "", ""],
    ]
    path = write_csv(tmp_path / "apc.csv", APC_HEADER, rows)
    [report] = ingest([path], table="apc_spell", **env)
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (8, 1, 7)
    q = _query(env, "SELECT source_row, field, value, reason FROM quarantine ORDER BY source_row")
    by_row = {r[0]: r for r in q}
    assert set(by_row) == {2, 3, 4, 5, 6, 7, 8}
    assert by_row[2][1] == "nhs_number" and by_row[2][2] is None  # identifier never kept
    assert "modulus 11" in by_row[2][3]
    assert by_row[3][1:3] == ("discharged_on", "2024-02-01") and "on or after" in by_row[3][3]
    assert by_row[4][1:3] == ("admission_method", "99") and "ADMISSION_METHOD" in by_row[4][3]
    assert {r[1] for r in q if r[0] == 5} == {"provider_code", "primary_diagnosis"}
    assert by_row[6][1:3] == ("admitted_on", "31/02/2024") and "dd/mm/yyyy" in by_row[6][3]
    assert by_row[7][1] == "nhs_number" and "required" in by_row[7][3]
    assert by_row[8][1] == "spell_id" and "unique" in by_row[8][3]
    [(spell, diag, pid)] = _query(
        env, "SELECT spell_id, primary_diagnosis, person_id FROM apc_spell"
    )
    # the id computed with the standard library from the key file's key, not by joinedup
    key = ka.key_in_file(env["key_file"])
    assert (spell, diag, pid) == ("S1", "I219", ka.expected_person_id(good[0], key))
    [batch] = _query(
        env, "SELECT rows_read, rows_accepted, rows_quarantined, status FROM load_batch"
    )
    assert batch == (8, 1, 7, "loaded")


def test_known_key_gives_the_known_id_and_the_store_gives_the_number_back(tmp_path, env):
    """A key file written by hand: the warehouse holds the pinned id (tests/known_answers.py),
    never the number, and the re-identification store maps that id back to it."""
    env["key_file"].parent.mkdir()
    env["key_file"].write_text(ka.KEY.hex() + "\n")
    path = write_csv(
        tmp_path / "apc.csv",
        APC_HEADER,
        [["S1", "943 476 5919", "RXX", "2024-02-01", "", "21", "1", "", ""]],
    )
    [report] = ingest([path], table="apc_spell", **env)
    assert report.rows_accepted == 1
    assert _query(env, "SELECT person_id FROM apc_spell") == [("dd5c602eeb31d60c7c0d",)]
    assert ka.NHS_NUMBER.encode() not in env["warehouse"].read_bytes()
    store = ReidentificationStore(env["key_file"].parent / "reidentification.duckdb")
    assert store.lookup([ka.PERSON_ID, ka.OTHER_PERSON_ID]) == {ka.PERSON_ID: ka.NHS_NUMBER}


def test_reloading_the_same_content_is_a_no_op(tmp_path, env):
    path = write_csv(
        tmp_path / "apc.csv",
        APC_HEADER,
        [["S1", VALID_EXAMPLE, "RXX", "2024-02-01", "", "21", "1", "", ""]],
    )
    [first] = ingest([path], table="apc_spell", **env)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(path.read_bytes())
    [again] = ingest([copy], table="apc_spell", **env)
    assert again.status == "unchanged"
    assert first.batches[0].batch_id in again.message and "nothing to do" in again.message
    assert _query(env, "SELECT count(*) FROM apc_spell") == [(1,)]
    assert _query(env, "SELECT count(*) FROM load_batch") == [(1,)]


def test_a_corrected_file_replaces_its_batch_and_keeps_history(tmp_path, env):
    header = HES_APC_HEADER
    people = nhs_numbers(2)
    first = write_csv(
        tmp_path / "apc_v1.csv",
        header,
        [
            ["S1", people[0], "RXX", "2024-02-01", "2024-02-03", "21", "1", "I219", "E119"],
            ["S2", people[1], "RXX", "2024-02-01", "2024-02-03", "11", "2", "K409", ""],
        ],
    )
    [r1] = ingest([first], mapping="apc_spells_nhs", **env)
    fixed = write_csv(
        tmp_path / "apc_v2.csv",
        header,
        [
            ["S1", people[0], "RXX", "2024-02-01", "2024-02-04", "21", "1", "I214", ""],
        ],
    )
    [r2] = ingest([fixed], mapping="apc_spells_nhs", replaces=r1.batches[0].batch_id, **env)
    assert r2.status == "replaced"
    assert _query(env, "SELECT spell_id, discharged_on::VARCHAR FROM apc_spell") == [
        ("S1", "2024-02-04")
    ]
    assert _query(env, "SELECT spell_id, position, icd10 FROM apc_diagnosis") == [("S1", 1, "I214")]
    statuses = _query(
        env, "SELECT table_name, status, replaces_batch_id FROM load_batch ORDER BY batch_id"
    )
    assert statuses == [
        ("apc_spell", "replaced", None),
        ("apc_diagnosis", "replaced", None),
        ("apc_spell", "loaded", r1.batches[0].batch_id),
        ("apc_diagnosis", "loaded", r1.batches[1].batch_id),
    ]
    with pytest.raises(IngestError, match="already replaced"):
        ingest([first], mapping="apc_spells_nhs", replaces=r1.batches[0].batch_id, **env)


def test_hes_apc_mapping_fills_spells_and_every_diagnosis(tmp_path, env):
    people = nhs_numbers(2)
    header = [
        "SUSSPELLID",
        "NEWNHSNO",
        "DOB",
        "PROCODE3",
        "ADMIDATE",
        "DISDATE",
        "ADMIMETH",
        "CLASSPAT",
        "MAINSPEF",
    ] + [f"DIAG_4_{i:02d}" for i in range(1, 21)]
    diags = ["I219", "E11.9", "I10X", "N18-"] + [""] * 16
    rows = [
        [
            "S1",
            people[0],
            "1950-01-01",
            "RXX",
            "01/02/2024",
            "1800-01-01",
            "2a",
            "1",
            "300",
            *diags,
        ],
        ["S2", people[1], "1950-01-01", "RXX", "01/02/2024", "", "21", "1", "300", "Q999", "E99"]
        + [""] * 18,
    ]
    path = write_csv(tmp_path / "hes.csv", header, rows, delimiter="|")
    [report] = ingest([path], mapping="apc_spells_nhs", **env)
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (2, 1, 1)
    assert _query(env, "SELECT spell_id, admission_method, discharged_on FROM apc_spell") == [
        ("S1", "2A", None)  # 1800-01-01 is HES for "not known"
    ]
    assert _query(env, "SELECT position, icd10 FROM apc_diagnosis ORDER BY position") == [
        (1, "I219"),
        (2, "E119"),
        (3, "I10X"),
        (4, "N18"),
    ]
    [(field, value, raw)] = _query(env, "SELECT field, value, raw_row FROM quarantine")
    assert (field, value) == ("icd10", "E99")
    assert people[1] not in raw and "1950-01-01" not in raw and '"SUSSPELLID": "S2"' in raw


def test_same_nhs_number_in_two_extracts_links_and_never_reaches_the_warehouse(tmp_path, env):
    people = nhs_numbers(5, seed=7)
    spaced = [f"{n[:3]} {n[3:6]} {n[6:]}" for n in people]
    apc = write_csv(
        tmp_path / "apc.csv",
        APC_HEADER,
        [[f"S{i}", spaced[i], "RXX", "2024-02-01", "", "21", "1", "", ""] for i in range(5)],
    )
    ecds_header = [
        "EC_IDENT",
        "NHS_NUMBER",
        "ORG_CODE_PROVIDER",
        "ARRIVAL_DATE",
        "ARRIVAL_TIME",
        "EC_DEPARTMENT_TYPE",
        "EC_ARRIVAL_MODE_SNOMED_CT",
    ]
    ecds = write_csv(
        tmp_path / "ecds.csv",
        ecds_header,
        [
            [f"A{i}", people[i], "RXX", "31/01/2024", "23:10", "01", "1048031000000100"]
            for i in range(5)
        ],
    )
    ingest([apc], table="apc_spell", **env)
    [r] = ingest([ecds], mapping="ecds", **env)
    assert r.rows_accepted == 5
    linked = _query(
        env,
        "SELECT count(*) FROM apc_spell s JOIN ae_attendance a USING (person_id) "
        "WHERE a.arrival_mode = '1' AND a.department_type = 1 "
        "AND a.arrived_at = TIMESTAMP '2024-01-31 23:10:00'",
    )
    assert linked == [(5,)]
    content = env["warehouse"].read_bytes()
    for n in people:
        assert n.encode() not in content and n.encode("utf-16-le") not in content
    assert oct(env["key_file"].stat().st_mode & 0o777) == "0o600"
    store = ReidentificationStore(env["key_file"].parent / "reidentification.duckdb")
    pids = [r[0] for r in _query(env, "SELECT person_id FROM ae_attendance")]
    assert sorted(store.lookup(pids).values()) == sorted(people)


def test_nothing_after_death(tmp_path, env):
    people = nhs_numbers(2, seed=3)
    gp_header = [
        "NHS_NUMBER",
        "DATE_OF_BIRTH",
        "SEX",
        "PRACTICE_CODE",
        "REGISTRATION_START",
        "DATE_OF_DEATH",
        "POSTCODE",
    ]
    gp = write_csv(
        tmp_path / "gp.csv",
        gp_header,
        [
            [people[0], "12/05/1940", "2", "A81001", "01/01/2000", "10/01/2024", "LS1 4AP"],
            [people[1], "12/05/1950", "1", "A81001", "01/01/2000", "", "LS1 4AP"],
        ],
    )
    [r] = ingest([gp], mapping="gp_register", **env)
    assert r.rows_accepted == 2
    assert _query(env, "SELECT year_of_birth, sex FROM person ORDER BY year_of_birth") == [
        (1940, "F"),
        (1950, "M"),
    ]
    apc = write_csv(
        tmp_path / "apc.csv",
        APC_HEADER,
        [
            ["S1", people[0], "RXX", "2024-02-01", "", "21", "1", "", ""],
            ["S2", people[1], "RXX", "2024-02-01", "", "21", "1", "", ""],
        ],
    )
    [r] = ingest([apc], table="apc_spell", **env)
    assert (r.rows_accepted, r.rows_quarantined) == (1, 1)
    assert _query(env, "SELECT field, reason FROM quarantine") == [
        ("admitted_on", "expected no activity after the person's death")
    ]
    content = env["warehouse"].read_bytes()
    assert b"LS1 4AP" not in content and b"12/05/1940" not in content


def test_other_shipped_mappings(tmp_path, env):
    people = nhs_numbers(2, seed=5)
    op = write_csv(
        tmp_path / "op.csv",
        ["ATTENDKEY", "NEWNHSNO", "PROCODE3", "APPTDATE", "TRETSPEF", "FIRSTATT", "ATTENDED"],
        [
            ["O1", people[0], "RXX", "2024-01-05", "320", "3", "5"],
            ["O2", people[1], "RXX", "2024-01-05", "320", "2", "3"],
        ],
    )
    cld = write_csv(
        tmp_path / "cld.csv",
        ["NHS_Number", "Service_Type", "Event_Start_Date", "Event_End_Date", "Weekly_Cost"],
        [
            [people[0], "Long Term Support: Nursing Care", "01/04/2023", "", "£1,050.00"],
            [people[1], "Meals on wheels", "01/04/2023", "", ""],
        ],
    )
    reg = write_csv(
        tmp_path / "reg.csv",
        ["NHS_NUMBER", "REGISTER", "SNOMED_CODE", "DATE_RECORDED"],
        [
            [people[0], "dm", "44054006", "2015-06-01"],
            [people[1], "XYZ", "1", "2015-06-01"],
        ],
    )
    [r_op] = ingest([op], mapping="op_appointments_nhs", **env)
    [r_cld] = ingest([cld], mapping="social_care_cld", **env)
    [r_reg] = ingest([reg], mapping="gp_condition_register", **env)
    assert [r.rows_accepted for r in (r_op, r_cld, r_reg)] == [2, 1, 1]
    assert _query(
        env, "SELECT first_attendance, medium, attended FROM op_appointment ORDER BY appointment_id"
    ) == [(True, "telephone", "5"), (False, "face_to_face", "3")]
    assert _query(env, "SELECT service_type, weekly_cost FROM social_care_service") == [
        ("nursing_care", 1050.0)
    ]
    assert _query(env, "SELECT condition FROM condition") == [("diabetes",)]


def test_whole_file_problems_write_nothing(tmp_path, env):
    good = write_csv(
        tmp_path / "good.csv",
        APC_HEADER,
        [["S1", VALID_EXAMPLE, "RXX", "2024-02-01", "", "21", "1", "", ""]],
    )
    lacking = write_csv(tmp_path / "lacking.csv", ["spell_id"], [["S1"]])
    with pytest.raises(IngestError, match=r"lacking.csv: no column 'nhs_number'"):
        ingest([good, lacking], table="apc_spell", **env)
    with pytest.raises(IngestError, match="unknown table 'spells'"):
        ingest([good], table="spells", **env)
    with pytest.raises(IngestError, match=r"missing.csv: no such file"):
        ingest([tmp_path / "missing.csv"], table="apc_spell", **env)
    with pytest.raises(
        IngestError, match=r"no column 'SUSSPELLID' \(mapped to apc_spell.spell_id\)"
    ):
        ingest([good], mapping="apc_spells_nhs", **env)
    bad_mapping = tmp_path / "m.yaml"
    bad_mapping.write_text("table: apc_spell\ncolumns: {spel_id: X}\n")
    with pytest.raises(IngestError, match="'spel_id' is not a column of apc_spell"):
        ingest([good], mapping=bad_mapping, **env)
    assert not env["warehouse"].exists() or _query(env, "SELECT count(*) FROM load_batch") == [(0,)]


def test_parquet_and_folders_load_like_csv(tmp_path, env):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    people = nhs_numbers(2, seed=9)
    folder = tmp_path / "extracts"
    folder.mkdir()
    pq.write_table(
        pa.table(
            {
                "spell_id": ["P1", "P2"],
                "nhs_number": [people[0], people[1]],
                "provider_code": ["RXX", "RXX"],
                "admitted_on": [dt.date(2024, 1, 1), dt.date(2024, 1, 3)],
                "discharged_on": [dt.date(2024, 1, 2), dt.date(2024, 1, 2)],
                "admission_method": ["21", "21"],
                "patient_classification": [1, 1],
                "cost": [10.5, None],
            }
        ),
        folder / "a.parquet",
    )
    write_csv(
        folder / "b.csv",
        APC_HEADER,
        [["C1", people[0], "RXX", "2024-01-01", "", "11", "2", "", ""]],
    )
    (folder / "notes.md").write_text("not an extract")
    reports = ingest([folder], table="apc_spell", **env)
    assert [(r.rows_read, r.rows_accepted, r.rows_quarantined) for r in reports] == [
        (2, 1, 1),
        (1, 1, 0),
    ]
    assert _query(env, "SELECT spell_id, cost FROM apc_spell ORDER BY spell_id") == [
        ("C1", None),
        ("P1", 10.5),
    ]


def test_a_place_based_rollout_loads_by_its_headers_and_ends_after_it_starts(tmp_path, env):
    header = ["programme", "unit_level", "unit_code", "started_on", "ended_on"]
    rows = [
        ["integrated_neighbourhood_teams", "practice", "Z10001", "2024-04-01", ""],
        ["integrated_neighbourhood_teams", "cluster", "FP01-C1", "2024-04-01", "2025-03-31"],
        ["integrated_neighbourhood_teams", "practice", "Z10002", "2024-04-01", "2024-03-31"],
        ["integrated_neighbourhood_teams", "ward", "W1", "2024-04-01", ""],
        ["integrated_neighbourhood_teams", "practice", "Z10001", "2024-10-01", ""],
    ]
    path = write_csv(tmp_path / "programme_rollout.csv", header, rows)
    [report] = ingest([path], **env)  # recognised by its canonical headers
    assert report.table == "programme_rollout"
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (5, 2, 3)
    q = _query(env, "SELECT source_row, field, reason FROM quarantine ORDER BY source_row")
    assert q[0][:2] == (3, "ended_on") and "end on or after start" in q[0][2]
    assert q[1][:2] == (4, "unit_level") and "UNIT_LEVEL" in q[1][2]
    assert q[2][:2] == (5, "unit_code") and "unique" in q[2][2]
