"""Statistical process control in the NHS England "Making Data Count" style (XmR charts).

`xmr` reimplements, from the published rules, what the NHS-R Community's NHSRplotthedots
package (0.2.x) computes, point for point. The rules, the choices where the guidance leaves
room, and a worked example are in docs/spc.md.

Limits of each period (the whole series, or the stretch between two user-given change points):

- mean: the mean of the baseline points (all points, or the first ``fix_after_n_points``);
- moving ranges: |x[i] - x[i-1]| between neighbours inside the baseline; with screening on,
  moving ranges at or above 3.267 x their mean are dropped, once, before the mean moving
  range is taken again;
- process limits: mean +/- 2.66 x mean moving range; "2 sigma" lines: mean +/- 1.7733 x mean
  moving range (two thirds of the way out).

Special-cause rules, checked inside each period, highest priority first:

1. ``outside_limits``: a point above the upper or below the lower process limit;
2. ``trend``: every point of 7 or more consecutive points each strictly higher (or lower)
   than the one before (a tie breaks it);
3. ``two_of_three``: in any 3 consecutive points all on one side of the mean, at least 2 are
   beyond the 2-sigma line on that side: those points. ``"nhsr"`` counts only points between
   the 2-sigma line and the limit, as NHSRplotthedots does; ``"mdc2023"`` (the 2023 Making
   Data Count revision) also counts points beyond the limit;
4. ``run``: every point of 7 or more consecutive points on one side of the mean (a point on
   the mean breaks it).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd

LIMIT_FACTOR = 2.66  # 3 / d2 with d2 = 1.128 for moving ranges of two
TWO_SIGMA_FACTOR = 2 * LIMIT_FACTOR / 3  # 1.7733...
SCREEN_FACTOR = 3.267  # D4 for n = 2: the upper limit of the moving range chart
RUN_LENGTH = 7
TREND_LENGTH = 7
ADVISED_BASELINE = 12  # fix_after_n_points below this warns, as NHSRplotthedots does
TRIAL_LIMIT_POINTS = 13  # a period with fewer points than this has trial limits

IMPROVEMENTS = ("increase", "decrease", "neutral")
TWO_OF_THREE_FORMS = ("nhsr", "mdc2023")
RULES = ("outside_limits", "trend", "two_of_three", "run")

Improvement = Literal["increase", "decrease", "neutral"]


class SPCWarning(UserWarning):
    """Advice about an SPC chart: trial limits, or a short fixed baseline."""


def xmr(
    values: Sequence[float] | np.ndarray | pd.Series,
    improvement: Improvement = "increase",
    target: float | None = None,
    rebase_at: Sequence[int] | None = None,
    screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
    *,
    x: Sequence[Any] | None = None,
    two_of_three: Literal["nhsr", "mdc2023"] = "nhsr",
) -> pd.DataFrame:
    """Compute an XmR (individuals) chart with Making Data Count special-cause rules.

    Args:
        values: the measure, one value per period in time order, no gaps. Missing values
            (None/NaN) keep their row but take no part: they have no moving range on either
            side, do not count towards the mean, and the rules run over the observed points
            (a gap neither breaks nor extends a run or trend).
        improvement: which direction is better: "increase", "decrease" or "neutral".
        target: optional target; drives the assurance icon (None for neutral measures).
        rebase_at: 0-based positions where a new period of limits starts (change points
            the user decides on; limits are never recalculated automatically).
        screen_outliers: drop moving ranges >= 3.267 x their mean before the limits.
        fix_after_n_points: compute each period's limits from its first n points only
            (n >= 12 advised: fewer warns; n < 2 is an error) and extend them.
        x: optional labels (dates, month names) for the points; default 0..n-1.
        two_of_three: "nhsr" (default, as NHSRplotthedots) or "mdc2023" (also counts
            points beyond the process limits towards "two of three beyond 2 sigma").

    Returns:
        One row per point with columns ``x``, ``value``, ``moving_range``, ``mean``,
        ``lower_limit``, ``upper_limit``, ``lower_2sigma``, ``upper_2sigma``, ``period``,
        ``target``, ``special_cause``, ``special_cause_improving``,
        ``special_cause_concerning``, ``rule`` (the highest-priority rule that fired, or
        None) and ``point_type``. ``attrs`` holds ``variation_icon``, ``assurance_icon``,
        ``trial_limits``, ``warnings``, ``rules`` and ``improvement``.
    """
    y = _as_values(values)
    n = len(y)
    _check_options(improvement, two_of_three, fix_after_n_points, target)
    labels = _as_labels(x, n)
    starts = _period_starts(rebase_at, n)

    advice: list[str] = []
    if fix_after_n_points is not None and fix_after_n_points < ADVISED_BASELINE:
        advice.append(
            f"fix_after_n_points={fix_after_n_points}: a baseline of at least "
            f"{ADVISED_BASELINE} points is advised"
        )

    cols = {
        name: np.full(n, np.nan)
        for name in ("moving_range", "mean", "lower_limit", "upper_limit", "lower_2sigma")
    }
    cols["upper_2sigma"] = np.full(n, np.nan)
    period = np.zeros(n, dtype=int)
    rule = np.full(n, None, dtype=object)
    direction = np.zeros(n, dtype=int)  # +1 high / increasing, -1 low / decreasing
    trial_periods: list[int] = []

    bounds = [*starts, n] if n else []  # no values: an empty frame, no periods
    for p, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        period[lo:hi] = p
        seg = y[lo:hi]
        mr = np.concatenate([[np.nan], np.abs(np.diff(seg))])
        cols["moving_range"][lo:hi] = mr
        limits = _limits(seg, mr, screen_outliers, fix_after_n_points)
        for name, value in limits.items():
            if name != "n_baseline":
                cols[name][lo:hi] = value
        n_observed = int(np.count_nonzero(~np.isnan(seg)))
        if n_observed < TRIAL_LIMIT_POINTS:
            trial_periods.append(p)
            advice.append(
                f"period {p} (points {lo}-{hi - 1}) has {n_observed} points: its limits are "
                f"trial limits (fewer than {TRIAL_LIMIT_POINTS})"
            )
        observed = np.flatnonzero(~np.isnan(seg)) + lo
        seg_rule, seg_dir = _classify(y[observed], limits, two_of_three)
        rule[observed] = seg_rule
        direction[observed] = seg_dir

    special = np.array([r is not None for r in rule], dtype=bool)
    sign = {"increase": 1, "decrease": -1, "neutral": 0}[improvement]
    improving = special & (direction * sign > 0)
    concerning = special & (direction * sign < 0)

    frame = pd.DataFrame(
        {
            "x": labels,
            "value": y,
            **cols,
            "period": period,
            "target": np.full(n, np.nan if target is None else float(target)),
            "special_cause": special,
            "special_cause_improving": improving,
            "special_cause_concerning": concerning,
            "rule": pd.Series(rule, dtype=object),
            "point_type": [
                _point_type(s, d, sign) for s, d in zip(special, direction, strict=True)
            ],
        }
    )
    for message in advice:
        warnings.warn(message, SPCWarning, stacklevel=2)
    frame.attrs.update(
        {
            "variation_icon": variation_icon(frame, improvement),
            "assurance_icon": assurance_icon(frame, improvement, target),
            "trial_limits": bool(trial_periods),
            "trial_periods": trial_periods,
            "warnings": advice,
            "improvement": improvement,
            "rules": {
                "outside_limits": f"mean +/- {LIMIT_FACTOR} x mean moving range",
                "trend": TREND_LENGTH,
                "run": RUN_LENGTH,
                "two_of_three": two_of_three,
                "screen_outliers": screen_outliers,
                "fix_after_n_points": fix_after_n_points,
                "priority": list(RULES),
            },
        }
    )
    return frame


def variation_icon(frame: pd.DataFrame, improvement: str) -> str | None:
    """Making Data Count variation icon: the classification of the last observed point."""
    observed = frame[frame["value"].notna()]
    if observed.empty:
        return None
    kind = observed.iloc[-1]["point_type"]
    if kind == "common_cause":
        return "common_cause"
    if improvement == "neutral":
        return kind.replace("neutral_", "neither_")
    # An improving point is high for an "increase" measure and low for a "decrease" one.
    high = (kind == "improvement") == (improvement == "increase")
    return f"{kind}_{'high' if high else 'low'}"


def assurance_icon(frame: pd.DataFrame, improvement: str, target: float | None) -> str | None:
    """Making Data Count assurance icon: the target against the latest period's limits.

    "pass" when every value the process produces meets the target (the target lies beyond
    the limit on the worse side), "fail" when none does (beyond the limit on the better
    side), otherwise "hit_and_miss". None without a target or for a neutral measure.
    """
    if target is None or improvement == "neutral" or frame.empty:
        return None
    last = frame.iloc[-1]
    lower, upper = last["lower_limit"], last["upper_limit"]
    if math.isnan(lower) or math.isnan(upper):
        return None
    if target > upper:
        return "fail" if improvement == "increase" else "pass"
    if target < lower:
        return "pass" if improvement == "increase" else "fail"
    return "hit_and_miss"


# --- limits ----------------------------------------------------------------------------


def _limits(
    seg: np.ndarray, mr: np.ndarray, screen: bool, fix_after: int | None
) -> dict[str, float]:
    """Mean, process limits and 2-sigma lines of one period from its baseline points."""
    base = seg if fix_after is None else seg[:fix_after]
    base_mr = mr[: len(base)]
    n_baseline = int(np.count_nonzero(~np.isnan(base)))
    mean = float(np.nanmean(base)) if n_baseline else math.nan
    usable = base_mr[~np.isnan(base_mr)]
    amr = float(usable.mean()) if usable.size else math.nan
    # Screening with a zero mean moving range would drop every range: nothing to screen.
    if screen and usable.size and amr > 0:
        kept = usable[usable < SCREEN_FACTOR * amr]
        amr = float(kept.mean())
    return {
        "mean": mean,
        "lower_limit": mean - LIMIT_FACTOR * amr,
        "upper_limit": mean + LIMIT_FACTOR * amr,
        "lower_2sigma": mean - TWO_SIGMA_FACTOR * amr,
        "upper_2sigma": mean + TWO_SIGMA_FACTOR * amr,
        "n_baseline": n_baseline,
    }


# --- rules -----------------------------------------------------------------------------


def _classify(y: np.ndarray, lim: dict[str, float], form: str) -> tuple[np.ndarray, np.ndarray]:
    """Rule fired and direction (+1/-1) for each observed point of one period."""
    n = len(y)
    rule = np.full(n, None, dtype=object)
    direction = np.zeros(n, dtype=int)
    if n == 0 or math.isnan(lim["mean"]) or math.isnan(lim["upper_limit"]):
        return rule, direction
    side = np.sign(y - lim["mean"]).astype(int)
    outside = (y > lim["upper_limit"]) | (y < lim["lower_limit"])
    beyond_2sigma = (y > lim["upper_2sigma"]) | (y < lim["lower_2sigma"])
    if form == "nhsr":
        beyond_2sigma &= ~outside
    in_trend, trend_dir = _trend(y)
    in_two = _two_of_three(beyond_2sigma, side)
    in_run = _runs(side)

    for i in range(n):
        if outside[i]:
            rule[i], direction[i] = "outside_limits", side[i]
        elif in_trend[i]:
            rule[i], direction[i] = "trend", trend_dir[i]
        elif in_two[i]:
            rule[i], direction[i] = "two_of_three", side[i]
        elif in_run[i]:
            rule[i], direction[i] = "run", side[i]
    return rule, direction


def _mark_windows(hit: np.ndarray, length: int) -> np.ndarray:
    """Mark every point of each window of `length` points that ends at a hit."""
    marked = np.zeros(len(hit), dtype=bool)
    for end in np.flatnonzero(hit):
        marked[end - length + 1 : end + 1] = True
    return marked


def _runs(side: np.ndarray) -> np.ndarray:
    """Points in 7+ consecutive points on the same side of the mean (0 = on it breaks)."""
    n = len(side)
    ends = np.zeros(n, dtype=bool)
    for i in range(RUN_LENGTH - 1, n):
        window = side[i - RUN_LENGTH + 1 : i + 1]
        ends[i] = window[0] != 0 and bool(np.all(window == window[0]))
    return _mark_windows(ends, RUN_LENGTH)


def _trend(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points in 7+ strictly rising or falling points, and each one's trend direction.

    A point is given the direction of the step to its right when the next point is in a
    trend as well, else of the step from its left; so the turning point shared by a rise
    and a fall counts with the fall, as in NHSRplotthedots.
    """
    n = len(y)
    steps = np.sign(np.diff(y)).astype(int)
    ends = np.zeros(n, dtype=bool)
    for i in range(TREND_LENGTH - 1, n):
        window = steps[i - TREND_LENGTH + 1 : i]
        ends[i] = window[0] != 0 and bool(np.all(window == window[0]))
    marked = _mark_windows(ends, TREND_LENGTH)
    direction = np.zeros(n, dtype=int)
    for i in np.flatnonzero(marked):
        right = i + 1 < n and marked[i + 1]
        step = steps[i] if right else (steps[i - 1] if i > 0 else 0)
        direction[i] = 1 if step == 1 else -1
    return marked, direction


def _two_of_three(beyond: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Points beyond 2 sigma in a window of 3, all one side of the mean, with 2+ beyond."""
    n = len(beyond)
    marked = np.zeros(n, dtype=bool)
    for start in range(n - 2):
        window = slice(start, start + 3)
        if beyond[window].sum() >= 2 and abs(int(side[window].sum())) == 3:
            marked[window] |= beyond[window]
    return marked


def _point_type(special: bool, direction: int, sign: int) -> str:
    if not special:
        return "common_cause"
    if sign == 0:
        return "neutral_high" if direction > 0 else "neutral_low"
    return "improvement" if direction * sign > 0 else "concern"


# --- input checks ----------------------------------------------------------------------


def _as_values(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    try:
        y = np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="raise"), float)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"xmr: values must be numbers (None/NaN for missing): {exc}") from None
    if y.ndim != 1:
        raise ValueError("xmr: values must be one-dimensional, one value per period")
    if np.isinf(y).any():
        at = int(np.flatnonzero(np.isinf(y))[0])
        raise ValueError(f"xmr: values[{at}] is infinite; expected a finite number or NaN")
    return y


def _as_labels(x: Sequence[Any] | None, n: int) -> list[Any]:
    if x is None:
        return list(range(n))
    labels = list(x)
    if len(labels) != n:
        raise ValueError(f"xmr: x has {len(labels)} labels but there are {n} values")
    return labels


def _period_starts(rebase_at: Sequence[int] | None, n: int) -> list[int]:
    starts = {0}
    for at in rebase_at or ():
        if isinstance(at, bool) or not isinstance(at, int | np.integer):
            raise ValueError(f"xmr: rebase_at must hold 0-based integer positions, got {at!r}")
        if not 0 <= at < n:
            raise ValueError(f"xmr: rebase_at position {at} is outside 0..{n - 1}")
        starts.add(int(at))
    return sorted(starts)


def _check_options(
    improvement: str, two_of_three: str, fix_after: int | None, target: float | None
) -> None:
    if improvement not in IMPROVEMENTS:
        raise ValueError(f"xmr: improvement must be one of {IMPROVEMENTS}, got {improvement!r}")
    if two_of_three not in TWO_OF_THREE_FORMS:
        raise ValueError(
            f"xmr: two_of_three must be one of {TWO_OF_THREE_FORMS}, got {two_of_three!r}"
        )
    if fix_after is not None and (isinstance(fix_after, bool) or int(fix_after) != fix_after):
        raise ValueError(f"xmr: fix_after_n_points must be a whole number, got {fix_after!r}")
    if fix_after is not None and fix_after < 2:
        raise ValueError(
            f"xmr: fix_after_n_points must be at least 2 (one moving range), got {fix_after}"
        )
    if target is not None and not (isinstance(target, Real) and math.isfinite(target)):
        raise ValueError(f"xmr: target must be a finite number or None, got {target!r}")
