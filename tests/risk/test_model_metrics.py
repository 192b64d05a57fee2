"""Risk model measures, checked against worked examples and independent implementations."""

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

pytestmark = pytest.mark.unit


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
