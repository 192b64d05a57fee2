"""How large an effect an evaluation could have found: its minimum detectable effect.

"No clear effect" means something only if the evaluation could have seen an effect worth
having. The minimum detectable effect (Bloom 1995) is the smallest true effect that a
design with a given standard error finds significant, at the two-sided level ``alpha``,
with probability ``power``:

    MDE = (z[1 - alpha / 2] + z[power]) * SE

about 2.80 standard errors for 80% power at the 5% level (3.24 for 90%), on the log scale
of a rate ratio here. The standard error is read from the estimate's own 95% interval,
``(log upper - log lower) / (2 z[0.975])``, so it is the precision of the design as run
(matching, shared comparison people, the bootstrap). With an interval built on a t
distribution (the area-level jackknife, ``df`` = units - 1), t quantiles replace the normal
ones: fewer units, a larger multiplier.

It is stated both ways, as the rate ratios the evaluation would reliably have found:
``exp(-MDE)`` for an improvement in an outcome where lower is better, ``exp(MDE)`` for a
worsening. An effect nearer to 1 than these may be real and still be missed more than
one time in five.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from joinedup.risk.verdict import ALPHA, rounded

#: The power the minimum detectable effect is stated at (the usual convention).
POWER = 0.8


def multiplier(power: float = POWER, alpha: float = ALPHA, df: int | None = None) -> float:
    """Standard errors in a minimum detectable effect: ``q(1 - alpha/2) + q(power)`` of
    the normal distribution, or of Student's t with ``df`` degrees of freedom."""
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError(f"power {power} and alpha {alpha}: expected numbers between 0 and 1")
    dist = stats.norm if df is None else stats.t(df)
    return float(dist.ppf(1 - alpha / 2) + dist.ppf(power))


@dataclass(frozen=True)
class Detectable:
    """The rate ratios an evaluation would have found with probability ``power``:
    ``lower_rate_ratio`` or below, ``higher_rate_ratio`` or above."""

    power: float
    lower_rate_ratio: float
    higher_rate_ratio: float
    #: The standard error of the log rate ratio it was read from.
    log_se: float
    #: Degrees of freedom of the t distribution of the interval (None: normal).
    df: int | None = None

    def as_dict(self) -> dict:
        """JSON-ready values, rounded to 4 decimals (None when not finite)."""
        return {
            "power": self.power,
            "lower_rate_ratio": rounded(self.lower_rate_ratio, 4),
            "higher_rate_ratio": rounded(self.higher_rate_ratio, 4),
            "log_se": rounded(self.log_se, 4),
            "df": self.df,
        }


def minimum_detectable(
    lower: float,
    upper: float,
    *,
    power: float = POWER,
    df: int | None = None,
    level_alpha: float = ALPHA,
) -> Detectable:
    """The minimum detectable effect of an estimate whose ``1 - level_alpha`` interval
    is ``lower`` to ``upper`` (normal, or t on ``df`` degrees of freedom); NaN when the
    interval is missing or not positive."""
    finite = all(v is not None and math.isfinite(v) and v > 0 for v in (lower, upper))
    if not finite or upper < lower:
        return Detectable(power, math.nan, math.nan, math.nan, df)
    dist = stats.norm if df is None else stats.t(df)
    se = (math.log(upper) - math.log(lower)) / (2 * float(dist.ppf(1 - level_alpha / 2)))
    m = multiplier(power, level_alpha, df) * se
    return Detectable(power, math.exp(-m), math.exp(m), se, df)
