"""Duplicate keys within a file: the first row of a key loads, every later one is
quarantined with its source row, whatever chunk it falls in and whichever reader reads it.

Duplicates are found after the rows have spilled (not in a set held in memory), so these
tests pin the behaviour down: which rows, which reason, what is left out of every table.
"""

from __future__ import annotations

import json

import duckdb
import pytest

import known_answers as ka
from joinedup.ingest import ingest
from joinedup.ingest.pseudonymise import ReidentificationStore

from .helpers import HES_APC_HEADER, SPELL_HEADER, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

HEADER = SPELL_HEADER
UNIQUE = "expected a unique spell_id; seen earlier in the file"
METHOD = "expected one of the ADMISSION_METHOD codes"


def _query(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


# chunk_rows=2 puts the three S1 rows in three different chunks
@pytest.mark.parametrize("chunk_rows", [2, 50_000])
@pytest.mark.parametrize("fast_csv", [True, False])
def test_same_key_three_times_first_loads_the_other_two_are_quarantined(
    tmp_path, chunk_rows, fast_csv
):
    people = nhs_numbers(3)
    rows = [
        ["S1", people[0], "RXX", "2024-01-01", "21", "1"],  # 1: loads
        ["S2", people[1], "RXX", "2024-01-02", "99", "1"],  # 2: bad method
        ["S1", people[0], "RXX", "2024-01-03", "21", "1"],  # 3: duplicate of row 1
        ["S2", people[1], "RXX", "2024-01-04", "21", "1"],  # 4: duplicate of row 2
        ["S1", people[2], "RXX", "2024-01-05", "99", "1"],  # 5: bad method and duplicate
        ["S3", people[1], "RXX", "2024-01-06", "21", "1"],  # 6: loads
    ]
    path = write_csv(tmp_path / "apc.csv", HEADER, rows)
    wh, key = tmp_path / "w.duckdb", tmp_path / "k.key"
    [report] = ingest(
        [path], table="apc_spell", warehouse=wh, key_file=key,
        chunk_rows=chunk_rows, fast_csv=fast_csv,
    )  # fmt: skip
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (6, 2, 4)
    assert report.reasons[f"spell_id: {UNIQUE}"] == 3
    assert _query(wh, "SELECT spell_id, admitted_on::VARCHAR FROM apc_spell ORDER BY 1") == [
        ("S1", "2024-01-01"),
        ("S3", "2024-01-06"),
    ]
    q = _query(
        wh,
        "SELECT source_row, field, value, reason, raw_row FROM quarantine"
        " ORDER BY source_row, field",
    )
    assert [(r[0], r[1]) for r in q] == [
        (2, "admission_method"),
        (3, "spell_id"),
        (4, "spell_id"),
        (5, "admission_method"),
        (5, "spell_id"),
    ]
    for row, field, value, reason, raw in q:
        if field == "spell_id":
            assert reason == UNIQUE and value is None
        else:
            assert reason.startswith(METHOD) and value == "99"
        # the row's own values, never the NHS number
        own = dict(zip(HEADER, rows[row - 1], strict=True))
        del own["nhs_number"]
        assert json.loads(raw) == own
    assert _query(wh, "SELECT rows_read, rows_accepted, rows_quarantined FROM load_batch") == [
        (6, 2, 4)
    ]
    # people[2] is only on row 5 (quarantined): the re-identification store never has them
    k = ka.key_in_file(key)
    known = ReidentificationStore(tmp_path / "reidentification.duckdb").lookup(
        [ka.expected_person_id(p, k) for p in people]
    )
    assert sorted(known.values()) == sorted([people[0], people[1]])


def test_a_duplicate_spell_leaves_out_its_diagnoses_too(tmp_path):
    people = nhs_numbers(2)
    header = HES_APC_HEADER
    rows = [
        ["S1", people[0], "RXX", "2024-02-01", "2024-02-03", "21", "1", "I219", "E119"],
        ["S2", people[1], "RXX", "2024-02-01", "2024-02-03", "11", "2", "K409", ""],
        ["S1", people[1], "RXX", "2024-02-05", "2024-02-06", "21", "1", "J189", "N390"],
        ["S1", people[0], "RXX", "2024-02-07", "2024-02-08", "21", "1", "R69X", ""],
    ]
    path = write_csv(tmp_path / "hes_apc.csv", header, rows)
    wh = tmp_path / "w.duckdb"
    [report] = ingest(
        [path], mapping="apc_spells_nhs", warehouse=wh, key_file=tmp_path / "k.key", chunk_rows=3
    )
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (4, 2, 2)
    assert _query(wh, "SELECT spell_id, icd10 FROM apc_diagnosis ORDER BY ALL") == [
        ("S1", "E119"),
        ("S1", "I219"),
        ("S2", "K409"),
    ]
    assert _query(
        wh, "SELECT table_name, rows_read, rows_accepted FROM load_batch ORDER BY batch_id"
    ) == [("apc_spell", 4, 2), ("apc_diagnosis", 3, 3)]
    assert _query(wh, "SELECT source_row, field FROM quarantine ORDER BY 1") == [
        (3, "spell_id"),
        (4, "spell_id"),
    ]
