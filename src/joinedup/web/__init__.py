"""The partnership's web app: server-rendered pages and a JSON API (FastAPI).

Pages use the NHS.UK design system (vendored ``nhsuk-frontend``, never a CDN) and
server-side SVG charts. Sign-in, roles, CSRF, lockout and the audit log live in
:mod:`joinedup.access.accounts` and :mod:`joinedup.web.security`; who may call what is
one table, :data:`joinedup.access.roles.ACCESS`. Build the app with :func:`create_app`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WebSettings", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so `joinedup --help` and the data helpers do not import FastAPI.
    if name == "create_app":
        from joinedup.web.app import create_app

        return create_app
    if name == "WebSettings":
        from joinedup.web.config import WebSettings

        return WebSettings
    raise AttributeError(name)
