"""`joinedup demo` builds the economy once and prints the population summary."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from joinedup.cli import app

pytestmark = pytest.mark.integration


def test_demo_builds_once_then_reuses(tmp_path):
    runner = CliRunner()
    args = ["demo", "--out", str(tmp_path), "--people", "2000", "--no-serve"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Population" in first.output and "beside England" in first.output
    assert "Headline measures" in first.output and "opportunities" in first.output
    assert (tmp_path / "warehouse.duckdb").exists()
    # the warehouse was loaded from the economy's national extracts, through ingest
    assert "hes_apc.txt" in first.output and "QOF registers derived" in first.output
    assert (tmp_path / "extracts" / "gp_events.csv").exists()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "using the demo economy" in second.output
    assert (tmp_path / "programme.sqlite").exists()
    assert "using the work programme" in second.output
