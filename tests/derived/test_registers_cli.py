"""`joinedup registers derive | rules` on a tiny warehouse built here."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

from .register_cases import EXPECTED_2024, EXPECTED_2025, HYP, event_rows, person_rows

pytestmark = pytest.mark.integration
runner = CliRunner()

# eight more people with hypertension: with "multi", nine on the register (not suppressed)
EXTRA = [f"hyp{i}" for i in range(8)]


def _arrow(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    people = person_rows() + [dict(person_rows()[0], person_id=p) for p in EXTRA]
    extra = [(p, date(2015, 1, 1), "snomed", HYP) for p in EXTRA]
    with open_warehouse(path) as wh:
        wh.load("person", _arrow("person", people), source="person.csv", content_hash="p")
        wh.load("gp_event", _arrow("gp_event", event_rows() + event_rows(extra)),
                source="events.csv", content_hash="e")  # fmt: skip
    return path


def _derive(*args):
    r = runner.invoke(app, ["registers", "derive", *map(str, args)], env={"COLUMNS": "200"})
    r.text = " ".join(r.output.split())  # the console may wrap long lines
    return r


def _line(output: str, register: str) -> str:
    return next(line for line in output.splitlines() if f" {register} " in line)


def test_derive_loads_the_registers_and_prints_suppressed_counts(warehouse):
    r = _derive("--warehouse", warehouse, "--as-of", "2024-03-31")
    assert r.exit_code == 0, r.output
    assert "QOF registers on 31/03/2024" in r.output
    assert _line(r.output, "hypertension").split("│")[3].strip() == "9"
    assert _line(r.output, "diabetes").split("│")[3].strip() == "*"  # 6 people: suppressed
    assert _line(r.output, "asthma").split("│")[3].strip() == "0"
    assert "loaded batch B" in r.text and "replacing" not in r.text
    assert "not derived: cancer, osteoporosis" in r.text
    with open_warehouse(warehouse, read_only=True) as wh:
        rows = wh.table("condition").to_pyarrow().to_pylist()
    derived = {(x["person_id"], x["condition"], x["code"], x["recorded_on"]) for x in rows}
    assert derived == EXPECTED_2024 | {(p, "hypertension", HYP, date(2015, 1, 1)) for p in EXTRA}

    again = _derive("--warehouse", warehouse, "--as-of", "2024-03-31")
    assert again.exit_code == 0 and "unchanged" in again.text

    later = _derive("--warehouse", warehouse, "--as-of", "2025-06-30")
    assert later.exit_code == 0 and "replacing B" in later.text
    with open_warehouse(warehouse, read_only=True) as wh:
        assert wh.table("condition").count().execute() == len(EXPECTED_2025) + len(EXTRA)
        batches = wh.batches()
    assert list(batches[batches.table_name == "condition"].status) == ["replaced", "loaded"]


def test_derive_errors_are_one_line(tmp_path, warehouse):
    bad = _derive("--warehouse", warehouse, "--as-of", "31/03/2024")
    assert bad.exit_code == 1 and "expected a date as YYYY-MM-DD" in bad.text
    missing = _derive("--warehouse", tmp_path / "absent.duckdb")
    assert missing.exit_code == 1 and "no warehouse at" in missing.text
    with open_warehouse(tmp_path / "empty.duckdb"):
        pass
    empty = _derive("--warehouse", tmp_path / "empty.duckdb")
    assert empty.exit_code == 1 and "no GP coded events" in empty.text
    assert "Traceback" not in bad.output + missing.output + empty.output
    rules = _derive("--warehouse", warehouse, "--rules", tmp_path)
    assert rules.exit_code == 1 and "clusters.yaml: cannot read it" in rules.text


def test_rules_lists_every_condition(warehouse):
    r = runner.invoke(app, ["registers", "rules"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    for condition in ("diabetes", "ckd", "asthma", "cancer", "osteoporosis"):
        assert condition in r.output
    assert "CKD1AND2_COD" in r.output and "not derived" in r.output
