"""The verdict of an evaluation in plain words, and the rule that gives it.

An estimate is only as good as the design behind it, so the verdict looks at the design's
own tests before it looks at the estimate:

1. **Falsification tests.** Each is an estimate, made the same way as the main one, of an
   effect that is known to be nothing:

   - the *placebo in time* (the same matched groups, in a period before anyone in them
     was enrolled); it is judged at the 95% level on its own: a design whose placebo
     finds an effect must never report a benefit or a harm, whatever the other tests say.
     A person-level evaluation against risk sets has a second one, against a second
     comparison group (people never enrolled), judged the same way;
   - the *negative-control outcomes* (outcomes the programme cannot plausibly change),
     judged as one family: with ``k`` of them, each at the ``1 - 0.05 / k`` level
     (Bonferroni), so that a sound design fails the family no more than one time in
     twenty by chance however many controls there are.

   A test fails when its interval excludes 1. The two rules together mean a sound design
   is called inconclusive by chance about one time in ten (at most 1 - 0.95 * 0.95;
   with the second placebo, at most about one in seven).
2. **Balance.** Matching must have made the groups alike: every pre-index feature's
   standardised mean difference after matching within ``SMD_LIMIT`` (0.1, the usual
   threshold; Austin 2009).
3. If any of those fails: ``inconclusive`` ("the falsification tests failed").
   Otherwise the estimate's 95% interval decides: wholly on the side of improvement is
   ``benefit``, wholly on the other side ``harm``, and an interval containing no effect
   is ``no_clear_effect``.

A falsification test that could not be computed (no events, no people) neither passes
nor fails; the verdict says so. A test that passes with a wide interval is weak evidence
of a sound design: the sentence says when the placebo could not rule out a bias as large
as the estimated effect.

The rule takes plain numbers, so the area-level (place-based) evaluation can use it too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from joinedup.risk.evalue import EValue

if TYPE_CHECKING:  # power reads this module's ALPHA
    from joinedup.risk.power import Detectable

VERDICTS = ("benefit", "harm", "no_clear_effect", "inconclusive")
HEADLINES = {
    "benefit": "evidence of benefit",
    "harm": "evidence of harm",
    "no_clear_effect": "no clear effect",
    "inconclusive": "inconclusive: the falsification tests failed",
}
#: Largest |standardised mean difference| after matching that counts as balanced.
SMD_LIMIT = 0.1
#: Two-sided level of every interval the verdict reads (before any multiplicity rule).
ALPHA = 0.05


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def rounded(v: float | None, places: int = 6) -> float | None:
    """``v`` rounded for a JSON document, None when it is missing or not finite."""
    return round(float(v), places) if _finite(v) else None


@dataclass
class Check:
    """One falsification test: a rate ratio that should be 1.

    ``lower``/``upper`` are the 95% interval (what is shown); ``test_lower`` /
    ``test_upper`` the interval the verdict reads (95% for the placebo, Bonferroni-widened
    for each negative control), ``level`` its coverage.
    """

    outcome: str
    label: str
    rate_ratio: float
    lower: float
    upper: float
    test_lower: float
    test_upper: float
    level: float
    #: The enrolled people's events in the test's two periods: how much it rests on.
    events: float = math.nan
    #: Placebo only: how many times longer the main estimate's span (baseline to
    #: follow-up, midpoint to midpoint) is than the placebo's, and the main estimate with
    #: the placebo's differential trend carried on over that span (log-linearly; the
    #: bootstrap draws of both on the same resamples).
    span_ratio: float = math.nan
    trend_adjusted_rate_ratio: float = math.nan
    trend_adjusted_lower: float = math.nan
    trend_adjusted_upper: float = math.nan

    @property
    def computed(self) -> bool:
        """False when the test could not be estimated (no events or no people)."""
        return _finite(self.rate_ratio, self.test_lower, self.test_upper)

    @property
    def failed(self) -> bool:
        """The interval the verdict reads excludes 1."""
        return self.computed and (self.test_upper < 1.0 or self.test_lower > 1.0)

    def as_dict(self) -> dict:
        """JSON-ready, rounded to 6 decimals (NaN becomes None), with ``failed``."""
        out = {k: rounded(v) if isinstance(v, float) else v for k, v in asdict(self).items()}
        out["failed"] = self.failed
        out["computed"] = self.computed
        return out


@dataclass
class Verdict:
    """The verdict, why, and what to bear in mind."""

    verdict: str
    headline: str
    sentence: str
    reasons: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def _fmt(rr: float) -> str:
    """Two decimals, or three where two would round a ratio other than 1 to 1.00."""
    return f"{rr:.3f}" if f"{rr:.2f}" == "1.00" and rr != 1.0 else f"{rr:.2f}"


def _change(rr: float, what: str, countable: bool = True) -> str:
    """'21% fewer emergency admissions' / '8% more ...' ('lower cost' when not countable)."""
    pct = round(abs(1.0 - rr) * 100)
    if not pct:
        return f"about the same {what}"
    if countable:
        return f"{pct}% {'fewer' if rr < 1 else 'more'} {what}"
    return f"{pct}% {'lower' if rr < 1 else 'higher'} {what}"


def judge(
    rate_ratio: float,
    lower: float,
    upper: float,
    *,
    label: str,
    countable: bool = True,
    placebo: Check | None,
    negative_controls: list[Check],
    max_abs_smd: float | None,
    e_value: EValue | None = None,
    lower_is_better: bool = True,
    smd_limit: float = SMD_LIMIT,
    unbalanced: list[str] | None = None,
    comparison: str = "the matched comparison group",
    placebo_when: str = "before anyone in the groups was enrolled",
    failures: list[str] | None = None,
    exposure: str = "enrolment",
    other_placebos: list[Check] | None = None,
    detectable: Detectable | None = None,
) -> Verdict:
    """Apply the rule of the module docstring to one estimate.

    ``label`` names the outcome in words ("emergency admissions"; ``countable`` False
    for amounts such as cost: "lower", not "fewer"); ``placebo`` and
    ``negative_controls`` are the falsification tests (their ``test_lower`` and
    ``test_upper`` already at the level the rule asks); ``max_abs_smd`` the worst
    standardised mean difference after matching (None: not a matched design) and
    ``unbalanced`` the features over the limit. ``comparison`` names what the estimate
    is against and ``placebo_when`` the placebo's period, in words; ``failures`` are
    other failed tests of the design, in words (an area-level pre-trend test);
    ``exposure`` what a hidden confounder would go with ("enrolment");
    ``other_placebos`` more placebo tests judged as the placebo is (one against a second
    comparison group), each named by its label. ``detectable`` is the estimate's
    minimum detectable effect (:mod:`joinedup.risk.power`): a "no clear effect" says how
    large an effect the evaluation could have found.
    """
    if not _finite(rate_ratio, lower, upper):
        return Verdict(
            "inconclusive",
            "inconclusive: no estimate",
            f"No estimate of the effect on {label} could be made (too few people or events).",
            ["no estimate"],
        )
    reasons: list[str] = []
    caveats: list[str] = []
    if placebo is not None and placebo.failed:
        reasons.append(
            f"the placebo test found an effect where there can be none: "
            f"{_fmt(placebo.rate_ratio)} ({_fmt(placebo.lower)} to {_fmt(placebo.upper)}) "
            f"{placebo_when}"
        )
    for c in other_placebos or []:
        if c.failed:
            reasons.append(
                f"the {c.label.split(':')[0]} found an effect where there can be none: "
                f"{_fmt(c.rate_ratio)} ({_fmt(c.lower)} to {_fmt(c.upper)}) {placebo_when}"
            )
    reasons.extend(failures or [])
    failed_nc = [c for c in negative_controls if c.failed]
    for c in failed_nc:
        reasons.append(
            f"the programme appears to change {c.label}, which it cannot: "
            f"{_fmt(c.rate_ratio)} ({_fmt(c.test_lower)} to {_fmt(c.test_upper)}, "
            f"{c.level:.1%} interval)"
        )
    if max_abs_smd is not None and _finite(max_abs_smd) and max_abs_smd > smd_limit:
        which = f" ({', '.join(unbalanced)})" if unbalanced else ""
        reasons.append(
            f"matching left the groups unlike each other: the largest standardised mean "
            f"difference is {max_abs_smd:.2f}, over {smd_limit}{which}"
        )
    if placebo is None or not placebo.computed:
        caveats.append("the placebo test could not be computed")
    missing = [c.label for c in negative_controls if not c.computed]
    if missing:
        caveats.append(f"no events to test for: {', '.join(missing)}")

    if reasons:
        sentence = (
            f"Inconclusive: the falsification tests failed. The estimate ({_fmt(rate_ratio)}, "
            f"{_fmt(lower)} to {_fmt(upper)}) cannot be trusted because "
            + "; and ".join(reasons)
            + "."
        )
        return Verdict("inconclusive", HEADLINES["inconclusive"], sentence, reasons, caveats)

    interval = f"{_fmt(rate_ratio)} (95% interval {_fmt(lower)} to {_fmt(upper)})"
    improves = upper < 1.0 if lower_is_better else lower > 1.0
    worsens = lower > 1.0 if lower_is_better else upper < 1.0
    if improves or worsens:
        code = "benefit" if improves else "harm"
        change = _change(rate_ratio, label, countable)
        sentence = (
            f"{HEADLINES[code].capitalize()}: {change} than {comparison}, "
            f"rate ratio {interval}, and the falsification tests found nothing."
        )
        if e_value is not None and _finite(e_value.point):
            sentence += (
                f" To explain it away, an unmeasured confounder would need to be associated "
                f"with both {exposure} and {label} by a rate ratio of {e_value.point:.2f} "
                f"each ({e_value.limit:.2f} to move the interval to include no effect)."
            )
        if placebo is not None and placebo.computed:
            # Could the placebo have seen a bias as large as the effect claimed? A
            # differential trend it measures over its span grows over the estimate's
            # longer span (span_ratio times as long).
            span = placebo.span_ratio if _finite(placebo.span_ratio) else 1.0
            lo, hi = placebo.lower**span, placebo.upper**span
            informative = lo > rate_ratio if rate_ratio < 1 else hi < rate_ratio
            if not informative:
                caveats.append(
                    "the placebo test was too imprecise to rule out a difference in trends "
                    "large enough to explain the estimate"
                    + (
                        f": carried on over the estimate's span, the trend it measured gives "
                        f"{_fmt(placebo.trend_adjusted_rate_ratio)} "
                        f"({_fmt(placebo.trend_adjusted_lower)} to "
                        f"{_fmt(placebo.trend_adjusted_upper)})"
                        if _finite(placebo.trend_adjusted_rate_ratio)
                        else ""
                    )
                )
    else:
        code = "no_clear_effect"
        sentence = (
            f"No clear effect on {label}: rate ratio {interval}; the interval includes no "
            f"effect, and the falsification tests found nothing."
        )
        if detectable is not None and _finite(
            detectable.lower_rate_ratio, detectable.higher_rate_ratio
        ):
            sentence += (
                f" It would have found, {detectable.power:.0%} of the time, a rate ratio of "
                f"{_fmt(detectable.lower_rate_ratio)} or below "
                f"({_change(detectable.lower_rate_ratio, label, countable)}) or "
                f"{_fmt(detectable.higher_rate_ratio)} or above; a smaller effect could be "
                f"missed."
            )
    return Verdict(code, HEADLINES[code], sentence, reasons, caveats)
