"""A folder of partner extracts: files matched to mappings, one load report."""

from __future__ import annotations

import csv

import duckdb
import pytest

from joinedup.ingest import IngestError, ingest
from joinedup.ingest import report as load_report
from joinedup.ingest.folder import MANIFEST, plan
from joinedup.ingest.pseudonymise import load_or_create_key, person_id

from .helpers import invalid_nhs_number, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

PEOPLE = nhs_numbers(3, seed=21)


def _extracts(folder):
    folder.mkdir()
    write_csv(
        folder / "GP_List_2024-03.csv",
        ["NHS_NUMBER", "DATE_OF_BIRTH", "SEX", "PRACTICE_CODE", "REGISTRATION_START"],
        [[n, "01/02/1950", "1", "A81001", "01/01/2000"] for n in PEOPLE],
    )
    write_csv(
        folder / "sus_apc_2024_03.txt",
        ["SUSSPELLID", "NEWNHSNO", "PROCODE3", "ADMIDATE", "DISDATE", "ADMIMETH", "CLASSPAT",
         "DIAG_4_01", "DIAG_4_02"],
        [["S1", PEOPLE[0], "RXX", "2024-03-01", "2024-03-03", "21", "1", "I219", "E119"],
         ["S2", invalid_nhs_number(PEOPLE[1]), "RXX", "2024-03-01", "", "21", "1", "J189", ""]],
        delimiter="|",
    )  # fmt: skip
    write_csv(
        folder / "op_appointment.csv",  # a canonical table's name: canonical headers
        [
            "appointment_id",
            "nhs_number",
            "provider_code",
            "date",
            "first_attendance",
            "attended",
            "medium",
        ],
        [["OP1", PEOPLE[2], "RXX", "05/03/2024", "yes", "5", "telephone"]],
    )
    (folder / "README.docx").write_bytes(b"not an extract")  # ignored: not an extract type
    return folder


def test_folder_files_are_matched_by_name_and_linked(tmp_path):
    folder = _extracts(tmp_path / "extracts")
    planned = plan([folder])
    assert [(p.path.name, p.mapping.name) for p in planned] == [
        ("GP_List_2024-03.csv", "gp_register"),  # person first
        ("sus_apc_2024_03.txt", "hes_apc"),
        ("op_appointment.csv", "canonical op_appointment"),
    ]
    reports = ingest([folder], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
    counts = {r.table: (r.rows_read, r.rows_accepted, r.rows_quarantined) for r in reports}
    assert counts == {"person": (3, 3, 0), "apc_spell": (2, 1, 1), "op_appointment": (1, 1, 0)}
    key = load_or_create_key(tmp_path / "k.key")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        linked = con.execute(
            "SELECT count(*) FROM apc_spell JOIN person USING (person_id)"
        ).fetchone()
        (pid,) = con.execute("SELECT person_id FROM op_appointment").fetchone()
    assert linked == (1,)
    assert pid == person_id(PEOPLE[2], key)

    md = load_report.markdown(reports)
    assert "3 files: read 6 = accepted 5 + quarantined 1" in md
    assert "| 1 | nhs_number: expected a valid 10-digit NHS number" in md
    load_report.write(reports, tmp_path / "report.csv")
    with open(tmp_path / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["table"], r["rows_read"], r["rows_quarantined"]) for r in rows] == [
        ("person", "3", "0"),
        ("apc_spell", "2", "1"),
        ("op_appointment", "1", "0"),
    ]


def test_manifest_decides_and_unmatched_files_fail_before_anything_loads(tmp_path):
    folder = _extracts(tmp_path / "extracts")
    (folder / "weekly_feed.csv").write_text("x,y\n1,2\n")
    with pytest.raises(IngestError, match=r"weekly_feed\.csv.*no mapping matches"):
        ingest([folder], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
    assert not (tmp_path / "w.duckdb").exists()  # checked before the warehouse is opened

    (folder / MANIFEST).write_text(
        "files:\n"
        "  - {pattern: 'gp_list_*.csv', mapping: gp_register}\n"
        "  - {pattern: 'sus_apc_*', mapping: hes_apc}\n"
        "  - {pattern: 'op_*.csv', table: op_appointment}\n"
    )
    with pytest.raises(
        IngestError, match=r"weekly_feed\.csv.*joinedup-manifest\.yaml names no pattern"
    ):
        plan([folder])
    (folder / "weekly_feed.csv").unlink()
    assert [p.mapping.table.name for p in plan([folder])] == [
        "person",
        "apc_spell",
        "op_appointment",
    ]


def test_two_shipped_mappings_matching_one_name_is_an_error(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "ecds_and_cld.csv").write_text("a\n1\n")
    with pytest.raises(IngestError, match="ecds and social_care_cld match"):
        plan([folder])


def test_cli_loads_a_folder_and_writes_the_report(tmp_path):
    from typer.testing import CliRunner

    from joinedup.cli import app

    folder = _extracts(tmp_path / "extracts")
    result = CliRunner().invoke(
        app,
        ["ingest", str(folder), "--warehouse", str(tmp_path / "w.duckdb"),
         "--key-file", str(tmp_path / "k.key"), "--report", str(tmp_path / "load.md")],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "read 2 = accepted 1 + quarantined 1" in result.output
    text = (tmp_path / "load.md").read_text()
    assert text.startswith("# Load report")
    assert "| sus_apc_2024_03.txt |" not in text  # files are named by their full path
    assert f"| {folder / 'sus_apc_2024_03.txt'} | apc_spell | loaded | 2 | 1 | 1 |" in text
