"""Where is the opportunity: the opportunity table in the web app, and one click from a
row to the units behind it, each unit's practice profile and (for those allowed) its
case-finding list.

The figures are :class:`joinedup.published.Figures`'s (every unit against the best
quartile of age-sex standardised ratios, the latest 12 complete months, observed
counts 1-7 suppressed with what derives from them: see
:mod:`joinedup.published.opportunity`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from joinedup.access.accounts import User
from joinedup.access.roles import CASEFINDING, allowed
from joinedup.web.render import records, render
from joinedup.web.security import authorise

router = APIRouter(tags=["opportunity"])
Caller = Annotated[User, Depends(authorise)]
By = Annotated[str, Query(pattern="^(practice|footprint)$", description="Unit of comparison")]


def table(request: Request, by: str) -> list[dict[str, Any]]:
    """The opportunity table (one row per measure, ranked by bed days, money, events)."""
    frame = request.app.state.figures.opportunity_table(by)
    return [{k: v for k, v in r.items() if k != "practices"} for r in records(frame)]


def units(request: Request, measure_id: str, by: str) -> dict[str, Any]:
    """One measure's units with a gap, largest first, observed counts 1-7 suppressed
    (404 for a measure with no opportunity view)."""
    return request.app.state.figures.opportunity_units(measure_id, by)


@router.get("/api/opportunity", name="api_opportunity")
def api_opportunity(request: Request, user: Caller, by: By = "practice") -> list[dict[str, Any]]:
    """Where is the opportunity: the ranked table (practices or footprints against the
    best quartile)."""
    return table(request, by)


@router.get("/api/opportunity/{measure_id}", name="api_opportunity_measure")
def api_opportunity_measure(
    request: Request,
    user: Caller,
    measure_id: Annotated[str, Path(max_length=64)],
    by: By = "practice",
) -> dict[str, Any]:
    """One measure's units with a gap, and the total over all units."""
    return units(request, measure_id, by)


@router.get("/opportunity", name="opportunity_page", include_in_schema=False)
def opportunity_page(request: Request, user: Caller, by: By = "practice") -> Response:
    """The opportunity table."""
    return render(
        request,
        "opportunity.html",
        lambda: {"rows": table(request, by), "by": by},
        cache=f"opportunity:{by}",
    )


@router.get("/opportunity/{measure_id}", name="opportunity_measure_page", include_in_schema=False)
def opportunity_measure_page(
    request: Request,
    user: Caller,
    measure_id: Annotated[str, Path(max_length=64)],
    by: By = "practice",
) -> Response:
    """The units behind one row, linked to practice profiles and case-finding lists."""
    found = units(request, measure_id, by)
    can_list = user.role in CASEFINDING and allowed(user.role, "casefinding_page")
    return render(
        request,
        "opportunity_measure.html",
        {"o": found},
        cache=f"opportunity:{measure_id}:{by}",
        extra={"can_list": can_list, "own_practice": user.practice_code},
    )
