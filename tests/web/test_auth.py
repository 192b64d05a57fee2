"""Sign-in, cookies, CSRF, lockout, rate limits, tokens and the users command."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from joinedup.access import accounts
from joinedup.web.security import SESSION_COOKIE, RateLimiter

from .conftest import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.integration


def test_session_cookie_is_secure_httponly_samesite(anon) -> None:
    r = sign_in(anon, "analyst")
    assert r.status_code == 303 and r.headers["location"] == "/overview"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict"} <= flags
    assert anon.get("/overview").status_code == 200


def test_passwords_are_stored_as_argon2_hashes(web_env) -> None:
    with web_env.app.state.accounts.connect() as con:
        stored = con.execute(
            text("SELECT password_hash FROM web_user WHERE username='board'")
        ).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_wrong_password_is_refused_without_saying_which_part(anon) -> None:
    r = sign_in(anon, "analyst", "not-the-password")
    assert r.status_code == 401 and accounts.BAD_CREDENTIALS in r.text
    r = sign_in(anon, "nobody-of-that-name", "not-the-password")
    assert r.status_code == 401 and accounts.BAD_CREDENTIALS in r.text


def test_login_form_needs_its_csrf_token(anon) -> None:
    anon.get("/login")
    r = anon.post(
        "/login", data={"username": "analyst", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert r.status_code == 403


def test_forms_need_the_session_csrf_token(clients) -> None:
    c = clients["programme_manager"]
    r = c.post("/programme/milestones/1", data={"version": "0", "status": "in_progress"})
    assert r.status_code == 403
    r = c.post(
        "/programme/milestones/1",
        data={"csrf_token": "x" * 43, "version": "0", "status": "in_progress"},
    )
    assert r.status_code == 403
    # Every form on a page carries the token.
    page = c.get("/programme/workstreams").text
    assert page.count('name="csrf_token"') == page.count('<form method="post"')


def test_lockout_after_repeated_failures(web_env, anon) -> None:
    accounts.add_user(web_env.app.state.accounts, "lockme", "board", "QWE", PASSWORD)
    limit = web_env.app.state.settings.max_failed_logins
    for _ in range(limit - 1):
        assert sign_in(anon, "lockme", "wrong-password").status_code == 401
    assert sign_in(anon, "lockme", "wrong-password").status_code == 423
    # Locked: even the right password is refused, and the API says the same.
    assert sign_in(anon, "lockme").status_code == 423
    r = anon.post("/api/token", json={"username": "lockme", "password": PASSWORD})
    assert r.status_code == 423


def test_rate_limit_per_address(web_env, anon) -> None:
    state = web_env.app.state
    saved, state.login_limiter = state.login_limiter, RateLimiter(3)
    try:
        codes = [
            anon.post(
                "/api/token", json={"username": "analyst", "password": "wrong-password"}
            ).status_code
            for _ in range(5)
        ]
    finally:
        state.login_limiter = saved
    assert codes == [401, 401, 401, 429, 429]


def test_api_token_round_trip(anon) -> None:
    r = anon.post("/api/token", json={"username": "analyst", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["token"]
    me = anon.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "analyst", "role": "analyst", "org_code": "QWE"}


def test_logout_ends_the_session(web_env) -> None:
    from fastapi.testclient import TestClient

    c = TestClient(web_env.app, base_url="https://testserver")
    sign_in(c, "board")
    token = csrf_of(c.get("/account").text)
    assert c.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert c.get("/overview", follow_redirects=False).status_code == 303


def test_security_headers(clients) -> None:
    r = clients["board"].get("/overview")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    # No page pulls anything from another origin (vendored design system only).
    assert "https://" not in r.text.split("<body")[0]


def test_unknown_role_and_short_password_are_refused(web_env) -> None:
    engine = web_env.app.state.accounts
    with pytest.raises(accounts.AccountError, match="not one of"):
        accounts.add_user(engine, "x1", "superuser", "QWE", PASSWORD)
    with pytest.raises(accounts.AccountError, match="at least 10"):
        accounts.add_user(engine, "x2", "board", "QWE", "short")
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.add_user(engine, "board", "board", "QWE", PASSWORD)


def test_users_add_command(tmp_path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    db = tmp_path / "p.sqlite"
    runner = CliRunner()
    args = [
        "users",
        "add",
        "first-admin",
        "--role",
        "admin",
        "--org",
        "qwe",
        "--password-stdin",
        "--programme-db",
        str(db),
    ]
    r = runner.invoke(app, args, input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    engine = accounts.make_accounts_engine(f"sqlite:///{db}")
    user = accounts.authenticate(engine, "first-admin", PASSWORD, 5, 15)
    assert (user.role, user.org_code) == ("admin", "QWE")
    r = runner.invoke(app, [*args[:4], "wizard", *args[5:]], input=PASSWORD + "\n")
    assert r.exit_code == 1 and "not one of" in r.output
