"""Statistics against published worked examples, PHEindicatormethods' published test outputs
(phe_outputs.py) and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import phe_outputs as phe
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from joinedup.measures.stats import (
    dsr,
    dsr_from_sums,
    expected_events,
    isr,
    mean_ci,
    poisson_count_limits,
    proportion_ci,
    rate_ci,
    z_value,
)

pytestmark = pytest.mark.unit

#: Relative tolerance against PHEindicatormethods' published outputs (phe_outputs.py):
#: they are doubles, and the same formulas agree to about 1e-15.
PUBLISHED = 1e-12


# --- Wilson score intervals -----------------------------------------------------------

# Newcombe RG (1998) "Two-sided confidence intervals for the single proportion:
# comparison of seven methods", Stat Med 17:857-872, Table I, method 3 (Wilson score).
NEWCOMBE_TABLE_I = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0000),
]


@pytest.mark.parametrize(("r", "n", "lower", "upper"), NEWCOMBE_TABLE_I)
def test_wilson_matches_newcombe_1998_table_i(r, n, lower, upper):
    est = proportion_ci(r, n)
    assert est.value == pytest.approx(r / n)
    assert est.lower == pytest.approx(lower, abs=5e-5)
    assert est.upper == pytest.approx(upper, abs=5e-5)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_arrays_match_statsmodels(confidence):
    r = np.array([0, 1, 7, 50, 333, 999])
    n = np.array([10, 10, 80, 120, 1000, 1000])
    est = proportion_ci(r, n, confidence)
    lo, hi = proportion_confint(r, n, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(est.lower, lo, atol=1e-12)
    np.testing.assert_allclose(est.upper, hi, atol=1e-12)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("row", phe.PROPORTION_RESULTS, ids=lambda r: f"{r[0]}-x{r[3]}")
def test_proportions_match_phe_published_outputs(row, confidence):
    # PHEindicatormethods testdata_Proportion.xlsx, sheet testdata_Prop
    _, numerator, denominator, multiplier, value, lo95, hi95, lo998, hi998 = row
    est = proportion_ci(numerator, denominator, confidence)
    lower, upper = (lo95, hi95) if confidence == 0.95 else (lo998, hi998)
    assert est.value * multiplier == pytest.approx(value, rel=PUBLISHED)
    assert est.lower * multiplier == pytest.approx(lower, rel=PUBLISHED)
    assert est.upper * multiplier == pytest.approx(upper, rel=PUBLISHED)


def test_proportion_arrays_match_phe_published_grouped_outputs():
    # sheet testdata_Prop_g: every numerator and denominator doubled, 95%, as one array
    columns = zip(*phe.PROPORTION_GROUPED_RESULTS, strict=True)
    _, r, n, value, lower, upper = (np.array(c) for c in columns)
    est = proportion_ci(r.astype(float), n.astype(float))
    np.testing.assert_allclose(est.value, value.astype(float), rtol=PUBLISHED)
    np.testing.assert_allclose(est.lower, lower.astype(float), rtol=PUBLISHED)
    np.testing.assert_allclose(est.upper, upper.astype(float), rtol=PUBLISHED)


@pytest.mark.parametrize("row", phe.WILSON_RESULTS, ids=lambda r: f"{r[0]}of{r[1]}-{r[2]}")
def test_wilson_limits_match_phe_published_outputs(row):
    # PHEindicatormethods testdata_Byars_Wilson.xlsx (wilson_lower / wilson_upper),
    # including a fractional numerator (0.445 of 1)
    numerator, denominator, confidence, lower, upper = row
    est = proportion_ci(numerator, denominator, confidence)
    assert est.lower == pytest.approx(lower, rel=PUBLISHED)
    assert est.upper == pytest.approx(upper, rel=PUBLISHED)


def test_proportion_with_zero_denominator_is_missing_and_bad_input_is_refused():
    est = proportion_ci(np.array([0, 1]), np.array([0, 4]))
    assert math.isnan(est.value[0]) and est.value[1] == 0.25
    with pytest.raises(ValueError, match="exceed"):
        proportion_ci(5, 4)


# --- Rates: exact Poisson below 10, Byar's from 10 ------------------------------------


def _exact_poisson_limits(count: int, confidence: float) -> tuple[float, float]:
    """Independent oracle: invert the Poisson distribution function numerically."""
    tail = (1 - confidence) / 2
    lower = (
        0.0
        if count == 0
        else optimize.brentq(lambda m: sps.poisson.sf(count - 1, m) - tail, 1e-12, 10 * count + 50)
    )
    upper = optimize.brentq(lambda m: sps.poisson.cdf(count, m) - tail, 1e-12, 10 * count + 50)
    return lower, upper


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 9])
def test_rate_below_ten_events_is_exact_poisson(count, confidence):
    est = rate_ci(count, 2500, multiplier=1000, confidence=confidence)
    lower, upper = _exact_poisson_limits(count, confidence)
    assert est.value == pytest.approx(count / 2.5)
    assert est.lower == pytest.approx(lower / 2.5, rel=1e-7, abs=1e-12)
    assert est.upper == pytest.approx(upper / 2.5, rel=1e-7)


def test_byars_matches_published_example_for_100_events():
    # Worked example of Byar's method (Breslow & Day 1987) published with the "byar"
    # Ruby gem: 100 observed events -> upper count limit 121.628347 and lower limit
    # 0.9040199 x 90 expected = 81.3618 (both with z = 1.96).
    est = rate_ci(100, 1, multiplier=1)
    assert est.upper == pytest.approx(121.628347271806, rel=2e-5)
    assert est.lower == pytest.approx(0.9040199067337297 * 90, rel=2e-5)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@given(count=st.integers(min_value=10, max_value=5000))
def test_byars_is_within_published_accuracy_of_exact(confidence, count):
    # PHE Technical Guide: Confidence Intervals (2018), Appendix 1: Byar's method is
    # within 0.2% of the exact limits for 10+ events at 95%. At 99.8% it is less
    # accurate for small counts (1.5% at 10 events), so we only hold it to 2% there.
    est = rate_ci(count, 1, multiplier=1, confidence=confidence)
    lower, upper = _exact_poisson_limits(count, confidence)
    tolerance = 0.002 if confidence == 0.95 else 0.02
    assert est.lower == pytest.approx(lower, rel=tolerance)
    assert est.upper == pytest.approx(upper, rel=tolerance)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("row", phe.RATE_RESULTS, ids=lambda r: f"{r[0]}-per-{r[3]}")
def test_rates_match_phe_published_outputs(row, confidence):
    # PHEindicatormethods testdata_Rate.xlsx, sheet testdata_Rate: exact below 10 events
    # (Area1, Area2), Byar's from 10, a numerator above its denominator (Area12)
    _, count, denominator, multiplier, value, lo95, hi95, lo998, hi998 = row
    est = rate_ci(count, denominator, multiplier=multiplier, confidence=confidence)
    lower, upper = (lo95, hi95) if confidence == 0.95 else (lo998, hi998)
    assert est.value == pytest.approx(value, rel=PUBLISHED)
    assert est.lower == pytest.approx(lower, rel=PUBLISHED)
    assert est.upper == pytest.approx(upper, rel=PUBLISHED)


def test_rate_arrays_match_phe_published_grouped_outputs():
    # sheet testdata_Rate_g: counts and denominators doubled, per 100,000, 95%, one array
    columns = zip(*phe.RATE_GROUPED_RESULTS, strict=True)
    _, count, n, value, lower, upper = (np.array(c) for c in columns)
    est = rate_ci(count.astype(float), n.astype(float), multiplier=100_000)
    np.testing.assert_allclose(est.value, value.astype(float), rtol=PUBLISHED)
    np.testing.assert_allclose(est.lower, lower.astype(float), rtol=PUBLISHED)
    np.testing.assert_allclose(est.upper, upper.astype(float), rtol=PUBLISHED)


@pytest.mark.parametrize("row", phe.BYARS_RESULTS, ids=lambda r: f"{r[0]}-{r[1]}")
def test_byars_limits_match_phe_published_outputs(row):
    # PHEindicatormethods testdata_Byars_Wilson.xlsx (byars_lower / byars_upper): Byar's
    # formula at every count, so the exact limits are switched off (exact_below=0)
    observed, confidence, lower, upper = row
    lo, hi = poisson_count_limits(observed, confidence, exact_below=0)
    if lower is not None:
        assert float(lo) == pytest.approx(lower, rel=PUBLISHED)
    assert float(hi) == pytest.approx(upper, rel=PUBLISHED)


def test_rate_arrays_switch_method_at_ten_events():
    counts = np.array([9, 10])
    est = rate_ci(counts, np.array([1000, 1000]))
    exact9 = _exact_poisson_limits(9, 0.95)
    z = z_value(0.95)
    byar10 = 10 * (1 - 1 / 90 - z / (3 * math.sqrt(10))) ** 3
    assert est.lower[0] == pytest.approx(exact9[0])
    assert est.lower[1] == pytest.approx(byar10)


@given(
    count=st.integers(min_value=0, max_value=10_000),
    extra=st.integers(min_value=1, max_value=1_000_000),
)
def test_rate_interval_contains_value_and_998_contains_95(count, extra):
    denominator = count + extra
    narrow = rate_ci(count, denominator)
    wide = rate_ci(count, denominator, confidence=0.998)
    assert narrow.lower <= narrow.value <= narrow.upper
    assert wide.lower <= narrow.lower and narrow.upper <= wide.upper


@given(
    numerator=st.integers(min_value=0, max_value=10_000),
    extra=st.integers(min_value=0, max_value=10_000),
)
def test_proportion_interval_contains_value_and_998_contains_95(numerator, extra):
    n = numerator + extra
    if n == 0:
        return
    narrow = proportion_ci(numerator, n)
    wide = proportion_ci(numerator, n, confidence=0.998)
    assert 0 <= wide.lower <= narrow.lower <= narrow.value <= narrow.upper <= wide.upper <= 1


# --- Directly standardised rates (Dobson) ---------------------------------------------


def test_dsr_with_one_band_is_the_crude_rate_with_byars_interval():
    # With a single band the Dobson interval reduces algebraically to Byar's interval
    # of the crude rate (PHE Technical Guide, Appendix 4).
    est = dsr([150], [200_000], [1])
    crude = rate_ci(150, 200_000, multiplier=100_000)
    assert (est.value, est.lower, est.upper) == pytest.approx(
        (crude.value, crude.lower, crude.upper)
    )


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("row", phe.DSR_RESULTS, ids=lambda r: f"{r[0]}-per-{r[1]}")
def test_dsr_matches_phe_published_outputs(row, confidence):
    # PHEindicatormethods' testresults_DSR (tests/measures/phe_outputs.py): 19 ESP 2013
    # bands (testdata_1976: 18 bands, ESP 1976), value and both limits at 95% and 99.8%.
    area, multiplier, total, *published = row
    if area == "testdata_1976":
        counts, pops, standard = phe.DSR_1976_COUNTS, phe.DSR_1976_POPULATION, phe.ESP1976
    else:
        counts, pops, standard = phe.MULTIAREA_COUNTS[area], phe.MULTIAREA_POPULATION, phe.ESP2013
    assert sum(counts) == total
    value, lower, upper = published[:3] if confidence == 0.95 else published[:1] + published[3:]
    est = dsr(counts, pops, standard, multiplier=multiplier, confidence=confidence)
    if value is None:  # PHE withholds the DSR below 10 events, as we do
        assert est.suppressed and math.isnan(est.value) and math.isnan(est.upper)
        return
    assert not est.suppressed
    assert est.value == pytest.approx(value, rel=PUBLISHED)
    if lower is None:  # testdata_1976 at 99.8%: not published (see phe_outputs.py)
        return
    assert est.lower == pytest.approx(lower, rel=PUBLISHED)
    assert est.upper == pytest.approx(upper, rel=PUBLISHED)


def test_dsr_is_suppressed_below_ten_events():
    est = dsr([3, 4, 2], [1000, 1000, 1000], [1, 1, 1])
    assert est.suppressed and math.isnan(est.value) and math.isnan(est.lower)


def test_dsr_rejects_misaligned_bands():
    with pytest.raises(ValueError, match="same length"):
        dsr([1, 2], [10, 20, 30], [1, 1, 1])


# --- Indirectly standardised ratios ---------------------------------------------------

# PHEindicatormethods tests/testthat/testdata_funnel_ratio_outputs.csv (GPL, used only as
# an oracle): for observed O, the expected counts at which O sits on the 95% ("2s") and
# 99.8% ("3s") exact limits - i.e. the exact confidence limits of O.
#   O, lower_2s_exp_events, upper_2s_exp_events, lower_3s_exp_events, upper_3s_exp_events
PHE_EXACT_COUNT_LIMITS = [
    (1, 5.571644585, 0.025317898, 9.233410143, 0.001000547),
    (2, 7.224687515, 0.242209467, 11.22886836, 0.04540199),
    (5, 11.6683331, 1.623486324, 16.45474478, 0.739371928),
    (9, 17.08479966, 4.11537405, 22.65737951, 2.452425215),
]


@pytest.mark.parametrize(("o", "up95", "lo95", "up998", "lo998"), PHE_EXACT_COUNT_LIMITS)
def test_isr_small_counts_match_phe_exact_limits(o, up95, lo95, up998, lo998):
    expected = 4.0
    est95 = isr(o, expected)
    est998 = isr(o, expected, confidence=0.998)
    assert est95.value == pytest.approx(o / expected)

    # The published file holds about seven significant figures (and its tiniest limit,
    # 0.001000547 for O=1 at 99.8%, differs from the exact -ln(0.999) in the 5th).
    def close(expected_count):
        return pytest.approx(expected_count, rel=1e-5, abs=1e-7)

    assert est95.lower * expected == close(lo95)
    assert est95.upper * expected == close(up95)
    assert est998.lower * expected == close(lo998)
    assert est998.upper * expected == close(up998)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("row", phe.ISR_RESULTS, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_isr_matches_phe_published_outputs(row, confidence):
    # PHEindicatormethods testdata_DSR_ISR.xlsx, sheet testresults_ISR: expected events from
    # the reference rates by band; ratios x 1 and x 100; indirectly standardised rates
    # (ratio x the reference's crude rate) per 100,000 and per 1,000
    area, kind, scale, observed, expected, ref_rate, *published = row
    bands = phe.ISR_AREAS[area]
    assert sum(c for c, _ in bands) == observed
    e = expected_events(
        [n for _, n in bands], [c for c, _ in phe.ISR_REFERENCE], [n for _, n in phe.ISR_REFERENCE]
    )
    assert e == pytest.approx(expected, rel=PUBLISHED)
    reference = scale
    if kind == "rate":
        ref_count, ref_pop = (sum(col) for col in zip(*phe.ISR_REFERENCE, strict=True))
        reference = ref_count / ref_pop * scale
        assert reference == pytest.approx(ref_rate, rel=PUBLISHED)
    value, lower, upper = published[:3] if confidence == 0.95 else published[:1] + published[3:]
    est = isr(observed, e, reference=reference, confidence=confidence)
    assert est.value == pytest.approx(value, rel=PUBLISHED)
    assert est.lower == pytest.approx(lower, rel=PUBLISHED)
    assert est.upper == pytest.approx(upper, rel=PUBLISHED)


def test_isr_reference_scales_to_smr():
    est = isr(np.array([120.0]), np.array([100.0]), reference=100)
    assert est.value[0] == pytest.approx(120)
    assert est.lower[0] < 120 < est.upper[0]


# --- Means ----------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_mean_from_sums_matches_statsmodels_t_interval(confidence):
    rng = np.random.default_rng(4)
    groups = [rng.gamma(2.0, 3.0, size=k) for k in (2, 5, 40, 400)]
    n = np.array([len(g) for g in groups])
    total = np.array([g.sum() for g in groups])
    total_sq = np.array([(g**2).sum() for g in groups])
    est = mean_ci(n, total, total_sq, confidence)
    for i, g in enumerate(groups):
        lo, hi = DescrStatsW(g).tconfint_mean(alpha=1 - confidence)
        assert est.value[i] == pytest.approx(g.mean())
        assert est.lower[i] == pytest.approx(lo, rel=1e-9)
        assert est.upper[i] == pytest.approx(hi, rel=1e-9)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("row", phe.MEAN_RESULTS, ids=lambda r: r[0])
def test_means_match_phe_published_outputs(row, confidence):
    # PHEindicatormethods testdata_Mean.xlsx: Student's t from the values of each area
    area, total, n, sd, value, lo95, hi95, lo998, hi998 = row
    x = np.array(
        phe.MEAN_VALUES[area] if area in phe.MEAN_VALUES else sum(phe.MEAN_VALUES.values(), ())
    )
    assert (len(x), x.sum(), x.std(ddof=1)) == (n, pytest.approx(total), pytest.approx(sd))
    est = mean_ci(len(x), x.sum(), (x**2).sum(), confidence)
    lower, upper = (lo95, hi95) if confidence == 0.95 else (lo998, hi998)
    assert est.value == pytest.approx(value, rel=PUBLISHED)
    # from count, sum and sum of squares, as the engine aggregates: 1e-12 still holds
    assert est.lower == pytest.approx(lower, rel=PUBLISHED)
    assert est.upper == pytest.approx(upper, rel=PUBLISHED)


def test_mean_of_one_value_has_no_interval():
    est = mean_ci(1, 4.0, 16.0)
    assert est.value == 4.0 and math.isnan(est.lower)


def test_confidence_must_be_a_fraction():
    with pytest.raises(ValueError, match=r"between 0\.5 and 1"):
        proportion_ci(1, 2, confidence=95)


def test_dsr_from_sums_finalises_many_areas_like_dsr_one_at_a_time():
    areas = [([20, 40, 60], [10_000, 8_000, 4_000]), ([1, 2, 3], [900, 800, 700])]
    weights = np.array([5_000, 3_000, 2_000])
    sums = [
        (sum(c), sum(weights * np.array(c) / n), sum(weights**2 * np.array(c) / np.array(n) ** 2))
        for c, n in areas
    ]
    o, rate_sum, var_sum = (np.array(col, dtype=float) for col in zip(*sums, strict=True))
    many = dsr_from_sums(o, rate_sum, var_sum, np.full(2, weights.sum()))
    one = dsr(*areas[0], weights)
    assert (many.value[0], many.lower[0], many.upper[0]) == pytest.approx(
        (one.value, one.lower, one.upper)
    )
    assert many.suppressed.tolist() == [False, True] and math.isnan(many.value[1])
