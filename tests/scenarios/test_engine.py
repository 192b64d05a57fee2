"""The Monte Carlo engine against arithmetic done by hand."""

from __future__ import annotations

import numpy as np
import pytest

from joinedup.scenarios.engine import S_INDEX, ScenarioModel
from joinedup.scenarios.model import load_scenario, parse_scenario
from joinedup.scenarios.report import summary

from .helpers import hand_baseline

pytestmark = pytest.mark.unit

NO_GROWTH = {
    "demographic_growth": False,
    "non_demographic_growth": {
        s: 0 for s in ("emergency_admission", "ae_type1", "ae_type3", "gp_appointment")
    },
}


def _scenario(iv: dict, years: int = 2, **extra) -> object:
    return parse_scenario(
        {
            "kind": "scenario",
            "name": "s",
            "years": years,
            **NO_GROWTH,
            **extra,
            "interventions": [{"name": "iv", "title": "IV", **iv}],
        }
    )


def test_deterministic_scenario_gives_exactly_the_hand_arithmetic():
    # Cohort of 100 people: 50 emergency spells, 300 bed days, £170,000 -> rate 0.5 a
    # person, £3,400 a spell, 6 days a spell.
    base = hand_baseline(
        {"emergency_admission": (100, 500, 340_000)},
        cohort={"emergency_admission": (50, 300, 170_000)},
    )
    sc = _scenario(
        {
            "uptake": {"members": [40]},
            "effects": [{"setting": "emergency_admission", "change": -0.5}],
            "los_changes": [{"setting": "emergency_admission", "change_days": -1}],
            "costs": {
                "setup": 1000,
                "per_person": 100,
                "staff": [{"role": "nurse", "wte_per_1000_members": 5, "cost_per_wte": 50_000}],
            },
        }
    )
    model = ScenarioModel(sc, base)
    out = model.run(runs=7, seed=1)
    # 40 members x 0.5 = 20 spells; half avoided: 10 x £3,400 = £34,000 and 60 bed days;
    # the 10 left stay a day less: 10 bed days x £380 (excess bed day) = £3,800.
    assert out.gross_savings[0].tolist() == pytest.approx([37_800, 37_800])
    assert out.count[0, S_INDEX["emergency_admission"]].tolist() == pytest.approx([90, 90])
    assert out.bed_days[0].tolist() == pytest.approx([430, 430])
    # Set-up £1,000 in year 1; 40 x £100; 0.2 WTE x £50,000 = £10,000.
    assert out.investment[0].tolist() == pytest.approx([15_000, 14_000])
    assert out.npv[0] == pytest.approx(22_800 + 23_800 / 1.035)
    pv_inv = 15_000 + 14_000 / 1.035
    assert out.roi[0] == pytest.approx((37_800 + 37_800 / 1.035 - pv_inv) / pv_inv)
    assert out.beds(0.85)[0, 0] == pytest.approx(430 / 365 / 0.85)
    assert out.beds(0.92)[0, 0] == pytest.approx(430 / 365 / 0.92)
    # No uncertainty: every run is the same.
    assert np.ptp(out.npv) == 0
    s = summary(model, out, runs=7, seed=1)
    assert s["npv"]["p10"] == s["npv"]["p90"] == pytest.approx(out.npv[0])
    assert s["payback_year"]["p50"] == 1.0
    assert s["years"][0]["activity"]["p50"] == pytest.approx(90)
    # Ward nurses: 430 bed days / 228 a WTE; plus the intervention's 0.2 WTE of nurses.
    assert s["years"][0]["wte"]["p50"] == pytest.approx(430 / 228 + 0.2)
    assert s["years"][0]["wte_by_role"]["nurse"]["p50"] == pytest.approx(0.2)


def test_shift_moves_activity_and_prices_it_in_the_receiving_setting():
    base = hand_baseline(
        {"ae_type1": (1000, 0, 270_000)},
        people=1000,
        cohort={"ae_type1": (1000, 0, 270_000)},
        cohort_people=1000,
    )
    sc = _scenario(
        {
            "uptake": {"share": [1.0]},
            "shifts": [{"from": "ae_type1", "to": "ae_type3", "share": 0.2}],
        },
        years=1,
    )
    out = ScenarioModel(sc, base).run(runs=3, seed=0)
    assert out.count[0, S_INDEX["ae_type1"], 0] == pytest.approx(800)
    assert out.count[0, S_INDEX["ae_type3"], 0] == pytest.approx(200)
    assert out.gross_savings[0, 0] == pytest.approx(200 * (270 - 90))


def test_projection_with_flat_population_is_baseline_times_growth():
    base = hand_baseline({"gp_appointment": (8000, 0, 336_000)})
    sc = parse_scenario(
        {
            "kind": "scenario",
            "name": "g",
            "years": 3,
            "demographic_growth": False,
            "non_demographic_growth": {"gp_appointment": 0.02},
        }
    )
    out = ScenarioModel(sc, base).run(runs=2, seed=0)
    expect = [8000 * 1.02**t for t in (1, 2, 3)]
    assert out.count[0, S_INDEX["gp_appointment"]].tolist() == pytest.approx(expect)
    # 8,000 appointments a practice clinician WTE a year.
    assert out.wte_by_role["practice clinician"][0].tolist() == pytest.approx(
        [e / 8000 for e in expect]
    )
    assert out.gross_savings[0].tolist() == [0, 0, 0]


def test_demographic_growth_follows_the_projection_of_the_cell():
    base = hand_baseline({"gp_appointment": (1000, 0, 42_000)})  # a 65-74 F cell
    sc = parse_scenario(
        {
            "kind": "scenario",
            "name": "d",
            "years": 2,
            "non_demographic_growth": {"gp_appointment": 0},
        }
    )
    out = ScenarioModel(sc, base, {("65-74", "F"): 0.013}).run(runs=1, seed=0)
    assert out.count[0, S_INDEX["gp_appointment"]].tolist() == pytest.approx(
        [1000 * 1.013, 1000 * 1.013**2]
    )


def test_same_seed_same_numbers_and_another_seed_differs():
    base = hand_baseline(
        {"emergency_admission": (100, 500, 340_000)},
        cohort={"emergency_admission": (50, 300, 170_000)},
    )
    sc = _scenario(
        {
            "uptake": {"members": [40]},
            "effects": [
                {
                    "setting": "emergency_admission",
                    "change": {"low": -0.5, "central": -0.3, "high": 0},
                }
            ],
        }
    )
    a = ScenarioModel(sc, base).run(200, seed=5).npv
    b = ScenarioModel(sc, base).run(200, seed=5).npv
    c = ScenarioModel(sc, base).run(200, seed=6).npv
    assert (a == b).all() and not (a == c).all()
    # PERT on [-0.5, 0] with mode -0.3 has mean (-0.5 + 4 x -0.3 + 0) / 6 = -0.2833:
    # savings are linear in the effect, so the mean NPV matches the mean effect's.
    mean_effect_npv = 20 * 0.2833333 * 3400 * (1 + 1 / 1.035)
    big = ScenarioModel(sc, base).run(20_000, seed=1).npv
    assert big.mean() == pytest.approx(mean_effect_npv, rel=0.01)


def test_tornado_swings_match_one_way_hand_calculation():
    base = hand_baseline(
        {"emergency_admission": (100, 500, 340_000)},
        cohort={"emergency_admission": (50, 300, 170_000)},
    )
    sc = _scenario(
        {
            "uptake": {"members": [40]},
            "effects": [
                {
                    "setting": "emergency_admission",
                    "change": {"low": -0.5, "central": -0.3, "high": 0},
                }
            ],
            "costs": {"fixed_per_year": {"low": 1000, "central": 2000, "high": 5000}},
        },
        years=1,
    )
    rows = ScenarioModel(sc, base).tornado()
    assert [r["parameter"] for r in rows] == ["iv.effect.emergency_admission.0", "iv.cost.fixed"]
    assert rows[0]["value_at_low"] == pytest.approx(20 * 0.5 * 3400 - 2000)
    assert rows[0]["value_at_high"] == pytest.approx(-2000)
    assert rows[1]["swing"] == pytest.approx(4000)


def test_optimism_bias_uplifts_costs_and_trims_benefits():
    base = hand_baseline(
        {"emergency_admission": (100, 500, 340_000)},
        cohort={"emergency_admission": (50, 300, 170_000)},
    )
    iv = {
        "uptake": {"members": [40]},
        "effects": [{"setting": "emergency_admission", "change": -0.5}],
        "costs": {"fixed_per_year": 10_000},
    }
    sc = _scenario(iv, years=1, optimism_bias={"costs": 0.2, "benefits": 0.1})
    out = ScenarioModel(sc, base).run(1, 0)
    assert out.investment[0, 0] == pytest.approx(12_000)
    assert out.gross_savings[0, 0] == pytest.approx(34_000 * 0.9)


def test_business_case_reproduces_its_arithmetic_and_shows_the_uncertainty():
    base = hand_baseline(
        {
            "gp_appointment": (1_000_000, 0, 42_000_000),
            "emergency_admission": (50_000, 250_000, 170_000_000),
        },
        people=600_000,
    )
    sc = load_scenario("telephone_care_business_case")
    model = ScenarioModel(sc, base)
    central = model.evaluate(model.central())
    member_years = 11_000 + 16_000 + 22_000 + 27_000
    savings = member_years * (6 * 0.30 * 42 + 0.203 * 0.50 * 3400)  # £31.97m
    investment = member_years * 5 / 1000 * 38_000 + 560_000  # £15.0m
    assert central.gross_savings.sum() == pytest.approx(savings)
    assert savings == pytest.approx(32e6, rel=0.01)
    assert central.investment.sum() == pytest.approx(investment)
    assert investment == pytest.approx(15e6, rel=0.01)
    out = model.run(2000, seed=42)
    total = out.gross_savings.sum(axis=1)
    p10, p50, p90 = np.percentile(total, [10, 50, 90])
    assert p10 < p50 < p90 <= savings + 1e-6  # the case's central values are its best case
