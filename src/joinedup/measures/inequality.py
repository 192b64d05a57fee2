"""Inequality measures across deprivation groups: SII, RII and the Core20 gap, and the
MOVER comparison of two estimates (difference and ratio) the gap uses.

Method (PHE/OHID, as in Fingertips and the PHEindicatormethods ``phe_sii`` docs):

1. Order the groups from most deprived (IMD quintile or decile 1) to least deprived.
2. Give each group a relative rank: the midpoint of its share of the cumulative
   population, so rank 0 is the most deprived end and 1 the least deprived.
3. Regress the group values on relative rank, weighting by population (equivalent to
   PHE's square-root-of-population transformation).
4. SII is the slope: the modelled value at the least deprived end minus that at the
   most deprived end. RII is the ratio of those two modelled values (least / most).

Confidence intervals: by default simulation, as PHE does - each group's value is drawn
from a normal distribution with its standard error, the SII/RII recomputed, and the
percentiles taken - with a fixed seed so results are repeatable. ``method="analytic"``
gives the exact variance of the weighted slope instead (the slope is linear in the
group values), with a delta-method interval for the RII on the log scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from joinedup.measures.stats import Estimate, poisson_count_limits, z_value


@dataclass(frozen=True)
class InequalityResult:
    """SII and RII, each an :class:`~joinedup.measures.stats.Estimate`, plus the ranks."""

    sii: Estimate
    rii: Estimate
    ranks: np.ndarray
    intercept: float


def relative_ranks(populations: Sequence[float]) -> np.ndarray:
    """Cumulative population midpoints, groups ordered most deprived first (0..1 scale)."""
    pop = np.asarray(populations, dtype=float)
    if pop.ndim != 1 or len(pop) < 2 or np.any(pop <= 0):
        raise ValueError("need at least two deprivation groups, each with a population above 0")
    share = pop / pop.sum()
    return np.cumsum(share) - share / 2


def _wls_operators(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows giving intercept and slope of a weighted least-squares line as linear maps of y."""
    design = np.column_stack([np.ones_like(x), x])
    weighted = design.T * w
    return np.linalg.solve(weighted @ design, weighted)  # shape (2, groups)


def sii(
    values: Sequence[float],
    populations: Sequence[float],
    se: Sequence[float] | None = None,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    confidence: float = 0.95,
    method: str = "simulation",
    repetitions: int = 100_000,
    seed: int = 20240401,
) -> InequalityResult:
    """Slope and relative indices of inequality with confidence intervals.

    ``values`` (rates, proportions, ...) and ``populations`` are per deprivation group,
    most deprived first. Give each group's standard error ``se``, or its confidence
    limits ``lower``/``upper`` at ``confidence`` (se = (upper - lower) / (2z)).
    """
    y = np.asarray(values, dtype=float)
    x = relative_ranks(populations)
    if y.shape != x.shape:
        raise ValueError("values and populations must have one entry per deprivation group")
    if se is None:
        if lower is None or upper is None:
            raise ValueError("give se, or both lower and upper confidence limits")
        se = (np.asarray(upper, float) - np.asarray(lower, float)) / (2 * z_value(confidence))
    s = np.asarray(se, dtype=float)
    ops = _wls_operators(x, np.asarray(populations, dtype=float))
    at_most = ops[0]  # fitted value at rank 0 (most deprived) = intercept
    at_least = ops[0] + ops[1]  # fitted value at rank 1 (least deprived)
    intercept, slope = ops @ y
    rii_value = (intercept + slope) / intercept
    alpha = 1 - confidence

    if method == "simulation":
        rng = np.random.default_rng(seed)
        draws = y + rng.standard_normal((repetitions, len(y))) * s
        slopes = draws @ ops[1]
        riis = (draws @ at_least) / (draws @ at_most)
        q = [alpha / 2, 1 - alpha / 2]
        sii_lo, sii_hi = np.quantile(slopes, q)
        rii_lo, rii_hi = np.quantile(riis, q)
        name = f"simulation ({repetitions} draws, seed {seed})"
    elif method == "analytic":
        z = z_value(confidence)
        var = s**2
        half = z * np.sqrt(np.sum(ops[1] ** 2 * var))
        sii_lo, sii_hi = slope - half, slope + half
        a, b = intercept + slope, intercept  # least, most deprived fitted values
        var_log = (
            np.sum(at_least**2 * var) / a**2
            + np.sum(at_most**2 * var) / b**2
            - 2 * np.sum(at_least * at_most * var) / (a * b)
        )
        spread = z * np.sqrt(var_log)
        rii_lo, rii_hi = rii_value * np.exp(-spread), rii_value * np.exp(spread)
        name = "analytic"
    else:
        raise ValueError(f"method must be 'simulation' or 'analytic', got {method!r}")
    return InequalityResult(
        sii=Estimate(float(slope), float(sii_lo), float(sii_hi), confidence, name),
        rii=Estimate(float(rii_value), float(rii_lo), float(rii_hi), confidence, name),
        ranks=x,
        intercept=float(intercept),
    )


def rate_se(counts: Sequence[float], populations: Sequence[float], multiplier: float = 1000):
    """Standard errors of crude rates from counts, via their 95% Byar's/exact limits."""
    c = np.asarray(counts, dtype=float)
    n = np.asarray(populations, dtype=float)
    lo, hi = poisson_count_limits(c, 0.95)
    return (hi - lo) / (2 * z_value(0.95)) / n * multiplier


def mover_difference(first: Estimate, second: Estimate) -> Estimate:
    """``first - second`` with the MOVER interval (Zou & Donner 2008).

    Recovers the variance of each estimate from its own confidence limits, so the
    difference inherits their asymmetry:
    ``d - sqrt((v1 - l1)^2 + (u2 - v2)^2)`` to ``d + sqrt((u1 - v1)^2 + (v2 - l2)^2)``.
    With Wilson limits for two proportions this is Newcombe's (1998) method 10. The
    interval is at the estimates' confidence level (they must share it).
    """
    _same_level(first, second)
    (v1, l1, u1), (v2, l2, u2) = _parts(first), _parts(second)
    diff = v1 - v2
    lower = diff - np.sqrt((v1 - l1) ** 2 + (u2 - v2) ** 2)
    upper = diff + np.sqrt((u1 - v1) ** 2 + (v2 - l2) ** 2)
    return _estimate(diff, lower, upper, first.confidence, "MOVER difference")


def mover_ratio(first: Estimate, second: Estimate) -> Estimate:
    """``first / second`` with the MOVER-R interval (Donner & Zou 2012), for positive
    estimates.

    The closed form from each estimate's limits; missing where it is undefined, which
    happens only when an upper limit is more than twice its estimate (a handful of
    events).
    """
    _same_level(first, second)
    (v1, l1, u1), (v2, l2, u2) = _parts(first), _parts(second)
    product = v1 * v2
    with np.errstate(divide="ignore", invalid="ignore"):
        low_term = u2 * (2 * v2 - u2)
        up_term = l2 * (2 * v2 - l2)
        lower = (product - np.sqrt(product**2 - low_term * l1 * (2 * v1 - l1))) / low_term
        upper = (product + np.sqrt(product**2 - up_term * u1 * (2 * v1 - u1))) / up_term
        lower = np.where(low_term > 0, lower, np.nan)
        upper = np.where(up_term > 0, upper, np.nan)
        ratio = v1 / v2
    return _estimate(ratio, lower, upper, first.confidence, "MOVER-R ratio")


def _same_level(first: Estimate, second: Estimate) -> None:
    if first.confidence != second.confidence:
        raise ValueError(
            f"both estimates need one confidence level, not {first.confidence} and "
            f"{second.confidence}"
        )


def _parts(e: Estimate) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.asarray(x, dtype=float) for x in (e.value, e.lower, e.upper))  # type: ignore[return-value]


def _estimate(value, lower, upper, confidence: float, method: str) -> Estimate:
    """An Estimate of floats for scalar parts, of arrays otherwise."""
    if np.ndim(value) == 0:
        value, lower, upper = float(value), float(lower), float(upper)
    return Estimate(value, lower, upper, confidence, method)


@dataclass(frozen=True)
class Core20Gap:
    """Rates in the most deprived 20% and the rest, their ratio and difference."""

    core20_rate: Estimate
    rest_rate: Estimate
    ratio: Estimate
    difference: Estimate


def core20_gap(
    core20_count: float,
    core20_population: float,
    rest_count: float,
    rest_population: float,
    multiplier: float = 1000,
    confidence: float = 0.95,
) -> Core20Gap:
    """Gap between the Core20 (most deprived 20% nationally, IMD quintile 1) and the rest.

    Each rate carries its Byar's interval (exact below 10 events); the difference and
    the ratio get MOVER intervals from those limits (:func:`mover_difference`,
    :func:`mover_ratio`), as the measures' Core20 gaps do.
    """
    from joinedup.measures.stats import rate_ci

    if min(core20_count, rest_count) <= 0:
        raise ValueError("the Core20 gap needs at least one event in each group")
    core20 = rate_ci(core20_count, core20_population, multiplier, confidence)
    rest = rate_ci(rest_count, rest_population, multiplier, confidence)
    return Core20Gap(
        core20_rate=core20,
        rest_rate=rest,
        ratio=mover_ratio(core20, rest),
        difference=mover_difference(core20, rest),
    )


def core20_gap_from_quintiles(
    counts: Sequence[float], populations: Sequence[float], **kwargs: float
) -> Core20Gap:
    """Core20 gap from five IMD quintiles, most deprived (quintile 1) first."""
    c = np.asarray(counts, dtype=float)
    n = np.asarray(populations, dtype=float)
    if c.shape != (5,) or n.shape != (5,):
        raise ValueError("give exactly five quintile counts and populations, quintile 1 first")
    return core20_gap(c[0], n[0], c[1:].sum(), n[1:].sum(), **kwargs)
