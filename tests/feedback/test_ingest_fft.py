"""A Friends and Family Test extract loads with the shipped mapping, anonymous rows too."""

from __future__ import annotations

import duckdb
import pytest

from joinedup.ingest import ingest

pytestmark = pytest.mark.integration

CSV = (
    "Response_ID,NHS_Number,Service,Organisation_Code,Response_Date,Rating,Comment\n"
    'R1,,A&E,xra,03/02/2026,Very good,"Seen quickly, thank you"\n'
    "R2,943 476 5919,Outpatient,XRA,04/02/2026,Poor,\n"
    "R3,,Inpatient,XRB,05/02/2026,Brilliant,Lovely\n"
)


def test_fft_extract_loads_anonymous_and_linked_answers(tmp_path):
    path = tmp_path / "fft_february.csv"
    path.write_text(CSV)
    warehouse = tmp_path / "w.duckdb"
    ingest([path], mapping="fft", warehouse=warehouse, key_file=tmp_path / "key")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT response_id, person_id IS NULL, setting, provider_code, answer_code "
            "FROM feedback_response ORDER BY 1"
        ).fetchall()
        quarantined = con.execute("SELECT source_row, field FROM quarantine").fetchall()
    assert rows == [("R1", True, "ae", "XRA", "1"), ("R2", False, "outpatient", "XRA", "4")]
    assert quarantined == [(3, "answer_code")]  # "Brilliant" is not an FFT answer
    assert b"9434765919" not in warehouse.read_bytes()
