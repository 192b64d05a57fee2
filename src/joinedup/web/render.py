"""Rendering: pages from templates, and published figures as JSON.

Both only turn what :class:`joinedup.published.Figures` returns into HTML or JSON;
neither computes nor suppresses anything.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from fastapi import HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from joinedup.access.roles import ROLES, allowed
from joinedup.measures.labels import (
    ASSURANCE_TEXT,
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


def csv_download(frame: pd.DataFrame, filename: str) -> Response:
    """``frame`` as a CSV attachment."""
    return PlainTextResponse(
        frame.to_csv(index=False),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a page with the signed-in user, their navigation and CSRF token."""
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
        "variation_text": VARIATION_TEXT,
        "assurance_text": ASSURANCE_TEXT,
    }
    context = {k: for_template(v) for k, v in context.items()}
    return request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )


def for_template(value: Any) -> Any:
    """Frames (also in a dict) with missing numbers as templates test them.

    Templates print "*" for a suppressed number with ``x != x or x is none`` (NaN or
    None); pandas' NA has no truth value, so nullable floats become NaN and nullable
    integers with gaps become objects holding None.
    """
    if isinstance(value, dict):
        return {k: for_template(v) for k, v in value.items()}
    if not isinstance(value, pd.DataFrame):
        return value
    out = value
    for column, dtype in value.dtypes.items():
        if not (pd.api.types.is_extension_array_dtype(dtype) and value[column].isna().any()):
            continue
        if pd.api.types.is_float_dtype(dtype):
            fixed = value[column].astype("float64")
        elif pd.api.types.is_integer_dtype(dtype):
            fixed = value[column].astype(object).where(value[column].notna(), None)
        else:
            continue
        out = out.copy() if out is value else out
        out[column] = fixed
    return out
