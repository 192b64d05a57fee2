"""QOF registers from GP coded events (joinedup.derived.registers) on a hand-made warehouse.

The people and the answers are in register_cases.py, worked by hand from the rules.
Here: the derived rows on three dates, the batch a derivation loads and replaces, and a
rules folder of one's own (a new release is a data change).
"""

from __future__ import annotations

import shutil
from datetime import date

import pyarrow as pa
import pytest

from joinedup.derived.registers import (
    SOURCE,
    RegistersError,
    RulesError,
    default_rules_folder,
    derive,
    load_registers,
    load_rules,
)
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

from .register_cases import (
    AS_OF_2024,
    AS_OF_2025,
    CLUSTER_OF,
    END_OF_DATA,
    EXPECTED_2024,
    EXPECTED_2025,
    EXPECTED_END,
    OUTSIDE,
    as_tuples,
    event_rows,
    person_rows,
)

pytestmark = pytest.mark.integration


def _arrow(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())


def _build(path):
    wh = open_warehouse(path)
    wh.load("person", _arrow("person", person_rows()), source="t/person", content_hash="p1")
    wh.load("gp_event", _arrow("gp_event", event_rows()), source="t/events", content_hash="e1")
    return wh


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    wh = _build(tmp_path_factory.mktemp("registers") / "w.duckdb")
    yield wh
    wh.close()


def test_the_case_codes_are_in_the_clusters_the_cases_say():
    rules = load_rules()
    for code, cluster in CLUSTER_OF.items():
        assert code in rules.clusters[cluster].codes, (code, cluster)
    assert not any(OUTSIDE in c.codes for c in rules.clusters.values())


def test_registers_on_31_march_2024(wh):
    table = derive(wh, AS_OF_2024)
    assert table.schema.equals(SCHEMA["condition"].arrow_schema())
    assert as_tuples(table) == EXPECTED_2024


def test_registers_on_30_june_2025(wh):
    assert as_tuples(derive(wh, AS_OF_2025)) == EXPECTED_2025


def test_the_default_date_is_the_end_of_the_data(wh):
    assert as_tuples(derive(wh)) == EXPECTED_END
    assert as_tuples(derive(wh, END_OF_DATA)) == EXPECTED_END


def test_rows_come_in_a_stable_order(wh):
    rows = derive(wh, AS_OF_2024).to_pylist()
    keys = [(r["condition"], r["person_id"]) for r in rows]
    assert keys == sorted(keys)


def test_before_any_event_nobody_is_on_a_register(wh):
    assert derive(wh, date(1999, 12, 31)).num_rows == 0


def _condition_rows(wh):
    t = wh.table("condition")
    return t.select("person_id", "condition", "batch_id").to_pyarrow().to_pylist()


def test_a_derivation_loads_one_batch_and_replaces_the_last(tmp_path):
    with _build(tmp_path / "w.duckdb") as wh:
        # a ready-made register extract loaded separately stays as it is
        other = _arrow(
            "condition",
            [{"person_id": "smi", "condition": "dementia", "code_system": "snomed",
              "code": "52448006", "recorded_on": date(2020, 1, 1)}],
        )  # fmt: skip
        kept = wh.load("condition", other, source="qof_extract.csv", content_hash="x")

        first = load_registers(wh, AS_OF_2024)
        assert first.status == "loaded" and first.replaced is None
        assert first.batch.source_file.startswith(SOURCE)
        assert first.batch.rows_accepted == len(EXPECTED_2024)
        assert first.counts["diabetes"] == 6 and first.counts["hypertension"] == 1
        assert first.counts["asthma"] == 0 and "cancer" not in first.counts

        again = load_registers(wh, AS_OF_2024)
        assert again.status == "unchanged" and again.batch.batch_id == first.batch.batch_id
        assert again.counts == first.counts
        assert len(_condition_rows(wh)) == len(EXPECTED_2024) + 1

        # a new date: the earlier derivation's rows go, in the same transaction
        later = load_registers(wh, AS_OF_2025)
        assert later.status == "replaced" and later.replaced == first.batch.batch_id
        rows = _condition_rows(wh)
        assert {r["batch_id"] for r in rows} == {kept.batch_id, later.batch.batch_id}
        assert len(rows) == len(EXPECTED_2025) + 1
        batches = wh.batches().set_index("batch_id")
        assert batches.loc[first.batch.batch_id, "status"] == "replaced"
        assert batches.loc[kept.batch_id, "status"] == "loaded"

        # new coded events change the inputs: derived again, even on the same date
        extra = _arrow(
            "gp_event", event_rows([("hyp_res", date(2014, 2, 2), "snomed", "59621000")])
        )
        wh.load("gp_event", extra, source="t/more", content_hash="e2")
        more = load_registers(wh, AS_OF_2025)
        assert more.status == "replaced" and more.counts["hypertension"] == 2


def test_no_coded_events_is_a_clear_error(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(RegistersError, match=r"no GP coded events .* gp_events"):
            load_registers(wh)
        assert derive(wh).num_rows == 0


def test_a_rules_folder_of_ones_own_is_a_data_change(tmp_path, wh):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_folder(), folder)
    text = (folder / "registers.yaml").read_text()
    # a new release that lowers the diabetes age to 16: dm_young (16 in 2024) joins
    text = text.replace(
        "resolved: [DMRES_COD]\n    min_age: 17", "resolved: [DMRES_COD]\n    min_age: 16"
    )
    (folder / "registers.yaml").write_text(text)
    rules = load_rules(folder)
    assert rules.rules["diabetes"].min_age == 16
    assert rules.fingerprint != load_rules().fingerprint
    assert as_tuples(derive(wh, AS_OF_2024, folder)) == EXPECTED_2024 | {
        ("dm_young", "diabetes", "44054006", date(2020, 2, 2))
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("diagnosis: [DM_COD]", "diagnosis: [DM_CODE]"),
            r"registers\.diabetes: cluster DM_CODE is not in clusters\.yaml",
        ),
        (
            ("min_age: 17", "min_age: seventeen"),
            r"registers\.diabetes\.min_age: expected a whole number",
        ),
        (
            ("  hypertension:\n", "  hypertensive:\n"),
            r"registers\.hypertensive: not a CONDITION code",
        ),
        (
            ("diagnosed_from: 2006-04-01", "diagnosed_from: April 2006"),
            r"diagnosed_from: expected a date",
        ),
    ],
)
def test_bad_rules_are_clear_errors(tmp_path, edit, message):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_folder(), folder)
    path = folder / "registers.yaml"
    path.write_text(path.read_text().replace(*edit, 1))
    with pytest.raises(RulesError, match=message):
        load_rules(folder)


def test_a_bad_code_in_a_cluster_names_the_file_and_row(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_folder(), folder)
    path = folder / "codelists" / "dmres_cod.csv"
    path.write_text("code,term\n315051004,Diabetes resolved\nE11,Not SNOMED\n")
    with pytest.raises(RulesError, match=r"dmres_cod\.csv, row 2: expected a SNOMED CT concept id"):
        load_rules(folder)
