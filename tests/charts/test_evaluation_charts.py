"""The evaluation charts: the event study, the synthetic control and the falsification
forest plot are deterministic, accessible SVG with one point per figure shown, and
leave out (never invent) what the published document withholds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from joinedup.charts.evaluation import (
    CEILING,
    FLOOR,
    NHS_RED,
    event_study_svg,
    falsification_svg,
    forest_rows,
    synthetic_control_svg,
)

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"


def _step(months: int, rr: float | None, lower: float | None = None, upper: float | None = None):
    lower = rr * 0.8 if lower is None and rr is not None else lower
    upper = rr * 1.25 if upper is None and rr is not None else upper
    return {"months_since_start": months, "months": f"{months} to {months + 2}",
            "rate_ratio": rr, "lower": lower, "upper": upper}  # fmt: skip


def _check(label: str, rr, lo, hi, failed: bool, level: float = 0.95, computed: bool = True):
    return {"label": label, "rate_ratio": rr, "lower": lo, "upper": hi, "test_lower": lo,
            "test_upper": hi, "level": level, "failed": failed, "computed": computed}  # fmt: skip


def _with_tests(doc: dict) -> dict:
    """``falsification_tests`` as the evaluations list them: the placebo, then the rest."""
    return dict(doc, falsification_tests=[doc["placebo"], *doc["negative_controls"]])


def place_doc() -> dict:
    """A place-based document as ``Figures.evaluation`` gives it (the parts drawn)."""
    return _with_tests({
        "programme": "integrated_neighbourhood_teams",
        "kind": "place",
        "outcome_label": "emergency admissions of people aged 65 and over",
        "rate_ratio": 0.86, "lower": 0.74, "upper": 0.99,
        "placebo": _check("the placebo in time", 1.02, 0.9, 1.15, False),
        "negative_controls": [],
        "event_study": [
            _step(-12, 1.01), _step(-9, None), _step(-6, 0.97), _step(-3, 1.03),
            _step(0, 0.9), _step(3, 0.84), _step(6, None), _step(9, 0.8, 0.0, 250.0),
        ],
    })  # fmt: skip


def person_doc() -> dict:
    return _with_tests({
        "programme": "telephone_care_management",
        "outcome_label": "emergency admissions",
        "rate_ratio": 0.8, "lower": 0.66, "upper": 0.97,
        "placebo": _check("placebo in time: emergency admissions", 1.3, 1.1, 1.5, True),
        "negative_controls": [
            _check("planned cataract operations", 0.95, 0.7, 1.3, False, 0.975),
            _check("planned hip or knee replacements", 0.0, 0.0, 0.0, True, 0.975),
            _check("falls", None, None, None, False, 0.975, computed=False),
        ],
    })  # fmt: skip


def _points(svg: str, gid: str) -> int:
    """Markers drawn in the scatter with ``gid`` (each point is one <use>)."""
    root = ET.fromstring(svg)
    groups = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    return sum(len(list(g.iter(f"{SVG}use"))) for g in groups)


def test_event_study_is_accessible_xml_with_one_point_per_step_shown() -> None:
    doc = place_doc()
    svg = event_study_svg(doc)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Event study: integrated neighbourhood teams"
    desc = root.find(f"{SVG}desc").text
    assert "3 steps before the start" in desc and "-3 to -1 months: 1.03" in desc
    # Two steps are withheld (None): 3 points before the start, 3 after, nothing for them.
    assert _points(svg, "event-study-before") == 3
    assert _points(svg, "event-study-after") == 3
    assert "-9 to -7" not in desc and "6 to 8" not in desc
    for text in ("rate ratio (log scale)", "months since start", "start"):
        assert text in svg
    # No title drawn: the page gives it. Drawn text is <text> (fonts kept as text).
    drawn = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "months since start" in drawn and "Event study" not in drawn


def test_event_study_is_deterministic_and_undated() -> None:
    assert event_study_svg(place_doc()) == event_study_svg(place_doc())
    assert "<dc:date>" not in event_study_svg(place_doc())


def test_intervals_beyond_the_axis_are_cut_at_its_edges() -> None:
    """An interval from 0 to 250 (a bootstrap with a replicate of no events) cannot be
    drawn on a log axis: it is cut within FLOOR..CEILING and ends in arrowheads."""
    svg = event_study_svg(place_doc())
    ET.fromstring(svg)  # still valid
    ticks = [float(t) for t in ("0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20")
             if f">{t}<" in svg]  # fmt: skip
    assert ticks and min(ticks) >= FLOOR and max(ticks) <= CEILING


def test_an_event_study_with_nothing_to_draw_is_refused() -> None:
    with pytest.raises(ValueError, match="no event study"):
        event_study_svg({"event_study": [_step(0, None)]})
    with pytest.raises(ValueError, match="no event study"):
        event_study_svg(person_doc())  # person-level: no event study at all


def test_synthetic_control_draws_both_series_and_the_start() -> None:
    months = [f"2024-{m:02d}-01" for m in range(1, 13)] + [f"2025-{m:02d}-01" for m in range(1, 7)]
    sc = {
        "unit": "Z10019", "started_on": "2025-01-01", "rate_ratio": 0.8, "p_value": 0.2,
        "units": "emergency admissions per 1,000 person-years, by month",
        "series": [{"month": m, "actual": 300.0 + i, "synthetic": 310.0 - i}
                   for i, m in enumerate(months)],
    }  # fmt: skip
    svg = synthetic_control_svg(sc)
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "Synthetic control: Z10019"
    ids = {g.get("id") for g in root.iter(f"{SVG}g")}
    assert {"synthetic-control-actual", "synthetic-control-synthetic"} <= ids
    assert "synthetic-control-start" in ids and "start 2025-01-01" in svg
    for gid in ("synthetic-control-actual", "synthetic-control-synthetic"):
        path = next(g for g in root.iter(f"{SVG}g") if g.get("id") == gid).find(f"{SVG}path")
        assert path.get("d").count("L") == len(months) - 1  # one vertex a month
    assert "emergency admissions per 1,000 person-years" in svg
    assert synthetic_control_svg(sc) == svg
    with pytest.raises(ValueError, match="no synthetic control"):
        synthetic_control_svg({})


def test_forest_plot_has_a_row_per_test_and_says_which_failed() -> None:
    doc = person_doc()
    rows = forest_rows(doc)
    assert [r["status"] for r in rows] == ["estimate", "failed", "passed", "failed",
                                           "not computed"]  # fmt: skip
    svg = falsification_svg(doc)
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "Falsification tests: telephone care management"
    assert _points(svg, "forest-estimate") == 1
    assert _points(svg, "forest-passed") == 1
    assert _points(svg, "forest-failed") == 2  # the placebo and the hip or knee control
    for label in ("estimate: emergency admissions", "placebo in time: emergency admissions",
                  "planned cataract operations", "falls", "not computed"):  # fmt: skip
        assert label in svg
    assert NHS_RED.lower() in svg.lower()
    desc = root.find(f"{SVG}desc").text
    assert "planned hip or knee replacements: 0.00 (0.00 to 0.00), failed" in desc


def test_forest_plot_of_a_place_based_evaluation() -> None:
    svg = falsification_svg(place_doc())
    assert _points(svg, "forest-estimate") == 1 and _points(svg, "forest-passed") == 1
    assert _points(svg, "forest-failed") == 0


def test_a_withheld_evaluation_has_no_forest_plot() -> None:
    withheld = dict(place_doc(), rate_ratio=None, lower=None, upper=None, placebo=None,
                    falsification_tests=[])  # fmt: skip
    with pytest.raises(ValueError, match="no estimate or test"):
        falsification_svg(withheld)
