"""Discrimination and calibration measures for a risk model.

AUROC with DeLong's variance (DeLong, DeLong and Clarke-Pearson 1988, computed with
mid-ranks as in Sun and Xu 2014), average precision (the step-wise area under the
precision-recall curve, as scikit-learn computes it), the Brier score, and positive
predictive value and sensitivity for the people with the highest scores.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

TOP_SHARES = (0.005, 0.01, 0.05)


def auroc(y: np.ndarray, score: np.ndarray) -> tuple[float, float, float]:
    """AUROC and its 95% confidence interval (DeLong); ties count one half."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, float)
    pos, neg = score[y], score[~y]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        return float("nan"), float("nan"), float("nan")
    r_all = rankdata(np.concatenate([pos, neg]))
    v10 = (r_all[:m] - rankdata(pos)) / n
    v01 = 1 - (r_all[m:] - rankdata(neg)) / m
    auc = v10.mean()
    se = np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n) if m > 1 and n > 1 else np.nan
    z = norm.ppf(0.975)
    return float(auc), float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se))


def _delong_components(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = score[y], score[~y]
    m, n = len(pos), len(neg)
    r_all = rankdata(np.concatenate([pos, neg]))
    return (r_all[:m] - rankdata(pos)) / n, 1 - (r_all[m:] - rankdata(neg)) / m


def auroc_difference(
    y: np.ndarray, first: np.ndarray, second: np.ndarray
) -> tuple[float, float, float]:
    """AUROC of ``first`` minus that of ``second`` on the same people, with the 95% CI of
    DeLong's paired test (the two scores' covariance counted)."""
    y = np.asarray(y).astype(bool)
    a10, a01 = _delong_components(y, np.asarray(first, float))
    b10, b01 = _delong_components(y, np.asarray(second, float))
    d10, d01 = a10 - b10, a01 - b01
    diff = d10.mean()
    se = np.sqrt(d10.var(ddof=1) / len(d10) + d01.var(ddof=1) / len(d01))
    z = norm.ppf(0.975)
    return float(diff), float(diff - z * se), float(diff + z * se)


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision: sum over score thresholds of (gain in recall) x precision."""
    y = np.asarray(y).astype(bool)
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-np.asarray(score, float), kind="stable")
    s, yy = np.asarray(score, float)[order], y[order]
    tp = np.cumsum(yy)
    # Only the last position of each run of tied scores is a threshold.
    last = np.r_[s[1:] != s[:-1], True]
    tp, k = tp[last], np.flatnonzero(last) + 1
    precision, recall = tp / k, tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared difference between predicted probability and outcome."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def top_share(y: np.ndarray, score: np.ndarray, share: float) -> dict:
    """PPV and sensitivity when the top ``share`` of people by score are flagged.

    Ties at the cut-off are broken by order (people are flagged, not thresholds).
    """
    y = np.asarray(y).astype(bool)
    k = max(1, round(share * len(y)))
    top = np.argsort(-np.asarray(score, float), kind="stable")[:k]
    hits = int(y[top].sum())
    return {
        "share": share,
        "flagged": k,
        "ppv": hits / k,
        "sensitivity": hits / y.sum() if y.sum() else float("nan"),
    }


def summary(y: np.ndarray, p: np.ndarray) -> dict:
    """Every measure the model card reports, for predictions ``p`` of outcomes ``y``."""
    auc, lo, hi = auroc(y, p)
    out = {
        "n": len(y),
        "events": int(np.sum(y)),
        "auroc": auc,
        "auroc_lower": lo,
        "auroc_upper": hi,
        "average_precision": average_precision(y, p),
        "brier": brier(y, p),
        "observed": float(np.mean(y)),
        "expected": float(np.mean(p)),
    }
    for share in TOP_SHARES:
        t = top_share(y, p, share)
        out[f"ppv_top_{share:g}"] = t["ppv"]
        out[f"sensitivity_top_{share:g}"] = t["sensitivity"]
    return out


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> np.ndarray:
    """Mean predicted and observed risk in ``bins`` equal-sized groups by prediction."""
    order = np.argsort(np.asarray(p, float), kind="stable")
    groups = np.array_split(order, bins)
    return np.array([[np.mean(p[g]), np.mean(y[g])] for g in groups if len(g)])
