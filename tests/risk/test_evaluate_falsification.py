"""An evaluation that knows when not to believe itself: the E-value against VanderWeele
and Ding's worked examples, the verdict rule, and the falsification tests on hand-made
worlds whose truth is known (tests/risk/evaluation_worlds.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from joinedup.risk.evalue import e_value, e_values
from joinedup.risk.verdict import Check, judge

from . import evaluation_worlds as worlds

# --- E-value: VanderWeele and Ding (2017), and their R package EValue -----------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("rr", "lo", "hi", "point", "limit"),
    [
        # The paper's example (breastfeeding and infant infection, 3.9, 1.8 to 8.7).
        (3.9, 1.8, 8.7, 7.26, 3.00),
        # Hammond and Horn's smoking and lung cancer, EValue's vignette:
        # evalues.RR(est = 10.73, lo = 8.02, hi = 14.36) gives 20.94777 and 15.52336.
        (10.73, 8.02, 14.36, 20.94777, 15.52336),
        # The leukaemia example of evalues.RR's help page (a protective ratio):
        # 1/0.80 = 1.25 -> 1.809017; the upper limit 0.91 -> 1/0.91 -> 1.428571.
        (0.80, 0.71, 0.91, 1.809017, 1.428571),
    ],
)
def test_e_value_worked_examples(rr, lo, hi, point, limit):
    out = e_values(rr, lo, hi)
    assert out.point == pytest.approx(point, abs=0.005)
    assert out.limit == pytest.approx(limit, abs=0.005)
    assert out.limit_used == ("upper" if rr < 1 else "lower")


@pytest.mark.unit
def test_e_value_is_symmetric_and_one_when_the_interval_contains_no_effect():
    assert e_value(0.8) == pytest.approx(e_value(1 / 0.8))
    assert e_value(1.0) == 1.0
    assert math.isnan(e_value(0.0)) and math.isnan(e_value(float("nan")))
    out = e_values(0.9, 0.7, 1.1)
    assert out.limit == 1.0 and out.limit_used is None
    assert out.as_dict() == {"point": round(e_value(0.9), 4), "limit": 1.0, "limit_used": None}


# --- The verdict rule --------------------------------------------------------------------


def _check(rr, lo, hi, level=0.95, tlo=None, thi=None, name="placebo"):
    tlo = lo if tlo is None else tlo
    thi = hi if thi is None else thi
    return Check(name, name, rr, lo, hi, tlo, thi, level)


PASS = _check(1.02, 0.90, 1.15)
CONTROLS = [
    _check(0.95, 0.70, 1.30, 0.975, 0.65, 1.40, "nc1"),
    _check(1.1, 0.8, 1.5, 0.975, 0.75, 1.6, "nc2"),
]


def _judge(rr, lo, hi, placebo=PASS, controls=CONTROLS, smd=0.05):
    return judge(
        rr,
        lo,
        hi,
        label="emergency admissions",
        placebo=placebo,
        negative_controls=controls,
        max_abs_smd=smd,
        e_value=e_values(rr, lo, hi),
    )


@pytest.mark.unit
def test_verdict_follows_the_interval_when_the_falsification_tests_pass():
    v = _judge(0.78, 0.70, 0.88)
    assert v.verdict == "benefit" and v.headline == "evidence of benefit"
    assert "22% fewer emergency admissions" in v.sentence
    assert "rate ratio of 1.88" in v.sentence  # the E-value of 0.78
    assert _judge(1.25, 1.10, 1.40).verdict == "harm"
    assert _judge(0.95, 0.85, 1.06).verdict == "no_clear_effect"
    assert not _judge(0.78, 0.70, 0.88).reasons


@pytest.mark.unit
def test_a_significant_benefit_whose_placebo_finds_an_effect_is_never_a_benefit():
    for placebo in (_check(1.25, 1.05, 1.45), _check(0.80, 0.70, 0.93)):
        v = _judge(0.70, 0.60, 0.80, placebo=placebo)
        assert v.verdict == "inconclusive"
        assert v.headline == "inconclusive: the falsification tests failed"
        assert "placebo" in v.sentence


@pytest.mark.unit
def test_a_second_placebo_that_finds_an_effect_makes_it_inconclusive():
    """The placebo against a second comparison group (people never enrolled) is judged
    as the first is, and the sentence names which placebo failed."""
    label = "placebo in time against people never enrolled: emergency admissions"

    def verdict(rr: float, lo: float, hi: float):
        second = Check("emergency_admissions", label, rr, lo, hi, lo, hi, 0.95)
        return judge(
            0.7, 0.6, 0.8, label="emergency admissions", placebo=PASS,
            negative_controls=CONTROLS, max_abs_smd=0.05, other_placebos=[second],
        )  # fmt: skip

    v = verdict(1.3, 1.06, 1.6)
    assert v.verdict == "inconclusive"
    assert "placebo in time against people never enrolled found an effect" in v.sentence
    assert verdict(1.05, 0.9, 1.2).verdict == "benefit"


@pytest.mark.unit
def test_negative_controls_are_judged_as_a_family():
    # Excludes 1 at 95% but not at the Bonferroni level (97.5% for two controls): passes.
    marginal = _check(0.80, 0.66, 0.97, 0.975, 0.62, 1.02, "nc1")
    assert _judge(0.7, 0.6, 0.8, controls=[marginal, CONTROLS[1]]).verdict == "benefit"
    failing = _check(0.70, 0.58, 0.85, 0.975, 0.55, 0.90, "nc1")
    v = _judge(0.7, 0.6, 0.8, controls=[failing, CONTROLS[1]])
    assert v.verdict == "inconclusive" and "cannot" in v.sentence


@pytest.mark.unit
def test_imbalance_after_matching_makes_it_inconclusive():
    v = judge(
        0.7,
        0.6,
        0.8,
        label="x",
        placebo=PASS,
        negative_controls=CONTROLS,
        max_abs_smd=0.14,
        unbalanced=["community_contacts"],
    )
    assert v.verdict == "inconclusive" and "community_contacts" in v.sentence


@pytest.mark.unit
def test_untestable_and_weak_placebos_are_said():
    nan = float("nan")
    v = _judge(0.7, 0.6, 0.8, placebo=_check(nan, nan, nan))
    assert v.verdict == "benefit" and "the placebo test could not be computed" in v.caveats
    v = _judge(0.7, 0.6, 0.8, placebo=_check(0.9, 0.6, 1.4))  # cannot rule out 0.7
    assert v.verdict == "benefit" and any("too imprecise" in c for c in v.caveats)
    assert _judge(nan, nan, nan).verdict == "inconclusive"


@pytest.mark.unit
def test_an_unknown_outcome_is_a_clear_error():
    from joinedup.risk.evaluate import evaluate_programme

    with pytest.raises(ValueError, match="expected one of emergency_admissions") as exc:
        evaluate_programme(None, "p", outcome="falls")
    assert "deaths" in str(exc.value)


# --- Hand-made worlds: the whole evaluation, the truth known ----------------------------


@pytest.fixture(scope="module")
def small_economy(tmp_path_factory):
    """A 20,000-person synthetic economy: people, registrations, conditions and every
    activity but emergency admissions, which each world replaces. Its own planted effects
    on emergency admissions are thrown away with them, so integrated neighbourhood teams
    plant none (area_effect 1.0): the activity the worlds keep does not move with it."""
    from joinedup.synth import SynthConfig, build

    config = SynthConfig(people=20_000, years=3, seed=5, area_effect=1.0)
    return build(config, tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def larger_economy(tmp_path_factory):
    """The same at 60,000 people, for worlds of 3,000 enrolled: at 1,000 enrolled the
    placebos catch a cohort selected on a rising trend eight or nine times in ten
    (docs/evaluation.md, "Hand-made worlds"), at 3,000 every time it was tried."""
    from joinedup.synth import SynthConfig, build

    config = SynthConfig(people=60_000, years=3, seed=5, area_effect=1.0)
    return build(config, tmp_path_factory.mktemp("larger"))


def _evaluate(small_economy, tmp_path, **world):
    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.warehouse import open_warehouse

    path = tmp_path / "world.duckdb"
    truth = worlds.rewrite(small_economy.warehouse_path, path, **world)
    with open_warehouse(path, read_only=True) as wh:
        return truth, evaluate_programme(wh, worlds.PROGRAMME, bootstrap=400).as_dict(), path


@pytest.mark.integration
@pytest.mark.slow
def test_planted_effect_in_a_world_that_meets_the_assumptions_is_a_benefit(
    larger_economy, tmp_path
):
    """Admissions at a steady rate per person (frailty unrecorded), case finding on frailty
    and last year's admissions, a planted 0.80 among 3,000 enrolled (at 1,000 it is found
    about half the time: docs/evaluation.md): the estimate finds it, the naive figure
    overstates it, every falsification test passes and the verdict is benefit."""
    truth, out, _ = _evaluate(larger_economy, tmp_path, effect=0.8, enrolled=3000, seed=1)
    assert out["lower"] <= truth["effect"] <= out["upper"], out
    assert out["naive_rate_ratio"] < out["lower"]  # regression to the mean
    assert not out["placebo"]["failed"], out["placebo"]
    assert out["placebo"]["lower"] <= 1 <= out["placebo"]["upper"]
    tests = out["falsification_tests"]
    assert [c["label"].split(":")[0] for c in tests] == [
        "placebo in time",
        "placebo in time against people never enrolled",
        "planned cataract operations",
        "planned hip or knee replacements",
    ]
    assert not any(c["failed"] for c in tests), tests
    assert [c["failed"] for c in out["negative_controls"]] == [False, False]
    assert out["balance"]["balanced"], out["balance"]["over_limit"]
    assert out["verdict"] == "benefit", out["verdict_sentence"]
    assert out["e_value"] > 1 and out["e_value_interval"] > 1


@pytest.mark.integration
@pytest.mark.slow
def test_no_effect_in_a_world_that_meets_the_assumptions_is_not_a_benefit_or_harm(
    small_economy, tmp_path
):
    _, out, _ = _evaluate(small_economy, tmp_path, effect=1.0, enrolled=1000, seed=4)
    assert out["lower"] <= 1.0 <= out["upper"], out
    assert out["verdict"] == "no_clear_effect", out["verdict_sentence"]
    assert out["e_value_interval"] == 1.0


@pytest.mark.integration
@pytest.mark.slow
def test_a_cohort_selected_on_a_rising_trend_fails_the_placebo_test(larger_economy, tmp_path):
    """A fifth of people have admissions rising by 80% a year and case finding prefers them
    (their last 12 months look like everyone else's of the same count, so matching cannot
    tell). The programme does nothing, yet the difference-in-differences finds a large
    "harm"; the placebo in time sees the enrolled people's admissions rising before
    enrolment, so the verdict must be inconclusive."""
    truth, out, _ = _evaluate(
        larger_economy, tmp_path, effect=1.0, enrolled=3000, seed=5, trend_per_year=0.6
    )
    assert truth["changing_enrolled"] > 1500
    assert out["lower"] > 1.0  # the design alone would call it harm
    assert out["placebo"]["failed"] and out["placebo"]["lower"] > 1.0, out["placebo"]
    second = out["placebo_never_enrolled"]
    assert second["failed"] and second["lower"] > 1.0, second  # against people never enrolled
    assert out["verdict"] == "inconclusive", out["verdict_sentence"]
    assert "placebo" in out["verdict_sentence"]


@pytest.mark.integration
@pytest.mark.slow
def test_risk_sets_follow_people_enrolled_later_only_until_their_enrolment(small_economy, tmp_path):
    """``comparisons="not_yet_enrolled"``: people enrolled later may be comparisons on an
    index date before their enrolment, and their follow-up stops at it; the default pool
    never holds an enrolled person. In a world that meets the assumptions (no effect)
    both designs' intervals hold 1."""
    import duckdb

    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.warehouse import open_warehouse

    path = tmp_path / "world.duckdb"
    worlds.rewrite(small_economy.warehouse_path, path, effect=1.0, enrolled=1000, seed=3)
    with duckdb.connect(str(path), read_only=True) as con:
        enrolled = con.sql("SELECT person_id, enrolled_on FROM programme_enrolment").df()
    enrolled["enrolled_on"] = pd.to_datetime(enrolled.enrolled_on)
    found = {}
    with open_warehouse(path, read_only=True) as wh:
        for design in ("never_enrolled", "not_yet_enrolled"):
            found[design] = evaluate_programme(
                wh, worlds.PROGRAMME, bootstrap=200, comparisons=design
            )
    never = found["never_enrolled"].pairs
    assert not never.person_id.isin(enrolled.person_id).any()
    risk = found["not_yet_enrolled"].pairs.merge(enrolled, on="person_id")
    assert len(risk) > 100  # people enrolled later serve as comparisons
    assert (pd.to_datetime(risk.index_date) < risk.enrolled_on).all()
    ends = pd.to_datetime(risk.post_end)
    assert (ends <= risk.enrolled_on).all()
    assert (ends == risk.enrolled_on).sum() > 50  # follow-up cut at their own enrolment
    for design, result in found.items():
        doc = result.as_dict()
        assert doc["comparisons"] == design
        assert doc["lower"] <= 1.0 <= doc["upper"], (design, doc["rate_ratio"])
    assert any("enrolled later" in n for n in found["not_yet_enrolled"].as_dict()["notes"])
    # Each pair carries its comparison person's own counts; their mean per set is the
    # set's comparison column.
    result = found["not_yet_enrolled"]
    for col in ("c_base_emergency_admissions", "c_plcpost_years", "c_post_deaths"):
        mean = result.pairs.groupby("set")[col].mean().reindex(result.sets.set)
        assert np.allclose(mean.to_numpy(), result.sets[col].to_numpy()), col


@pytest.mark.unit
def test_an_unknown_comparison_design_is_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from joinedup.cli import app
    from joinedup.risk.evaluate import evaluate_programme

    with pytest.raises(ValueError, match="expected one of not_yet_enrolled, never_enrolled"):
        evaluate_programme(None, "p", comparisons="everyone")
    result = CliRunner().invoke(
        app,
        [
            *("evaluate", "--programme", "p", "--warehouse", str(tmp_path / "none.duckdb")),
            *("--comparisons", "everyone"),
        ],
    )
    assert result.exit_code != 0
    assert "--comparisons 'everyone': expected one of not_yet_enrolled, never_enrolled" in (
        result.output
    )


@pytest.mark.integration
@pytest.mark.slow
def test_the_cli_json_keeps_the_contract(small_economy, tmp_path):
    from typer.testing import CliRunner

    from joinedup.cli import app

    path = tmp_path / "world.duckdb"
    worlds.rewrite(small_economy.warehouse_path, path, effect=0.8, enrolled=600, seed=2)
    result = CliRunner().invoke(
        app,
        [
            *("evaluate", "--programme", worlds.PROGRAMME, "--warehouse", str(path)),
            *("--format", "json", "--bootstrap", "200"),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in ("rate_ratio", "lower", "upper", "naive_rate_ratio"):
        assert isinstance(out[key], float)
    assert out["verdict"] in ("benefit", "harm", "no_clear_effect", "inconclusive")
    assert {"rate_ratio", "lower", "upper"} <= set(out["placebo"])
    # Risk sets by default, with the second placebo against people never enrolled; every
    # test in the order the pages show them.
    assert out["comparisons"] == "not_yet_enrolled"
    assert isinstance(out["balance"]["exact_bands"], list)  # what the repair banded, if any
    assert {"rate_ratio", "lower", "upper", "failed"} <= set(out["placebo_never_enrolled"])
    assert [c["label"] for c in out["falsification_tests"]] == [
        out["placebo"]["label"],
        out["placebo_never_enrolled"]["label"],
        *(c["label"] for c in out["negative_controls"]),
    ]
    assert len(out["negative_controls"]) >= 1
    for c in out["negative_controls"]:
        assert {"outcome", "rate_ratio", "lower", "upper"} <= set(c)
    assert isinstance(out["e_value"], float) and out["e_value"] >= 1
    # the minimum detectable effect is the estimate's own interval's
    from joinedup.risk.power import minimum_detectable

    d = minimum_detectable(out["lower"], out["upper"])
    assert out["minimum_detectable"]["lower_rate_ratio"] == pytest.approx(
        d.lower_rate_ratio, abs=2e-4
    )
    assert out["minimum_detectable"]["power"] == 0.8
    assert out["outcomes"]["emergency_admissions"]["verdict"] == out["verdict"]
    # Any outcome the evaluation counts can be the one judged.
    gp = CliRunner().invoke(
        app,
        [
            *("evaluate", "--programme", worlds.PROGRAMME, "--warehouse", str(path)),
            *("--format", "json", "--bootstrap", "200", "--outcome", "gp_appointments"),
        ],
    )
    assert gp.exit_code == 0, gp.output
    gp_out = json.loads(gp.stdout)
    assert gp_out["outcome"] == "gp_appointments"
    assert gp_out["rate_ratio"] == gp_out["outcomes"]["gp_appointments"]["rate_ratio"]
    assert gp_out["placebo"]["outcome"] == "gp_appointments"
    # Deaths: a matched comparison after the index date; no baseline, so no placebo.
    deaths = CliRunner().invoke(
        app,
        [
            *("evaluate", "--programme", worlds.PROGRAMME, "--warehouse", str(path)),
            *("--format", "json", "--bootstrap", "200", "--outcome", "deaths"),
        ],
    )
    assert deaths.exit_code == 0, deaths.output
    d = json.loads(deaths.stdout)
    assert d["outcome"] == "deaths" and d["placebo"] is None
    assert d["outcomes"]["deaths"]["design"].startswith("matched comparison after")
    assert d["naive_rate_ratio"] is None and d["lower"] < d["rate_ratio"] < d["upper"]
    assert "the placebo test could not be computed" in d["caveats"]
    # The table form prints the tests and the verdict in words.
    table = CliRunner().invoke(
        app,
        [
            *("evaluate", "--programme", worlds.PROGRAMME, "--warehouse", str(path)),
            *("--bootstrap", "200"),
        ],
    )
    assert table.exit_code == 0, table.output
    assert "Falsification tests" in table.output and "verdict:" in table.output


@pytest.mark.integration
def test_negative_controls_count_planned_cataract_and_joint_operations(small_economy):
    """The negative-control counts agree with a count written directly in SQL."""
    import duckdb
    import ibis
    import pandas as pd

    from joinedup.risk.evaluate import coded_activity
    from joinedup.warehouse import open_warehouse

    path = small_economy.warehouse_path
    with duckdb.connect(str(path), read_only=True) as con:
        want = con.sql(
            """SELECT person_id,
                 count(*) FILTER (WHERE substr(primary_procedure, 1, 3) IN
                   ('C71','C72','C73','C74','C75') OR substr(primary_diagnosis, 1, 3) IN
                   ('H25','H26')) AS cataract,
                 count(*) FILTER (WHERE substr(primary_procedure, 1, 3) IN ('W37','W38','W39',
                   'W40','W41','W42','W46','W47','W48')) AS joints
               FROM apc_spell WHERE admission_method IN ('11','12','13')
               GROUP BY person_id HAVING cataract + joints > 0 ORDER BY person_id LIMIT 50"""
        ).df()
    periods = pd.DataFrame(
        {
            "person_id": want.person_id,
            "period_start": pd.Timestamp("2000-01-01").date(),
            "period_end": pd.Timestamp("2030-01-01").date(),
        }
    )
    with open_warehouse(path, read_only=True) as wh:
        got = coded_activity(wh, ibis.memtable(periods)).to_pyarrow().to_pandas()
    got = got.set_index("person_id").loc[want.person_id]
    assert np.array_equal(got.planned_cataract_surgery.to_numpy(), want.cataract.to_numpy())
    assert np.array_equal(got.planned_hip_knee_replacement.to_numpy(), want.joints.to_numpy())


# --- The synthetic economy ----------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(("people", "seed"), [(40_000, 3), (50_000, 17)])
def test_no_effect_synthetic_economy_is_never_called_benefit_or_harm(tmp_path, people, seed):
    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    config = SynthConfig(people=people, years=3, seed=seed).with_programme_effect(1.0)
    built = build(config, tmp_path)
    truth = json.loads(built.truth_path.read_text())
    assert truth["programmes"]["telephone_care_management"]["emergency_admissions_rate_ratio"] == 1
    with open_warehouse(built.warehouse_path, read_only=True) as wh:
        out = evaluate_programme(wh, "telephone_care_management", bootstrap=400).as_dict()
    assert out["verdict"] in ("no_clear_effect", "inconclusive"), out["verdict_sentence"]
    assert out["lower"] <= 1.0 <= out["upper"], out


@pytest.fixture(scope="module")
def evaluated_economy(economy):
    """The 200,000-person economy (seed 42, planted 0.80) evaluated once."""
    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.warehouse import open_warehouse

    truth = json.loads(economy.truth_path.read_text())
    true_rr = truth["programmes"]["telephone_care_management"]["emergency_admissions_rate_ratio"]
    with open_warehouse(economy.warehouse_path, read_only=True) as wh:
        return true_rr, evaluate_programme(wh, "telephone_care_management").as_dict()


@pytest.mark.integration
@pytest.mark.slow
def test_planted_effect_at_200000_people_is_found_and_never_called_harm(evaluated_economy):
    true_rr, out = evaluated_economy
    assert out["lower"] <= true_rr <= out["upper"], out
    assert out["verdict"] in ("benefit", "inconclusive"), out["verdict_sentence"]
    assert [c["failed"] for c in out["negative_controls"]] == [False, False]
    assert out["balance"]["balanced"], out["balance"]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="on the 200,000-person economy of seed 42 the second placebo in time, against "
    "people never enrolled, fails (1.27, 1.01 to 1.53: people case finding passed over "
    "had a quiet year in their baseline, and the enrolled rose by chance; docs/evaluation.md, "
    "'The placebo's lean, traced'), so its planted 0.80 is 'inconclusive', not 'benefit' "
    "(16 of 24 other 200,000-person economies with 0.80 planted are 'benefit': their "
    "minimum detectable effect is 0.78, so a true 0.80 is at the edge of what they find)",
)
def test_planted_effect_at_200000_people_is_a_benefit(evaluated_economy):
    _, out = evaluated_economy
    assert out["verdict"] == "benefit", out["verdict_sentence"]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="the 200,000-person economy of seed 28 with no effect leans about 0.17 towards "
    "benefit whatever is planted, and its placebo (1.08) does not see it: 0.83 (0.70 to "
    "0.99) is called 'benefit' (docs/evaluation.md, 'One null economy called a benefit')",
)
def test_the_null_economy_of_seed_28_at_200000_people_is_not_called_a_benefit(tmp_path):
    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    built = build(SynthConfig(people=200_000, seed=28, programme_effect=1.0), tmp_path)
    with open_warehouse(built.warehouse_path, read_only=True) as wh:
        # 400 replicates, as the evaluation study that found it
        out = evaluate_programme(wh, "telephone_care_management", bootstrap=400).as_dict()
    assert out["verdict"] != "benefit", out["verdict_sentence"]
