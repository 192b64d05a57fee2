"""Request-level security: who is calling, may they, CSRF, and login rate limits.

Every protected route depends on :func:`authorise`, which finds the caller (session
cookie for pages, ``Authorization: Bearer`` for the API) and looks the route's name up
in :data:`joinedup.access.roles.ACCESS`. State-changing form posts also depend on
:func:`check_csrf`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque

from fastapi import HTTPException, Request

from joinedup.access import accounts
from joinedup.access.accounts import User
from joinedup.access.roles import allowed

SESSION_COOKIE = "joinedup_session"
LOGIN_CSRF_COOKIE = "joinedup_login_csrf"


class NotSignedIn(Exception):
    """A page was asked for without a session: the app redirects to the sign-in page."""


class RateLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key (client address)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Record an attempt; False when the key is over its limit."""
        t = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= t - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(t)
            return True


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def current_user(request: Request) -> User | None:
    """The caller, from a bearer token (API) or the session cookie; None if neither."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    engine = request.app.state.accounts
    header = request.headers.get("authorization", "")
    user: User | None = None
    if header.lower().startswith("bearer "):
        user = accounts.token_user(engine, header[7:].strip())
        if user is None:
            raise HTTPException(
                401,
                "The bearer token is not valid or has expired: POST /api/token for a new one.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    else:
        token = request.cookies.get(SESSION_COOKIE)
        found = accounts.session_user(engine, token) if token else None
        if found is not None:
            user, request.state.csrf_token = found
    request.state.user = user
    return user


def authorise(request: Request) -> User:
    """Dependency of every protected route: the caller, if their role may call it."""
    user = current_user(request)
    if user is None:
        if _is_api(request):
            raise HTTPException(
                401,
                "Sign in first: POST /api/token and send Authorization: Bearer TOKEN.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise NotSignedIn()
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if not name or not allowed(user.role, name):
        raise HTTPException(403, f"Your role ({user.role}) may not see this.")
    return user


async def check_csrf(request: Request) -> None:
    """Dependency of every form post: the form's csrf_token must match the session's."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return  # bearer-token calls carry no ambient credentials to forge
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    expected = getattr(request.state, "csrf_token", None)
    if expected is None:
        current_user(request)
        expected = getattr(request.state, "csrf_token", None)
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise HTTPException(
            403,
            "The form's security token is missing or out of date: reload the page and try again.",
        )


def new_login_csrf() -> str:
    """A token for the sign-in form (double-submit: cookie and hidden field)."""
    return secrets.token_urlsafe(24)
