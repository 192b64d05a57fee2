"""Property tests: malformed rows and files never crash ingest or lose a row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.ingest import IngestError, ingest

from .helpers import invalid_nhs_number, nhs_numbers

pytestmark = pytest.mark.integration

HEADER = [
    "spell_id",
    "nhs_number",
    "provider_code",
    "admitted_on",
    "discharged_on",
    "admission_method",
    "patient_classification",
    "primary_diagnosis",
]
PEOPLE = nhs_numbers(20, seed=11)

# Each defect breaks one rule of the schema in a way an extract really does.
DEFECTS = {
    "nhs_check_digit": lambda r: r | {"nhs_number": invalid_nhs_number(r["nhs_number"])},
    "nhs_missing": lambda r: r | {"nhs_number": ""},
    "nhs_short": lambda r: r | {"nhs_number": r["nhs_number"][:7]},
    "bad_date": lambda r: r | {"admitted_on": "30/02/2023"},
    "american_date": lambda r: r | {"admitted_on": "12/31/2023"},
    "future_date": lambda r: r | {"admitted_on": "01/01/2199"},
    "ancient_date": lambda r: r | {"admitted_on": "01/01/1850"},
    "out_of_order": lambda r: r | {"discharged_on": "01/01/2020"},
    "unknown_method": lambda r: r | {"admission_method": "77"},
    "missing_method": lambda r: r | {"admission_method": ""},
    "bad_ods": lambda r: r | {"provider_code": "not an ods"},
    "icd10_format": lambda r: r | {"primary_diagnosis": "123"},
    "icd10_unknown": lambda r: r | {"primary_diagnosis": "E99"},
    "classification": lambda r: r | {"patient_classification": "9"},
}

good_rows = st.builds(
    lambda i, person, day, stay, method, cls, diag: {
        "nhs_number": PEOPLE[person],
        "provider_code": "RXX",
        "admitted_on": f"{day:02d}/03/2023",
        "discharged_on": f"2023-03-{min(day + stay, 31):02d}",
        "admission_method": method,
        "patient_classification": cls,
        "primary_diagnosis": diag,
    },
    st.integers(),
    st.integers(0, len(PEOPLE) - 1),
    st.integers(1, 28),
    st.integers(0, 3),
    st.sampled_from(["11", "21", "2A", "31"]),
    st.sampled_from(["1", "2"]),
    st.sampled_from(["", "I219", "J18.9", "N390", "R69X"]),
)
cases = st.lists(
    st.tuples(good_rows, st.none() | st.sampled_from(sorted(DEFECTS))), min_size=1, max_size=40
)


_TEMPLATE: dict[str, bytes] = {}


def _run(path: Path, folder: Path):
    # an empty warehouse made once and copied: creating tables is the slow part
    if "w" not in _TEMPLATE:
        with tempfile.TemporaryDirectory() as tmp:
            from joinedup.warehouse import open_warehouse

            open_warehouse(Path(tmp) / "w.duckdb").close()
            _TEMPLATE["w"] = (Path(tmp) / "w.duckdb").read_bytes()
    (folder / "w.duckdb").write_bytes(_TEMPLATE["w"])
    return ingest(
        [path],
        table="apc_spell",
        warehouse=folder / "w.duckdb",
        key_file=folder / "k.key",
        chunk_rows=7,  # several chunks per file
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases, st.sampled_from([",", "|", "\t"]), st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_every_bad_row_is_quarantined_and_every_good_row_loads(case, sep, encoding):
    rows, expected_bad = [], set()
    for n, (row, defect) in enumerate(case, start=1):
        row = {"spell_id": f"S{n}", **row}
        if defect:
            row = DEFECTS[defect](row)
            expected_bad.add(n)
        rows.append([row[h] for h in HEADER])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = io.StringIO()
        csv.writer(text, delimiter=sep).writerows([HEADER, *rows])
        path = folder / "apc.csv"
        path.write_bytes(text.getvalue().encode(encoding))
        [report] = _run(path, folder)
        assert report.rows_read == len(rows) == report.rows_accepted + report.rows_quarantined
        with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as con:
            loaded = {
                int(s[1:]) for (s,) in con.execute("SELECT spell_id FROM apc_spell").fetchall()
            }
            q = con.execute("SELECT source_row, reason FROM quarantine").fetchall()
        assert {r for r, _ in q} == expected_bad
        assert all(reason for _, reason in q)
        assert loaded == set(range(1, len(rows) + 1)) - expected_bad


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(alphabet=',|\t"\n\r ab1/-', max_size=300).map(str.encode))
def test_any_bytes_either_load_with_accounting_or_fail_cleanly(content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "junk.csv"
        path.write_bytes(
            b"spell_id,nhs_number,provider_code,admitted_on,admission_method,"
            b"patient_classification\n" + content
        )
        try:
            [report] = _run(path, folder)
        except IngestError as exc:
            assert "junk.csv" in str(exc)
            return
        assert report.rows_read == report.rows_accepted + report.rows_quarantined
        with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as con:
            (accepted,) = con.execute("SELECT count(*) FROM apc_spell").fetchone()
            (bad_rows,) = con.execute(
                "SELECT count(DISTINCT source_row) FROM quarantine"
            ).fetchone()
        assert (accepted, bad_rows) == (report.rows_accepted, report.rows_quarantined)
