"""The `joinedup ingest` command: the contract's exit codes, messages and options."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

from joinedup.cli import app

from .helpers import SPELL_HEADER, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

HEADER = SPELL_HEADER


def _cli(*args):
    """Run the real command in a child process (stderr kept apart from stdout)."""
    return subprocess.run(
        [sys.executable, "-c", "from joinedup.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_exit_0_with_quarantined_rows_and_a_summary(tmp_path):
    people = nhs_numbers(2)
    path = write_csv(
        tmp_path / "apc.csv",
        HEADER,
        [
            ["S1", people[0], "RXX", "2024-01-01", "21", "1"],
            ["S2", people[1], "RXX", "2024-01-01", "zz", "1"],
        ],
    )
    wh = tmp_path / "new" / "w.duckdb"
    result = _cli(
        "ingest", path, "--table", "apc_spell", "--warehouse", wh, "--key-file", tmp_path / "k.key"
    )
    assert result.returncode == 0, result.stderr
    assert "read 2 = accepted 1 + quarantined 1" in result.stdout
    assert "admission_method" in result.stdout  # top reason
    assert wh.exists()  # --warehouse creates it
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute(
            "SELECT batch_id, table_name, source_file, content_hash, rows_read, rows_accepted, "
            "rows_quarantined, status FROM load_batch"
        ).fetchone()[4:] == (2, 1, 1, "loaded")
        assert con.execute(
            "SELECT batch_id, source_file, source_row, field, value, reason FROM quarantine"
        ).fetchone()[2:5] == (2, "admission_method", "zz")
    again = _cli(
        "ingest", path, "--table", "apc_spell", "--warehouse", wh, "--key-file", tmp_path / "k.key"
    )
    assert again.returncode == 0 and "nothing to do" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "nope"], "unknown table 'nope'"),
        (
            ["--table", "apc_spell", "--mapping", "op_appointments_nhs"],
            "mapping op_appointments_nhs loads table op_appointment",
        ),
        (["--mapping", "apc_spells_nhs"], "no column 'SUSSPELLID'"),
        (["--table", "person"], "no column 'year_of_birth'"),
    ],
)
def test_whole_file_problems_exit_non_zero_with_one_line(tmp_path, args, message):
    path = write_csv(
        tmp_path / "apc.csv", HEADER, [["S1", "9434765919", "RXX", "2024-01-01", "21", "1"]]
    )
    wh = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app,
        ["ingest", str(path), *args, "--warehouse", str(wh), "--key-file", str(tmp_path / "k.key")],
    )
    assert result.exit_code != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    if wh.exists():
        with duckdb.connect(str(wh), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM load_batch").fetchone() == (0,)


def test_unreadable_file_and_listings(tmp_path):
    result = _cli(
        "ingest",
        tmp_path / "absent.csv",
        "--table",
        "apc_spell",
        "--warehouse",
        tmp_path / "w.duckdb",
        "--key-file",
        tmp_path / "k.key",
    )
    assert result.returncode == 1 and "absent.csv: no such file" in result.stderr
    runner = CliRunner()
    listing = runner.invoke(app, ["mappings"])
    assert listing.exit_code == 0
    for name in (
        "hes_apc",
        "hes_ae",
        "ecds",
        "hes_op",
        "apc_spells_nhs",
        "gp_register",
        "social_care_cld",
    ):
        assert name in listing.stdout
    people = nhs_numbers(1)
    path = write_csv(
        tmp_path / "apc.csv", HEADER, [["S1", people[0], "RXX", "2024-01-01", "9", "1"]]
    )
    runner.invoke(
        app,
        [
            "ingest",
            str(path),
            "-t",
            "apc_spell",
            "-w",
            str(tmp_path / "w.duckdb"),
            "--key-file",
            str(tmp_path / "k.key"),
        ],
    )
    shown = _cli("quarantine", "-w", tmp_path / "w.duckdb")
    assert shown.returncode == 0 and "admission_method" in shown.stdout
    assert "1 of 1 quarantine records shown" in shown.stdout
