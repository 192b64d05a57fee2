"""How measure figures read: unit labels, SPC icon words and value formatting.

One table each, used by every chart, page, board pack and command, so that a unit or
an icon is never described two ways. Rates are published annualised (see
:func:`joinedup.measures.results.finalise`), so their labels say "per year".
"""

from __future__ import annotations

import math

#: How each unit reads beside a value or in a heading.
UNIT_LABELS: dict[str, str] = {
    "per_1000": "per 1,000 per year",
    "per_100000": "per 100,000 per year",
    "percent": "%",
    "per_person": "per person per year",
    "cost_per_head": "£ per head per year",
    "mean_days": "mean days",
    "mean_score": "mean score",
    "ratio": "ratio",
}

#: The Making Data Count variation icons in words (charts, pages, board pack).
VARIATION_TEXT: dict[str, str] = {
    "common_cause": "Common cause variation",
    "improvement_high": "Special cause: improvement (high)",
    "improvement_low": "Special cause: improvement (low)",
    "concern_high": "Special cause: concern (high)",
    "concern_low": "Special cause: concern (low)",
    "neither_high": "Special cause: neither (high)",
    "neither_low": "Special cause: neither (low)",
}
#: The Making Data Count assurance icons in words.
ASSURANCE_TEXT: dict[str, str] = {
    "pass": "Assurance: consistently passes target",
    "fail": "Assurance: consistently fails target",
    "hit_and_miss": "Assurance: hits and misses target",
}
#: Both sets of icons in a few words, for narrow tables (the terminal).
ICON_SHORT: dict[str, str] = {
    "common_cause": "common cause",
    "improvement_high": "improving (high)",
    "improvement_low": "improving (low)",
    "concern_high": "concern (high)",
    "concern_low": "concern (low)",
    "neither_high": "special (high)",
    "neither_low": "special (low)",
    "pass": "passes target",
    "fail": "fails target",
    "hit_and_miss": "hit and miss",
}

#: Where people's details came from, in words, by the ``person_details`` of a measure's
#: results (absent: the GP register, nothing to say).
PERSON_DETAILS: dict[str, str] = {
    "activity": (
        "No GP register: age, sex, ethnic group, deprivation and practice are as the "
        "latest activity records (hospital, A&E, outpatients) gave them"
    ),
}

SUPPRESSED = "*"


def is_missing(value: object) -> bool:
    """Whether a figure is missing: None, NaN or pandas' NA (suppressed or undefined)."""
    if value is None:
        return True
    try:
        return bool(value != value) or str(value) == "<NA>"
    except (TypeError, ValueError):  # pandas NA has no truth value
        return True


def fmt_value(value: object, unit: str) -> str:
    """A measure value for display: '12.3%', '£1,234', '105.8', '6.26' ('*' when the
    figure is missing: suppressed, or undefined)."""
    if is_missing(value):
        return SUPPRESSED
    v = float(value)  # type: ignore[arg-type]
    if unit == "percent":
        return f"{v:.1f}%"
    if unit == "cost_per_head":
        return f"£{v:,.0f}"
    if math.isinf(v):
        return "∞"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def fmt_interval(lower: object, upper: object, unit: str) -> str:
    """'104.2 to 107.5' (empty when either limit is missing)."""
    if is_missing(lower) or is_missing(upper):
        return ""
    return f"{fmt_value(lower, unit)} to {fmt_value(upper, unit)}"
