"""The arithmetic of opportunity: indirect standardisation, benchmarks and gaps.

Pure pandas on small frames (one row per unit and stratum); the warehouse counting
lives in :mod:`joinedup.opportunity.counts`. docs/opportunity.md explains the method.

Indirect standardisation: the reference rate of each stratum (age band x sex, with
IMD quintile when deprivation is adjusted for) is the pooled rate over all units.
A unit's expected count ``E`` is its denominator in each stratum times the reference
rate, summed; its standardised ratio is ``O / E``. The benchmark is a ratio ``B``
(best quartile of the units' ratios, the mean of the best five of ten similar peers,
or a target) and the unit's count at benchmark is ``B x E``. The gap is
``O - B x E`` when lower is better (``B x E - O`` when higher is better), never below
zero: units already at or beyond their benchmark have no opportunity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from joinedup.measures.stats import poisson_count_limits

#: Strata of the standardisation: age-sex, and IMD quintile when adjusting for deprivation.
AGE_SEX = ("age_band", "sex")
AGE_SEX_DEPRIVATION = ("age_band", "sex", "imd_quintile")

#: Units with fewer expected events than this do not set the best-quartile benchmark
#: (their ratios are mostly noise); they are still compared with it.
MIN_EXPECTED_FOR_BENCHMARK = 10.0

#: Best five of ten most similar peers (as NHS RightCare / Commissioning for Value).
PEER_COUNT = 10
BEST_PEERS = 5

BENCHMARKS = ("best_quartile", "peers", "target")
MOST_DEPRIVED_QUINTILE = "1"


class OpportunityError(ValueError):
    """A request for an opportunity analysis that cannot be met; the message says why."""


def reference_rates(strata: pd.DataFrame, adjust: Sequence[str]) -> pd.DataFrame:
    """Pooled rate per stratum over every unit: sum of observed / sum of denominator."""
    ref = strata.groupby(list(adjust), as_index=False, observed=True)[
        ["observed", "denominator"]
    ].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref["reference_rate"] = np.where(
            ref["denominator"] > 0, ref["observed"] / ref["denominator"], 0.0
        )
    return ref[[*adjust, "reference_rate"]]


def with_expected(strata: pd.DataFrame, adjust: Sequence[str]) -> pd.DataFrame:
    """``strata`` with ``expected`` = denominator x the stratum's reference rate."""
    out = strata.merge(reference_rates(strata, adjust), on=list(adjust), how="left")
    out["expected"] = out["denominator"] * out["reference_rate"].fillna(0.0)
    return out


def standardise(strata: pd.DataFrame, adjust: Sequence[str] = AGE_SEX) -> pd.DataFrame:
    """Observed, denominator, expected and ratio O/E per unit (indirect standardisation).

    ``strata`` has ``unit``, the ``adjust`` columns, ``observed`` and ``denominator``.
    The expected counts sum to the observed total (the reference is the units pooled).
    """
    missing = [c for c in ("unit", *adjust, "observed", "denominator") if c not in strata]
    if missing:
        raise OpportunityError(f"strata lack column(s) {', '.join(missing)}")
    e = with_expected(strata, adjust)
    units = e.groupby("unit", as_index=False)[["observed", "denominator", "expected"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        units["ratio"] = np.where(
            units["expected"] > 0, units["observed"] / units["expected"], np.nan
        )
    return units.sort_values("unit").reset_index(drop=True)


def best_quartile_ratio(
    units: pd.DataFrame, direction: str, min_expected: float = MIN_EXPECTED_FOR_BENCHMARK
) -> float:
    """The standardised ratio at the best quartile of units (25th percentile if lower
    is better, 75th if higher), over units with at least ``min_expected`` expected events
    (all units when fewer than four qualify). Linear interpolation between units."""
    eligible = units[(units["expected"] >= min_expected) & units["ratio"].notna()]
    if len(eligible) < 4:
        eligible = units[units["ratio"].notna()]
    if eligible.empty:
        raise OpportunityError("no unit has any expected events: nothing to compare")
    q = 0.25 if direction == "decrease" else 0.75
    return float(np.quantile(eligible["ratio"].to_numpy(dtype=float), q))


def peer_ratios(
    units: pd.DataFrame, peers: Mapping[str, Sequence[str]], direction: str, best: int = BEST_PEERS
) -> pd.Series:
    """Per unit: the mean standardised ratio of the best ``best`` of its peers."""
    ratio = units.set_index("unit")["ratio"]
    out = {}
    for unit in units["unit"]:
        values = (
            ratio.reindex(list(peers.get(unit, ())))
            .dropna()
            .sort_values(ascending=direction == "decrease")
        )
        if values.empty:
            raise OpportunityError(f"unit {unit!r} has no peers with a standardised ratio")
        out[unit] = float(values.iloc[:best].mean())
    return pd.Series(out, name="benchmark_ratio")


def gaps(
    units: pd.DataFrame,
    benchmark_ratio: float | pd.Series,
    direction: str,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Add ``benchmark_ratio``, ``benchmark_expected`` and the gap with its interval.

    ``avoidable`` = observed - B x E (lower is better) or B x E - observed (higher is
    better), floored at zero. ``avoidable_lower``/``avoidable_upper`` replace the
    observed count by its exact (Garwood) Poisson limits: they show how much of the gap
    a small unit's chance variation could explain, not the uncertainty of the benchmark.
    """
    if direction not in ("decrease", "increase"):
        raise OpportunityError(f"direction must be decrease or increase, not {direction!r}")
    out = units.copy()
    if isinstance(benchmark_ratio, pd.Series):
        out["benchmark_ratio"] = out["unit"].map(benchmark_ratio).astype(float)
    else:
        out["benchmark_ratio"] = float(benchmark_ratio)
    out["benchmark_expected"] = out["benchmark_ratio"] * out["expected"]
    o = out["observed"].to_numpy(dtype=float)
    lo, hi = poisson_count_limits(o, confidence, exact_below=np.inf)
    b = out["benchmark_expected"].to_numpy(dtype=float)
    if direction == "decrease":
        gap, gap_lo, gap_hi = o - b, lo - b, hi - b
    else:
        gap, gap_lo, gap_hi = b - o, b - hi, b - lo
    out["avoidable"] = np.maximum(gap, 0.0)
    out["avoidable_lower"] = np.maximum(gap_lo, 0.0)
    out["avoidable_upper"] = np.maximum(gap_hi, 0.0)
    return out


def deprived_share(
    strata: pd.DataFrame,
    adjust: Sequence[str],
    benchmark_ratio: float | pd.Series,
    direction: str,
) -> pd.Series:
    """Per unit: the share of its gap that lies among residents of the most deprived
    fifth (IMD quintile 1). The unit's gap is split between quintiles in proportion to
    each quintile's own positive gap (observed against its benchmark-expected count);
    zero for a unit with no gap overall."""
    e = with_expected(strata, adjust)
    by = e.groupby(["unit", "imd_quintile"], as_index=False)[["observed", "expected"]].sum()
    if isinstance(benchmark_ratio, pd.Series):
        b = by["unit"].map(benchmark_ratio).astype(float)
    else:
        b = float(benchmark_ratio)
    gap = by["observed"] - b * by["expected"]
    signed = gap if direction == "decrease" else -gap
    by["excess"] = np.maximum(signed, 0.0)
    by["net"] = signed
    by["q1_excess"] = np.where(
        by["imd_quintile"].astype(str) == MOST_DEPRIVED_QUINTILE, by["excess"], 0
    )
    per = by.groupby("unit")[["excess", "q1_excess", "net"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        # A unit with no gap overall has no share, whatever its quintiles' excesses.
        share = np.where(
            (per["excess"] > 0) & (per["net"] > 0), per["q1_excess"] / per["excess"], 0.0
        )
    return pd.Series(share, index=per.index, name="most_deprived_share")
