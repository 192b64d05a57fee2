"""Every role against every endpoint: allowed or refused exactly as roles.ACCESS says."""

from __future__ import annotations

import pytest

from joinedup.access.roles import ACCESS, PUBLIC, ROLES
from joinedup.web.app import route_names

from .conftest import csrf_of

pytestmark = pytest.mark.integration

MEASURE = "emergency_admissions"


def sample_requests(env) -> dict[str, tuple[str, str]]:
    """A concrete (method, URL) for every protected route."""
    return {
        "overview_page": ("GET", "/overview"),
        "pyramid_svg": ("GET", "/overview/pyramid.svg"),
        "measures_page": ("GET", "/measures"),
        "measure_page": ("GET", f"/measures/{MEASURE}"),
        "measure_spc_svg": ("GET", f"/measures/{MEASURE}/spc.svg"),
        "measure_funnel_svg": ("GET", f"/measures/{MEASURE}/funnel.svg"),
        "measure_csv": ("GET", f"/measures/{MEASURE}/download.csv?by=practice"),
        "casefinding_page": ("GET", f"/casefinding?practice={env.practice}"),
        "population_page": ("GET", "/population"),
        "audit_page": ("GET", "/audit"),
        "audit_csv": ("GET", "/audit.csv"),
        "capability_page": ("GET", "/capability/scenarios"),
        "programme_page": ("GET", "/programme/workstreams"),
        "milestone_edit": ("POST", "/programme/milestones/1"),
        "scenarios_page": ("GET", "/scenarios"),
        "scenario_run": ("POST", "/scenarios/run"),
        "scenario_result": ("GET", "/scenarios/runs/no-such-run"),
        "board_pack_page": ("GET", "/board-pack"),
        "board_pack_download": ("GET", "/board-pack/2026Q1.xlsx"),
        "opportunity_page": ("GET", "/opportunity"),
        "opportunity_measure_page": ("GET", f"/opportunity/{MEASURE}?by=footprint"),
        "practices_page": ("GET", "/practices"),
        "practice_mine": ("GET", "/practices/mine"),
        "practice_profile_page": ("GET", f"/practices/{env.practice}"),
        "practice_spc_svg": ("GET", f"/practices/{env.practice}/measures/{MEASURE}/spc.svg"),
        "practice_funnel_svg": ("GET", f"/practices/{env.practice}/measures/{MEASURE}/funnel.svg"),
        "practice_feed_page": ("GET", f"/practices/{env.practice}/feed"),
        "practice_feed_download": ("GET", f"/practices/{env.practice}/feed.csv"),
        "practice_attenders_page": ("GET", f"/practices/{env.practice}/attenders"),
        "practice_attenders_download": ("GET", f"/practices/{env.practice}/attenders.xlsx"),
        "account_page": ("GET", "/account"),
        "logout": ("POST", "/logout"),
        "api_me": ("GET", "/api/me"),
        "api_overview": ("GET", "/api/overview"),
        "api_measures": ("GET", "/api/measures"),
        "api_measure": ("GET", f"/api/measures/{MEASURE}?by=practice"),
        "api_measure_inequality": ("GET", f"/api/measures/{MEASURE}/inequality"),
        "api_population": ("GET", "/api/population"),
        "api_casefinding": ("GET", f"/api/casefinding?practice={env.practice}"),
        "api_audit": ("GET", "/api/audit"),
        "api_opportunity": ("GET", "/api/opportunity?by=footprint"),
        "api_opportunity_measure": ("GET", f"/api/opportunity/{MEASURE}"),
        "api_practices": ("GET", "/api/practices"),
        "api_practice_profile": ("GET", f"/api/practices/{env.practice}/profile"),
        "api_practice_feed": ("GET", f"/api/practices/{env.practice}/feed?days=7"),
        "api_practice_attenders": ("GET", f"/api/practices/{env.practice}/attenders"),
        "api_programme": ("GET", "/api/programme"),
        "api_scenarios": ("GET", "/api/scenarios"),
        "api_scenario_run": ("POST", "/api/scenarios/run"),
        "api_scenario_result": ("GET", "/api/scenarios/runs/no-such-run"),
    }


def test_every_route_is_in_the_matrix(web_env) -> None:
    """No route escapes the table: each is either public or listed in ACCESS."""
    names = route_names(web_env.app)
    unlisted = names - set(ACCESS) - PUBLIC
    assert not unlisted, f"routes missing from roles.ACCESS: {sorted(unlisted)}"
    assert set(ACCESS) <= names, f"ACCESS names routes that do not exist: {set(ACCESS) - names}"
    assert set(sample_requests(web_env)) == set(ACCESS)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_against_every_endpoint(web_env, clients, role) -> None:
    from fastapi.testclient import TestClient

    from .conftest import sign_in

    for name, (method, url) in sample_requests(web_env).items():
        expected = role in ACCESS[name]
        c = clients[role]
        if name == "logout":
            # A session of its own: signing out must not end the shared one.
            c = TestClient(web_env.app, base_url="https://testserver")
            assert sign_in(c, role).status_code == 303
        if method == "POST":
            data = {"csrf_token": csrf_of(c.get("/account").text)}
            if name == "milestone_edit":
                data |= {"version": "0", "status": "in_progress"}
            r = c.post(url, data=data, follow_redirects=False)
        else:
            r = c.get(url, follow_redirects=False)
        if expected:
            # Allowed: anything but a refusal (a stale milestone is 409, an empty
            # scenario form 422, an unknown scenario run 404) or a trip to sign-in.
            assert r.status_code not in (401, 403), f"{role} {method} {url}: {r.status_code}"
            assert r.status_code < 500, f"{role} {method} {url}: {r.status_code}"
            if r.status_code == 303:
                assert not r.headers["location"].startswith("/login?"), (role, url)
        else:
            assert r.status_code == 403, (
                f"{role} should be refused {method} {url}, got {r.status_code}"
            )


@pytest.mark.parametrize("role", sorted(ROLES))
def test_api_with_bearer_token(web_env, tokens, role) -> None:
    """The same matrix holds for API calls made with a bearer token."""
    from fastapi.testclient import TestClient

    c = TestClient(web_env.app, base_url="https://testserver")
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    for name, (method, url) in sample_requests(web_env).items():
        if not name.startswith("api_"):
            continue
        if method == "POST":  # an unknown scenario: 404 once past the role check
            r = c.post(url, headers=headers, json={"scenarios": ["no_such_scenario"], "runs": 100})
        else:
            r = c.get(url, headers=headers)
        if role in ACCESS[name]:
            assert r.status_code in (200, 404), (role, url, r.status_code)
            assert r.status_code == 200 or "runs/" in url or method == "POST", (role, url)
        else:
            assert r.status_code == 403, (role, url, r.status_code)


def test_not_signed_in(anon) -> None:
    """Pages send an anonymous caller to the sign-in page; the API answers 401."""
    r = anon.get("/measures", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/measures"
    r = anon.get("/api/measures")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (
        anon.get("/api/measures", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    )
    assert anon.get("/openapi.json").status_code == 200
