"""Unfinished spells (no discharge date, destination 98) as the synthetic economy writes
them load through ingest validation; contradictory rows are quarantined."""

from __future__ import annotations

import csv

import duckdb
import pytest

from joinedup.ingest import ingest

pytestmark = pytest.mark.integration


def _nhs_numbers(n: int) -> list[str]:
    """Valid NHS numbers of the 999 test range: modulus 11 check digit (NHS Data
    Dictionary), skipping stems whose check digit would be 10."""
    out = []
    stem = 999_000_001
    while len(out) < n:
        digits = [int(c) for c in str(stem)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            out.append(f"{stem}{0 if check == 11 else check}")
        stem += 1
    return out


HEADER = ["spell_id", "nhs_number", "provider_code", "admitted_on", "discharged_on",
          "admission_method", "patient_classification", "discharge_destination"]  # fmt: skip


def test_null_discharge_needs_destination_98_and_98_needs_no_discharge(tmp_path):
    nhs = _nhs_numbers(5)
    rows = [
        ["S1", nhs[0], "RXX", "2026-03-01", "2026-03-04", "21", "1", "19"],  # finished
        ["S2", nhs[1], "RXX", "2026-03-20", "", "21", "1", "98"],  # unfinished
        ["S3", nhs[2], "RXX", "2026-03-20", "", "21", "1", "19"],  # home, but no date
        ["S4", nhs[3], "RXX", "2026-03-01", "2026-03-04", "21", "1", "98"],  # 98 with date
        ["S5", nhs[4], "RXX", "2026-03-20", "", "21", "1", ""],  # destination not given
    ]
    path = tmp_path / "apc.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    [report] = ingest([path], table="apc_spell", warehouse=tmp_path / "w.duckdb",
                      key_file=tmp_path / "k.key")  # fmt: skip
    assert (report.rows_accepted, report.rows_quarantined) == (3, 2)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        loaded = {r[0] for r in con.execute("SELECT spell_id FROM apc_spell").fetchall()}
        reasons = dict(con.execute("SELECT source_row, reason FROM quarantine").fetchall())
    assert loaded == {"S1", "S2", "S5"}
    assert set(reasons) == {3, 4}
    assert "98" in reasons[3] and "98" in reasons[4]
