"""The baseline against independent SQL over the same warehouse."""

from __future__ import annotations

import duckdb
import pytest

from joinedup.scenarios import baseline, parse_scenario

pytestmark = pytest.mark.integration

POP = """
    FROM person p
    WHERE p.registered_from <= DATE '{end}'
      AND (p.registered_to IS NULL OR p.registered_to >= DATE '{start}')
      AND (p.date_of_death IS NULL OR p.date_of_death >= DATE '{start}')
"""


@pytest.fixture(scope="module")
def base(tiny_warehouse):
    sc = parse_scenario(
        {
            "kind": "scenario",
            "name": "c",
            "interventions": [
                {
                    "name": "copd",
                    "title": "COPD 65+",
                    "uptake": {"share": [0.5]},
                    "cohort": {"conditions": ["copd"], "age_min": 65},
                }
            ],
        }
    )
    return baseline(tiny_warehouse.warehouse_path, [sc])


def _sql(path, q):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(q).fetchall()


def test_latest_full_year_and_population(base, tiny_warehouse):
    assert base.year.label == "2025/26"
    start, end = base.year.start, base.year.end
    ((n,),) = _sql(
        tiny_warehouse.warehouse_path, "SELECT count(*) " + POP.format(start=start, end=end)
    )
    assert base.people == n
    assert set(base.population["segment"]) <= {
        "healthy",
        "single_ltc",
        "multimorbid",
        "complex",
        "end_of_life",
    }


def test_activity_bed_days_and_cost_match_sql(base, tiny_warehouse):
    start, end = base.year.start, base.year.end
    pop = "SELECT person_id " + POP.format(start=start, end=end)
    ((spells, bed_days, cost),) = _sql(
        tiny_warehouse.warehouse_path,
        f"""
        SELECT count(*), sum(coalesce(discharged_on - admitted_on, 0)), sum(cost)
        FROM apc_spell WHERE admitted_on BETWEEN DATE '{start}' AND DATE '{end}'
          AND admission_method IN ('21','22','23','24','25','2A','2B','2C','2D','28')
          AND person_id IN ({pop})""",
    )
    ((gp,),) = _sql(
        tiny_warehouse.warehouse_path,
        f"""
        SELECT count(*) FROM gp_appointment WHERE date BETWEEN DATE '{start}' AND DATE '{end}'
          AND person_id IN ({pop})""",
    )
    ((fu_virtual,),) = _sql(
        tiny_warehouse.warehouse_path,
        f"""
        SELECT count(*) FROM op_appointment WHERE date BETWEEN DATE '{start}' AND DATE '{end}'
          AND NOT first_attendance AND attended IN ('5','6')
          AND medium IN ('telephone','video','online') AND person_id IN ({pop})""",
    )
    s = base.summary().set_index("setting")
    assert s.loc["emergency_admission", "count"] == spells
    assert s.loc["emergency_admission", "bed_days"] == bed_days
    assert s.loc["emergency_admission", "cost"] == pytest.approx(cost)
    assert s.loc["gp_appointment", "count"] == gp
    assert s.loc["gp_appointment", "cost"] == pytest.approx(gp * 42)
    assert s.loc["op_followup_virtual", "count"] == fu_virtual
    by_age = base.summary("age_band")
    assert by_age["cost"].sum() == pytest.approx(s["cost"].sum())


def test_cohort_profile_matches_sql(base, tiny_warehouse):
    start, end = base.year.start, base.year.end
    ((n,),) = _sql(
        tiny_warehouse.warehouse_path,
        f"""
        SELECT count(*) {POP.format(start=start, end=end)}
          AND {start.year} - p.year_of_birth >= 65
          AND p.person_id IN (SELECT person_id FROM condition
                              WHERE condition = 'copd' AND recorded_on <= DATE '{end}')""",
    )
    profile = base.cohorts["copd"]
    assert profile.population["people"].sum() == n
    assert n > 0
