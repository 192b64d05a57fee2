"""People's details from activity records where there is no GP register
(joinedup.derived.persons.activity_persons), on a hand-made DuckDB warehouse.

Each field is taken on its own: the most recent known value, a "not known" code only
when nothing else was recorded, records of one day in the order of their source table.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from joinedup.derived import DETAILS_FROM_ACTIVITY, activity_persons, has_register, persons
from joinedup.measures.labels import PERSON_DETAILS
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration


def arrow(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())


def fact(pid, day, source, age=None, sex=None, ethnicity=None, lsoa=None, practice=None):
    return {
        "person_id": pid,
        "recorded_on": day,
        "source_table": source,
        "age": age,
        "sex": sex,
        "ethnicity": ethnicity,
        "lsoa_code": lsoa,
        "practice_code": practice,
    }


FACTS = [
    # a: every field known once, then partly overwritten, then only "not known" codes
    # and empty values. Latest known: age 70 on 1 Mar 2023 (born 1953), sex F and
    # ethnicity A (later U, Z and 99 say nothing), LSOA E01000001 (later empty),
    # practice P2 (1 Mar 2023).
    fact("a", date(2022, 1, 10), "apc_spell", 69, "F", "A", "E01000001", "P1"),
    fact("a", date(2023, 3, 1), "op_appointment", 70, "U", "Z", None, "P2"),
    fact("a", date(2024, 2, 1), "ae_attendance", None, None, "99", "", None),
    # b: nothing but "not known": the most recent of them (U; 99 on 2024 over Z on 2023).
    # LSOA not in the lsoa table: no IMD decile.
    fact("b", date(2023, 6, 1), "apc_spell", 40, "U", "Z", "E09999999", None),
    fact("b", date(2024, 6, 1), "ae_attendance", None, "U", "99", None, None),
    # c: two records on one day: ae_attendance sorts before apc_spell, so its age (31:
    # born 1992) and practice (P2) are taken; its sex is missing, so apc_spell's M.
    fact("c", date(2023, 5, 5), "apc_spell", 30, "M", "H", None, "P1"),
    fact("c", date(2023, 5, 5), "ae_attendance", 31, None, None, None, "P2"),
]
LSOAS = [{"lsoa_code": "E01000001", "imd_decile": 3, "footprint_code": "F1"}]
PRACTICES = [
    {"practice_code": "P1", "name": "One", "cluster_code": "C1", "footprint_code": "F1"},
    {"practice_code": "P2", "name": "Two", "cluster_code": "C2", "footprint_code": "F2"},
]


@pytest.fixture
def wh(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        for name, rows in (("person_fact", FACTS), ("lsoa", LSOAS), ("practice", PRACTICES)):
            wh.load(name, arrow(name, rows), source=name, content_hash=name)
        yield wh


def by_person(wh) -> dict[str, dict]:
    frame = activity_persons(wh).to_pandas().astype(object)
    frame = frame.where(frame.notna(), None)
    return {r["person_id"]: r for r in frame.to_dict("records")}


def test_most_recent_known_value_of_each_field(wh) -> None:
    people = by_person(wh)
    assert sorted(people) == ["a", "b", "c"]
    a, b, c = people["a"], people["b"], people["c"]
    assert (a["year_of_birth"], a["sex"], a["ethnicity"]) == (1953, "F", "A")
    assert (a["lsoa_code"], a["imd_decile"], a["imd_quintile"]) == ("E01000001", 3, 2)
    assert (a["practice_code"], a["cluster_code"], a["footprint_code"]) == ("P2", "C2", "F2")
    assert a["ethnic_group"] == "White"
    assert (b["year_of_birth"], b["sex"], b["ethnicity"], b["ethnic_group"]) == (
        1983, "U", "99", "Unknown"
    )  # fmt: skip
    assert (b["lsoa_code"], b["imd_decile"], b["imd_quintile"]) == ("E09999999", None, None)
    assert (b["practice_code"], b["cluster_code"]) == (None, None)
    assert (c["year_of_birth"], c["sex"], c["ethnicity"], c["practice_code"]) == (
        1992, "M", "H", "P2"
    )  # fmt: skip


def test_marked_as_from_activity_in_the_columns_of_the_register(wh) -> None:
    t = activity_persons(wh)
    # The register's columns first, in its order, then the LSOA and the mark.
    assert list(t.columns) == [*persons(wh).columns, "lsoa_code", "details_from"]
    frame = t.to_pandas()
    assert (frame["details_from"] == DETAILS_FROM_ACTIVITY).all()
    assert DETAILS_FROM_ACTIVITY in PERSON_DETAILS  # said in words to every reader
    assert (frame["partnership"] == "all").all()
    for column in ("registered_from", "registered_to", "date_of_death", "place_of_death"):
        assert frame[column].isna().all(), column  # nobody is registered


def test_the_same_answer_whatever_order_the_rows_were_loaded_in(tmp_path, wh) -> None:
    with open_warehouse(tmp_path / "reversed.duckdb") as other:
        other.load("person_fact", arrow("person_fact", FACTS[::-1]), source="f", content_hash="f")
        for name, rows in (("lsoa", LSOAS), ("practice", PRACTICES)):
            other.load(name, arrow(name, rows), source=name, content_hash=name)
        assert by_person(other) == by_person(wh)


def test_has_register_only_with_people_on_it(wh) -> None:
    assert not has_register(wh)
    person = {
        "person_id": "a", "year_of_birth": 1953, "sex": "F", "practice_code": "P1",
        "registered_from": date(2020, 1, 1),
    }  # fmt: skip
    wh.load("person", arrow("person", [person]), source="register", content_hash="register")
    assert has_register(wh)


def test_a_warehouse_without_person_fact_has_nobody(wh) -> None:
    wh.con.drop_table("person_fact")
    assert activity_persons(wh).count().execute() == 0
