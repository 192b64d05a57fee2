"""Opportunity on the 200,000-person synthetic economy: invariants, the Contract's JSON,
and the "Done means": the practices the generator planted as emergency-admission
outliers (truth.json practice_effects.outliers) come out on top."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from joinedup.opportunity import opportunity, opportunity_table
from joinedup.opportunity.convert import to_intervention, to_work_area
from joinedup.opportunity.counts import Inputs, window

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def wh(economy):
    from joinedup.warehouse import open_warehouse

    w = open_warehouse(economy.warehouse_path, read_only=True)
    yield w
    w.close()


@pytest.fixture(scope="module")
def inputs(wh):
    i = Inputs(wh, window(wh))
    yield i
    i.release()


@pytest.fixture(scope="module")
def truth(economy):
    return json.loads(economy.truth_path.read_text())["practice_effects"]


@pytest.fixture(scope="module")
def adjusted(wh, inputs):
    return opportunity(wh, "emergency_admissions", "practice", deprivation=True, inputs=inputs)


def test_planted_outlier_practices_have_the_highest_standardised_ratios(adjusted, truth):
    # Adjusted for age, sex and deprivation, the two planted practices lead the ratios
    # and both lie above the benchmark beyond chance (lower 95% limit of the ratio).
    ranked = adjusted.units.sort_values("ratio", ascending=False)
    assert set(ranked["unit"].head(2)) == set(truth["outliers"])
    top = ranked.head(2)
    assert (top["ratio_lower"] > top["benchmark_ratio"]).all()
    assert (top["avoidable_lower"] > 0).all()


def test_planted_outliers_are_among_the_largest_avoidable_counts(adjusted, truth):
    # By size of gap the small outlier competes with bigger practices: top third.
    top = list(adjusted.units["unit"].head(len(adjusted.units) // 3))
    assert set(truth["outliers"]) <= set(top)


def test_standardised_ratios_track_the_planted_practice_effects(adjusted, truth):
    ratios = adjusted.units.set_index("unit")["ratio"]
    planted = ratios.index.map(truth["emergency_admissions_rate_ratio"]).astype(float)
    assert ratios.corr(planted.to_series(index=ratios.index)) > 0.7


def test_without_deprivation_adjustment_the_gap_leans_to_deprived_areas(wh, inputs, adjusted):
    # The generator gives deprived footprints more need: age-sex standardisation alone
    # puts more of the gap in the most deprived fifth than deprivation adjustment does.
    crude = opportunity(wh, "emergency_admissions", "practice", inputs=inputs)
    assert crude.total["most_deprived_share"] > adjusted.total["most_deprived_share"] + 0.05


def test_invariants_hold_for_each_benchmark(wh, inputs):
    for benchmark in ("best_quartile", "peers"):
        r = opportunity(wh, "emergency_admissions", "practice", benchmark, inputs=inputs)
        u = r.units
        assert (u["avoidable"] >= 0).all()
        assert (u["avoidable_lower"] <= u["avoidable"] + 1e-9).all()
        assert (u["avoidable"] <= u["avoidable_upper"] + 1e-9).all()
        assert u["expected"].sum() == pytest.approx(u["observed"].sum())
        assert u["avoidable"].sum() == pytest.approx(r.total["avoidable"])
        assert u["bed_days"].sum() == pytest.approx(r.total["bed_days"])
        if benchmark == "peers":
            assert all(len(p) == 10 for p in u["peers"])


def test_contract_json_from_the_cli(economy, truth):
    from joinedup.cli import app

    result = CliRunner().invoke(
        app,
        ["opportunity", "--measure", "emergency_admissions", "--by", "practice", "--benchmark",
         "best_quartile", "--warehouse", str(economy.warehouse_path), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    start = result.stdout.index("[")
    rows = json.loads(result.stdout[start : result.stdout.rindex("]") + 1])
    keys = {"unit", "observed", "expected", "avoidable", "avoidable_lower",
            "avoidable_upper", "bed_days", "cost"}  # fmt: skip
    assert all(keys <= set(r) for r in rows)
    assert all(r["avoidable"] >= 0 for r in rows)
    assert len({r["unit"] for r in rows}) == len(rows) >= 25
    total = sum(r["avoidable"] for r in rows)
    assert f"total avoidable {total:.6g} events" in result.stderr


def test_table_ranks_by_bed_days_and_links_to_practices(wh):
    table = opportunity_table(
        wh, "footprint", measures=["emergency_admissions", "ae_attendances", "deaths_in_hospital"]
    )
    assert list(table["rank"]) == [1, 2, 3]
    assert table.iloc[0]["measure_id"] == "emergency_admissions"  # the only one with bed days
    assert list(table["bed_days"]) == sorted(table["bed_days"], reverse=True)
    row = table.iloc[0]
    assert row["practices"] and all(p.startswith("Z") for p in row["practices"])


def test_converters_prefill_work_area_and_intervention(adjusted):
    area = to_work_area(adjusted)
    assert "emergency_admissions" in area["description"] and area["status"] == "candidate"
    iv = to_intervention(adjusted)
    (effect,) = iv["effects"]
    assert effect["setting"] == "emergency_admission"
    change = effect["change"]
    assert -1 <= change["low"] <= change["central"] <= change["high"] <= 0
    assert iv["cohort"]["footprints"]


def test_target_at_the_partnership_rate_leaves_only_units_above_expected(wh, inputs):
    # A target equal to the partnership's crude rate makes B = 1: the gap is O - E.
    base = opportunity(wh, "emergency_admissions", "practice", inputs=inputs).units
    crude = base["observed"].sum() / base["denominator"].sum() * 1000
    r = opportunity(
        wh, "emergency_admissions", "practice", "target", target=crude, inputs=inputs
    ).units
    assert r["benchmark_ratio"].iloc[0] == pytest.approx(1.0)
    gap = (r["observed"] - r["expected"]).clip(lower=0)
    assert r["avoidable"].tolist() == pytest.approx(gap.tolist())
