"""The board pack's "Is it working?" section with a place-based evaluation: its event
study, pre-trend test, synthetic control and assumptions beside a person-level one, the
innovation register's link to the evaluation, and the pack still builds as PDF and
Excel with both kinds."""

from __future__ import annotations

import base64
import io
import re
from datetime import date

import pytest

from joinedup.reports.boardpack import BoardPack, evaluation_charts, to_html, to_pdf, to_xlsx

pytestmark = pytest.mark.unit

PLACE = "integrated_neighbourhood_teams"


def _check(label: str, rr: float, lo: float, hi: float, failed: bool = False) -> dict:
    return {"outcome": label, "label": label, "rate_ratio": rr, "lower": lo, "upper": hi,
            "test_lower": lo, "test_upper": hi, "level": 0.95, "events": 90.0,
            "failed": failed, "computed": True}  # fmt: skip


def place_doc() -> dict:
    steps = [(-12, 1.02), (-9, 0.97), (-6, None), (-3, 1.01), (0, 0.9), (3, 0.82)]
    return {
        "programme": PLACE, "kind": "place", "level": "practice",
        "outcome_label": "emergency admissions of people aged 65 and over",
        "rate_ratio": 0.86, "lower": 0.75, "upper": 0.98, "verdict": "benefit",
        "verdict_headline": "evidence of benefit",
        "verdict_sentence": "Evidence of benefit: 14% fewer emergency admissions.",
        "verdict_reasons": [], "caveats": [],
        "placebo": _check("the placebo in time", 1.01, 0.9, 1.13),
        "pre_trend": {"chi2": 2.1, "df": 4, "p_value": 0.717, "failed": False,
                      "test": "Wald test that the event study's terms before the start are 1"},
        "negative_controls": [], "e_value": 1.6, "e_value_interval": 1.13,
        "minimum_detectable": {"power": 0.8, "lower_rate_ratio": 0.812,
                               "higher_rate_ratio": 1.232, "log_se": 0.07, "df": 25},
        "event_study": [
            {"months_since_start": m, "months": f"{m} to {m + 2}", "rate_ratio": rr,
             "lower": None if rr is None else rr * 0.8, "upper": None if rr is None else rr * 1.2}
            for m, rr in steps
        ],
        "units_started": 17, "units_never_started": 9,
        "synthetic_control": {
            "unit": "the 3 units starting 2025-04-01", "pooled_units": ["A", "B", "C"],
            "started_on": "2025-04-01", "rate_ratio": 0.81, "p_value": 0.2,
            "smallest_possible_p_value": 0.1, "donors": [{"unit": "D", "weight": 1.0}],
            "series": [],
        },
        "starts": [{"unit": "A", "started_on": "2025-04-01"}],
        "assumptions": ["Parallel trends: every unit's rate would have moved alike.",
                        "No anticipation: nothing changed before the start."],
        "notes": [],
    }  # fmt: skip


def _pack(evaluations: list[dict], **extra) -> BoardPack:
    return BoardPack(
        quarter="2026Q1", first=date(2026, 1, 1), last=date(2026, 3, 31), generated="now",
        population={"people": 1000, "practices": 2, "as_of": "2026-03-31"},
        evaluations=evaluations, evaluation_charts=evaluation_charts(evaluations), **extra,
    )  # fmt: skip


def test_a_place_based_evaluation_in_the_pack() -> None:
    from joinedup.charts.evaluation import event_study_svg

    doc = place_doc()
    failed = {"programme": "community_hubs", "kind": "place", "reason": "no unit starts"}
    pack = _pack([doc, failed])
    html = to_html(pack)
    places = html.split("Place-based programmes", 1)[1].split("</table>", 1)[0]
    assert "0.86 (0.75 to 0.98)" in places and "p = 0.717" in places and "17 / 9" in places
    assert "Not evaluated: no unit starts" in places
    assert "Emergency admissions: enrolled people" not in html  # no person-level table
    section = html.split(f'id="evaluation-{PLACE}"', 1)[1].split("</div>", 1)[0]
    assert "evidence of benefit" in section and "p = 0.717 (judged at 5%)" in section
    found = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="Event study', section)
    assert found and base64.b64decode(found.group(1)).decode() == event_study_svg(doc)
    assert 'alt="Forest plot of the estimate' in section
    assert "the 3 practices that started first (2025-04-01), taken together" in section
    assert "placebo-in-space p = 0.20" in section
    assert "No anticipation: nothing changed before the start." in section
    assert "the programme&#39;s start and the outcome" in section  # the E-value's wording
    assert "a rate ratio of 0.81 or below, or 1.23 or above, 80 times in 100" in section
    assert "Balance after matching" not in section
    assert "regression to the mean" not in html  # the warning is about person-level ones


def test_the_innovation_list_links_to_the_evaluation() -> None:
    programme = {"available": True, "workstreams": [], "decisions": [], "risks": [],
                 "milestones": [], "innovations": []}  # fmt: skip
    changes = [
        {"title": "Integrated neighbourhood teams", "stage": "pilot", "owner": "Sarah Kent",
         "last_reviewed": "2026-02-01", "evaluated_programme": PLACE},
        {"title": "Community hubs", "stage": "idea", "owner": None,
         "last_reviewed": "2026-02-01", "evaluated_programme": "not_in_the_data"},
        {"title": "Orthopaedic triage", "stage": "scaled", "owner": None,
         "last_reviewed": "2026-02-01", "evaluated_programme": None},
    ]  # fmt: skip
    programme["innovations"] = changes
    pack = _pack([place_doc()], programme=programme, innovation_changes=changes)
    html = to_html(pack)
    table = html.split("Reviewed this quarter", 1)[1].split("</table>", 1)[0]
    assert f'<a href="/evaluation/{PLACE}">{PLACE}</a>: evidence of benefit' in table
    assert "not_in_the_data</a>: not in the data" in table
    section = html.split(f'id="evaluation-{PLACE}"', 1)[1].split("</div>", 1)[0]
    assert "Innovation register: Integrated neighbourhood teams (pilot)." in section
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(to_xlsx(pack)))
    rows = list(book["Innovation changes"].values)
    assert rows[0][-1] == "evaluated_programme" and rows[1][-1] == PLACE


def test_the_pack_builds_as_pdf_and_excel_with_both_kinds() -> None:
    from openpyxl import load_workbook

    person = {
        "programme": "telephone_care_management", "outcome_label": "emergency admissions",
        "enrolled": 40, "matched_enrolled": 30, "comparison_people": 150,
        "rate_ratio": 0.8, "lower": 0.7, "upper": 0.9, "naive_rate_ratio": 0.5,
        "verdict": "benefit", "verdict_headline": "evidence of benefit",
        "verdict_sentence": "Evidence of benefit.", "caveats": [],
        "placebo": _check("placebo in time: emergency admissions", 1.0, 0.8, 1.2),
        "negative_controls": [_check("planned cataract operations", 1.1, 0.9, 1.3)],
        "e_value": 1.8, "e_value_interval": 1.46,
        "balance": {"max_abs_smd_after": 0.05, "limit": 0.1, "balanced": True},
    }  # fmt: skip
    pack = _pack([place_doc(), person])
    pdf = to_pdf(pack)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    rows = list(load_workbook(io.BytesIO(to_xlsx(pack)))["Evaluations"].values)
    sheet = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert sheet[PLACE]["kind"] == "place" and sheet[PLACE]["pre_trend_p_value"] == 0.717
    assert sheet[PLACE]["units_started"] == 17 and sheet[PLACE]["max_abs_smd_after"] is None
    assert sheet[PLACE]["minimum_detectable_lower"] == 0.812
    assert sheet["telephone_care_management"]["minimum_detectable_lower"] is None
    assert sheet["telephone_care_management"]["kind"] == "person"
    assert sheet["telephone_care_management"]["negative_controls_failed"] == "none"
    assert sheet["telephone_care_management"]["pre_trend_p_value"] is None
