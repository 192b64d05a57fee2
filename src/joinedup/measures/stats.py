"""Public-health statistics with confidence intervals.

The methods follow the PHE/OHID "Technical Guide: Confidence Intervals" (2018) as used
on Fingertips; docs/statistics.md gives each formula and its source.

Every function accepts plain numbers or numpy arrays / pandas Series (aligned
element-wise), so the measure engine can finalise a whole results frame at once.
Scalars in give floats out; arrays in give numpy arrays out. Empty cells
(denominator 0, n < 2 for a mean) give NaN rather than an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# scipy.special, not scipy.stats (half a second to import): the functions scipy.stats's
# chi2, t and norm quantiles call, so the same numbers.
from scipy import special as sc

#: Confidence levels the platform reports: 95% and 99.8% (the "2 and 3 sigma" of funnels).
STANDARD_LEVELS = (0.95, 0.998)

#: Below this many events rates use the exact Poisson interval, and DSRs are suppressed.
SMALL_COUNT = 10


@dataclass(frozen=True)
class Estimate:
    """A statistic with its confidence interval.

    ``value``, ``lower`` and ``upper`` are floats for scalar input and numpy arrays for
    array input. ``suppressed`` is True (or an array of flags) where the value was
    withheld, ``method`` names the interval method used.
    """

    value: Any
    lower: Any
    upper: Any
    confidence: float
    method: str
    suppressed: Any = False


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile: 1.959964 for 0.95, 3.090232 for 0.998."""
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be between 0.5 and 1 (e.g. 0.95), got {confidence!r}")
    return float(sc.ndtri(1 - (1 - confidence) / 2))


def _arrays(*values: Any) -> tuple[bool, list[np.ndarray]]:
    scalar = all(np.ndim(v) == 0 for v in values)
    return scalar, [np.asarray(v, dtype=float) for v in values]


def _out(scalar: bool, arr: np.ndarray) -> Any:
    return float(arr) if scalar else arr


def _check_non_negative(name: str, arr: np.ndarray) -> None:
    if np.any(arr < 0):
        raise ValueError(f"{name} must not be negative (got {arr[arr < 0][:3].tolist()})")


def poisson_count_limits(
    count: Any, confidence: float = 0.95, exact_below: int = SMALL_COUNT
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for an observed Poisson count.

    Exact (chi-square, Garwood) limits below ``exact_below`` events, Byar's
    approximation at or above it. Returns (lower, upper) as arrays of counts.
    """
    o = np.asarray(count, dtype=float)
    _check_non_negative("count", o)
    alpha = 1 - confidence
    z = z_value(confidence)
    small = np.atleast_1d(o < exact_below)
    s = np.atleast_1d(o)[small]  # the exact limits only where used: they are slow
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.atleast_1d(o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3)
        upper = np.atleast_1d((o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3)
        # Chi-square quantiles: chi2.ppf(q, 2k) / 2 is gammaincinv(k, q).
        lower[small] = np.where(s > 0, sc.gammaincinv(s, alpha / 2), 0.0)
        upper[small] = sc.gammaincinv(s + 1, 1 - alpha / 2)
    return lower.reshape(o.shape), upper.reshape(o.shape)


def proportion_ci(numerator: Any, denominator: Any, confidence: float = 0.95) -> Estimate:
    """Proportion with Wilson score interval (Wilson 1927; Newcombe 1998 method 3).

    Values are proportions (0-1); multiply by 100 for a percentage.
    """
    scalar, (r, n) = _arrays(numerator, denominator)
    _check_non_negative("numerator", r)
    _check_non_negative("denominator", n)
    if np.any(r > n):
        raise ValueError("numerator must not exceed denominator for a proportion")
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = r / n
        centre = 2 * r + z**2
        spread = z * np.sqrt(z**2 + 4 * r * (1 - p))
        denom = 2 * (n + z**2)
        lower = (centre - spread) / denom
        upper = (centre + spread) / denom
    # Pin the end points exactly (floating error can leave 0.9999999999999998).
    lower = np.where(r == 0, 0.0, np.clip(lower, 0, 1))
    upper = np.where(r == n, 1.0, np.clip(upper, 0, 1))
    empty = n == 0
    p, lower, upper = (np.where(empty, np.nan, a) for a in (p, lower, upper))
    return Estimate(_out(scalar, p), _out(scalar, lower), _out(scalar, upper), confidence, "wilson")


def rate_ci(
    count: Any, denominator: Any, multiplier: float = 1000, confidence: float = 0.95
) -> Estimate:
    """Crude rate per ``multiplier`` with Byar's interval (exact Poisson below 10 events)."""
    scalar, (o, n) = _arrays(count, denominator)
    _check_non_negative("denominator", n)
    lo, hi = poisson_count_limits(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, multiplier / n, np.nan)
    method = "exact_poisson" if scalar and o < SMALL_COUNT else "byar"
    if not scalar:
        method = "byar (exact poisson below 10 events)"
    return Estimate(
        _out(scalar, o * scale),
        _out(scalar, lo * scale),
        _out(scalar, hi * scale),
        confidence,
        method,
    )


def dsr(
    counts: Sequence[float],
    populations: Sequence[float],
    standard_populations: Sequence[float],
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> Estimate:
    """Directly standardised rate with Dobson's interval, one area.

    The three sequences are aligned by age (and sex) band. The value and limits are
    NaN, and ``suppressed`` True, when the total count is under 10 (PHE convention).
    Dobson et al. (1991): DSR ± scaled difference between the Byar's limits of the
    total count and the total count.
    """
    c, n, w = (np.asarray(x, dtype=float) for x in (counts, populations, standard_populations))
    if not (c.shape == n.shape == w.shape) or c.ndim != 1:
        raise ValueError(
            "counts, populations and standard_populations must be 1-D and the same length "
            f"(got {c.shape}, {n.shape}, {w.shape})"
        )
    _check_non_negative("counts", c)
    if np.any(n <= 0):
        raise ValueError("every age band needs a population above zero")
    est = dsr_from_sums(
        c.sum(), (w * c / n).sum(), (w**2 * c / n**2).sum(), w.sum(), multiplier, confidence
    )
    return Estimate(
        float(est.value),
        float(est.lower),
        float(est.upper),
        confidence,
        "dobson",
        suppressed=bool(est.suppressed),
    )


def dsr_from_sums(
    total_count: Any,
    weighted_rate_sum: Any,
    weighted_variance_sum: Any,
    standard_total: Any,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> Estimate:
    """Directly standardised rates with Dobson intervals from per-area sums (vectorised).

    For each area give ``O = Σ c_i``, ``Σ w_i·c_i/n_i``, ``Σ w_i²·c_i/n_i²`` and ``Σ w_i``
    over its age bands (the warehouse can aggregate these in one GROUP BY). Areas with
    fewer than 10 events get NaN and ``suppressed`` True.
    """
    o, rate_sum, var_sum, w_total = (
        np.asarray(x, dtype=float)
        for x in (total_count, weighted_rate_sum, weighted_variance_sum, standard_total)
    )
    value = rate_sum / w_total
    var = var_sum / w_total**2
    lo_count, hi_count = poisson_count_limits(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.sqrt(var / o)
    lower = value + half * (lo_count - o)
    upper = value + half * (hi_count - o)
    suppressed = o < SMALL_COUNT
    value, lower, upper = (
        np.where(suppressed, np.nan, a * multiplier) for a in (value, lower, upper)
    )
    return Estimate(value, lower, upper, confidence, "dobson", suppressed=suppressed)


def isr(observed: Any, expected: Any, reference: float = 1.0, confidence: float = 0.95) -> Estimate:
    """Indirectly standardised ratio O/E (times ``reference``, e.g. 100 for an SMR).

    Limits come from the observed count: exact Poisson below 10 events, Byar's above,
    each divided by the expected count.
    """
    scalar, (o, e) = _arrays(observed, expected)
    if np.any(e <= 0):
        raise ValueError("expected counts must be above zero for a standardised ratio")
    lo, hi = poisson_count_limits(o, confidence)
    factor = reference / e
    return Estimate(
        _out(scalar, o * factor),
        _out(scalar, lo * factor),
        _out(scalar, hi * factor),
        confidence,
        "byar (exact poisson below 10 events)",
    )


def expected_events(
    populations: Sequence[float], reference_counts: Sequence[float], reference_populations: Any
) -> float:
    """Expected events for an ISR: local population × reference rate, summed over bands."""
    n, rc, rp = (
        np.asarray(x, dtype=float) for x in (populations, reference_counts, reference_populations)
    )
    return float((n * rc / rp).sum())


def mean_ci(n: Any, total: Any, total_sq: Any, confidence: float = 0.95) -> Estimate:
    """Mean with Student's t interval from count, sum and sum of squares.

    The engine aggregates ``n``, ``sum(x)`` and ``sum(x²)`` per group in the warehouse;
    the sample standard deviation is recovered from them. NaN where n < 2.
    """
    scalar, (k, s, ss) = _arrays(n, total, total_sq)
    alpha = 1 - confidence
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / k
        # Clip tiny negative variances caused by floating-point cancellation.
        var = np.clip((ss - k * mean**2) / (k - 1), 0, None)
        t = sc.stdtrit(k - 1, 1 - alpha / 2)  # Student's t quantile
        half = t * np.sqrt(var / k)
    ok = k >= 2
    lower = np.where(ok, mean - half, np.nan)
    upper = np.where(ok, mean + half, np.nan)
    mean = np.where(k >= 1, mean, np.nan)
    return Estimate(
        _out(scalar, mean), _out(scalar, lower), _out(scalar, upper), confidence, "student_t"
    )
