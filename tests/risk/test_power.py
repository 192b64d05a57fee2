"""The minimum detectable effect against Bloom's (1995) multipliers and an independent
power calculation (statsmodels), and in the verdict's words."""

from __future__ import annotations

import math

import pytest

from joinedup.risk.power import minimum_detectable, multiplier
from joinedup.risk.verdict import Check, judge

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("power", "alpha", "published"),
    # Bloom (1995), "Minimum detectable effects", table 1: multiples of the standard
    # error, two-tailed tests at 0.05 and (one-tailed 0.05) 0.10.
    [(0.8, 0.05, 2.80), (0.9, 0.05, 3.24), (0.8, 0.10, 2.49), (0.9, 0.10, 2.93)],
)
def test_multiplier_matches_bloom(power, alpha, published):
    assert multiplier(power, alpha) == pytest.approx(published, abs=0.005)


def test_multiplier_matches_statsmodels_power_solver():
    from statsmodels.stats.power import NormalIndPower, TTestPower

    # One-sample z test with a standard error of 1: the effect found 80% of the time.
    assert multiplier() == pytest.approx(
        NormalIndPower().solve_power(nobs1=1, alpha=0.05, power=0.8, ratio=0), rel=1e-4
    )
    # On t with few degrees of freedom (the area-level jackknife) the central-t sum is
    # Bloom's approximation to the exact non-central t answer: within 1% from 5 df.
    for df in (5, 10, 29):
        n = df + 1
        exact = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8) * math.sqrt(n)
        assert multiplier(df=df) == pytest.approx(exact, rel=0.01), df
    assert multiplier(df=10) > multiplier(df=29) > multiplier()


def test_minimum_detectable_reads_the_standard_error_from_the_interval():
    se = 0.09
    z = 1.959964
    d = minimum_detectable(0.9 * math.exp(-z * se), 0.9 * math.exp(z * se))
    assert d.log_se == pytest.approx(se, rel=1e-5)
    assert d.lower_rate_ratio == pytest.approx(math.exp(-2.8016 * se), rel=1e-4)
    assert d.higher_rate_ratio == pytest.approx(math.exp(2.8016 * se), rel=1e-4)
    # where the estimate lies does not matter, only how precise it is
    e = minimum_detectable(0.5 * math.exp(-z * se), 0.5 * math.exp(z * se))
    assert e.lower_rate_ratio == pytest.approx(d.lower_rate_ratio)
    # read as a t interval on 10 df, the same width is a smaller standard error
    from scipy import stats

    t = minimum_detectable(0.9 * math.exp(-z * se), 0.9 * math.exp(z * se), df=10)
    t975, t80 = stats.t.ppf(0.975, 10), stats.t.ppf(0.8, 10)
    assert t.log_se == pytest.approx(z * se / t975)
    assert t.lower_rate_ratio == pytest.approx(math.exp(-z * se * (t975 + t80) / t975))
    for bad in ((None, 1.2), (0.0, 1.2), (1.2, 0.9), (math.nan, 1.0)):
        out = minimum_detectable(*bad)
        assert math.isnan(out.lower_rate_ratio)
        assert out.as_dict()["lower_rate_ratio"] is None


def _quiet_placebo() -> Check:
    return Check("placebo", "placebo in time", 1.0, 0.9, 1.1, 0.9, 1.1, 0.95, events=500)


def test_no_clear_effect_says_what_it_could_have_found_and_a_benefit_does_not():
    d = minimum_detectable(0.85, 1.10)
    none = judge(0.97, 0.85, 1.10, label="emergency admissions", placebo=_quiet_placebo(),
                 negative_controls=[], max_abs_smd=0.05, detectable=d)  # fmt: skip
    assert none.verdict == "no_clear_effect"
    low = f"{d.lower_rate_ratio:.2f}"
    pct = round((1 - d.lower_rate_ratio) * 100)
    assert f"a rate ratio of {low} or below ({pct}% fewer emergency admissions)" in none.sentence
    assert f"{d.higher_rate_ratio:.2f} or above" in none.sentence
    assert "80% of the time" in none.sentence
    benefit = judge(0.75, 0.65, 0.87, label="emergency admissions", placebo=_quiet_placebo(),
                    negative_controls=[], max_abs_smd=0.05,
                    detectable=minimum_detectable(0.65, 0.87))  # fmt: skip
    assert benefit.verdict == "benefit" and "or below" not in benefit.sentence
