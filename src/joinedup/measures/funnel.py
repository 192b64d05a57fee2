"""Funnel plots for comparing units (practices, providers) on a proportion or a ratio.

Two kinds of funnel, both with 95% and 99.8% control limits around a target:

* :func:`proportion_funnel` - limits ``p0 ± z·sqrt(p0(1-p0)/n)``, clipped to [0, 1]
  (normal approximation to the binomial, the PHE/OHID Fingertips convention).
* :func:`ratio_funnel` - indirectly standardised ratios O/E with exact Poisson limits.
  Convention: a unit with expected count E is inside the upper limit when its
  observed count O is no more than the (continuous) value whose exact lower
  confidence limit, ``chi2(α/2, 2O)/2``, equals E; the lower limit likewise uses
  ``chi2(1-α/2, 2O+2)/2``. So a unit is flagged exactly when E lies outside the exact
  (Garwood) confidence interval of its observed count - the same test as its ISR
  confidence interval excluding 1, and the PHE/OHID funnel convention.

Optional over-dispersion adjustment follows Spiegelhalter (2005), "Handling
over-dispersion of performance indicators", Qual Saf Health Care 14:347-51:
10% winsorised z-scores, ``phi = mean(z_w²)``, additive random effect
``tau² = max(0, (I·phi - (I-1)) / (Σw - Σw²/Σw))`` with ``w = 1/s²``, and limits
``target ± z·sqrt(s² + tau²)``. Ratios use the square-root scale
(``y = sqrt(O/E)``, ``s = 1/(2·sqrt(E))``), as in Spiegelhalter's Table 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special as spc

from joinedup.measures.stats import STANDARD_LEVELS, z_value


def level_label(confidence: float) -> str:
    """Column-friendly label of a level: 0.95 -> "95", 0.998 -> "99.8"."""
    return f"{confidence * 100:g}"


# --- Over-dispersion -----------------------------------------------------------------


def winsorise(z: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """Pull the lowest and highest ``fraction`` of values in to the percentile values.

    Spiegelhalter (2005) winsorises 10% at each end. The cut points are the
    ``fraction`` and ``1 - fraction`` quantiles (linear interpolation).
    """
    z = np.asarray(z, dtype=float)
    lo, hi = np.quantile(z, [fraction, 1 - fraction])
    return np.clip(z, lo, hi)


def overdispersion(
    z: Sequence[float], s: Sequence[float], winsor_fraction: float = 0.1
) -> tuple[float, float]:
    """Return ``(phi, tau2)`` from z-scores and the within-unit standard errors ``s``.

    ``phi`` is the mean squared winsorised z-score; ``tau2`` the additive
    random-effects variance (0 when ``I·phi <= I-1``).
    """
    z = np.asarray(z, dtype=float)
    w = 1 / np.asarray(s, dtype=float) ** 2
    units = len(z)
    if units < 2:
        raise ValueError("over-dispersion needs at least two units")
    zw = winsorise(z, winsor_fraction) if winsor_fraction > 0 else z
    phi = float(np.mean(zw**2))
    tau2 = (units * phi - (units - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return phi, float(max(0.0, tau2))


# --- Limits --------------------------------------------------------------------------


def proportion_limits(
    denominator: Any, target: float, confidence: float, tau2: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits for a proportion at denominator(s) ``n``, clipped to [0, 1]."""
    n = np.asarray(denominator, dtype=float)
    s2 = target * (1 - target) / n
    half = z_value(confidence) * np.sqrt(s2 + tau2)
    return np.clip(target - half, 0, 1), np.clip(target + half, 0, 1)


def ratio_limits(
    expected: Any, confidence: float, target: float = 1.0, tau2: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits for an O/E ratio at expected count(s) E (exact Poisson limits).

    Without over-dispersion the limits are exact (see the module docstring). With
    ``tau2 > 0`` they are ``(sqrt(target) ± z·sqrt(1/(4E) + tau2))²`` on the square-root
    scale; ``target`` scales the expected counts (1 for a ratio against the reference).
    """
    e = np.asarray(expected, dtype=float) * target
    alpha = 1 - confidence
    if tau2 > 0:
        z = z_value(confidence)
        half = z * np.sqrt(1 / (4 * e) + tau2)
        root = np.sqrt(target)
        return np.clip(root - half, 0, None) ** 2, (root + half) ** 2
    # Continuous observed counts O at which E is the exact limit of O: the upper
    # funnel is O with Gamma(O).cdf(E) = α/2, the lower is O with Gamma(O+1).cdf(E) = 1-α/2.
    o_upper = spc.gdtrib(1.0, alpha / 2, e)
    with np.errstate(invalid="ignore"):
        o_lower = spc.gdtrib(1.0, 1 - alpha / 2, e) - 1
    o_lower = np.where(np.isfinite(o_lower), np.clip(o_lower, 0, None), 0.0)
    return o_lower / e * target, o_upper / e * target


# --- Per-unit tables -----------------------------------------------------------------


def _flags(frame: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    for level in levels:
        lab = level_label(level)
        frame[f"above_{lab}"] = frame["value"] > frame[f"upper_{lab}"]
        frame[f"below_{lab}"] = frame["value"] < frame[f"lower_{lab}"]
    widest = level_label(max(levels))
    narrowest = level_label(min(levels))
    frame["outlier"] = np.select(
        [
            frame[f"above_{widest}"],
            frame[f"below_{widest}"],
            frame[f"above_{narrowest}"],
            frame[f"below_{narrowest}"],
        ],
        [f"above_{widest}", f"below_{widest}", f"above_{narrowest}", f"below_{narrowest}"],
        default="within",
    )
    return frame


def _units(units: Sequence[Any] | None, size: int) -> list[Any]:
    if units is None:
        return list(range(size))
    units = list(units)
    if len(units) != size:
        raise ValueError(f"units has {len(units)} labels but there are {size} values")
    return units


def proportion_funnel(
    numerators: Sequence[float],
    denominators: Sequence[float],
    units: Sequence[Any] | None = None,
    target: float | None = None,
    levels: Sequence[float] = STANDARD_LEVELS,
    adjust_overdispersion: bool = False,
    winsor_fraction: float = 0.1,
) -> pd.DataFrame:
    """Funnel table for proportions, one row per unit.

    Columns: unit, numerator, denominator, value (proportion), z, lower_95, upper_95,
    lower_99.8, upper_99.8, above_95, below_95, above_99.8, below_99.8 and outlier
    (the most extreme flag, or "within"). ``target`` defaults to the pooled proportion.
    ``attrs`` holds target, phi, tau2, adjusted and kind; :func:`funnel_curve` gives
    points for drawing.
    """
    r = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    if r.shape != n.shape:
        raise ValueError("numerators and denominators must be the same length")
    if np.any(n <= 0) or np.any(r < 0) or np.any(r > n):
        raise ValueError("each unit needs 0 <= numerator <= denominator and denominator > 0")
    p0 = float(r.sum() / n.sum()) if target is None else float(target)
    if not 0 < p0 < 1:
        raise ValueError(f"target proportion must be strictly between 0 and 1, got {p0}")
    y = r / n
    s = np.sqrt(p0 * (1 - p0) / n)
    z = (y - p0) / s
    phi, tau2 = overdispersion(z, s, winsor_fraction) if adjust_overdispersion else (1.0, 0.0)
    frame = pd.DataFrame(
        {"unit": _units(units, len(r)), "numerator": r, "denominator": n, "value": y, "z": z}
    )
    for level in levels:
        lo, hi = proportion_limits(n, p0, level, tau2)
        frame[f"lower_{level_label(level)}"] = lo
        frame[f"upper_{level_label(level)}"] = hi
    if adjust_overdispersion:
        frame["z_adjusted"] = (y - p0) / np.sqrt(s**2 + tau2)
    frame = _flags(frame, levels)
    frame.attrs.update(
        kind="proportion",
        target=p0,
        phi=phi,
        tau2=tau2,
        adjusted=adjust_overdispersion,
        levels=tuple(levels),
    )
    return frame


def ratio_funnel(
    observed: Sequence[float],
    expected: Sequence[float],
    units: Sequence[Any] | None = None,
    levels: Sequence[float] = STANDARD_LEVELS,
    adjust_overdispersion: bool = False,
    winsor_fraction: float = 0.1,
) -> pd.DataFrame:
    """Funnel table for indirectly standardised ratios O/E (target 1), one row per unit.

    Same columns as :func:`proportion_funnel` with ``observed`` and ``expected`` in place
    of numerator and denominator. z is Spiegelhalter's square-root z-score
    ``2(sqrt(O) - sqrt(E))``. Multiply value and limits by 100 for an SMR-style scale.
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if o.shape != e.shape:
        raise ValueError("observed and expected must be the same length")
    if np.any(e <= 0) or np.any(o < 0):
        raise ValueError("each unit needs observed >= 0 and expected > 0")
    y = o / e
    z = 2 * (np.sqrt(o) - np.sqrt(e))
    s = 1 / (2 * np.sqrt(e))
    phi, tau2 = overdispersion(z, s, winsor_fraction) if adjust_overdispersion else (1.0, 0.0)
    frame = pd.DataFrame(
        {"unit": _units(units, len(o)), "observed": o, "expected": e, "value": y, "z": z}
    )
    for level in levels:
        lo, hi = ratio_limits(e, level, tau2=tau2)
        frame[f"lower_{level_label(level)}"] = lo
        frame[f"upper_{level_label(level)}"] = hi
    if adjust_overdispersion:
        frame["z_adjusted"] = (np.sqrt(y) - 1) / np.sqrt(s**2 + tau2)
    frame = _flags(frame, levels)
    frame.attrs.update(
        kind="ratio",
        target=1.0,
        phi=phi,
        tau2=tau2,
        adjusted=adjust_overdispersion,
        levels=tuple(levels),
    )
    return frame


def funnel_curve(frame: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    """Points to draw the funnel of a table from :func:`proportion_funnel`/:func:`ratio_funnel`.

    Returns ``size`` (denominator or expected count, log-spaced from just under the
    smallest unit to just over the largest) with lower/upper columns per level.
    """
    kind, target, tau2 = frame.attrs["kind"], frame.attrs["target"], frame.attrs["tau2"]
    size_col = "denominator" if kind == "proportion" else "expected"
    sizes = frame[size_col].to_numpy(dtype=float)
    start = max(sizes.min() * 0.8, 1e-3 if kind == "ratio" else 1.0)
    grid = np.geomspace(start, sizes.max() * 1.1, points)
    curve = pd.DataFrame({"size": grid})
    for level in frame.attrs["levels"]:
        if kind == "proportion":
            lo, hi = proportion_limits(grid, target, level, tau2)
        else:
            lo, hi = ratio_limits(grid, level, tau2=tau2)
        curve[f"lower_{level_label(level)}"] = lo
        curve[f"upper_{level_label(level)}"] = hi
    return curve


__all__ = [
    "funnel_curve",
    "overdispersion",
    "proportion_funnel",
    "proportion_limits",
    "ratio_funnel",
    "ratio_limits",
    "winsorise",
]
