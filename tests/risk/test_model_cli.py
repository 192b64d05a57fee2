"""`joinedup risk train|score` join the risk group; errors a user can cause are clear."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from joinedup.cli.risk_model import register_risk

pytestmark = pytest.mark.unit


def app() -> typer.Typer:
    root = typer.Typer()
    group = typer.Typer()
    register_risk(group)
    root.add_typer(group, name="risk")
    return root


def test_train_and_score_are_added_to_the_group():
    result = CliRunner().invoke(app(), ["risk", "--help"])
    assert result.exit_code == 0
    assert "train" in result.output and "score" in result.output


def test_score_without_a_model_says_to_train(tmp_path):
    result = CliRunner().invoke(
        app(), ["risk", "score", "--warehouse", str(tmp_path / "w.duckdb"), "--model",
                str(tmp_path / "none")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "joinedup risk train" in result.output


def test_bad_date_is_named(tmp_path):
    result = CliRunner().invoke(
        app(), ["risk", "score", "--as-of", "31/03/2026", "--model", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "--as-of '31/03/2026': expected a date as YYYY-MM-DD" in result.output


@pytest.mark.parametrize("command", [["segments"], ["casefind", "--practice", "Z10001"]])
def test_segments_and_casefind_without_a_model_say_to_train(tmp_path, command):
    from joinedup.cli import app as main_app

    result = CliRunner().invoke(
        main_app, [*command, "--warehouse", str(tmp_path / "w.duckdb"), "--model",
                   str(tmp_path / "none")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "joinedup risk train" in result.output
