"""A programme's eligibility, written in YAML: clear errors for bad definitions, the
rules applied to features, and an evaluation that uses them."""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.risk.eligibility import Eligibility, from_enrolled, load

pytestmark = pytest.mark.unit

GOOD = """\
programme: telephone_care_management
eligibility:
  min_age: 40
  conditions_any: [copd, heart_failure]
  min_emergency_admissions: 1
"""


def test_a_definition_loads_and_applies(tmp_path) -> None:
    path = tmp_path / "tcm.yaml"
    path.write_text(GOOD)
    rules = load(path, "telephone_care_management")
    people = pd.DataFrame(
        {
            "age": [39, 40, 70, 80],
            "ltc_count": [2, 1, 0, 3],
            "ltc_copd": [1, 1, 0, 0],
            "ltc_heart_failure": [0, 0, 0, 1],
            "emergency_admissions": [3, 1, 5, 0],
        }
    )
    assert rules.mask(people).tolist() == [False, True, False, False]
    assert rules.describe() == (
        "aged 40+; with any of copd, heart_failure; with 1+ emergency admissions in the last year"
    )
    assert from_enrolled(people, pd.Series([False, True, False, True])) == Eligibility(
        min_age=40, min_conditions=1
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("programme: other\neligibility: {}\n", "defines programme 'other'"),
        ("eligibility:\n  min_age: -1\n", "eligibility.min_age"),
        ("eligibility:\n  conditions_any: [gout]\n", "unknown condition(s) gout"),
        ("eligibility:\n  min_agee: 40\n", "eligibility.min_agee"),
        ("just text", "expected a mapping"),
    ],
)
def test_bad_definitions_name_the_file_and_field(tmp_path, text, message) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.yaml") as err:
        load(path, "telephone_care_management")
    assert message in str(err.value)


@pytest.mark.integration
def test_an_evaluation_uses_the_written_rules(economy, tmp_path) -> None:
    """Written rules replace those read from the data; enrolled people outside them are
    left out and counted; the estimate still holds the planted effect."""
    import json

    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.warehouse import open_warehouse

    truth = json.loads(economy.truth_path.read_text())["programmes"]
    planted = truth["telephone_care_management"]["emergency_admissions_rate_ratio"]
    path = tmp_path / "tcm.yaml"
    path.write_text(GOOD)
    with open_warehouse(economy.warehouse_path, read_only=True) as wh:
        result = evaluate_programme(
            wh, "telephone_care_management", bootstrap=200, eligibility=load(path)
        )
    doc = result.as_dict()
    assert doc["notes"][0].startswith("eligible: aged 40+; with any of copd, heart_failure")
    outside = [n for n in doc["notes"] if "did not meet the eligibility rules" in n]
    assert outside and result.eligible_enrolled < result.enrolled
    assert doc["lower"] <= planted <= doc["upper"]


def test_the_cli_refuses_a_bad_definition_before_reading_the_warehouse(tmp_path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    path = tmp_path / "bad.yaml"
    path.write_text("eligibility:\n  conditions_any: [gout]\n")
    result = CliRunner().invoke(
        app,
        ["evaluate", "--programme", "telephone_care_management", "--eligibility", str(path),
         "--warehouse", str(tmp_path / "absent.duckdb")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "bad.yaml" in result.output and "unknown condition(s) gout" in result.output
