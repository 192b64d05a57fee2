"""GP coded events as a GPES extract gives them, through the shipped `gp_events` mapping,
then on to the QOF registers."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from joinedup.derived.registers import load_registers
from joinedup.ingest import ingest
from joinedup.ingest.folder import plan
from joinedup.ingest.pseudonymise import load_or_create_key, person_id
from joinedup.warehouse import open_warehouse

from .helpers import invalid_nhs_number, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

GP_HEADER = ["NHS_NUMBER", "DATE_OF_BIRTH", "SEX", "PRACTICE_CODE", "REGISTRATION_START"]
EVENTS_HEADER = [
    "NHS_NUMBER", "PRACTICE", "DATE", "RECORD_DATE", "CODE", "VALUE1_CONDITION",
    "VALUE2_CONDITION", "DATE_OF_BIRTH",
]  # fmt: skip


def _query(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_coded_events_extract_loads_and_feeds_the_registers(tmp_path):
    env = {"warehouse": tmp_path / "w.duckdb", "key_file": tmp_path / "k.key"}
    a, b = nhs_numbers(2)
    gp = write_csv(
        tmp_path / "gp_list.csv",
        GP_HEADER,
        [
            [a, "03/04/1950", "2", "A81001", "01/01/2000"],
            [b, "20/07/2010", "1", "A81001", "01/01/2010"],
        ],
    )
    [r] = ingest([gp], mapping="gp_register", **env)
    assert r.rows_accepted == 2
    events = write_csv(
        tmp_path / "gp_events_2024.csv",
        EVENTS_HEADER,
        [
            [a, "a81001", "14/02/2011", "15/02/2011", "44054006", "", "", "03/04/1950"],
            [a, "A81001", "2023-05-06", "2023-05-06", "271649006", "142", "84", "03/04/1950"],
            [b, "A81001", "01/09/2023", "01/09/2023", "195967001", "", "", "20/07/2010"],
            [a, "A81001", "30/02/2023", "30/02/2023", "59621000", "", "", "03/04/1950"],
            [invalid_nhs_number(b), "A81001", "01/09/2023", "", "195967001", "", "", ""],
            [a, "A81001", "01/10/2023", "", "", "", "", "03/04/1950"],
        ],
    )
    [r] = ingest([events], mapping="gp_events", **env)
    assert (r.table, r.rows_read, r.rows_accepted, r.rows_quarantined) == ("gp_event", 6, 3, 3)
    q = _query(env["warehouse"], "SELECT source_row, field FROM quarantine ORDER BY 1")
    assert q == [(4, "date"), (5, "nhs_number"), (6, "code")]
    key = load_or_create_key(env["key_file"])
    rows = _query(
        env["warehouse"],
        "SELECT person_id, practice_code, date, code_system, code, value FROM gp_event "
        "ORDER BY date",
    )
    assert rows == [
        (person_id(a, key), "A81001", date(2011, 2, 14), "snomed", "44054006", None),
        (person_id(a, key), "A81001", date(2023, 5, 6), "snomed", "271649006", 142.0),
        (person_id(b, key), "A81001", date(2023, 9, 1), "snomed", "195967001", None),
    ]
    content = env["warehouse"].read_bytes()
    assert a.encode() not in content and b"03/04/1950" not in content

    with open_warehouse(env["warehouse"]) as wh:
        result = load_registers(wh, date(2024, 3, 31))
    # a: diabetes since 2011 (74 in 2024). b: asthma, 14 in 2024 (asthma is 6+).
    assert _query(
        env["warehouse"],
        "SELECT person_id, condition, code, recorded_on FROM condition ORDER BY condition",
    ) == [
        (person_id(b, key), "asthma", "195967001", date(2023, 9, 1)),
        (person_id(a, key), "diabetes", "44054006", date(2011, 2, 14)),
    ]
    assert result.counts["diabetes"] == 1 and result.counts["asthma"] == 1


def test_coded_event_files_find_their_mapping_in_a_folder(tmp_path):
    folder = tmp_path / "extracts"
    folder.mkdir()
    for name in ("gp_events_2024_03.csv", "GPES_coded_events.csv", "practice_journal.csv"):
        write_csv(folder / name, EVENTS_HEADER, [])
    assert {p.mapping.name for p in plan([folder])} == {"gp_events"}
