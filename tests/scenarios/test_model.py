"""Scenario files: validation messages name the field and what was expected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.scenarios.engine import draw
from joinedup.scenarios.model import (
    Range,
    ScenarioError,
    library_names,
    load_scenario,
    parse_scenario,
)

pytestmark = pytest.mark.unit

GOOD = {
    "name": "x",
    "title": "X",
    "uptake": {"share": [0.5]},
    "effects": [{"setting": "gp_appointment", "change": {"low": -0.3, "central": -0.2, "high": 0}}],
}


def test_every_built_in_loads_and_the_issue_examples_are_there():
    names = set(library_names())
    for n in names:
        assert load_scenario(n).interventions
    assert {
        "telephone_care_management",
        "end_of_life_community_beds",
        "outpatient_followup_reduction",
        "prior_approval_referrals",
        "urgent_care_centre_streaming",
        "ambulance_triage_see_and_treat",
        "reablement_after_discharge",
    } <= names


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"effects": [{"setting": "gp", "change": -0.1}]},
            "interventions.0.effects.0.setting: Value error, unknown setting 'gp'",
        ),
        (
            {
                "effects": [
                    {"setting": "gp_appointment", "change": {"low": 0, "central": -1, "high": 1}}
                ]
            },
            "interventions.0.effects.0.change: Value error, expected low <= central <= high",
        ),
        (
            {"uptake": {"share": [0.5], "members": [10]}},
            "interventions.0.uptake: Value error, give exactly one of members",
        ),
        ({"uptake": {"share": [1.5]}}, "share: expected fractions from 0 to 1"),
        ({"cohort": {"conditions": ["gout"]}}, "unknown condition 'gout'"),
        ({"colour": "red"}, "interventions.0.colour: Extra inputs are not permitted"),
        ({"cohort": {"rates": {"gp_appointment": 5}}}, "give uptake.members"),
        (
            {"los_changes": [{"setting": "gp_appointment", "change_days": -1}]},
            "expected an admitted setting with bed days",
        ),
    ],
)
def test_bad_definitions_say_which_field_and_what_was_expected(change, expected):
    with pytest.raises(ScenarioError) as err:
        parse_scenario({**GOOD, **change}, "my.yaml")
    assert f"my.yaml: {expected}" in str(err.value) or expected in str(err.value)
    assert str(err.value).startswith("my.yaml: ")


def test_bad_yaml_names_the_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\ntitle: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: line \d+, column \d+: not valid YAML"):
        load_scenario(f)


def test_unknown_name_lists_the_built_ins():
    with pytest.raises(ScenarioError, match=r"built-ins: .*telephone_care_management"):
        load_scenario("no_such_thing")


def test_a_scenario_refers_to_built_ins_by_name():
    sc = parse_scenario(
        {
            "kind": "scenario",
            "name": "two",
            "years": 3,
            "interventions": ["urgent_care_centre_streaming", GOOD],
        }
    )
    assert [i.name for i in sc.interventions] == ["urgent_care_centre_streaming", "x"]
    with pytest.raises(ScenarioError, match="repeated: x"):
        parse_scenario({"kind": "scenario", "name": "d", "interventions": [GOOD, GOOD]})


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-5, 5),
    st.floats(0, 3),
    st.floats(0, 3),
    st.sampled_from(["pert", "triangular", "uniform"]),
    st.integers(0, 2**32 - 1),
)
def test_draws_stay_within_the_range(low, a, b, dist, seed):
    r = Range(low=low, central=low + a, high=low + a + b, distribution=dist)
    v = draw(r, np.random.default_rng(seed), 500)
    assert (v >= r.low - 1e-9).all() and (v <= r.high + 1e-9).all()


@pytest.mark.parametrize(
    ("dist", "mean"),
    [
        # PERT mean (a + 4c + b) / 6; triangular (a + b + c) / 3; uniform (a + b) / 2.
        ("pert", (0 + 4 * 2 + 10) / 6),
        ("triangular", (0 + 2 + 10) / 3),
        ("uniform", 5.0),
    ],
)
def test_draws_have_the_textbook_mean(dist, mean):
    r = Range(low=0, central=2, high=10, distribution=dist)
    v = draw(r, np.random.default_rng(0), 200_000)
    assert v.mean() == pytest.approx(mean, abs=0.03)
