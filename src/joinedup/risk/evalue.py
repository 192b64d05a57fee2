"""Sensitivity to unmeasured confounding: the E-value (VanderWeele and Ding 2017).

The E-value of a rate ratio is the smallest strength of association, on the risk-ratio
scale, that an unmeasured confounder would need with both the programme and the outcome
(beyond the measured features) to move the estimate to no effect. For a ratio ``RR >= 1``

    E = RR + sqrt(RR * (RR - 1))

and a ratio below 1 is first inverted (``1 / RR``): a protective ratio of 0.80 is as
fragile as a harmful one of 1.25. The E-value of the confidence interval is that of the
limit nearer to 1 (the upper limit of a protective ratio, the lower of a harmful one), and
1 when the interval contains 1: no confounding at all is needed to reach a ratio the data
already allow.

Worked examples of the paper and of its R package ``EValue`` (``evalues.RR``), checked in
``tests/risk/test_evaluate_falsification.py``: 3.9 (1.8 to 8.7) gives 7.26 and 3.0; the
smoking and lung cancer ratio 10.73 (8.02 to 14.36) gives 20.95 and 15.52; 0.80 (0.71 to
0.91) gives 1.81 and 1.43.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


def e_value(rate_ratio: float) -> float:
    """The E-value of one rate (or risk) ratio; 1 at 1, NaN when not a positive number."""
    if rate_ratio is None or not math.isfinite(rate_ratio) or rate_ratio <= 0:
        return math.nan
    rr = 1.0 / rate_ratio if rate_ratio < 1 else rate_ratio
    return rr + math.sqrt(rr * (rr - 1.0))


@dataclass(frozen=True)
class EValue:
    """The E-value of an estimate and of its interval's limit nearer to no effect."""

    point: float
    limit: float
    #: Which limit ``limit`` is the E-value of: "upper" (a ratio below 1), "lower" (above
    #: 1) or None when the interval contains 1 (then ``limit`` is 1).
    limit_used: str | None

    def as_dict(self) -> dict:
        """JSON-ready values, rounded to 4 decimals (NaN becomes None)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else round(v, 4))
            if isinstance(v, float)
            else v
            for k, v in asdict(self).items()
        }


def e_values(rate_ratio: float, lower: float, upper: float) -> EValue:
    """E-values of ``rate_ratio`` and of whichever of ``lower`` and ``upper`` is nearer
    to 1 (1 if the interval contains 1)."""
    point = e_value(rate_ratio)
    if not all(v is not None and math.isfinite(v) for v in (rate_ratio, lower, upper)):
        return EValue(point, math.nan, None)
    if lower <= 1.0 <= upper:
        return EValue(point, 1.0, None)
    if upper < 1.0:
        return EValue(point, e_value(upper), "upper")
    return EValue(point, e_value(lower), "lower")
