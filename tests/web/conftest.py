"""Fixtures of the web tests: a small synthetic economy, the app, a user per role.

The economy (5,000 people, 2 years) is built once per session; the programme store
is a SQLite file in the same temporary folder with the demo partnership loaded.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from joinedup.access.roles import ROLES

PASSWORD = "correct-horse-battery-1"
#: A built-in scenario the tests run (100 Monte Carlo runs take about a second).
SCENARIO = "reablement_after_discharge"
warnings.filterwarnings("ignore", message=".*httpx2.*")


@dataclass
class WebEnv:
    """What the tests need to know about the running app."""

    app: object
    folder: Path
    practice: str  # the clinician's own practice
    other_practice: str
    nhs_numbers: set[str]  # every NHS number in the re-identification store


@pytest.fixture(scope="session")
def web_env(tmp_path_factory: pytest.TempPathFactory) -> WebEnv:
    import duckdb

    from joinedup.access.accounts import add_user
    from joinedup.synth import SynthConfig, build
    from joinedup.web.app import create_app
    from joinedup.web.config import WebSettings

    folder = tmp_path_factory.mktemp("web")
    result = build(SynthConfig(people=5000, years=2, seed=11), folder / "economy")
    url = f"sqlite:///{folder / 'programme.sqlite'}"
    from joinedup.programme.demo import load_demo
    from joinedup.programme.store import open_store

    store = open_store(url)
    with store.session() as s:
        load_demo(s)
    store.close()
    # Many sign-ins from one test address: the per-address limit is tested on its own.
    settings = WebSettings(
        warehouse=result.warehouse_path, programme_db=url, login_attempts_per_minute=10_000
    )
    app = create_app(settings)
    practices = list(app.state.figures.practices()["practice_code"])
    # The clinician's practice: the largest (it has a case-finding list to show).
    sizes = warehouse_sql(app, "SELECT practice_code, count(*) AS n FROM person GROUP BY 1")
    practice = sizes.sort_values(["n", "practice_code"], ascending=[False, True]).iloc[0][
        "practice_code"
    ]
    assert len(app.state.figures.casefinding(practice)) > 0
    for role in ROLES:
        add_user(
            app.state.accounts, role, role, practice if role == "clinician" else "QWE", PASSWORD
        )
    with duckdb.connect(str(settings.reidentification), read_only=True) as con:
        numbers = {r[0] for r in con.execute("SELECT nhs_number FROM identity").fetchall()}
    other = next(p for p in practices if p != practice)
    return WebEnv(app, folder, practice, other, numbers)


def warehouse_sql(app, query: str, params: list | None = None):
    """``query`` on the app's own warehouse connection (plain SQL, for checks)."""
    figures = app.state.figures
    with figures._lock:
        return figures.wh.raw.execute(query, params or []).df()


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the form (with its CSRF token); return the response."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="session")
def clients(web_env):
    """A signed-in TestClient per role (HTTPS base URL, so Secure cookies are sent)."""
    from fastapi.testclient import TestClient

    made = {}
    for role in ROLES:
        c = TestClient(web_env.app, base_url="https://testserver")
        assert sign_in(c, role).status_code == 303
        made[role] = c
    yield made
    for c in made.values():
        c.close()


@pytest.fixture(scope="session")
def tokens(web_env):
    """An API bearer token per role."""
    from fastapi.testclient import TestClient

    with TestClient(web_env.app, base_url="https://testserver") as c:
        return {
            role: c.post("/api/token", json={"username": role, "password": PASSWORD}).json()[
                "token"
            ]
            for role in ROLES
        }


@pytest.fixture(scope="session")
def scenario_run_id(web_env, tokens) -> str:
    """The id of a real scenario run (started by the analyst), so that the result routes
    have a run to show."""
    from fastapi.testclient import TestClient

    with TestClient(web_env.app, base_url="https://testserver") as c:
        r = c.post(
            "/api/scenarios/run",
            headers={"Authorization": f"Bearer {tokens['analyst']}"},
            json={"scenarios": [SCENARIO], "runs": 100},
        )
    assert r.status_code == 200, r.text
    return r.json()["run_id"]


@pytest.fixture
def anon(web_env):
    """A client that is not signed in."""
    from fastapi.testclient import TestClient

    with TestClient(web_env.app, base_url="https://testserver") as c:
        yield c
