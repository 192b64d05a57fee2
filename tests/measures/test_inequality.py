"""SII, RII and the Core20 gap against independent implementations (statsmodels) and
PHEindicatormethods' published SII test outputs (phe_outputs.py)."""

from __future__ import annotations

import numpy as np
import phe_outputs as phe
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.rates import confint_poisson_2indep

from joinedup.measures.inequality import (
    core20_gap,
    core20_gap_from_quintiles,
    mover_difference,
    mover_ratio,
    rate_se,
    relative_ranks,
    sii,
)
from joinedup.measures.stats import proportion_ci, rate_ci

pytestmark = pytest.mark.unit

# Quintile DSRs for 2010 from PHEindicatormethods tests/testthat/DSR_testdata.csv (GPL,
# used only as realistic input): quintile 1 (most deprived) first.
POPULATION = [1434002, 1450590, 1453827, 1440980, 1457780]
VALUE = [150.2200205, 131.0221747, 127.4954973, 130.494241, 135.4664241]
LOWER = [147.3194185, 128.3676972, 125.0421198, 128.2469515, 133.2469515]
UPPER = [153.1498241, 133.7051129, 129.975513, 132.7657553, 137.8657553]


def test_relative_rank_is_the_cumulative_population_midpoint():
    # phe_sii documentation example: quantile 1 holds 12% of the population -> rank 0.06;
    # quantile 2 holds 10% -> 0.12 + 0.10 / 2 = 0.17.
    ranks = relative_ranks([12, 10, 78])
    assert ranks[:2] == pytest.approx([0.06, 0.17])


@pytest.mark.parametrize("method", ["simulation", "analytic"])
@pytest.mark.parametrize("row", phe.SII_RESULTS, ids=lambda r: f"{r[0]}-{r[1]}")
def test_sii_and_rii_match_phe_published_outputs(row, method):
    # PHEindicatormethods testdata_SII.xlsx (phe_outputs.py): deciles of a normal quantity
    # with standard errors. The SII and RII are exact; PHE's limits come from its own
    # simulation, which its tests hold to a tolerance of 5%: here 2% of the interval width.
    area, confidence, value, rii, lo, hi, rii_lo, rii_hi = row
    populations, values, se = zip(*phe.SII_INPUTS[area], strict=True)
    result = sii(values, populations, se=se, confidence=confidence, method=method)
    assert result.sii.value == pytest.approx(value, rel=1e-12)
    assert result.rii.value == pytest.approx(rii, rel=1e-12)
    assert result.sii.lower == pytest.approx(lo, abs=0.02 * (hi - lo))
    assert result.sii.upper == pytest.approx(hi, abs=0.02 * (hi - lo))
    assert result.rii.lower == pytest.approx(rii_lo, abs=0.02 * (rii_hi - rii_lo))
    assert result.rii.upper == pytest.approx(rii_hi, abs=0.02 * (rii_hi - rii_lo))


def test_sii_and_rii_match_weighted_least_squares():
    result = sii(VALUE, POPULATION, lower=LOWER, upper=UPPER)
    ranks = relative_ranks(POPULATION)
    fit = sm.WLS(VALUE, sm.add_constant(ranks), weights=POPULATION).fit()
    intercept, slope = fit.params
    assert result.sii.value == pytest.approx(slope, rel=1e-10)
    assert result.intercept == pytest.approx(intercept, rel=1e-10)
    assert result.rii.value == pytest.approx((intercept + slope) / intercept, rel=1e-10)
    # Rates fall from the most to the least deprived end, so SII < 0 and RII < 1.
    assert result.sii.value < 0 and result.rii.value < 1


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_simulated_interval_agrees_with_analytic_variance(confidence):
    sim = sii(VALUE, POPULATION, lower=LOWER, upper=UPPER, confidence=confidence)
    exact = sii(
        VALUE, POPULATION, lower=LOWER, upper=UPPER, confidence=confidence, method="analytic"
    )
    width = exact.sii.upper - exact.sii.lower
    assert sim.sii.lower == pytest.approx(exact.sii.lower, abs=0.03 * width)
    assert sim.sii.upper == pytest.approx(exact.sii.upper, abs=0.03 * width)
    rii_width = exact.rii.upper - exact.rii.lower
    assert sim.rii.lower == pytest.approx(exact.rii.lower, abs=0.05 * rii_width)
    assert sim.rii.upper == pytest.approx(exact.rii.upper, abs=0.05 * rii_width)


def test_analytic_sii_interval_matches_wls_with_known_variances():
    # With the group variances known, the slope's variance is the WLS sandwich
    # (X'WX)^-1 X'W diag(se²) W X (X'WX)^-1, computed here with plain numpy.
    se = (np.array(UPPER) - np.array(LOWER)) / (2 * 1.959963984540054)
    x = np.column_stack([np.ones(5), relative_ranks(POPULATION)])
    w = np.diag(POPULATION).astype(float)
    bread = np.linalg.inv(x.T @ w @ x)
    cov = bread @ x.T @ w @ np.diag(se**2) @ w @ x @ bread
    half = 1.959963984540054 * np.sqrt(cov[1, 1])
    result = sii(VALUE, POPULATION, se=se, method="analytic")
    assert result.sii.upper - result.sii.value == pytest.approx(half, rel=1e-9)


def test_simulation_is_repeatable_with_its_seed():
    first = sii(VALUE, POPULATION, lower=LOWER, upper=UPPER, repetitions=2000)
    again = sii(VALUE, POPULATION, lower=LOWER, upper=UPPER, repetitions=2000)
    assert first.sii == again.sii and first.rii == again.rii


def test_flat_values_give_zero_sii():
    result = sii([5.0] * 10, [100] * 10, se=[0.5] * 10, method="analytic")
    assert result.sii.value == pytest.approx(0, abs=1e-12)
    assert result.rii.value == pytest.approx(1)


def test_sii_needs_standard_errors_or_limits():
    with pytest.raises(ValueError, match="se, or both"):
        sii(VALUE, POPULATION)


def test_core20_gap_matches_statsmodels_mover_with_exact_limits():
    # Below 10 events both rates have exact (Garwood) limits, as statsmodels' "exact-c":
    # the MOVER difference and MOVER-R ratio must then agree to rounding.
    gap = core20_gap(6, 1000, 9, 4000, multiplier=1)
    for compare, est in (("diff", gap.difference), ("ratio", gap.ratio)):
        lo, hi = confint_poisson_2indep(
            6, 1000, 9, 4000, method="mover", method_mover="exact-c", compare=compare
        )
        assert (est.lower, est.upper) == pytest.approx((lo, hi), rel=1e-9)
    assert gap.ratio.value == pytest.approx(6 / 1000 / (9 / 4000))


def test_core20_gap_with_byars_limits_is_close_to_the_exact_mover():
    # From 10 events the rates use Byar's approximation to the exact limits.
    gap = core20_gap(300, 10_000, 800, 40_000, multiplier=1000)
    lo, hi = confint_poisson_2indep(
        300, 10_000, 800, 40_000, method="mover", method_mover="exact-c", compare="ratio"
    )
    assert gap.ratio.value == pytest.approx(1.5)
    assert (gap.ratio.lower, gap.ratio.upper) == pytest.approx((lo, hi), rel=1e-4)
    lo, hi = confint_poisson_2indep(
        300, 10_000, 800, 40_000, method="mover", method_mover="exact-c", compare="diff"
    )
    assert gap.difference.value == pytest.approx(10.0)
    assert (gap.difference.lower, gap.difference.upper) == pytest.approx(
        (lo * 1000, hi * 1000), rel=1e-4
    )
    assert gap.core20_rate.value == pytest.approx(30.0)


def test_mover_difference_of_wilson_limits_is_newcombes_method_10():
    # Newcombe (1998) Table II example 56/70 - 48/80: method 10 gives 0.0524 to 0.3339;
    # statsmodels' "newcomb" is an independent implementation of the same method.
    d = mover_difference(proportion_ci(56, 70), proportion_ci(48, 80))
    lo, hi = confint_proportions_2indep(56, 70, 48, 80, method="newcomb", compare="diff")
    assert (d.lower, d.upper) == pytest.approx((lo, hi), rel=1e-9)
    assert (round(d.lower, 4), round(d.upper, 4)) == (0.0524, 0.3339)
    # Arrays work element by element.
    many = mover_difference(proportion_ci([56, 9], [70, 10]), proportion_ci([48, 3], [80, 10]))
    assert many.lower[0] == pytest.approx(d.lower)
    assert many.value[1] == pytest.approx(0.6)


def test_mover_ratio_is_missing_where_its_closed_form_is_undefined():
    # One event: the exact upper limit (5.57) is over twice the estimate.
    r = mover_ratio(rate_ci(10, 1000, 1), rate_ci(1, 1000, 1))
    assert r.value == pytest.approx(10.0)
    assert np.isnan(r.lower) and np.isfinite(r.upper)
    with pytest.raises(ValueError, match="confidence"):
        mover_ratio(rate_ci(10, 1000, 1, 0.95), rate_ci(10, 1000, 1, 0.998))


def test_core20_from_quintiles_pools_quintiles_two_to_five():
    gap = core20_gap_from_quintiles([50, 40, 30, 20, 10], [1000] * 5)
    assert gap.rest_rate.value == pytest.approx(100 / 4000 * 1000)
    assert gap.ratio.value == pytest.approx(50 / 25)


def test_rate_se_from_counts_is_close_to_poisson_se():
    # Half the (slightly asymmetric) Byar's interval width over z: within 2% of sqrt(O).
    se = rate_se([400], [100_000], multiplier=100_000)
    assert se[0] == pytest.approx(np.sqrt(400), rel=0.02)
