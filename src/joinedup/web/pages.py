"""Server-rendered pages (Jinja templates on the NHS.UK design system).

Each page renders what :class:`joinedup.published.Figures` returns, the figures the
JSON API and the board pack show too; pages are left out of the OpenAPI document.
Every form carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.access import accounts, audit
from joinedup.access.accounts import LoginRefused, User
from joinedup.access.roles import allowed
from joinedup.measures.definition import GROUPINGS, MeasureError
from joinedup.published.figures import BREAKDOWNS
from joinedup.web.api import client_key
from joinedup.web.casefinding import casefinding_list
from joinedup.web.charts import funnel_svg, spc_svg
from joinedup.web.render import csv_download, records, render
from joinedup.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    authorise,
    check_csrf,
    new_login_csrf,
)

router = APIRouter(include_in_schema=False)
Caller = Annotated[User, Depends(authorise)]

#: Capabilities whose pages are not wired in yet (slug -> title, text).
CAPABILITIES: dict[str, tuple[str, str]] = {}


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
    from joinedup.charts.population import kaiser_pyramid_svg
    from joinedup.risk.segments import PARTNERSHIP

    figures = request.app.state.figures

    def context() -> dict[str, Any]:
        tiers = figures.segments("tier")
        segment_pyramid = None
        if tiers is not None:
            rows = [r for r in records(tiers) if r["footprint_code"] == PARTNERSHIP]
            segment_pyramid = kaiser_pyramid_svg(rows, "the partnership")
        return {
            "population": figures.population(),
            "pyramid": figures.pyramid(),
            "segment_pyramid": segment_pyramid,
            "headline": figures.headline(request.app.state.settings.headline_measures),
        }

    return render(request, "overview.html", context, cache="overview")


@router.get("/overview/pyramid.svg", name="pyramid_svg")
def pyramid_svg(request: Request, user: Caller) -> Response:
    """The age-sex pyramid as SVG."""
    from joinedup.charts.population import pyramid_svg as draw

    figures = request.app.state.figures
    svg = figures.figure("chart:pyramid:partnership", lambda: draw(figures.pyramid()))
    return Response(svg, media_type="image/svg+xml")


@router.get("/measures", name="measures_page")
def measures_page(request: Request, user: Caller) -> Response:
    """The measure library by topic."""
    library = request.app.state.figures.library
    by_topic: dict[str, list[Any]] = {}
    for d in library.values():
        by_topic.setdefault((d.topics or ["other"])[0], []).append(d)
    return render(
        request, "measures.html", {"by_topic": dict(sorted(by_topic.items()))}, cache="library"
    )


MeasureId = Annotated[str, Path(max_length=80)]
Grouping = Annotated[str | None, Query(max_length=40, description="A grouping of the measure")]


@router.get("/measures/{measure_id}", name="measure_page")
def measure_page(
    request: Request, user: Caller, measure_id: MeasureId, by: Grouping = None
) -> Response:
    """One measure: SPC chart and recent values, funnel plot, breakdowns and inequality
    in its newest financial year, any grouping's newest period and year, downloads."""
    figures = request.app.state.figures
    d = figures.definition(measure_id)
    if by is not None and by not in d.groupings:
        raise MeasureError(
            f"measure {d.id!r} cannot be grouped by {by!r}; it allows: {', '.join(d.groupings)}"
        )

    def context() -> dict[str, Any]:
        try:
            chart = figures.spc(measure_id)
        except MeasureError:
            chart = None
        deprivation = None
        if "imd_quintile" in d.groupings:
            yearly = figures.inequality(measure_id)
            deprivation = yearly.iloc[-1].to_dict() if len(yearly) else None
        grouped = None
        if by is not None:
            grouped = {
                "latest period": figures.latest(measure_id, by),
                "latest financial year": figures.latest(measure_id, by, "financial_year"),
            }
        return {
            "d": d,
            "series": figures.measure(measure_id, "partnership").tail(12),
            "spc": None if chart is None else True,
            "variation": None if chart is None else chart.attrs.get("variation_icon"),
            "assurance": None if chart is None else chart.attrs.get("assurance_icon"),
            "has_funnel": funnel_svg(figures, measure_id) is not None,
            "breakdowns": {
                g: figures.latest(measure_id, g, "financial_year")
                for g in BREAKDOWNS
                if g in d.groupings
            },
            "deprivation": deprivation,
            "by": by,
            "groupings": [g for g in GROUPINGS if g in d.groupings],
            "grouped": grouped,
        }

    return render(request, "measure.html", context, cache=f"{measure_id}:{by}")


def _svg(content: bytes | None) -> Response:
    if content is None:
        raise HTTPException(404, "No chart applies to this measure.")
    return Response(content, media_type="image/svg+xml")


@router.get("/measures/{measure_id}/spc.svg", name="measure_spc_svg")
def measure_spc_svg(request: Request, user: Caller, measure_id: MeasureId) -> Response:
    """The measure's SPC chart as SVG."""
    return _svg(spc_svg(request.app.state.figures, measure_id))


@router.get("/measures/{measure_id}/funnel.svg", name="measure_funnel_svg")
def measure_funnel_svg(request: Request, user: Caller, measure_id: MeasureId) -> Response:
    """The measure's funnel plot across practices (newest financial year) as SVG."""
    return _svg(funnel_svg(request.app.state.figures, measure_id))


@router.get("/measures/{measure_id}/download.csv", name="measure_csv")
def measure_csv(
    request: Request,
    user: Caller,
    measure_id: MeasureId,
    by: Annotated[str, Query(max_length=40)] = "partnership",
    period: Annotated[str | None, Query(pattern="^(month|quarter|financial_year)$")] = None,
) -> Response:
    """The measure by any grouping as CSV (suppressed), as the API gives it."""
    table = request.app.state.figures.measure(measure_id, by, period)
    return csv_download(table, f"{measure_id}-by-{by}.csv")


@router.get("/casefinding", name="casefinding_page")
def casefinding_page(
    request: Request,
    user: Caller,
    practice: Annotated[str | None, Query(max_length=16)] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """A case-finding list: a clinician's own practice, or any practice pseudonymised."""
    figures = request.app.state.figures
    if user.practice_code and not practice:
        practice = user.practice_code
    listing = None
    if practice:
        listing = casefinding_list(request.app.state, user, practice, "/casefinding", reason)
    return render(
        request,
        "casefinding.html",
        {
            "practices": figures.practices().to_dict("records"),
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
    from joinedup.charts.population import kaiser_pyramid_svg, segment_bars_svg
    from joinedup.risk.segments import PARTNERSHIP

    figures = request.app.state.figures

    def context() -> dict[str, Any]:
        names = {f["footprint_code"]: f["name"] for f in figures.population()["footprints"]}
        area = footprint if footprint in names else PARTNERSHIP
        area_name = "the partnership" if area == PARTNERSHIP else f"{names[area]} ({area})"
        tables = {}
        for kind in ("segment", "tier"):
            table = figures.segments(kind)
            if table is None:
                continue
            codes = [c for c in names if c in set(table["footprint_code"])] + [PARTNERSHIP]
            order = sorted(set(table[kind]), reverse=True)
            rows = records(table)  # NA -> None, numpy -> Python
            cell = {(r["footprint_code"], r[kind]): r for r in rows}
            tables[kind] = {
                "columns": [(c, names.get(c, "Partnership")) for c in codes],
                "rows": [
                    (
                        table.loc[table[kind] == k, f"{kind}_name"].iloc[0],
                        [cell[(c, k)] for c in codes],
                    )
                    for k in order
                ],
                "area": [r for r in rows if r["footprint_code"] == area],
            }
        charts = {
            "segment": figures.figure(
                f"chart:segments:{area}", segment_bars_svg, tables["segment"]["area"], area_name
            )
        }
        if "tier" in tables:
            charts["tier"] = figures.figure(
                f"chart:kaiser:{area}", kaiser_pyramid_svg, tables["tier"]["area"], area_name
            )
        risk = figures.risk_distribution()
        return {
            "as_of": figures.segments_as_of(),
            "footprints": names,
            "footprint": None if area == PARTNERSHIP else area,
            "area_name": area_name,
            "tables": tables,
            "charts": charts,
            "risk": None if risk is None else records(risk),
            "card": figures.model_card(),
            "model_problem": figures.risk_model_problem,
        }

    return render(request, "population.html", context, cache=f"population:{footprint}")


@router.get("/audit", name="audit_page")
def audit_page(
    request: Request,
    user: Caller,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The identifiable-access audit log, searchable."""
    rows = audit.search_audit(request.app.state.accounts, q=q or None, limit=500)
    return render(request, "audit.html", {"rows": rows, "q": q or ""})


@router.get("/audit.csv", name="audit_csv")
def audit_csv(
    request: Request, user: Caller, q: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    """The audit log (or a search of it) as CSV."""
    rows = audit.search_audit(request.app.state.accounts, q=q or None, limit=100_000)
    frame = pd.DataFrame(rows, columns=audit.AUDIT_COLUMNS)
    return csv_download(frame, "identifiable-access-audit.csv")


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
    """A section of the work programme from the programme store; on the innovation
    register, each entry's evaluation and (for programme editors) a form to link it to
    the programme whose evaluation it rests on."""
    from joinedup.programme.summary import programme_summary
    from joinedup.programme.vocab import MILESTONE_STATUSES

    if section not in SECTIONS:
        raise HTTPException(404, f"No programme page called {section!r}.")
    summary = programme_summary(request.app.state.settings.programme_db)
    evaluated: dict[str, Any] = {}
    evaluable: list[str] = []
    if section == "innovations" and summary.get("available"):
        from joinedup.web.evaluation import verdicts

        named = {i["evaluated_programme"] for i in summary["innovations"]}
        evaluated = verdicts(request.app.state.figures, named - {None})
        evaluable = request.app.state.figures.programmes()
    return render(
        request,
        "programme.html",
        {
            "section": section,
            "title": SECTIONS[section],
            "sections": SECTIONS,
            "p": summary,
            "can_edit": allowed(user.role, "milestone_edit"),
            "statuses": MILESTONE_STATUSES if summary.get("available") else {},
            "saved": saved,
            "evaluated": evaluated,
            "evaluable": evaluable,
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
    from joinedup.programme import service
    from joinedup.programme.errors import ProgrammeError
    from joinedup.programme.summary import store

    try:
        when = date.fromisoformat(forecast) if forecast else None
    except ValueError:
        raise HTTPException(422, f"Forecast date {forecast!r}: use YYYY-MM-DD.") from None
    values: dict[str, Any] = {"status": status, "forecast": when}
    if notes:
        values["notes"] = notes
    try:
        with store(request.app.state.settings.programme_db).session(user=user.username) as s:
            service.update_milestone(s, milestone_id, version, **values)
    except ProgrammeError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(
        f"/programme/workstreams?saved={milestone_id}#milestone-{milestone_id}", status_code=303
    )


@router.post(
    "/programme/innovations/{innovation_id}",
    name="innovation_edit",
    dependencies=[Depends(check_csrf)],
)
def innovation_edit(
    request: Request,
    user: Caller,
    innovation_id: Annotated[int, Path(ge=1)],
    version: Annotated[int, Form(ge=0)],
    evaluated_programme: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Link an innovation register entry to the programme whose evaluation it rests on
    (one the data hold), or clear the link (an empty choice). The same change as
    ``joinedup programme innovation update ID --evaluates NAME``."""
    from joinedup.programme import service
    from joinedup.programme.errors import NotFoundError, ProgrammeError
    from joinedup.programme.models import Innovation
    from joinedup.programme.summary import store

    name = evaluated_programme.strip() or None
    held = request.app.state.figures.programmes()
    if name is not None and name not in held:
        raise HTTPException(
            422,
            f"No programme called {name!r} in the data; the programmes are: "
            + (", ".join(held) or "none"),
        )
    try:
        with store(request.app.state.settings.programme_db).session(user=user.username) as s:
            service.update(s, Innovation, innovation_id, version, evaluated_programme=name)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except ProgrammeError as exc:  # a stale version: somebody changed it since
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(
        f"/programme/innovations?saved=innovation-{innovation_id}#innovation-{innovation_id}",
        status_code=303,
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
    """Links to the board pack of the newest quarter the data cover."""
    from joinedup.reports.boardpack import latest_quarter

    return render(
        request, "board_pack_page.html", {"quarter": latest_quarter(request.app.state.figures)}
    )


@router.get("/board-pack/{quarter}.{fmt}", name="board_pack_download")
def board_pack_download(
    request: Request,
    user: Caller,
    quarter: Annotated[str, Path(pattern=r"^\d{4}Q[1-4]$")],
    fmt: Annotated[str, Path(pattern="^(html|pdf|xlsx)$")],
) -> Response:
    """The board pack of a quarter as HTML, PDF or Excel."""
    from joinedup.reports import boardpack

    state = request.app.state
    pack = boardpack.build(
        state.figures, state.settings.programme_db, quarter, state.settings.headline_measures
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
