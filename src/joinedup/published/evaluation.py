"""The evaluation of a programme as it leaves the warehouse: the matched
difference-in-differences of :func:`joinedup.risk.evaluate.evaluate_programme`, as the
JSON-ready document ``Evaluation.as_dict`` gives, with small numbers suppressed.

Counts of people from 1 to 7 become None; when the matched enrolled people number 1 to
7, the outcomes (rates per person-year of a handful of people) are withheld too, with
everything computed from them (the falsification tests, the E-value and the verdict),
and a note says why. The events behind each falsification test are counts of
admissions: from 1 to 7 they become None. The matched sets (person-level) never leave.
"""

from __future__ import annotations

from typing import Any

from joinedup.measures.suppression import HIGHEST_SUPPRESSED, LOWEST_SUPPRESSED
from joinedup.warehouse import Warehouse

#: The evaluation's settings that refresh and the board pack use (the CLI's defaults).
DEFAULT_K = 5
DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 20260401

#: Counts of people in the document, suppressed from 1 to 7.
PEOPLE_COUNTS = (
    "enrolled", "eligible_enrolled", "matched_enrolled", "comparison_people", "comparison_pool",
)  # fmt: skip
#: Top-level figures computed from the matched people's rates.
PRIMARY_FIGURES = (
    "rate_ratio", "lower", "upper", "naive_rate_ratio", "naive_lower", "naive_upper",
    "pre12_rate_ratio", "earlier_rate_ratio", "pre_all_rate_ratio", "e_value",
    "e_value_interval", "verdict", "verdict_headline", "verdict_sentence", "placebo",
    "placebo_never_enrolled", "minimum_detectable",
)  # fmt: skip
#: Top-level lists computed from them, withheld as empty lists.
PRIMARY_LISTS = ("negative_controls", "falsification_tests", "verdict_reasons", "caveats")


def _small(n: Any) -> bool:
    return isinstance(n, int) and LOWEST_SUPPRESSED <= n <= HIGHEST_SUPPRESSED


def programme_evaluation(
    wh: Warehouse,
    programme: str,
    k: int = DEFAULT_K,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    outcome: str = "emergency_admissions",
    eligibility: Any = None,
    comparisons: str = "not_yet_enrolled",
) -> dict[str, Any]:
    """``evaluate_programme(...).as_dict()``, suppressed (see the module docstring).
    Raises ValueError when the programme cannot be evaluated (no enrolments, nobody
    with a full year before enrolment)."""
    from joinedup.risk.evaluate import evaluate_programme

    doc = evaluate_programme(
        wh, programme, k=k, bootstrap=bootstrap, seed=seed, outcome=outcome,
        eligibility=eligibility, comparisons=comparisons,
    ).as_dict()  # fmt: skip
    if _small(doc["matched_enrolled"]):
        doc.update(dict.fromkeys(PRIMARY_FIGURES), outcomes={})
        doc.update({k: [] for k in PRIMARY_LISTS})
        doc["notes"] = [
            *doc["notes"],
            f"fewer than {HIGHEST_SUPPRESSED + 1} enrolled people were matched: the outcomes "
            "are withheld (small numbers)",
        ]
    for name in PEOPLE_COUNTS:
        if _small(doc[name]):
            doc[name] = None
    for outcome in doc["outcomes"].values():
        if _small(outcome.get("matched_sets")):
            outcome["matched_sets"] = None
    checks = [doc.get("placebo"), doc.get("placebo_never_enrolled")]
    checks += [*doc.get("negative_controls", []), *doc.get("falsification_tests", [])]
    for o in doc["outcomes"].values():
        checks += [o.get("placebo"), o.get("placebo_never_enrolled")]
    for check in checks:
        if isinstance(check, dict) and _small_events(check.get("events")):
            check["events"] = None
    return doc


def _small_events(n: Any) -> bool:
    return isinstance(n, (int, float)) and LOWEST_SUPPRESSED <= n <= HIGHEST_SUPPRESSED


#: Top-level figures of an area-level evaluation computed from the started units'
#: admissions, withheld when those number 1 to 7.
PLACE_FIGURES = (
    "rate_ratio", "lower", "upper", "verdict", "verdict_headline", "verdict_sentence",
    "placebo", "pre_trend", "e_value", "e_value_interval", "synthetic_control",
    "minimum_detectable",
)  # fmt: skip
#: Lists computed from the same admissions, withheld as empty lists.
PLACE_LISTS = ("falsification_tests",)


def place_evaluation(wh: Warehouse, programme: str) -> dict[str, Any]:
    """``evaluate_place(...).as_dict()`` (:mod:`joinedup.risk.place`), suppressed: it
    holds units, months and admission counts, never people; admission counts from 1 to
    7 become None, and when the started units' admissions number 1 to 7 the estimate and
    everything computed from it are withheld. Raises ValueError when the programme
    cannot be evaluated."""
    from joinedup.risk.place import evaluate_place

    doc = evaluate_place(wh, programme).as_dict()
    if _small_events(doc["admissions_treated"]):
        doc.update(dict.fromkeys(PLACE_FIGURES), event_study=[], admissions_treated=None,
                   expected_without_programme=None)  # fmt: skip
        doc.update({k: [] for k in PLACE_LISTS})
        doc["notes"] = [
            *doc["notes"],
            f"fewer than {HIGHEST_SUPPRESSED + 1} admissions in the started units: the "
            "estimate is withheld (small numbers)",
        ]
    for check in [doc.get("placebo"), *doc.get("falsification_tests", [])]:
        if isinstance(check, dict) and _small_events(check.get("events")):
            check["events"] = None
    sc = doc.get("synthetic_control")
    if isinstance(sc, dict) and _small_events(sc.get("admissions")):
        doc["synthetic_control"] = None
        doc["notes"] = [*doc["notes"], "the synthetic control is withheld (small numbers)"]
    return doc
