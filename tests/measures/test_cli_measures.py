"""`joinedup measures ...` end to end on the hand-made spec warehouse."""

from __future__ import annotations

import pandas as pd
import pytest
from test_engine_spec import build
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.measures.definition import load_library

pytestmark = [pytest.mark.integration, pytest.mark.slow]

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(tmp_path_factory.mktemp("cli") / "w.duckdb")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JOINEDUP_MEASURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("JOINEDUP_MEASURES", raising=False)


def invoke(*args: str):
    return runner.invoke(app, ["measures", *args])


def test_list_and_show() -> None:
    listed = invoke("list")
    assert listed.exit_code == 0, listed.output
    n = len(load_library())
    assert "emergency_admissions" in listed.output and f"{n} measures" in listed.output
    shown = invoke("show", "ae_within_4_hours")
    assert shown.exit_code == 0
    assert "target: 95" in shown.output and "over_4_hours" in shown.output


def test_unknown_measure_is_an_error() -> None:
    result = invoke("show", "nope")
    assert result.exit_code == 1
    assert "unknown measure 'nope'" in result.output


def test_bad_definition_names_file_and_field(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(
        "- id: my_measure\n  title: T\n  description: D\n  kind: rate\n"
        "  numerator: {source: apc_spell, where: {colour: red}}\n"
        "  denominator: {source: population}\n  unit: per_1000\n  direction: decrease\n"
    )
    monkeypatch.setenv("JOINEDUP_MEASURES", str(bad))
    result = invoke("list")
    assert result.exit_code == 1
    assert "mine.yaml" in result.output and "'colour'" in result.output


def test_compute_csv_parquet_xlsx(warehouse, tmp_path) -> None:
    ids = ["emergency_admissions", "deaths_in_usual_place_of_residence"]
    csv = tmp_path / "m.csv"
    result = invoke("compute", *ids, "--period", "financial_year", "--format", "csv",
                    "--out", str(csv), "--warehouse", warehouse)  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(csv)
    assert list(frame["measure_id"]) == ids
    # 5 admissions and 4 people: both counts are small, so everything is suppressed;
    # no deaths at home (0) is not disclosive, but its denominator (1 death) is.
    assert frame["suppressed"].all()
    assert frame["value"].isna().all() and frame["numerator"].isna().iloc[0]
    assert frame["numerator"].iloc[1] == 0
    for fmt in ("parquet", "xlsx"):
        out = tmp_path / f"m.{fmt}"
        result = invoke("compute", *ids, "--period", "financial_year", "--format", fmt,
                        "--out", str(out), "--warehouse", warehouse)  # fmt: skip
        assert result.exit_code == 0, result.output
        back = pd.read_parquet(out) if fmt == "parquet" else pd.read_excel(out)
        assert len(back) == 2


def test_compute_table_and_errors(warehouse) -> None:
    ok = invoke("compute", "ae_attendances", "--by", "sex", "--period", "quarter",
                "--warehouse", warehouse)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "2023-24 Q1" in ok.output
    bad_by = invoke("compute", "emergency_admissions", "--by", "provider", "-w", warehouse)
    assert bad_by.exit_code == 1 and "cannot be grouped by 'provider'" in bad_by.output
    bad_fmt = invoke("compute", "--format", "json", "-w", warehouse)
    assert bad_fmt.exit_code == 1 and "unknown format" in bad_fmt.output
    no_out = invoke("compute", "--format", "xlsx", "-w", warehouse)
    assert no_out.exit_code == 1 and "needs --out" in no_out.output
    missing = invoke("compute", "-w", "/nonexistent/w.duckdb")
    assert missing.exit_code == 1 and "no warehouse" in missing.output


def test_spc_chart(warehouse, economy, tmp_path) -> None:
    # The spec warehouse is tiny: every month is suppressed, so there is no chart.
    tiny = invoke("spc", "gp_appointments_per_person", "-w", warehouse)
    assert tiny.exit_code == 1 and "periods are suppressed" in tiny.output
    svg = tmp_path / "spc.svg"
    result = invoke("spc", "gp_appointments_per_person", "--chart", str(svg), "-w",
                    str(economy.warehouse_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "variation" in result.output
    assert svg.read_bytes().lstrip().startswith(b"<?xml")
    wrong = invoke("spc", "gp_appointments_per_person", "--chart", str(tmp_path / "x.pdf"),
                   "-w", warehouse)  # fmt: skip
    assert wrong.exit_code == 1
    need_group = invoke("spc", "ae_attendances", "--by", "sex", "-w", warehouse)
    assert need_group.exit_code == 1 and "--group" in need_group.output


def test_inequality_table_csv_and_errors(warehouse, tmp_path) -> None:
    from joinedup.measures.deprivation import COLUMNS

    table = invoke("inequality", "emergency_admissions", "-w", warehouse)
    assert table.exit_code == 0, table.output
    # The spec warehouse is tiny: every quintile is suppressed, and the table says so.
    assert "SII" in table.output and "note:" in table.output and "suppressed" in table.output
    csv = invoke("inequality", "emergency_admissions", "--format", "csv", "-w", warehouse)
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines()[0].split(",") == COLUMNS
    out = tmp_path / "ineq.csv"
    written = invoke("inequality", "emergency_admissions", "-f", "csv", "-o", str(out), "-w",
                     warehouse)  # fmt: skip
    assert written.exit_code == 0 and pd.read_csv(out).columns.tolist() == COLUMNS
    unknown = invoke("inequality", "no_such_measure", "-w", warehouse)
    assert unknown.exit_code == 1 and "unknown measure" in unknown.output
    bad = invoke("inequality", "emergency_admissions", "-f", "xlsx", "-w", warehouse)
    assert bad.exit_code == 1 and "table or csv" in bad.output
