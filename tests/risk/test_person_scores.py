"""Scores inside the warehouse: the look-back window over apc_spell and apc_diagnosis."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from joinedup.risk.scores import lookback_start, person_scores, score_diagnoses
from joinedup.schema import TABLES
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration

AS_OF = date(2025, 4, 1)
# (spell, person, admitted_on, diagnoses)
SPELLS = [
    ("S1", "p" * 63 + "1", date(2025, 3, 31), ["I500", "E112"]),  # last day in the window
    ("S2", "p" * 63 + "1", date(2023, 4, 1), ["C787"]),  # first day in the window
    ("S3", "p" * 63 + "1", date(2023, 3, 31), ["B20"]),  # a day too early: not counted
    ("S4", "p" * 63 + "2", date(2025, 4, 1), ["I21"]),  # on as_of: not counted
    ("S5", "p" * 63 + "3", date(2024, 6, 1), ["J44", "F03"]),
]


def _arrow(table_name: str, rows: list[dict]) -> pa.Table:
    schema = TABLES[table_name].arrow_schema()
    frame = pd.DataFrame(rows).reindex(columns=schema.names)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


@pytest.fixture()
def warehouse(tmp_path):
    wh = open_warehouse(tmp_path / "wh.duckdb")
    spells = [
        {
            "spell_id": s,
            "person_id": p,
            "provider_code": "RXX",
            "admitted_on": d,
            "discharged_on": d,
            "admission_method": "21",
            "patient_classification": "1",
        }
        for s, p, d, _ in SPELLS
    ]
    diagnoses = [
        {"spell_id": s, "position": i + 1, "icd10": code}
        for s, _, _, codes in SPELLS
        for i, code in enumerate(codes)
    ]
    wh.load("apc_spell", _arrow("apc_spell", spells), source="test", content_hash="a")
    wh.load("apc_diagnosis", _arrow("apc_diagnosis", diagnoses), source="test", content_hash="b")
    yield wh
    wh.close()


def test_window_is_as_of_minus_years_inclusive_to_the_day_before(warehouse):
    got = person_scores(warehouse, "charlson", AS_OF, 2).to_pandas().set_index("person_id")
    # person 1: CHF 1 + diabetes with complications 2 + metastatic 6; B20 is outside.
    assert got.loc["p" * 63 + "1", "score"] == 9
    assert not got.loc["p" * 63 + "1", "aids_hiv"]
    # person 2's only admission is on as_of itself: outside, so not scored at all
    assert "p" * 63 + "2" not in got.index
    # person 3: chronic pulmonary 1 + dementia 1
    assert got.loc["p" * 63 + "3", "score"] == 2


def test_longer_lookback_reaches_older_spells(warehouse):
    got = person_scores(warehouse, "charlson", AS_OF, 3).to_pandas().set_index("person_id")
    assert got.loc["p" * 63 + "1", "score"] == 15  # + AIDS/HIV 6


def test_warehouse_and_dataframe_paths_agree(warehouse):
    wh_scores = person_scores(warehouse, "elixhauser_vw", AS_OF, 3).to_pandas()
    rows = [(p, c) for s, p, d, codes in SPELLS if d < AS_OF for c in codes]
    df_scores = score_diagnoses(
        pd.DataFrame(rows, columns=["person_id", "code"]), "elixhauser_vw", id_column="person_id"
    )
    wh_scores = wh_scores.sort_values("person_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(wh_scores, df_scores, check_dtype=False)


def test_default_as_of_is_the_day_after_the_latest_admission(warehouse):
    got = person_scores(warehouse, "charlson").to_pandas().set_index("person_id")
    assert got.loc["p" * 63 + "2", "score"] == 1  # the I21 admission on 2025-04-01 now counts


@pytest.mark.unit
def test_lookback_start_handles_29_february():
    assert lookback_start(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert lookback_start(date(2025, 4, 1), 2) == date(2023, 4, 1)


def test_cli_scores_writes_one_row_per_person(warehouse, tmp_path):
    from typer.testing import CliRunner

    from joinedup.cli import app

    location = warehouse.location
    warehouse.close()
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app,
        [
            "risk",
            "scores",
            "--score",
            "hfrs",
            "--as-of",
            "2025-04-01",
            "--lookback-years",
            "3",
            "--warehouse",
            location,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index("person_id")
    # person 1: I50 (no HFRS group), E11, C78, B20: none are HFRS groups -> 0;
    # person 3: J44 none, F03 unspecified dementia 2.1
    assert got.loc["p" * 63 + "3", "score"] == pytest.approx(2.1)
    assert got.loc["p" * 63 + "3", "band"] == "low"
    assert bool(got.loc["p" * 63 + "3", "F03"])
    assert len(got) == 2


def test_cli_refuses_unknown_score_and_bad_date(tmp_path):
    from typer.testing import CliRunner

    from joinedup.cli import app

    result = CliRunner().invoke(app, ["risk", "scores", "--score", "nope"])
    assert result.exit_code == 1 and "expected one of" in result.output
    result = CliRunner().invoke(app, ["risk", "scores", "--score", "hfrs", "--as-of", "1/4/25"])
    assert result.exit_code == 1 and "YYYY-MM-DD" in result.output
