"""A folder of partner extracts: files matched to mappings, one load report."""

from __future__ import annotations

import csv

import duckdb
import pytest

import known_answers as ka
from joinedup.ingest import IngestError, ingest
from joinedup.ingest import report as load_report
from joinedup.ingest.folder import MANIFEST, plan

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
        folder / "apc_spells_2024_03.txt",
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
        ("apc_spells_2024_03.txt", "apc_spells_nhs"),
        ("op_appointment.csv", "canonical op_appointment"),
    ]
    reports = ingest([folder], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
    counts = {r.table: (r.rows_read, r.rows_accepted, r.rows_quarantined) for r in reports}
    assert counts == {"person": (3, 3, 0), "apc_spell": (2, 1, 1), "op_appointment": (1, 1, 0)}
    key = ka.key_in_file(tmp_path / "k.key")  # read without joinedup
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        linked = con.execute(
            "SELECT count(*) FROM apc_spell JOIN person USING (person_id)"
        ).fetchone()
        (pid,) = con.execute("SELECT person_id FROM op_appointment").fetchone()
    assert linked == (1,)
    assert pid == ka.expected_person_id(PEOPLE[2], key)

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
        "  - {pattern: 'apc_spells_*', mapping: apc_spells_nhs}\n"
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


def test_files_are_recognised_by_their_columns_then_their_names(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    hes = (
        "PSEUDO_HESID,EPIKEY,EPIORDER,PROCODE3,ADMIDATE,DISDATE,ADMIMETH,CLASSPAT,DIAG_4_01,"
        "STARTAGE,SEX,GPPRAC\n"
    )
    # named like nothing, but its columns are HES APC's
    (folder / "extract_0042.csv").write_text(hes)
    # a local mapping kept beside the extracts: its own columns
    (folder / "our_wards.yaml").write_text(
        "name: our_wards\ndescription: a partner's own ward feed\ntable: apc_spell\n"
        "columns:\n  spell_id: WardStay\n  nhs_number: NHSNo\n  provider_code: {value: RXX}\n"
        "  admitted_on: In\n  admission_method: {value: '21'}\n"
        "  patient_classification: {value: '1'}\n"
    )
    (folder / "wards.csv").write_text("WardStay,NHSNo,In\n")
    assert {p.path.name: p.mapping.name for p in plan([folder])} == {
        "extract_0042.csv": "hes_apc",
        "wards.csv": "our_wards",
    }
    # the same columns under two mappings: the file name breaks the tie
    (folder / "their_wards.yaml").write_text(
        (folder / "our_wards.yaml").read_text().replace("our_wards", "their_wards")
        + "files: ['*theirs*']\n"
    )
    with pytest.raises(
        IngestError, match=r"wards\.csv: its columns fit .*our_wards and their_wards equally"
    ):
        plan([folder])
    (folder / "wards.csv").rename(folder / "wards_theirs.csv")
    assert {p.path.name: p.mapping.name for p in plan([folder])}[
        "wards_theirs.csv"
    ] == "their_wards"
    # a file no mapping fits: the closest mappings and what they lack
    (folder / "hes_apc_cut.csv").write_text(hes.replace("EPIORDER,", ""))
    with pytest.raises(
        IngestError,
        match=r"hes_apc_cut\.csv: no mapping matches its columns \(closest: hes_apc lacks EPIORDER",
    ):
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
    assert "| apc_spells_2024_03.txt |" not in text  # files are named by their full path
    assert f"| {folder / 'apc_spells_2024_03.txt'} | apc_spell | loaded | 2 | 1 | 1 |" in text
