"""Where is the opportunity: the opportunity table in the web app, and one click from a
row to the units behind it, each unit's practice profile and (for those allowed) its
case-finding list.

Figures come from :mod:`joinedup.opportunity` (every unit against the best quartile of
age-sex standardised ratios, the latest 12 complete months). Observed counts from 1 to
7 are suppressed with what is derived from them (avoidable events, bed days, cost);
the totals are sums over all units, as the command line reports them.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from joinedup.measures.suppression import suppress
from joinedup.opportunity.api import OpportunityError, opportunity, opportunity_table
from joinedup.web.accounts import User
from joinedup.web.api import jsonable
from joinedup.web.data import NotFound
from joinedup.web.roles import CASEFINDING, allowed
from joinedup.web.security import authorise

router = APIRouter(tags=["opportunity"])
Caller = Annotated[User, Depends(authorise)]
By = Annotated[str, Query(pattern="^(practice|footprint)$", description="Unit of comparison")]

#: The measures the page ranks (the demo's opportunity measures).
PAGE_MEASURES = (
    "emergency_admissions",
    "emergency_admissions_65plus",
    "chronic_acsc_admissions",
    "ae_attendances",
)
UNIT_FIELDS = ("unit", "observed", "expected", "avoidable", "avoidable_lower",
               "avoidable_upper", "bed_days", "cost", "ratio", "practices")  # fmt: skip


def _table(data: Any, by: str) -> pd.DataFrame:
    return data.memoised(
        f"opportunity:table:{by}", opportunity_table, by, measures=list(PAGE_MEASURES)
    )


def warm(data: Any) -> None:
    """Compute the practice table ahead of the first visit (``joinedup serve`` start-up)."""
    _table(data, "practice")


def table(request: Request, by: str) -> list[dict[str, Any]]:
    """The opportunity table (one row per measure, ranked by bed days, money, events)."""
    frame = _table(request.app.state.data, by)
    return [
        {k: jsonable(v) for k, v in r.items() if k != "practices"} for r in frame.to_dict("records")
    ]


def units(request: Request, measure_id: str, by: str) -> dict[str, Any]:
    """One measure's units with a gap, largest first, observed counts 1-7 suppressed."""
    if measure_id not in PAGE_MEASURES:
        raise NotFound(f"no opportunity page for measure {measure_id!r}")
    try:
        opp = request.app.state.data.memoised(
            f"opportunity:{measure_id}:{by}", opportunity, measure_id, by
        )
    except OpportunityError as exc:
        raise NotFound(str(exc)) from None
    frame = opp.units[list(UNIT_FIELDS)].reset_index(drop=True)
    safe = suppress(
        frame,
        ["observed"],
        derived={
            "observed": [
                "avoidable",
                "avoidable_lower",
                "avoidable_upper",
                "bed_days",
                "cost",
                "ratio",
            ]
        },
        total_groups=[[]],  # the total over all units is published beside the rows
    ).frame
    # The units with a gap, largest first; suppressed ones last, by name (their place
    # in the order would bound what is hidden).
    gap = safe.loc[frame["avoidable"] > 0]
    shown = gap[gap["avoidable"].notna()].sort_values("avoidable", ascending=False, kind="stable")
    hidden = gap[gap["avoidable"].isna()].sort_values("unit", kind="stable")
    rows = [
        {k: jsonable(v) for k, v in r.items()} for _, r in pd.concat([shown, hidden]).iterrows()
    ]
    return {
        "measure_id": measure_id,
        "title": opp.measure.title,
        "by": by,
        "window": opp.window,
        "total": {k: float(v) for k, v in opp.total.items()},
        "units": rows,
    }


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
    from joinedup.web.pages import render

    return render(request, "opportunity.html", {"rows": table(request, by), "by": by})


@router.get("/opportunity/{measure_id}", name="opportunity_measure_page", include_in_schema=False)
def opportunity_measure_page(
    request: Request,
    user: Caller,
    measure_id: Annotated[str, Path(max_length=64)],
    by: By = "practice",
) -> Response:
    """The units behind one row, linked to practice profiles and case-finding lists."""
    from joinedup.web.pages import render

    found = units(request, measure_id, by)
    can_list = user.role in CASEFINDING and allowed(user.role, "casefinding_page")
    return render(
        request,
        "opportunity_measure.html",
        {"o": found, "can_list": can_list, "own_practice": user.practice_code},
    )
