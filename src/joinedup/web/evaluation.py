"""Is it working? The programme evaluations in the web app: every programme with its
verdict, one programme's evaluation in full (the verdict, the falsification tests, the
E-value and, for a place-based programme, its event study, synthetic control, starts
and assumptions; for a person-level one the naive figure and why not to believe it),
its charts as SVG, and the same documents as JSON.

Every figure is the published document of :meth:`joinedup.published.Figures.evaluation`,
the one the board pack and ``joinedup evaluate --format json`` show; nothing is
computed here. An evaluation is computed on its first request (``joinedup refresh``
computes them ahead) and kept beside the published figures, so the first visit after
new data may take a minute, and later ones read it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response

from joinedup.access.accounts import User
from joinedup.published import Figures, NotFound
from joinedup.reports.boardpack import evaluation_or_reason, evaluations
from joinedup.web.charts import evaluation_svg
from joinedup.web.render import cached_json, jsonable, render
from joinedup.web.security import authorise

router = APIRouter(tags=["evaluations"])
Caller = Annotated[User, Depends(authorise)]
Programme = Annotated[
    str, Path(max_length=100, description="A programme name as the warehouse gives it")
]

#: The NHS.UK tag colour of each verdict (the verdict is always written in words too).
BADGES = {"benefit": "green", "harm": "red", "no_clear_effect": "grey", "inconclusive": "orange"}
#: What each kind of evaluation compares.
DESIGNS = {
    "person": "people enrolled against similar people not yet enrolled (matched difference "
    "in differences)",
    "place": "places where it has started against places yet to start (staggered "
    "difference in differences)",
}
SUMMARY = (
    "programme", "kind", "level", "outcome_label", "rate_ratio", "lower", "upper", "verdict",
    "verdict_headline", "reason",
)  # fmt: skip


def known(figures: Figures, programme: str) -> None:
    """NotFound (404) unless ``programme`` is one the data hold."""
    names = figures.programmes()
    if programme not in names:
        raise NotFound(
            f"No programme called {programme!r} in the data; the programmes are: "
            + (", ".join(names) or "none")
        )


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """One line of the list: the programme, its kind ("person" or "place") and level
    (place-based: practice, cluster or footprint), outcome, estimate, interval and
    verdict (or why it could not be evaluated)."""
    out = {k: doc.get(k) for k in SUMMARY}
    out["kind"] = doc.get("kind") or "person"
    out["url"] = f"/api/evaluations/{doc['programme']}"
    return out


def plain(value: Any) -> Any:
    """``value`` with every NaN (or infinity) None, dicts and lists item by item, so that
    it is valid JSON."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    value = jsonable(value)
    return None if isinstance(value, float) and not math.isfinite(value) else value


def verdicts(figures: Figures, names: set[str]) -> dict[str, dict[str, Any]]:
    """For the innovation register: each named programme's verdict headline, or why
    there is none (``note``)."""
    held = set(figures.programmes())
    out = {}
    for name in sorted(names):
        if name not in held:
            out[name] = {"headline": None, "verdict": None, "note": "not in the data"}
            continue
        doc = evaluation_or_reason(figures, name)
        note = "not evaluated" if doc.get("reason") else None
        if not note and doc.get("verdict_headline") is None:
            note = "withheld (small numbers)"
        out[name] = {"headline": doc.get("verdict_headline"), "verdict": doc.get("verdict"),
                     "note": note}  # fmt: skip
    return out


def _register_entries(request: Request, programme: str) -> list[dict[str, Any]]:
    """Innovation register entries that name ``programme`` (none when the programme
    store cannot be read)."""
    from joinedup.programme.summary import programme_summary

    p = programme_summary(request.app.state.settings.programme_db)
    found = p.get("innovations", []) if p.get("available") else []
    return [i for i in found if i.get("evaluated_programme") == programme]


# --- JSON ------------------------------------------------------------------------------


@router.get("/api/evaluations", name="api_evaluations")
def api_evaluations(request: Request, user: Caller) -> list[dict[str, Any]]:
    """Is it working: every programme the data hold (enrolments, or a rollout for a
    place-based one) with its kind, outcome, rate ratio, 95% interval and verdict, or
    ``reason`` when it cannot be evaluated; ``url`` is its full evaluation."""
    figures = request.app.state.figures
    return plain([summary(d) for d in evaluations(figures)])


@router.get(
    "/api/evaluations/{programme}",
    name="api_evaluation",
    responses={404: {"description": "No such programme"},
               422: {"description": "The programme cannot be evaluated"}},
)  # fmt: skip
def api_evaluation(request: Request, user: Caller, programme: Programme) -> Any:
    """The programme's published evaluation, the document ``joinedup evaluate --format
    json`` prints: the estimate and its interval, the verdict and why, the falsification
    tests, the E-value, and (person-level) the matched groups' balance and the naive
    figure, or (place-based, ``kind`` "place") the event study, the pre-trend test, the
    synthetic control, the starts and the assumptions. Small numbers are suppressed."""
    figures = request.app.state.figures
    known(figures, programme)
    doc = evaluation_or_reason(figures, programme)
    if doc.get("reason"):
        raise HTTPException(422, f"{programme} cannot be evaluated: {doc['reason']}")
    return cached_json(request, f"evaluation:{programme}", lambda: plain(doc))


# --- Pages -----------------------------------------------------------------------------


@router.get("/evaluation", name="evaluation_page", include_in_schema=False)
def evaluation_page(request: Request, user: Caller) -> Response:
    """Every programme with its verdict, estimate and interval."""
    figures = request.app.state.figures
    return render(
        request,
        "evaluation.html",
        lambda: {"rows": [summary(d) for d in evaluations(figures)]},
        cache="evaluations",
        extra={"badges": BADGES, "designs": DESIGNS},
    )


@router.get("/evaluation/{programme}", name="evaluation_programme_page", include_in_schema=False)
def evaluation_programme_page(request: Request, user: Caller, programme: Programme) -> Response:
    """One programme's evaluation in full, with its charts."""
    from joinedup.web.charts import EVALUATION_CHARTS

    figures = request.app.state.figures
    known(figures, programme)

    def context() -> dict[str, Any]:
        doc = evaluation_or_reason(figures, programme)
        charts = {c: evaluation_svg(figures, programme, c) is not None for c in EVALUATION_CHARTS}
        return {"e": doc, "charts": charts}

    return render(
        request,
        "evaluation_programme.html",
        context,
        cache=f"evaluation:{programme}",
        extra={
            "badges": BADGES,
            "designs": DESIGNS,
            "entries": _register_entries(request, programme),
        },
    )


def _chart(request: Request, programme: str, chart: str) -> Response:
    figures = request.app.state.figures
    known(figures, programme)
    svg = evaluation_svg(figures, programme, chart)
    if svg is None:
        raise HTTPException(404, f"No {chart.replace('-', ' ')} chart for {programme}.")
    return Response(svg, media_type="image/svg+xml")


@router.get(
    "/evaluation/{programme}/event-study.svg",
    name="evaluation_event_study_svg",
    include_in_schema=False,
)
def evaluation_event_study_svg(request: Request, user: Caller, programme: Programme) -> Response:
    """A place-based programme's event study as SVG (404 for a person-level one)."""
    return _chart(request, programme, "event-study")


@router.get(
    "/evaluation/{programme}/synthetic-control.svg",
    name="evaluation_synthetic_control_svg",
    include_in_schema=False,
)
def evaluation_synthetic_control_svg(
    request: Request, user: Caller, programme: Programme
) -> Response:
    """A place-based programme's synthetic control as SVG (404 where there is none)."""
    return _chart(request, programme, "synthetic-control")


@router.get(
    "/evaluation/{programme}/tests.svg", name="evaluation_tests_svg", include_in_schema=False
)
def evaluation_tests_svg(request: Request, user: Caller, programme: Programme) -> Response:
    """The estimate and its falsification tests as a forest plot (SVG)."""
    return _chart(request, programme, "tests")
