"""Monthly population denominators on the spec warehouse, worked by hand.

The engine counts the registered population from registration intervals (starts and
ends per period, summed over time) rather than a row per person and month; these cases
pin the edges: joining and leaving the list, death, a condition first recorded mid-year,
and age (calendar year minus year of birth) changing on 1 January. Expected numbers come
from the people of spec_cases.py:

    p1  born 1950, practice P1, heart failure since 2020     (73 in 2023, 74 in 2024)
    p2  born 1980, practice P1, diabetes recorded 10 Jul 2023
    p3  born 1940, practice P2, died 10 Feb 2024              (83 in 2023, 84 in 2024)
    p4  born 2000, practice P2, registered from 15 Oct 2023
    p5  born 1955, practice P2, left the list 1 Aug 2023
    p6  born 1990, practice P1

A person counts in a month when registered on or before its midpoint and neither left
nor died on or before it. Midpoints: 15 Jun, 16 Jul, 16 Aug, 16 Oct 2023, 16 Jan and
15 Feb 2024 (start + half the days from start to end, rounded down).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from spec_cases import TABLES

from joinedup.measures import compute, load_library
from joinedup.measures.definition import parse_definition
from joinedup.warehouse import open_warehouse

pytestmark = [pytest.mark.integration]

AGED_74 = {
    "id": "emergency_admissions_74plus",
    "title": "Emergency admissions of people aged 74 and over per 1,000",
    "description": "Test measure: its age threshold moves people in on 1 January.",
    "kind": "rate",
    "numerator": {"source": "apc_spell", "where": {"emergency": True, "age": {"ge": 74}}},
    "denominator": {"source": "population", "where": {"age": {"ge": 74}}},
    "unit": "per_1000",
    "direction": "decrease",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> pd.DataFrame:
    import pyarrow as pa

    from joinedup.schema import TABLES as SCHEMA

    path = tmp_path_factory.mktemp("intervals") / "w.duckdb"
    with open_warehouse(path) as wh:
        for name, rows in TABLES.items():
            table = pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())
            wh.load(name, table, source=f"spec/{name}", content_hash=f"spec-{name}")
    library = load_library()
    library[AGED_74["id"]] = parse_definition(AGED_74, "test")
    ids = ["emergency_admissions", "diabetes_emergency_admissions", AGED_74["id"]]
    return compute(
        str(path),
        ids,
        by=["partnership", "practice", "age_band"],
        period="month",
        cache=False,
        suppression=False,
        library=library,
    )


def denominators(results: pd.DataFrame, measure: str, grouping: str, group: str) -> dict:
    rows = results[
        (results["measure_id"] == measure)
        & (results["grouping"] == grouping)
        & (results["group"] == group)
    ]
    return {r.period_start: float(r.denominator) for r in rows.itertuples()}


def test_joining_leaving_and_dying(results) -> None:
    all_ages = denominators(results, "emergency_admissions", "partnership", "all")
    # Jul: p1 p2 p3 p5 p6 (p5 leaves 1 Aug, after the 16 Jul midpoint); Aug: p5 gone;
    # Oct: p4 joins on 15 Oct, before the 16 Oct midpoint; Feb: p3 died 10 Feb.
    assert all_ages[date(2023, 7, 1)] == 5
    assert all_ages[date(2023, 8, 1)] == 4
    assert all_ages[date(2023, 9, 1)] == 4
    assert all_ages[date(2023, 10, 1)] == 5
    assert all_ages[date(2024, 1, 1)] == 5
    assert all_ages[date(2024, 2, 1)] == 4
    p2 = denominators(results, "emergency_admissions", "practice", "P2")
    # P2 holds p3, p4, p5: Jul p3 p5; Aug p3; Oct p3 p4; Feb p4.
    assert p2[date(2023, 7, 1)] == 2
    assert p2[date(2023, 8, 1)] == 1
    assert p2[date(2023, 10, 1)] == 2
    assert p2[date(2024, 2, 1)] == 1
    p1 = denominators(results, "emergency_admissions", "practice", "P1")
    assert set(p1.values()) == {3}  # p1, p2, p6 throughout


def test_condition_first_recorded_mid_year(results) -> None:
    diabetes = denominators(results, "diabetes_emergency_admissions", "partnership", "all")
    # p2's diabetes is recorded 10 Jul 2023: after the 15 Jun midpoint, before 16 Jul.
    assert diabetes.get(date(2023, 6, 1), 0) == 0
    assert diabetes[date(2023, 7, 1)] == 1
    assert diabetes[date(2024, 3, 1)] == 1


def test_age_changes_on_the_first_of_january(results) -> None:
    aged = denominators(results, AGED_74["id"], "partnership", "all")
    # Dec 2023: p3 (83) only, p1 is 73; Jan 2024: p1 turns 74, p3 84; Feb: p3 died.
    assert aged[date(2023, 12, 1)] == 1
    assert aged[date(2024, 1, 1)] == 2
    assert aged[date(2024, 2, 1)] == 1
    band = denominators(results, AGED_74["id"], "age_band", "65-74")
    assert band.get(date(2023, 12, 1), 0) == 0
    assert band[date(2024, 1, 1)] == 1
    old = denominators(results, AGED_74["id"], "age_band", "75-84")
    assert old[date(2023, 12, 1)] == 1
    assert old[date(2024, 1, 1)] == 1
    assert old.get(date(2024, 2, 1), 0) == 0
    # All ages by band in Jan 2024: 0-4 none; 18-44 p2 (44), p4 (24), p6 (34).
    adults = denominators(results, "emergency_admissions", "age_band", "18-44")
    assert adults[date(2024, 1, 1)] == 3
