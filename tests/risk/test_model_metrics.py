"""Risk model measures, checked against worked examples, pROC's published DeLong results and
independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from joinedup.risk.metrics import (
    auroc,
    auroc_difference,
    average_precision,
    brier,
    calibration_table,
    top_share,
)

from . import asah

pytestmark = pytest.mark.unit

Z95 = 1.959963984540054  # qnorm(0.975), as pROC uses


# --- DeLong's test, written independently from the papers ------------------------------


def _midranks(x: np.ndarray) -> np.ndarray:
    """Sun and Xu (2014), Algorithm 1: ranks 1..N in sorted order, each run of equal
    values given the mean of its positions."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j < len(x) and x[order[j]] == x[order[i]]:
            j += 1
        ranks[order[i:j]] = (i + 1 + j) / 2  # positions i+1 .. j share their mean
        i = j
    return ranks


def _fast_delong(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs of ``scores`` and their DeLong covariance matrix S = S10/m + S01/n, by Sun
    and Xu's fast algorithm (IEEE Signal Processing Letters 21(11):1389-93, 2014): with
    midranks T_Z of all, T_X of the m cases, T_Y of the n controls, the structural
    components are V10 = (T_Z[cases] - T_X)/n and V01 = 1 - (T_Z[controls] - T_Y)/m."""
    cases = np.asarray(y).astype(bool)
    m, n = int(cases.sum()), int((~cases).sum())
    aucs, v10, v01 = [], [], []
    for s in scores:
        x, yy = np.asarray(s, float)[cases], np.asarray(s, float)[~cases]
        tz = _midranks(np.concatenate([x, yy]))
        aucs.append(tz[:m].sum() / (m * n) - (m + 1) / (2 * n))
        v10.append((tz[:m] - _midranks(x)) / n)
        v01.append(1 - (tz[m:] - _midranks(yy)) / m)
    s10 = np.atleast_2d(np.cov(np.array(v10)))  # k x k, divisor m - 1
    s01 = np.atleast_2d(np.cov(np.array(v01)))
    return np.array(aucs), s10 / m + s01 / n


def _delong_by_definition(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The same from DeLong, DeLong and Clarke-Pearson (1988) directly: the kernel
    psi(X, Y) = 1, 1/2 or 0 as a case scores above, level with or below a control, over
    all m x n pairs (slow, so only to check the fast algorithm above)."""
    cases = np.asarray(y).astype(bool)
    m, n = int(cases.sum()), int((~cases).sum())
    v10, v01 = [], []
    for s in scores:
        x, yy = np.asarray(s, float)[cases], np.asarray(s, float)[~cases]
        psi = (x[:, None] > yy[None, :]) + 0.5 * (x[:, None] == yy[None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    aucs = np.array([v.mean() for v in v10])
    return aucs, np.atleast_2d(np.cov(np.array(v10))) / m + np.atleast_2d(np.cov(np.array(v01))) / n


def _tied_scores(seed: int, size: int, prevalence: float) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    y = rng.random(size) < prevalence
    signal = rng.normal(size=size)
    first = np.round(signal + 1.0 * y, 1)  # rounded: many ties within and across classes
    second = np.round(0.6 * signal + 0.5 * y + 0.8 * rng.normal(size=size), 1)
    return y, [first, second]


@pytest.mark.parametrize(("seed", "size", "prevalence"), [(1, 400, 0.3), (2, 3000, 0.08)])
def test_fast_delong_oracle_agrees_with_the_1988_definition(seed, size, prevalence):
    y, scores = _tied_scores(seed, size, prevalence)
    auc, cov = _fast_delong(y, scores)
    auc_def, cov_def = _delong_by_definition(y, scores)
    np.testing.assert_allclose(auc, auc_def, rtol=1e-12)
    np.testing.assert_allclose(cov, cov_def, rtol=1e-9)


@pytest.mark.parametrize(("seed", "size", "prevalence"), [(1, 400, 0.3), (2, 3000, 0.08)])
def test_auroc_and_paired_difference_match_independent_fast_delong(seed, size, prevalence):
    y, (first, second) = _tied_scores(seed, size, prevalence)
    auc, cov = _fast_delong(y, [first, second])
    value, lo, hi = auroc(y, first)
    assert value == pytest.approx(auc[0], rel=1e-12)
    assert lo > 0 and hi < 1  # not clipped, so the half-width is z x se
    assert (hi - lo) / (2 * Z95) == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-9)
    d, lo, hi = auroc_difference(y, first, second)
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])  # the paired variance
    assert d == pytest.approx(auc[0] - auc[1], rel=1e-12)
    assert (hi - lo) / (2 * Z95) == pytest.approx(se, rel=1e-9)
    assert (lo + hi) / 2 == pytest.approx(d, rel=1e-12)


# --- pROC's published results on its aSAH data (tests/risk/asah.py) -------------------
# pROC (https://github.com/xrobin/pROC, commit ee2877e8, version 1.19.0.1), its own tests:
# tests/testthat/test-roc.test.R (roc.test: DeLong's paired test, statistic and conf.int),
# test-ci.auc.R and test-var.R (ci.auc and var with method "delong"), where r.wfns etc.
# are roc(aSAH$outcome, aSAH$wfns) and so on (helper-rocs.R): cases are outcome "Poor".

ASAH_Y = np.array([o == "P" for o in asah.OUTCOME])
ASAH = {
    "wfns": np.array([float(g) for g in asah.WFNS]),
    "s100b": np.array(asah.S100B),
    "ndka": np.array(asah.NDKA),
}
# var(r.wfns), var(r.ndka), var(r.s100b): DeLong variances of each AUROC
PROC_VAR = {"wfns": 0.00146991470882363, "ndka": 0.0031908105493913, "s100b": 0.00266868245717244}
# roc.test(first, second): (Z, lower, upper) of AUC(first) - AUC(second)
PROC_ROC_TEST = [
    ("wfns", "s100b", 2.20898359144091, 0.0104061769564846, 0.174214419249478),
    ("wfns", "ndka", 2.79777591868904, 0.0634011709339876, 0.3600405634833566),
    ("ndka", "s100b", -1.39077002573558, -0.2876917446341914, 0.0488706064228094),
]


def test_asah_data_is_pROCs():
    # 113 patients, 41 with a poor outcome; AUROCs as pROC prints them (print_output/r.*)
    assert len(ASAH_Y) == 113 and ASAH_Y.sum() == 41
    assert all(len(v) == 113 for v in ASAH.values())
    assert round(auroc(ASAH_Y, ASAH["wfns"])[0], 4) == 0.8237
    assert round(auroc(ASAH_Y, ASAH["s100b"])[0], 4) == 0.7314


def test_auroc_interval_matches_proc_ci_auc():
    # test-ci.auc.R: ci.auc(r.ndka) = 0.501244999271703, 0.611957994579946, 0.722670989888189
    value, lo, hi = auroc(ASAH_Y, ASAH["ndka"])
    assert value == pytest.approx(0.611957994579946, rel=1e-9)
    assert lo == pytest.approx(0.501244999271703, rel=1e-9)
    assert hi == pytest.approx(0.722670989888189, rel=1e-9)


@pytest.mark.parametrize("name", sorted(PROC_VAR))
def test_auroc_variance_matches_proc_var(name):
    _, lo, hi = auroc(ASAH_Y, ASAH[name])
    assert ((hi - lo) / (2 * Z95)) ** 2 == pytest.approx(PROC_VAR[name], rel=1e-9)


@pytest.mark.parametrize(
    ("first", "second", "z", "lower", "upper"),
    PROC_ROC_TEST,
    ids=[f"{a}-{b}" for a, b, *_ in PROC_ROC_TEST],
)
def test_paired_difference_matches_proc_roc_test(first, second, z, lower, upper):
    d, lo, hi = auroc_difference(ASAH_Y, ASAH[first], ASAH[second])
    assert lo == pytest.approx(lower, rel=1e-9)
    assert hi == pytest.approx(upper, rel=1e-9)
    assert d / ((hi - lo) / (2 * Z95)) == pytest.approx(z, rel=1e-9)
    assert d == pytest.approx(auroc(ASAH_Y, ASAH[first])[0] - auroc(ASAH_Y, ASAH[second])[0])


def test_scikit_learn_documentation_example():
    # roc_auc_score and average_precision_score docs: y = [0, 0, 1, 1],
    # scores [0.1, 0.4, 0.35, 0.8] -> AUROC 0.75, average precision 0.8333...
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert auroc(y, s)[0] == pytest.approx(0.75)
    assert average_precision(y, s) == pytest.approx(0.8333333333)


def test_auroc_equals_mann_whitney_u_with_ties():
    rng = np.random.default_rng(3)
    y = rng.random(2000) < 0.2
    s = np.round(rng.normal(size=2000) + y, 1)  # many ties
    u = mannwhitneyu(s[y], s[~y]).statistic
    assert auroc(y, s)[0] == pytest.approx(u / (y.sum() * (~y).sum()))


def test_delong_interval_matches_bootstrap_spread():
    rng = np.random.default_rng(5)
    y = rng.random(3000) < 0.1
    s = rng.normal(size=3000) + 1.2 * y
    auc, lo, hi = auroc(y, s)
    boot = []
    for _ in range(400):
        i = rng.integers(0, 3000, 3000)
        boot.append(auroc(y[i], s[i])[0])
    assert (hi - lo) / (2 * 1.959964) == pytest.approx(np.std(boot), rel=0.15)
    assert lo < auc < hi


def test_paired_difference_is_zero_for_the_same_score_and_detects_a_better_one():
    rng = np.random.default_rng(9)
    y = rng.random(5000) < 0.15
    signal = rng.normal(size=5000)
    good = signal + 1.5 * y
    weak = signal + 0.5 * y + rng.normal(size=5000)
    d, lo, hi = auroc_difference(y, good, good)
    assert d == pytest.approx(0) and lo == pytest.approx(0) and hi == pytest.approx(0)
    d, lo, hi = auroc_difference(y, good, weak)
    assert d == pytest.approx(auroc(y, good)[0] - auroc(y, weak)[0])
    assert lo > 0


def test_brier_top_share_and_calibration_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    assert brier(y, p) == pytest.approx(np.mean((p - y) ** 2))
    t = top_share(y, p, 0.3)  # the top 3: 0.9 (1), 0.8 (0), 0.7 (1)
    assert t["flagged"] == 3 and t["ppv"] == pytest.approx(2 / 3)
    assert t["sensitivity"] == pytest.approx(2 / 3)
    table = calibration_table(y, p, bins=2)
    assert table[1, 1] == pytest.approx(3 / 5) and table[0, 1] == pytest.approx(0)
