from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from joinedup.schema import SYSTEM_TABLES, TABLES, codes, table
from joinedup.schema.docs import render_markdown
from joinedup.warehouse import open_warehouse
from joinedup.warehouse.base import stored_schema

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DESIGN_COLUMNS = {
    # The DESIGN.md data model summary: these columns must exist under these names.
    "organisation": "org_code name kind parent_code",
    "footprint": "footprint_code name",
    "practice": "practice_code name cluster_code footprint_code",
    "person": "person_id year_of_birth sex ethnicity lsoa_code imd_decile practice_code "
    "registered_from registered_to date_of_death place_of_death",
    "condition": "person_id condition code_system code recorded_on",
    "gp_appointment": "person_id date mode staff_role",
    "apc_spell": "spell_id person_id provider_code admitted_on discharged_on admission_method "
    "admission_source discharge_destination specialty primary_diagnosis cost",
    "apc_diagnosis": "spell_id position icd10",
    "ae_attendance": "attendance_id person_id provider_code arrived_at departed_at "
    "department_type arrival_mode disposal cost",
    "op_appointment": "appointment_id person_id provider_code date specialty first_attendance "
    "attended medium cost",
    "community_contact": "person_id date service team",
    "social_care_service": "person_id service_type started_on ended_on weekly_cost",
    "programme_enrolment": "person_id programme enrolled_on left_on",
}


def test_every_design_table_and_column_is_in_the_schema():
    for name, columns in DESIGN_COLUMNS.items():
        assert set(columns.split()) <= set(TABLES[name].column_names), name


def test_contract_code_lists():
    assert set(codes.PLACE_OF_DEATH) == {"home", "care_home", "hospital", "hospice", "other"}
    assert set(codes.SEX) == {"F", "M", "U"}
    assert set(codes.DEPARTMENT_TYPE) == {1, 2, 3, 4}
    assert {"11", "12", "13", "21", "22", "31", "32"} <= set(codes.ADMISSION_METHOD)
    contract_conditions = [
        "hypertension",
        "depression",
        "diabetes",
        "asthma",
        "ckd",
        "cancer",
        "chd",
        "atrial_fibrillation",
        "copd",
        "stroke_tia",
        "heart_failure",
        "serious_mental_illness",
        "dementia",
        "learning_disability",
    ]
    assert set(contract_conditions) <= set(codes.CONDITION)
    assert set(codes.CONDITION) == set(codes.CONDITION_SNOMED)


def test_code_list_names_resolve():
    for t in [*TABLES.values(), *SYSTEM_TABLES.values()]:
        for c in t.columns:
            if c.code_list:
                assert getattr(codes, c.code_list) is c.codes, (t.name, c.name)


def test_unknown_table_names_the_known_ones():
    with pytest.raises(KeyError, match="person"):
        table("persons")


@pytest.mark.parametrize("name", list(TABLES))
def test_parquet_round_trip_keeps_types(tmp_path, name):
    schema = TABLES[name].arrow_schema()
    empty = pa.Table.from_pylist([], schema=schema)
    pq.write_table(empty, tmp_path / "t.parquet")
    assert pq.read_table(tmp_path / "t.parquet").schema.equals(schema)


def test_warehouse_tables_match_the_schema(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        for t in [*TABLES.values(), *SYSTEM_TABLES.values()]:
            stored = wh.table(t.name).schema().to_pyarrow()
            expected = stored_schema(t)
            assert stored.names == expected.names, t.name
            for field in expected:
                assert stored.field(field.name).type == field.type, (t.name, field.name)


def test_docs_schema_md_is_generated_and_current():
    current = (ROOT / "docs" / "schema.md").read_text()
    assert current == render_markdown(), "docs/schema.md is stale: run `make docs`"
