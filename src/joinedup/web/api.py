"""The JSON API (documented at /openapi.json). Every route but /api/token and
/api/health needs a bearer token (or a signed-in session) and a role that
:data:`joinedup.access.roles.ACCESS` allows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from joinedup.access import accounts, audit
from joinedup.access.accounts import LoginRefused, User
from joinedup.measures.labels import UNIT_LABELS
from joinedup.web.casefinding import casefinding_list
from joinedup.web.render import cached_json, csv_download, records
from joinedup.web.security import authorise

router = APIRouter(prefix="/api", tags=["api"])
Caller = Annotated[User, Depends(authorise)]


class Credentials(BaseModel):
    """Username and password, as for the sign-in page."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Token(BaseModel):
    """A bearer token: send it as ``Authorization: Bearer TOKEN``."""

    token: str
    expires_in_hours: float


def client_key(request: Request) -> str:
    """The key login attempts are rate-limited by: the client address."""
    return request.client.host if request.client else "unknown"


@router.get("/health", name="health")
def health() -> dict[str, str]:
    """Liveness check (no sign-in needed)."""
    return {"status": "ok"}


@router.post(
    "/token",
    name="api_token",
    response_model=Token,
    responses={
        401: {"description": "Wrong credentials"},
        429: {"description": "Too many attempts"},
    },
)
def api_token(credentials: Credentials, request: Request) -> Token:
    """Exchange a username and password for an API bearer token."""
    state = request.app.state
    if not state.login_limiter.hit(client_key(request)):
        raise HTTPException(429, "Too many sign-in attempts from this address: wait a minute.")
    s = state.settings
    try:
        user = accounts.authenticate(
            state.accounts,
            credentials.username,
            credentials.password,
            s.max_failed_logins,
            s.lockout_minutes,
        )
    except LoginRefused as refused:
        raise HTTPException(423 if refused.locked else 401, refused.message) from None
    return Token(
        token=accounts.issue_token(state.accounts, user, s.token_hours),
        expires_in_hours=s.token_hours,
    )


@router.get("/me", name="api_me")
def api_me(user: Caller) -> dict[str, Any]:
    """Who the token belongs to."""
    return {"username": user.username, "role": user.role, "org_code": user.org_code}


@router.get("/overview", name="api_overview")
def api_overview(user: Caller, request: Request) -> dict[str, Any]:
    """Population, footprints, the age-sex pyramid and headline measures (suppressed)."""
    figures = request.app.state.figures
    return cached_json(
        request,
        "overview",
        lambda: {
            "population": figures.population(),
            "pyramid": records(figures.pyramid()),
            "headline_measures": records(
                figures.headline(request.app.state.settings.headline_measures)
            ),
        },
    )


@router.get("/measures", name="api_measures")
def api_measures(user: Caller, request: Request) -> list[dict[str, Any]]:
    """Every measure of the library (definition summary)."""
    return [
        {
            "id": d.id,
            "title": d.title,
            "kind": d.kind,
            "unit": d.unit,
            "unit_label": UNIT_LABELS[d.unit],
            "direction": d.direction,
            "period": d.period,
            "groupings": d.groupings,
            "topics": d.topics,
            "target": d.target,
        }
        for d in request.app.state.figures.library.values()
    ]


@router.get("/measures/{measure_id}", name="api_measure")
def api_measure(
    measure_id: Annotated[str, Path(max_length=80)],
    user: Caller,
    request: Request,
    by: Annotated[
        str, Query(max_length=40, description="partnership, footprint, practice, ...")
    ] = "partnership",
    period: Annotated[
        str | None,
        Query(
            pattern="^(month|quarter|financial_year)$",
            description="month, quarter or financial_year (default: the measure's own)",
        ),
    ] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Numerator, denominator, value (rates annualised) and 95% interval per period and
    group, the rows `joinedup measures compute` gives, with counts of 1-7 (and cells
    that would reveal them) suppressed: null with ``suppressed`` true."""
    figures = request.app.state.figures
    d = figures.definition(measure_id)
    table = figures.measure(measure_id, by, period)
    if format == "csv":
        return csv_download(table, f"{measure_id}-by-{by}.csv")
    return cached_json(
        request,
        f"measure:{measure_id}:{by}:{period}",
        lambda: {
            "measure": {
                "id": d.id,
                "title": d.title,
                "unit": d.unit,
                "unit_label": UNIT_LABELS[d.unit],
                "kind": d.kind,
                "direction": d.direction,
            },
            "by": by,
            "period": period or d.period,
            "suppression": "counts 1-7 suppressed, with secondary suppression within each "
            "period, each group and each parent area",
            "rows": records(table),
        },
    )


@router.get("/measures/{measure_id}/inequality", name="api_measure_inequality")
def api_measure_inequality(
    measure_id: Annotated[str, Path(max_length=80)], user: Caller, request: Request
) -> Any:
    """Inequality by deprivation per financial year: slope and relative indices of
    inequality across IMD quintiles and the Core20 gap, with 95% intervals (null where
    a quintile or side is suppressed; ``note`` says why)."""
    figures = request.app.state.figures
    d = figures.definition(measure_id)
    if "imd_quintile" not in d.groupings:
        raise HTTPException(404, f"measure {measure_id!r} is not grouped by IMD quintile")
    return JSONResponse(
        {
            "measure": {"id": d.id, "title": d.title, "unit": d.unit},
            "method": "SII/RII: PHE weighted regression on relative rank; Core20 gap: MOVER",
            "rows": records(figures.inequality(measure_id)),
        }
    )


@router.get("/casefinding", name="api_casefinding", responses={403: {"description": "Not allowed"}})
def api_casefinding(
    user: Caller,
    request: Request,
    practice: Annotated[str, Query(min_length=1, max_length=16, description="Practice ODS code")],
    reason: Annotated[
        str | None, Query(max_length=500, description="Why the list is read (audited)")
    ] = None,
) -> dict[str, Any]:
    """The practice's case-finding list: ``nhs_number`` only for the practice's own
    clinicians (each read audited); analysts get it pseudonymised; others 403."""
    return casefinding_list(request.app.state, user, practice, "GET /api/casefinding", reason)


@router.get("/population", name="api_population")
def api_population(user: Caller, request: Request) -> dict[str, Any]:
    """Population and risk: people, activity and cost by Bridges to Health segment and
    Kaiser tier, by footprint and for the partnership, the risk distribution and the
    risk model's card in brief (null without a trained model). Counts suppressed."""
    figures = request.app.state.figures
    segments, tiers = figures.segments("segment"), figures.segments("tier")
    risk = figures.risk_distribution()
    return {
        "as_of": figures.segments_as_of(),
        "segments": records(segments),
        "tiers": None if tiers is None else records(tiers),
        "risk_distribution": None if risk is None else records(risk),
        "model_card": figures.model_card(),
        "problem": figures.risk_model_problem,
    }


@router.get("/audit", name="api_audit")
def api_audit(
    user: Caller,
    request: Request,
    q: Annotated[str | None, Query(max_length=100)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    person_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """The identifiable-access audit log (IG lead only): search and export (CSV)."""
    rows = audit.search_audit(
        request.app.state.accounts, q, username, person_id, since, until, limit
    )
    if format == "csv":
        frame = pd.DataFrame(rows, columns=audit.AUDIT_COLUMNS)
        return csv_download(frame, "identifiable-access-audit.csv")
    return {"count": len(rows), "entries": rows}


@router.get("/programme", name="api_programme")
def api_programme(user: Caller, request: Request) -> dict[str, Any]:
    """Workstreams with RAG and milestones from the programme store (empty if none)."""
    from joinedup.programme.summary import programme_summary

    return programme_summary(request.app.state.settings.programme_db)


class ScenarioRequest(BaseModel):
    """Built-in scenarios to run together (shared baseline and growth draws)."""

    scenarios: list[Annotated[str, Field(max_length=80)]] = Field(min_length=1, max_length=5)
    runs: int = Field(500, ge=100, le=5000)


@router.get("/scenarios", name="api_scenarios")
def api_scenarios(user: Caller) -> list[dict[str, str]]:
    """The built-in scenario library."""
    from joinedup.web.scenarios import ScenariosUnavailable, library

    try:
        return library()
    except ScenariosUnavailable as exc:
        raise HTTPException(503, str(exc)) from None


@router.post("/scenarios/run", name="api_scenario_run", responses={404: {"description": "Unknown"}})
def api_scenario_run(body: ScenarioRequest, user: Caller, request: Request) -> dict[str, str]:
    """Run scenarios; the result is at /api/scenarios/runs/{run_id}."""
    try:
        run_id = request.app.state.scenario_runs.run(
            request.app.state.settings.warehouse, body.scenarios, body.runs, user.username
        )
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    return {"run_id": run_id, "url": f"/api/scenarios/runs/{run_id}"}


@router.get("/scenarios/runs/{run_id}", name="api_scenario_result")
def api_scenario_result(
    user: Caller, request: Request, run_id: Annotated[str, Path(max_length=40)]
) -> dict[str, Any]:
    """A scenario run's comparison table (charts are on the page)."""
    record = request.app.state.scenario_runs.get(run_id)
    if record is None:
        raise HTTPException(404, "No such scenario run.")
    return {k: v for k, v in record.items() if k != "charts"}
