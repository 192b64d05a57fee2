"""The published evaluation of a programme: small numbers of people are suppressed, and
outcomes of a handful of matched people are withheld."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from joinedup.published import evaluation

pytestmark = pytest.mark.unit


def _document(enrolled: int, matched: int) -> dict:
    outcome = {"label": "emergency admissions", "rate_ratio": 0.8, "matched_sets": matched}
    return {
        "programme": "p",
        "rate_ratio": 0.8,
        "lower": 0.7,
        "upper": 0.9,
        "naive_rate_ratio": 0.5,
        "naive_lower": 0.4,
        "naive_upper": 0.6,
        "pre12_rate_ratio": 0.6,
        "earlier_rate_ratio": 0.8,
        "pre_all_rate_ratio": 0.7,
        "enrolled": enrolled,
        "eligible_enrolled": enrolled,
        "matched_enrolled": matched,
        "comparison_people": 5 * matched,
        "comparison_pool": 1000,
        "outcomes": {"emergency_admissions": outcome},
        "notes": [],
    }


def _published(monkeypatch, doc: dict) -> dict:
    import joinedup.risk.evaluate as ev

    monkeypatch.setattr(
        ev, "evaluate_programme", lambda *a, **k: SimpleNamespace(as_dict=lambda: doc)
    )
    return evaluation.programme_evaluation(None, "p")


def test_enough_people_leave_as_computed(monkeypatch) -> None:
    out = _published(monkeypatch, _document(enrolled=40, matched=30))
    assert out["enrolled"] == 40 and out["matched_enrolled"] == 30
    assert (
        out["rate_ratio"] == 0.8 and out["outcomes"]["emergency_admissions"]["matched_sets"] == 30
    )


def test_counts_of_one_to_seven_are_suppressed_and_their_outcomes_withheld(monkeypatch) -> None:
    out = _published(monkeypatch, _document(enrolled=9, matched=7))
    assert out["enrolled"] == 9  # 8 or more: shown
    assert out["matched_enrolled"] is None and out["eligible_enrolled"] == 9
    assert out["outcomes"] == {}
    assert all(out[k] is None for k in evaluation.PRIMARY_FIGURES)
    assert "withheld" in out["notes"][-1]
