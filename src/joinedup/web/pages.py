"""Server-rendered pages (Jinja templates on the NHS.UK design system).

Each page is backed by the JSON API (same data, same suppression); pages are left
out of the OpenAPI document. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from joinedup.measures.charts import VARIATION_TEXT
from joinedup.measures.variation import has_funnel
from joinedup.web import accounts
from joinedup.web.accounts import LoginRefused, User
from joinedup.web.api import client_key, records
from joinedup.web.casefinding import casefinding_list
from joinedup.web.charts import UNIT_LABELS, fmt_value, funnel_svg, spc_svg
from joinedup.web.roles import ROLES, allowed
from joinedup.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    authorise,
    check_csrf,
    current_user,
    new_login_csrf,
)

router = APIRouter(include_in_schema=False)
Caller = Annotated[User, Depends(authorise)]

ASSURANCE_TEXT = {
    "pass": "Consistently passing the target",
    "fail": "Consistently failing the target",
    "hit_and_miss": "Hit and miss the target",
}

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

#: Capabilities whose pages are not wired in yet (slug -> title, text).
CAPABILITIES: dict[str, tuple[str, str]] = {}


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
        "unit_labels": UNIT_LABELS,
        "variation_text": VARIATION_TEXT,
        "assurance_text": ASSURANCE_TEXT,
    }
    context = {k: _for_template(v) for k, v in context.items()}
    return request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )


def _for_template(value: Any) -> Any:
    """Frames (also in a dict) with missing numbers as templates test them.

    Templates print "*" for a suppressed number with ``x != x or x is none`` (NaN or
    None); pandas' NA has no truth value, so nullable floats become NaN and nullable
    integers with gaps become objects holding None.
    """
    if isinstance(value, dict):
        return {k: _for_template(v) for k, v in value.items()}
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


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if not target:
        return "/overview"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/overview"
    return target


@router.get("/", name="root")
def root() -> RedirectResponse:
    """The site root: the overview."""
    return RedirectResponse("/overview", status_code=303)


@router.get("/login", name="login_page")
def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (with its own CSRF token, double-submitted as a cookie)."""
    token = new_login_csrf()
    response = render(
        request, "login.html", {"login_csrf": token, "next": _safe_next(next), "error": None}
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.app.state.settings.secure_cookies,
    )


@router.post("/login", name="login_submit")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/overview",
) -> Response:
    """Check the credentials, start a session and go where the user was heading."""
    state = request.app.state
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf_token or not hmac.compare_digest(cookie, csrf_token):
        raise HTTPException(
            403, "The sign-in form's security token is missing or out of date: reload the page."
        )

    def again(message: str, status: int) -> Response:
        token = new_login_csrf()
        response = render(
            request,
            "login.html",
            {"login_csrf": token, "next": _safe_next(next), "error": message, "username": username},
            status,
        )
        _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    if not state.login_limiter.hit(client_key(request)):
        return again(
            "Too many sign-in attempts from this address: wait a minute and try again.", 429
        )
    s = state.settings
    try:
        user = accounts.authenticate(
            state.accounts, username, password, s.max_failed_logins, s.lockout_minutes
        )
    except LoginRefused as refused:
        return again(refused.message, 423 if refused.locked else 401)
    token, _csrf = accounts.start_session(state.accounts, user, s.session_hours)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=int(s.session_hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", name="logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, user: Caller) -> Response:
    """End the session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(request.app.state.accounts, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", name="account_page")
def account_page(request: Request, user: Caller) -> Response:
    """The signed-in user's details and how to use the API."""
    return render(request, "account.html", {})


@router.get("/overview", name="overview_page")
def overview_page(request: Request, user: Caller) -> Response:
    """Population, footprints, the age-sex pyramid, the segment (Kaiser) pyramid when a
    risk model is trained, and headline measures."""
    from joinedup.web.population import PARTNERSHIP, kaiser_pyramid_svg

    data = request.app.state.data
    tiers = data.segments("tier")
    segment_pyramid = None
    if tiers is not None:
        rows = [r for r in records(tiers) if r["footprint_code"] == PARTNERSHIP]
        segment_pyramid = kaiser_pyramid_svg(rows, "the partnership")
    return render(
        request,
        "overview.html",
        {
            "population": data.population(),
            "pyramid": data.pyramid(),
            "segment_pyramid": segment_pyramid,
            "headline": data.headline(request.app.state.settings.headline_measures),
        },
    )


@router.get("/overview/pyramid.svg", name="pyramid_svg")
def pyramid_svg(request: Request, user: Caller) -> Response:
    """The age-sex pyramid as SVG."""
    from joinedup.web.svg import pyramid_svg as draw

    return Response(draw(request.app.state.data.pyramid()), media_type="image/svg+xml")


@router.get("/measures", name="measures_page")
def measures_page(request: Request, user: Caller) -> Response:
    """The measure library by topic."""
    library = request.app.state.data.library
    by_topic: dict[str, list[Any]] = {}
    for d in library.values():
        by_topic.setdefault((d.topics or ["other"])[0], []).append(d)
    return render(request, "measures.html", {"by_topic": dict(sorted(by_topic.items()))})


MeasureId = Annotated[str, Path(max_length=80)]


@router.get("/measures/{measure_id}", name="measure_page")
def measure_page(request: Request, user: Caller, measure_id: MeasureId) -> Response:
    """One measure: SPC chart, recent values, funnel plot, inequalities, downloads."""
    data = request.app.state.data
    view = data.measure_view(measure_id)
    d = view.definition
    inequality = {}
    for by in ("imd_quintile", "age_band", "sex", "ethnic_group"):
        if by in d.groupings:
            inequality[by] = data.measure_recent(measure_id, by)
    deprivation = None
    if "imd_quintile" in d.groupings:
        yearly = data.measure_inequality(measure_id)
        deprivation = yearly.iloc[-1] if len(yearly) else None
    last = view.series.tail(12)
    return render(
        request,
        "measure.html",
        {
            "d": d,
            "series": last,
            "spc": view.spc,
            "variation": None if view.spc is None else view.spc.attrs.get("variation_icon"),
            "assurance": None if view.spc is None else view.spc.attrs.get("assurance_icon"),
            "has_funnel": has_funnel(d) and "practice" in d.groupings,
            "inequality": inequality,
            "deprivation": deprivation,
        },
    )


def _svg(content: bytes | None) -> Response:
    if content is None:
        raise HTTPException(404, "No chart applies to this measure.")
    return Response(content, media_type="image/svg+xml")


@router.get("/measures/{measure_id}/spc.svg", name="measure_spc_svg")
def measure_spc_svg(request: Request, user: Caller, measure_id: MeasureId) -> Response:
    """The measure's SPC chart as SVG."""
    return _svg(spc_svg(request.app.state.data, measure_id))


@router.get("/measures/{measure_id}/funnel.svg", name="measure_funnel_svg")
def measure_funnel_svg(request: Request, user: Caller, measure_id: MeasureId) -> Response:
    """The measure's funnel plot across practices as SVG."""
    return _svg(funnel_svg(request.app.state.data, measure_id))


@router.get("/measures/{measure_id}/download.csv", name="measure_csv")
def measure_csv(
    request: Request,
    user: Caller,
    measure_id: MeasureId,
    by: Annotated[str, Query(max_length=40)] = "partnership",
) -> Response:
    """The measure by any grouping as CSV (suppressed)."""
    table = request.app.state.data.measure_table(measure_id, by)
    return PlainTextResponse(
        table.to_csv(index=False),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{measure_id}-by-{by}.csv"'},
    )


@router.get("/casefinding", name="casefinding_page")
def casefinding_page(
    request: Request,
    user: Caller,
    practice: Annotated[str | None, Query(max_length=16)] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """A case-finding list: a clinician's own practice, or any practice pseudonymised."""
    data = request.app.state.data
    if user.practice_code and not practice:
        practice = user.practice_code
    listing = None
    if practice:
        listing = casefinding_list(request.app.state, user, practice, "/casefinding", reason)
    return render(
        request,
        "casefinding.html",
        {
            "practices": data.practices().to_dict("records"),
            "practice": practice,
            "listing": listing,
        },
    )


@router.get("/population", name="population_page")
def population_page(
    request: Request,
    user: Caller,
    footprint: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Population and risk: Bridges to Health segments and Kaiser tiers by footprint
    (the pyramid drawn for the partnership or one footprint), the risk distribution and
    the risk model's card. Every count suppressed."""
    from joinedup.web.population import PARTNERSHIP, kaiser_pyramid_svg, segment_bars_svg

    data = request.app.state.data
    names = {f["footprint_code"]: f["name"] for f in data.population()["footprints"]}
    area = footprint if footprint in names else PARTNERSHIP
    area_name = "the partnership" if area == PARTNERSHIP else f"{names[area]} ({area})"
    segments, tiers = data.segments("segment"), data.segments("tier")
    risk = data.risk_distribution()
    tables = {}
    for kind, table in (("segment", segments), ("tier", tiers)):
        if table is None:
            continue
        codes = [c for c in names if c in set(table["footprint_code"])] + [PARTNERSHIP]
        order = sorted(set(table[kind]), reverse=True)
        rows = records(table)  # NA -> None, numpy -> Python
        cell = {(r["footprint_code"], r[kind]): r for r in rows}
        tables[kind] = {
            "columns": [(c, names.get(c, "Partnership")) for c in codes],
            "rows": [
                (table.loc[table[kind] == k, f"{kind}_name"].iloc[0], [cell[(c, k)] for c in codes])
                for k in order
            ],
            "area": [r for r in rows if r["footprint_code"] == area],
        }
    charts = {"segment": segment_bars_svg(tables["segment"]["area"], area_name)}
    if "tier" in tables:
        charts["tier"] = kaiser_pyramid_svg(tables["tier"]["area"], area_name)
    return render(
        request,
        "population.html",
        {
            "as_of": data.segments_as_of(),
            "footprints": names,
            "footprint": None if area == PARTNERSHIP else area,
            "area_name": area_name,
            "tables": tables,
            "charts": charts,
            "risk": None if risk is None else records(risk),
            "card": data.model_card(),
            "model_problem": data.risk_model_problem,
        },
    )


@router.get("/audit", name="audit_page")
def audit_page(
    request: Request,
    user: Caller,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The identifiable-access audit log, searchable."""
    rows = accounts.search_audit(request.app.state.accounts, q=q or None, limit=500)
    return render(request, "audit.html", {"rows": rows, "q": q or ""})


@router.get("/audit.csv", name="audit_csv")
def audit_csv(
    request: Request, user: Caller, q: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    """The audit log (or a search of it) as CSV."""
    rows = accounts.search_audit(request.app.state.accounts, q=q or None, limit=100_000)
    frame = pd.DataFrame(rows, columns=accounts.AUDIT_COLUMNS)
    return PlainTextResponse(
        frame.to_csv(index=False),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="identifiable-access-audit.csv"'},
    )


@router.get("/capability/{slug}", name="capability_page")
def capability_page(
    request: Request, user: Caller, slug: Annotated[str, Path(max_length=40)]
) -> Response:
    """A capability whose pages are not wired in yet."""
    if slug not in CAPABILITIES:
        raise HTTPException(404, f"No page called {slug!r}.")
    title, text = CAPABILITIES[slug]
    return render(request, "capability.html", {"title": title, "text": text})


SECTIONS = {
    "workstreams": "Work programme",
    "innovations": "Innovation register",
    "standards": "Standards",
    "risks": "Risks and decisions",
}


@router.get("/programme/{section}", name="programme_page")
def programme_page(
    request: Request,
    user: Caller,
    section: Annotated[str, Path(max_length=40)],
    saved: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """A section of the work programme from the programme store."""
    from joinedup.web.programme import milestone_statuses, programme_summary

    if section not in SECTIONS:
        raise HTTPException(404, f"No programme page called {section!r}.")
    summary = programme_summary(request.app.state.settings.programme_db)
    return render(
        request,
        "programme.html",
        {
            "section": section,
            "title": SECTIONS[section],
            "sections": SECTIONS,
            "p": summary,
            "can_edit": allowed(user.role, "milestone_edit"),
            "statuses": milestone_statuses() if summary.get("available") else {},
            "saved": saved,
        },
    )


@router.post(
    "/programme/milestones/{milestone_id}",
    name="milestone_edit",
    dependencies=[Depends(check_csrf)],
)
def milestone_edit(
    request: Request,
    user: Caller,
    milestone_id: Annotated[int, Path(ge=1)],
    version: Annotated[int, Form(ge=0)],
    status: Annotated[str, Form(max_length=40)],
    forecast: Annotated[str, Form(max_length=10)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save a milestone's status, forecast and notes."""
    from joinedup.programme.errors import ProgrammeError
    from joinedup.web.programme import edit_milestone

    try:
        when = date.fromisoformat(forecast) if forecast else None
    except ValueError:
        raise HTTPException(422, f"Forecast date {forecast!r}: use YYYY-MM-DD.") from None
    try:
        edit_milestone(
            request.app.state.settings.programme_db,
            user.username,
            milestone_id,
            version,
            status,
            when,
            notes or None,
        )
    except ProgrammeError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(
        f"/programme/workstreams?saved={milestone_id}#milestone-{milestone_id}", status_code=303
    )


@router.get("/scenarios", name="scenarios_page")
def scenarios_page(request: Request, user: Caller) -> Response:
    """The scenario library, and a form to run and compare scenarios."""
    from joinedup.web.scenarios import ScenariosUnavailable, library

    try:
        scenarios, reason = library(), None
    except ScenariosUnavailable as exc:
        scenarios, reason = [], str(exc)
    return render(
        request,
        "scenarios.html",
        {
            "scenarios": scenarios,
            "reason": reason,
            "can_run": allowed(user.role, "scenario_run"),
        },
    )


@router.post("/scenarios/run", name="scenario_run", dependencies=[Depends(check_csrf)])
def scenario_run(
    request: Request,
    user: Caller,
    scenario: Annotated[list[str], Form(max_length=5)] = [],  # noqa: B006 - FastAPI form default
    runs: Annotated[int, Form(ge=100, le=5000)] = 500,
) -> Response:
    """Run the chosen scenarios and show their comparison."""
    if not scenario:
        raise HTTPException(422, "Choose at least one scenario to run.")
    try:
        run_id = request.app.state.scenario_runs.run(
            request.app.state.settings.warehouse, scenario, runs, user.username
        )
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    return RedirectResponse(f"/scenarios/runs/{run_id}", status_code=303)


@router.get("/scenarios/runs/{run_id}", name="scenario_result")
def scenario_result(
    request: Request, user: Caller, run_id: Annotated[str, Path(max_length=40)]
) -> Response:
    """A scenario run: comparison table, fan charts and tornado."""
    record = request.app.state.scenario_runs.get(run_id)
    if record is None:
        raise HTTPException(404, "No such scenario run (runs are kept while the app runs).")
    return render(request, "scenario_result.html", {"r": record, "run_id": run_id})


@router.get("/board-pack", name="board_pack_page")
def board_pack_page(request: Request, user: Caller) -> Response:
    """Links to the current quarter's board pack."""
    from joinedup.web.boardpack import current_quarter

    return render(request, "board_pack_page.html", {"quarter": current_quarter()})


@router.get("/board-pack/{quarter}.{fmt}", name="board_pack_download")
def board_pack_download(
    request: Request,
    user: Caller,
    quarter: Annotated[str, Path(pattern=r"^\d{4}Q[1-4]$")],
    fmt: Annotated[str, Path(pattern="^(html|pdf|xlsx)$")],
) -> Response:
    """The board pack of a quarter as HTML, PDF or Excel."""
    from joinedup.web import boardpack

    state = request.app.state
    pack = boardpack.build(
        state.data, state.settings.programme_db, quarter, state.settings.headline_measures
    )
    if fmt == "html":
        return HTMLResponse(boardpack.to_html(pack))
    if fmt == "pdf":
        content, media = boardpack.to_pdf(pack), "application/pdf"
    else:
        content = boardpack.to_xlsx(pack)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="board-pack-{quarter}.{fmt}"'},
    )
