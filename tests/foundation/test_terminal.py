"""The command line reads well in an 80-column terminal: no table cut short with "…",
no line wider than the terminal, for the commands an analyst runs most."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from joinedup.cli import app

pytestmark = pytest.mark.integration

WIDTH = 80


@pytest.fixture(scope="module")
def warehouse(reordered_warehouses, tmp_path_factory):
    """A small economy with a trained risk model beside it."""
    import shutil

    from joinedup.risk.model import train
    from joinedup.warehouse import open_warehouse

    folder = tmp_path_factory.mktemp("terminal")
    path = folder / "warehouse.duckdb"
    shutil.copy(reordered_warehouses[0], path)
    with open_warehouse(path, read_only=True) as wh:
        train(wh, folder / "risk-model", rounds=10)
    return path


@pytest.fixture
def narrow():
    """The command line's consoles at 80 columns, whatever the terminal running the tests."""
    from joinedup.cli.common import console, err_console

    before = console.width, err_console.width
    console.width = err_console.width = WIDTH
    yield
    console.width, err_console.width = before


def _practice(warehouse) -> str:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "SELECT practice_code FROM person GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]


COMMANDS = [
    "measures list",
    "measures compute emergency_admissions --by footprint --period financial_year",
    "measures compute fft_positive_ae --by provider --period quarter",
    "measures headline",
    "measures spc emergency_admissions",
    "measures funnel emergency_admissions",
    "measures inequality emergency_admissions",
    "opportunity",
    "opportunity --measure emergency_admissions",
    "segments",
    "casefind --practice {practice}",
    "practice feed {practice} --days 28",
    "practice attenders {practice} --min-ae 2",
    "practice profile {practice}",
    "evaluate --programme telephone_care_management",
    "warehouse tables",
    "settings",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_reads_in_80_columns(command, warehouse, narrow) -> None:
    args = command.format(practice=_practice(warehouse)).split()
    if command not in ("measures list", "settings"):
        args += ["--warehouse", str(warehouse)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "…" not in r.output, r.output
    wide = [line for line in r.output.splitlines() if len(line.rstrip()) > WIDTH]
    assert wide == [], "\n".join(wide)


@pytest.mark.parametrize("section", ["workstreams", "milestones", "innovations", "risks"])
def test_the_work_programme_reads_in_80_columns(section, tmp_path, narrow) -> None:
    db = f"sqlite:///{tmp_path / 'programme.sqlite'}"
    assert CliRunner().invoke(app, ["programme", "demo", "--db", db]).exit_code == 0
    r = CliRunner().invoke(app, ["programme", section, "--db", db])
    assert r.exit_code == 0, r.output
    assert "…" not in r.output, r.output
    assert [line for line in r.output.splitlines() if len(line.rstrip()) > WIDTH] == []
