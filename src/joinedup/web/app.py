"""The FastAPI application: state, security headers, error pages, routers."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from joinedup.access.accounts import make_accounts_engine
from joinedup.measures.definition import MeasureError
from joinedup.published import Figures, NotFound
from joinedup.web.config import WebSettings
from joinedup.web.scenarios import ScenarioRuns
from joinedup.web.security import NotSignedIn, RateLimiter

HERE = Path(__file__).parent
log = logging.getLogger("joinedup.web")

# Nothing is loaded from anywhere but this app: no CDN, no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(settings: WebSettings) -> FastAPI:
    """The web app over ``settings.warehouse`` and ``settings.programme_db``."""
    from joinedup import __version__
    from joinedup.web import api, evaluation, opportunity, pages, practices

    app = FastAPI(
        title="joinedup",
        version=__version__,
        description=(
            "JSON API of the partnership's web app. Get a token with POST /api/token and "
            "send it as `Authorization: Bearer TOKEN`. Aggregates have small numbers "
            "(1-7) suppressed; NHS numbers reach practice clinicians only, for their own "
            "practice, and every such read is audited."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.accounts = make_accounts_engine(settings.programme_db)
    app.state.figures = Figures(settings.warehouse, risk_model=settings.risk_model)
    app.state.login_limiter = RateLimiter(settings.login_attempts_per_minute)
    app.state.scenario_runs = ScenarioRuns()
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(practices.router)
    app.include_router(opportunity.router)
    app.include_router(evaluation.router)
    app.include_router(pages.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"

    @app.exception_handler(NotSignedIn)
    async def _to_login(request: Request, _exc: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    def error_page(request: Request, status: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status)
        from joinedup.web.render import render

        return render(request, "error.html", {"status": status, "message": message}, status)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        response = error_page(request, exc.status_code, str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return error_page(request, 404, str(exc))

    @app.exception_handler(MeasureError)
    async def _bad_measure(request: Request, exc: MeasureError) -> Response:
        return error_page(request, 422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        if wants_json(request):
            # loc, msg and type only: the raw input may be bytes or echo a password.
            errors = [
                {
                    "loc": [str(x) for x in e.get("loc", ())],
                    "msg": str(e.get("msg")),
                    "type": e.get("type"),
                }
                for e in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        return error_page(request, 422, "Some of the values sent are not valid.")

    return app


def route_names(app: FastAPI) -> set[str]:
    """Names of every endpoint of ``app``, including those of included routers."""

    def walk(routes) -> set[str]:
        names: set[str] = set()
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                names |= walk(inner.routes)
            elif getattr(route, "name", None):
                names.add(route.name)
        return names

    return walk(app.routes)
