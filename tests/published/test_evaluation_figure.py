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


def _with_falsification(doc: dict, events: float) -> dict:
    check = {"outcome": "x", "rate_ratio": 1.0, "lower": 0.8, "upper": 1.2, "events": events}
    doc.update(
        verdict="no_clear_effect",
        verdict_sentence="No clear effect.",
        verdict_reasons=[],
        caveats=[],
        placebo=dict(check),
        placebo_never_enrolled=dict(check),
        negative_controls=[dict(check)],
        # As the evaluation lists them: copies, each suppressed in its own right.
        falsification_tests=[dict(check), dict(check), dict(check)],
        e_value=1.2,
        e_value_interval=1.0,
    )
    return doc


def test_falsification_tests_leave_with_the_estimate(monkeypatch) -> None:
    out = _published(monkeypatch, _with_falsification(_document(40, 30), events=120.0))
    assert out["verdict"] == "no_clear_effect" and out["e_value"] == 1.2
    assert out["placebo"]["events"] == 120.0 and out["negative_controls"][0]["events"] == 120.0
    assert out["placebo_never_enrolled"]["events"] == 120.0
    assert [c["events"] for c in out["falsification_tests"]] == [120.0] * 3


def test_falsification_tests_of_a_handful_are_withheld(monkeypatch) -> None:
    out = _published(monkeypatch, _with_falsification(_document(9, 7), events=30.0))
    assert out["verdict"] is None and out["placebo"] is None and out["e_value"] is None
    assert out["negative_controls"] == [] and out["caveats"] == []
    assert out["placebo_never_enrolled"] is None and out["falsification_tests"] == []


def test_events_of_one_to_seven_behind_a_test_are_suppressed(monkeypatch) -> None:
    out = _published(monkeypatch, _with_falsification(_document(40, 30), events=5.0))
    assert out["placebo"]["events"] is None and out["negative_controls"][0]["events"] is None
    assert out["placebo_never_enrolled"]["events"] is None
    assert [c["events"] for c in out["falsification_tests"]] == [None] * 3
    assert out["placebo"]["rate_ratio"] == 1.0


def test_board_pack_shows_the_verdict_and_the_falsification_tests() -> None:
    """The board pack's section renders the published document: the verdict in words,
    each falsification test, balance and the E-value (HTML and the Excel sheet)."""
    import io
    from datetime import date

    from openpyxl import load_workbook

    from joinedup.reports.boardpack import BoardPack, to_html, to_xlsx

    def check(label: str, rr: float, lo: float, hi: float, failed: bool) -> dict:
        return {"outcome": label, "label": label, "rate_ratio": rr, "lower": lo, "upper": hi,
                "test_lower": lo, "test_upper": hi, "level": 0.95, "events": 120.0,
                "failed": failed, "computed": True}  # fmt: skip

    doc = _document(enrolled=40, matched=30)
    doc.update(
        verdict="inconclusive",
        verdict_headline="inconclusive: the falsification tests failed",
        verdict_sentence="Inconclusive: the falsification tests failed. The placebo found it.",
        verdict_reasons=["the placebo test found an effect"],
        caveats=["no events to test for: something"],
        placebo=check("placebo in time: emergency admissions", 1.3, 1.1, 1.5, True),
        negative_controls=[check("planned cataract operations", 0.9, 0.6, 1.3, False)],
        e_value=1.81,
        e_value_interval=1.43,
        balance={"max_abs_smd_after": 0.08, "limit": 0.1, "balanced": True, "over_limit": []},
    )
    second = check("placebo in time against people never enrolled: emergency admissions",
                   1.1, 0.9, 1.4, False)  # fmt: skip
    doc["placebo_never_enrolled"] = second
    doc["falsification_tests"] = [doc["placebo"], second, *doc["negative_controls"]]
    pack = BoardPack(
        quarter="2026Q1", first=date(2026, 1, 1), last=date(2026, 3, 31), generated="now",
        population={"people": 1000, "practices": 2, "as_of": "2026-03-31"},
        evaluations=[doc, {"programme": "other", "reason": "no enrolments"}],
    )  # fmt: skip
    html = to_html(pack)
    assert "inconclusive: the falsification tests failed" in html
    assert "The placebo found it." in html
    assert "placebo in time: emergency admissions" in html and "1.30 (1.10 to 1.50)" in html
    assert "planned cataract operations" in html and "E-value 1.81" in html
    assert "placebo in time against people never enrolled" in html and "1.10 (0.90 to 1.40)" in html
    assert "no events to test for" in html and "Not evaluated: no enrolments" in html
    sheet = load_workbook(io.BytesIO(to_xlsx(pack)))["Evaluations"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert row["verdict"] == "inconclusive" and row["placebo_rate_ratio"] == 1.3
    assert row["placebo_never_enrolled_rate_ratio"] == 1.1
    assert row["placebo_never_enrolled_upper"] == 1.4
    assert row["negative_controls_failed"] == "none" and row["e_value"] == 1.81
