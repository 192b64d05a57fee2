"""Rendering: pages from templates, and published figures as JSON.

Both only turn what :class:`joinedup.published.Figures` returns into HTML or JSON;
neither computes nor suppresses anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from joinedup.access.roles import ROLES, allowed
from joinedup.measures.labels import (
    ASSURANCE_TEXT,
    PERSON_DETAILS,
    UNIT_LABELS,
    VARIATION_TEXT,
    fmt_interval,
    fmt_value,
)
from joinedup.web.security import current_user

#: Navigation: (label, href, route name that decides if the role sees it).
NAV = [
    ("Overview", "/overview", "overview_page"),
    ("Measures", "/measures", "measures_page"),
    ("Population and risk", "/population", "population_page"),
    ("Opportunity", "/opportunity", "opportunity_page"),
    ("Is it working?", "/evaluation", "evaluation_page"),
    ("My practice", "/practices/mine", "practice_mine"),
    ("Practices", "/practices", "practices_page"),
    ("Case finding", "/casefinding", "casefinding_page"),
    ("Scenarios", "/scenarios", "scenarios_page"),
    ("Work programme", "/programme/workstreams", "programme_page"),
    ("Innovation register", "/programme/innovations", "programme_page"),
    ("Standards", "/programme/standards", "programme_page"),
    ("Risks and decisions", "/programme/risks", "programme_page"),
    ("Board pack", "/board-pack", "board_pack_page"),
    ("Audit log", "/audit", "audit_page"),
]


def jsonable(value: Any) -> Any:
    """One value made JSON-safe: NA/NaN -> null, dates -> ISO text, numpy scalars ->
    Python, lists item by item."""
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-safe dicts (see :func:`jsonable`)."""
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


def cached_json(request: Request, key: str, build: Callable[[], Any]) -> Response:
    """A JSON answer that depends only on the published figures, encoded once (``build()``
    gives the content) and kept beside them under ``key``."""
    body = request.app.state.figures.figure(f"json:{key}", lambda: JSONResponse(build()).body)
    return Response(body, media_type="application/json")


def csv_download(frame: pd.DataFrame, filename: str) -> Response:
    """``frame`` as a CSV attachment."""
    return PlainTextResponse(
        frame.to_csv(index=False),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | Callable[[], dict[str, Any]],
    status: int = 200,
    *,
    cache: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Render a page with the signed-in user, their navigation and CSRF token.

    ``context`` is made ready for the template once (:func:`page_context`: frames become
    plain rows). With ``cache`` (a key naming what the page shows, e.g. a measure and a
    grouping) ``context`` may be a function, called once for the state of the data and
    kept beside the published figures: a page is then a lookup and a render. What
    depends on the caller goes in ``extra``, never cached.
    """
    try:
        user = current_user(request)
    except HTTPException:
        user = None
    nav = [(label, href) for label, href, name in NAV if user and allowed(user.role, name)]
    base = {
        "user": user,
        "role_name": ROLES.get(user.role, "") if user else "",
        "nav": nav,
        "path": request.url.path,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "fmt_value": fmt_value,
        "fmt_interval": fmt_interval,
        "unit_labels": UNIT_LABELS,
        "person_details": PERSON_DETAILS,
        "variation_text": VARIATION_TEXT,
        "assurance_text": ASSURANCE_TEXT,
    }
    if cache is not None:
        figures = request.app.state.figures
        ready = figures.figure(
            f"page:{template}:{cache}",
            lambda: page_context(context() if callable(context) else context),
        )
    else:
        ready = page_context(context() if callable(context) else context)
    return request.app.state.templates.TemplateResponse(
        request, template, {**base, **ready, **(extra or {})}, status_code=status
    )


def page_context(value: Any) -> Any:
    """``value`` (a page's context) with every frame in it, also inside dicts and lists,
    as a list of plain rows (:func:`records`: missing numbers None, which templates
    print as "*"), so templates loop over rows and never touch pandas."""
    if isinstance(value, pd.DataFrame):
        return records(value)
    if isinstance(value, dict):
        return {k: page_context(v) for k, v in value.items()}
    if isinstance(value, list):
        return [page_context(v) for v in value]
    return value
