"""Evaluation of an intervention: matching, the difference-in-differences estimator, and
recovery of the effect planted in the synthetic economy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from joinedup.risk.evaluate import _did, match, standardised_differences


@pytest.mark.unit
def test_match_picks_the_k_nearest_within_stratum_and_caliper():
    rng = np.random.default_rng(1)
    logit = rng.normal(size=400)
    treated = np.zeros(400, bool)
    treated[:40] = True
    strata = rng.integers(0, 3, 400)
    t_rows, c_rows = match(logit, treated, strata, k=3, caliper=0.5)
    for t in range(40):
        got = sorted(c_rows[t_rows == t])
        pool = np.flatnonzero(~treated & (strata == strata[t]))
        d = np.abs(logit[pool] - logit[t])
        want = sorted(pool[np.argsort(d, kind="stable")[:3]][np.sort(d)[:3] <= 0.5])
        assert got == want
    assert not treated[c_rows].any()


@pytest.mark.unit
def test_standardised_differences_by_hand():
    from joinedup.risk import evaluate as ev

    x = pd.DataFrame({c: np.zeros(6) for c in ev.COVARIATES})
    x["age"] = [70, 80, 60, 60, 80, 50]
    treated = np.array([True, True, False, False, False, False])
    w = np.array([0, 0, 1, 0, 1, 0], float)
    out = standardised_differences(x, treated, w).set_index("covariate").loc["age"]
    sd = np.sqrt((np.var([70, 80], ddof=1) + np.var([60, 60, 80, 50], ddof=1)) / 2)
    assert out.smd_before == pytest.approx((75 - 62.5) / sd)
    assert out.smd_after == pytest.approx((75 - 70) / sd)


@pytest.mark.unit
def test_a_feature_the_score_leaves_unbalanced_is_matched_exactly_in_bands():
    """A heavy-tailed count the propensity score does not see (here the score is noise)
    stays far over the balance limit after matching on the score; matching again exactly
    within its quantile bands (quartiles, then finer) brings it under, and the bands are
    reported."""
    from joinedup.risk import evaluate as ev

    rng = np.random.default_rng(7)
    n_t, n_c = 300, 6000
    x = pd.DataFrame({c: rng.normal(size=n_t + n_c) for c in ev.COVARIATES})
    treated = np.arange(n_t + n_c) < n_t
    x["community_contacts"] = rng.negative_binomial(1, np.where(treated, 0.05, 0.2))
    x["base_years"] = 2.0
    logit = rng.normal(size=n_t + n_c)
    strata = np.zeros(n_t + n_c, np.int64)

    t_rows, c_rows = match(logit, treated, strata, k=5, caliper=0.2)
    before = ev._matched_balance(x, treated, t_rows, c_rows).set_index("covariate")
    assert before.loc["community_contacts", "smd_after"] > 0.5

    t_rows, c_rows, balance, bands, banded = ev._match_until_balanced(
        x, treated, logit, strata, k=5, caliper=0.2
    )
    name, n = banded[0].removesuffix(" bands)").split(" (")
    assert name == "community_contacts" and int(n) in (4, 8, 16)
    after = balance.set_index("covariate").loc["community_contacts", "smd_after"]
    assert abs(after) < 0.1
    quantiles = np.arange(1, int(n)) / int(n)
    cuts = np.unique(np.quantile(x.community_contacts[treated], quantiles))
    band = np.searchsorted(cuts, x.community_contacts.to_numpy(), side="right")
    assert (band[t_rows] == band[c_rows]).all()  # every pair within one band
    assert len(np.unique(bands)) > 1


@pytest.mark.unit
def test_ratio_of_ratios_equals_poisson_interaction():
    """The estimator is the Poisson MLE of the group x period interaction (statsmodels)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    n = 300
    sets = pd.DataFrame(
        {
            "t_pre_years": np.full(n, 1.0),
            "c_pre_years": np.full(n, 1.0),
            "t_post_years": rng.uniform(0.2, 1.5, n),
            "c_post_years": rng.uniform(0.2, 1.5, n),
        }
    )
    sets["t_pre_y"] = rng.poisson(1.0, n)
    sets["c_pre_y"] = rng.poisson(0.9, n)
    sets["t_post_y"] = rng.poisson(0.5 * sets.t_post_years)
    sets["c_post_y"] = rng.poisson(0.7 * sets.c_post_years)
    rows = []
    for g, grp in (("t", 1), ("c", 0)):
        for per, post in (("pre", 0), ("post", 1)):
            rows.append(
                {
                    "y": sets[f"{g}_{per}_y"].sum(),
                    "exposure": sets[f"{g}_{per}_years"].sum(),
                    "treated": grp,
                    "post": post,
                }
            )
    long = pd.DataFrame(rows)
    design = np.column_stack(
        [np.ones(4), long.treated, long.post, long.treated * long.post]
    ).astype(float)
    fit = sm.GLM(
        long.y.astype(float),
        design,
        family=sm.families.Poisson(),
        offset=np.log(long.exposure),
    ).fit()
    assert _did(sets, "y", "pre") == pytest.approx(np.exp(np.asarray(fit.params)[3]), rel=1e-8)


@pytest.mark.unit
def test_primary_uses_the_baseline_not_the_selection_year():
    """Hand-worked: two matched sets, one comparison each.

    The selection year ("pre", the 12 months before index) is inflated for the enrolled
    (they were picked after a bad year); the primary figure must compare post with the
    baseline only, and the sensitivity figures use the other choices of "pre".
    """
    from joinedup.risk.evaluate import _estimate

    sets = pd.DataFrame(
        {
            "t_base_years": [1.0, 1.0],
            "c_base_years": [1.0, 1.0],
            "t_pre_years": [1.0, 1.0],
            "c_pre_years": [1.0, 1.0],
            "t_post_years": [1.0, 1.0],
            "c_post_years": [2.0, 2.0],
            "t_base_y": [2.0, 2.0],  # enrolled baseline rate 2 a year
            "c_base_y": [1.0, 1.0],  # comparison baseline rate 1 a year
            "t_pre_y": [4.0, 4.0],  # the bad year that triggered enrolment
            "c_pre_y": [4.0, 4.0],  # matched on it
            "t_post_y": [1.6, 1.6],  # enrolled post rate 1.6 a year
            "c_post_y": [2.0, 2.0],  # comparison post rate 1 a year
        }
    )
    for g in "tc":
        sets[f"{g}_all_years"] = sets[f"{g}_base_years"] + sets[f"{g}_pre_years"]
        sets[f"{g}_all_y"] = sets[f"{g}_base_y"] + sets[f"{g}_pre_y"]
    naive = {
        "post_y": np.array([1.6, 1.6]),
        "years": np.array([1.0, 1.0]),
        "pre_y": np.array([4.0, 4.0]),
        "pre_years": np.array([1.0, 1.0]),
    }
    out = _estimate(naive, "y", "y", sets, np.random.default_rng(0), 200)
    assert out.rate_ratio == pytest.approx((1.6 / 2) / (1 / 1))  # 0.8: post over baseline
    assert out.earlier_rate_ratio == out.rate_ratio
    assert out.pre12_rate_ratio == pytest.approx((1.6 / 4) / (1 / 4))  # 1.6
    assert out.pre_all_rate_ratio == pytest.approx((1.6 / 3) / (1 / 2.5))
    assert out.naive_rate_ratio == pytest.approx(1.6 / 4)
    assert out.enrolled_pre == pytest.approx(2.0) and out.comparison_pre == pytest.approx(1.0)


@pytest.mark.integration
@pytest.mark.slow
def test_recovers_planted_effect_and_naive_is_further(economy):
    from typer.testing import CliRunner

    from joinedup.cli import app

    truth = json.loads(economy.truth_path.read_text())
    true_rr = truth["programmes"]["telephone_care_management"]["emergency_admissions_rate_ratio"]
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--programme",
            "telephone_care_management",
            "--warehouse",
            str(economy.warehouse_path),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # The interval must contain the effect the synth planted (read from its truth.json,
    # not from the code under test), and the point estimate must be near it: within
    # 15% on the log scale (its standard error here is about 6%).
    assert out["lower"] <= true_rr <= out["upper"], out
    assert abs(np.log(out["rate_ratio"] / true_rr)) < 0.15, out
    assert abs(np.log(out["naive_rate_ratio"] / true_rr)) > abs(np.log(out["rate_ratio"] / true_rr))
    assert out["naive_upper"] < true_rr  # the naive figure is not even compatible with truth
    smd = np.abs([c["smd_after"] for c in out["balance"]["covariates"]])
    # Conventional threshold 0.1; raw heavy-tailed counts may sit a little above it
    # while their log-scale versions (also in the table) are balanced.
    assert np.mean(smd < 0.1) >= 0.9 and smd.max() < 0.15, out["balance"]
    assert "regression to the mean" in out["warning"]


@pytest.mark.integration
@pytest.mark.slow
def test_no_effect_economy_interval_contains_one(tmp_path):
    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    built = build(SynthConfig(people=60_000, years=3, seed=7, programme_effect=1.0), tmp_path)
    with open_warehouse(built.warehouse_path, read_only=True) as wh:
        result = evaluate_programme(wh, "telephone_care_management", bootstrap=500)
    p = result.primary
    assert p.lower <= 1.0 <= p.upper, p
    assert p.naive_rate_ratio < 0.8  # regression to the mean alone makes the naive look good


@pytest.mark.integration
def test_unknown_programme_is_a_clear_error(economy):
    from typer.testing import CliRunner

    from joinedup.cli import app

    result = CliRunner().invoke(
        app, ["evaluate", "--programme", "nope", "--warehouse", str(economy.warehouse_path)]
    )
    assert result.exit_code == 1
    assert "no enrolments in programme 'nope'" in result.output
    assert "telephone_care_management" in result.output
