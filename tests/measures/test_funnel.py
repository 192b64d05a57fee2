"""Funnel plot limits against PHE/OHID published test outputs and an independent tau²."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from joinedup.charts.funnel import plot_funnel
from joinedup.measures.funnel import (
    funnel_curve,
    overdispersion,
    proportion_funnel,
    proportion_limits,
    ratio_funnel,
    ratio_limits,
    winsorise,
)

pytestmark = pytest.mark.unit

# PHEindicatormethods tests/testthat/testdata_funnel_prop_outputs.csv (also shipped with
# DHSC's PHStatsMethods; GPL, used only as an oracle). Funnel limits in percent around a
# baseline of 80.642448% at each population size; "2s" is 95%, "3s" 99.8%.
#   population, lower_2s, upper_2s, lower_3s, upper_3s
PHE_PROPORTION_LIMITS = [
    (1, 3.204264, 100, 0, 100),
    (3, 35.933491, 100, 10.150815, 100),
    (18, 62.390093, 98.894803, 51.864359, 100),
    (41, 68.548635, 92.73626, 61.574398, 99.710497),
    (1008, 78.203374, 83.081521, 76.796814, 84.488082),
    (20742, 80.10476, 81.180135, 79.794688, 81.490208),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize(("n", "lo95", "hi95", "lo998", "hi998"), PHE_PROPORTION_LIMITS)
def test_proportion_limits_match_phe_funnel_outputs(n, lo95, hi95, lo998, hi998):
    target = 0.80642448
    lo, hi = proportion_limits(n, target, 0.95)
    assert (lo * 100, hi * 100) == pytest.approx((lo95, hi95), abs=2e-6)
    lo, hi = proportion_limits(n, target, 0.998)
    assert (lo * 100, hi * 100) == pytest.approx((lo998, hi998), abs=2e-6)


# PHEindicatormethods tests/testthat/testdata_funnel_ratio_outputs.csv: for observed O,
# the expected count E at which O lies on each exact Poisson limit and the ratio there
# (as a percentage). So at that E, our limit must equal the published ratio.
#   O, lower_2s_exp_events, lower_2s_isr, upper_2s_exp_events, upper_2s_isr,
#      lower_3s_exp_events, lower_3s_isr, upper_3s_exp_events, upper_3s_isr
PHE_RATIO_LIMITS = [
    (1, 5.571644585, 17.94802207, 0.025317898, 3949.774946,
     9.233410143, 10.83023482, 0.001000547, 99945.32721),
    (10, 18.39035799, 54.3763205, 4.795387629, 208.5337156,
     24.13397235, 41.43536693, 2.960519925, 337.778507),
    (100, 121.6268111, 82.21871402, 81.36400699, 122.9044681,
     134.9243187, 74.11562345, 71.92139974, 139.0406755),
    (716, 770.4222128, 92.93605352, 664.5083011, 107.7488421,
     802.60414, 89.20960712, 636.1521174, 112.5516964),
]  # fmt: skip


@pytest.mark.parametrize("row", PHE_RATIO_LIMITS, ids=lambda r: f"O={r[0]}")
def test_ratio_limits_match_phe_exact_poisson_funnel(row):
    _, e_lo95, isr_lo95, e_hi95, isr_hi95, e_lo998, isr_lo998, e_hi998, isr_hi998 = row
    # The published file holds about seven significant figures.
    assert ratio_limits(e_lo95, 0.95)[0] * 100 == pytest.approx(isr_lo95, rel=1e-5)
    assert ratio_limits(e_hi95, 0.95)[1] * 100 == pytest.approx(isr_hi95, rel=1e-5)
    assert ratio_limits(e_lo998, 0.998)[0] * 100 == pytest.approx(isr_lo998, rel=1e-5)
    assert ratio_limits(e_hi998, 0.998)[1] * 100 == pytest.approx(isr_hi998, rel=1e-4)


def test_ratio_funnel_flags_units_whose_exact_interval_excludes_one():
    # 30 observed against 15 expected: exact 99.8% lower limit of 30 events is about 15.9
    # > 15, so the unit is above both limits; 15 against 15 is within; 4 against
    # 12 has P(X <= 4 | 12) = 0.0076: below the 95% limit only.
    table = ratio_funnel([30, 15, 4], [15, 15, 12], units=["A", "B", "C"])
    a, b, c = (table.set_index("unit").loc[u] for u in "ABC")
    assert a["above_95"] and a["above_99.8"] and a["outlier"] == "above_99.8"
    assert b["outlier"] == "within" and not b["below_95"]
    assert c["below_95"] and not c["below_99.8"] and c["outlier"] == "below_95"
    assert table["z"].iloc[0] == pytest.approx(2 * (np.sqrt(30) - np.sqrt(15)))


def test_proportion_funnel_uses_pooled_target_and_names_outliers():
    table = proportion_funnel([50, 100, 10, 400], [500, 1000, 200, 2000], units=list("WXYZ"))
    assert table.attrs["target"] == pytest.approx(560 / 3700)
    flagged = table.set_index("unit")["outlier"]
    assert flagged["Y"] == "below_99.8"  # 5% against 15%: far below at n=200
    assert flagged["Z"] == "above_99.8"  # 20% at n=2000
    expected_cols = {
        "lower_95",
        "upper_95",
        "lower_99.8",
        "upper_99.8",
        "above_95",
        "below_95",
        "above_99.8",
        "below_99.8",
        "z",
        "value",
    }
    assert expected_cols <= set(table.columns)


def test_winsorising_pulls_extremes_to_the_10th_and_90th_percentiles():
    z = np.arange(1.0, 21.0)  # 1..20: percentiles (linear) 2.9 and 18.1
    out = winsorise(z, 0.1)
    assert out.min() == pytest.approx(2.9) and out.max() == pytest.approx(18.1)
    assert np.array_equal(out[3:17], z[3:17])


def test_tau2_without_winsorising_equals_dersimonian_laird():
    # Spiegelhalter (2005) eq. for tau² is the DerSimonian-Laird estimator when the
    # target is the precision-weighted mean (the pooled proportion) and nothing is
    # winsorised; statsmodels' meta-analysis module is the independent oracle.
    r = np.array([30, 45, 12, 80, 22, 60, 40, 15, 70, 5])
    n = np.array([200, 250, 100, 400, 150, 300, 260, 90, 280, 120])
    table = proportion_funnel(r, n, adjust_overdispersion=True, winsor_fraction=0)
    p0 = r.sum() / n.sum()
    oracle = combine_effects(r / n, p0 * (1 - p0) / n, method_re="dl")
    assert table.attrs["tau2"] == pytest.approx(oracle.tau2, rel=1e-9)
    assert table.attrs["phi"] * len(r) == pytest.approx(oracle.q, rel=1e-9)


def test_overdispersion_widens_limits_and_tau2_is_zero_without_it():
    rng = np.random.default_rng(1)
    n = rng.integers(200, 5000, size=60)
    spread = rng.normal(0, 0.05, size=60)  # true between-unit variation
    r = rng.binomial(n, np.clip(0.3 + spread, 0.01, 0.99))
    plain = proportion_funnel(r, n)
    adjusted = proportion_funnel(r, n, adjust_overdispersion=True)
    assert adjusted.attrs["phi"] > 1 and adjusted.attrs["tau2"] > 0
    assert (adjusted["upper_99.8"] >= plain["upper_99.8"]).all()
    assert adjusted["above_99.8"].sum() <= plain["above_99.8"].sum()
    _, tau2 = overdispersion(np.zeros(10), np.ones(10))
    assert tau2 == 0


def test_ratio_overdispersion_limits_on_square_root_scale():
    lo, hi = ratio_limits(100.0, 0.95, tau2=0.01)
    half = 1.959963984540054 * np.sqrt(1 / 400 + 0.01)
    assert (lo, hi) == pytest.approx(((1 - half) ** 2, (1 + half) ** 2))


def test_curve_spans_units_and_narrows_with_size():
    table = proportion_funnel([5, 50, 500], [20, 200, 2000])
    curve = funnel_curve(table)
    assert curve["size"].min() <= 20 and curve["size"].max() >= 2000
    width = curve["upper_95"] - curve["lower_95"]
    assert width.is_monotonic_decreasing


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="denominator"):
        proportion_funnel([5], [0])
    with pytest.raises(ValueError, match="units has 1 labels"):
        ratio_funnel([1, 2], [1, 2], units=["A"])


def test_plot_writes_svg_and_png_with_title(tmp_path):
    table = ratio_funnel([30, 15, 2, 40], [15, 15, 12, 38], units=["P1", "P2", "P3", "P4"])
    svg, png = plot_funnel(table, tmp_path / "admissions", title="Emergency admissions")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert '<svg role="img" aria-label="Emergency admissions"' in text
    assert "<title>Emergency admissions</title>" in text and "<desc>Funnel plot of 4" in text
    assert ">P1<" in text  # the outlier's label is real text, not glyph paths
