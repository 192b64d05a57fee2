"""Every role against every endpoint: each role-route pair gets exactly the status that
roles.ACCESS and the route give it: 403 where the role is refused; where it is allowed,
200 (every parameter is a real one of the test economy: a practice, a measure, a
quarter, a scenario run), or the route's own redirect, or a 404 the economy makes
inevitable (ALLOWED says which and why)."""

from __future__ import annotations

import re

import pytest

from joinedup.access.roles import ACCESS, PUBLIC, ROLES
from joinedup.web.app import route_names

from .conftest import SCENARIO, csrf_of

pytestmark = pytest.mark.integration

MEASURE = "emergency_admissions"
#: The economy's two programmes: one of enrolled people, one started practice by practice.
PERSON_PROGRAMME = "telephone_care_management"
PLACE_PROGRAMME = "integrated_neighbourhood_teams"

#: What an allowed role gets from a route that does not answer 200, and why.
ALLOWED: dict[str, int] = {
    "milestone_edit": 303,  # saved: back to the work programme
    "innovation_edit": 303,  # saved: back to the innovation register
    "scenario_run": 303,  # started: on to the run's result
    "practice_mine": 303,  # on to the clinician's own practice's feed
    "logout": 303,  # signed out: to the sign-in page
    # Every capability has its own pages now (pages.CAPABILITIES is empty): no slug is real.
    "capability_page": 404,
    # No practice of the 5,000-person economy has a monthly series without suppressed
    # months, and a series with any is not charted (measures.results.spc_of):
    # test_practice_spc_404_is_suppression pins that this is why.
    "practice_spc_svg": 404,
}


def expected_status(role: str, name: str) -> int:
    """The status ``role`` gets from the route called ``name`` (its sample request)."""
    if role not in ACCESS[name]:
        return 403
    return ALLOWED.get(name, 200)


def redirects(env) -> dict[str, str]:
    """Where each 303 of ALLOWED goes (a regular expression for the whole location)."""
    return {
        "milestone_edit": re.escape("/programme/workstreams?saved=1#milestone-1"),
        "innovation_edit": re.escape("/programme/innovations?saved=innovation-1#innovation-1"),
        "scenario_run": r"/scenarios/runs/[A-Za-z0-9_-]+",
        "practice_mine": re.escape(f"/practices/{env.practice}/feed"),
        "logout": re.escape("/login"),
    }


def quarter(env) -> str:
    """The newest quarter the test economy covers (the board pack's)."""
    from joinedup.reports.boardpack import latest_quarter

    return latest_quarter(env.app.state.figures)


def sample_requests(env, run_id: str) -> dict[str, tuple[str, str]]:
    """A concrete (method, URL) for every protected route; ``run_id`` is a real scenario
    run (the ``scenario_run_id`` fixture)."""
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
        "innovation_edit": ("POST", "/programme/innovations/1"),
        "scenarios_page": ("GET", "/scenarios"),
        "scenario_run": ("POST", "/scenarios/run"),
        "scenario_result": ("GET", f"/scenarios/runs/{run_id}"),
        "board_pack_page": ("GET", "/board-pack"),
        "board_pack_download": ("GET", f"/board-pack/{quarter(env)}.xlsx"),
        "opportunity_page": ("GET", "/opportunity"),
        "opportunity_measure_page": ("GET", f"/opportunity/{MEASURE}?by=footprint"),
        "evaluation_page": ("GET", "/evaluation"),
        "evaluation_programme_page": ("GET", f"/evaluation/{PLACE_PROGRAMME}"),
        "evaluation_event_study_svg": ("GET", f"/evaluation/{PLACE_PROGRAMME}/event-study.svg"),
        "evaluation_synthetic_control_svg": (
            "GET",
            f"/evaluation/{PLACE_PROGRAMME}/synthetic-control.svg",
        ),
        "evaluation_tests_svg": ("GET", f"/evaluation/{PERSON_PROGRAMME}/tests.svg"),
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
        "api_evaluations": ("GET", "/api/evaluations"),
        "api_evaluation": ("GET", f"/api/evaluations/{PERSON_PROGRAMME}"),
        "api_practices": ("GET", "/api/practices"),
        "api_practice_profile": ("GET", f"/api/practices/{env.practice}/profile"),
        "api_practice_feed": ("GET", f"/api/practices/{env.practice}/feed?days=7"),
        "api_practice_attenders": ("GET", f"/api/practices/{env.practice}/attenders"),
        "api_programme": ("GET", "/api/programme"),
        "api_scenarios": ("GET", "/api/scenarios"),
        "api_scenario_run": ("POST", "/api/scenarios/run"),
        "api_scenario_result": ("GET", f"/api/scenarios/runs/{run_id}"),
    }


def _milestone_version(client) -> str:
    """Milestone 1's current version, from its form on the work programme page."""
    page = client.get("/programme/workstreams").text
    found = re.search(
        r'action="/programme/milestones/1">.*?name="version" value="(\d+)"', page, flags=re.S
    )
    assert found, "no edit form for milestone 1 on the work programme page"
    return found.group(1)


def _innovation_form(client) -> tuple[str, str]:
    """Innovation 1's current version and linked programme ("" for none), from its form
    on the innovation register page."""
    page = client.get("/programme/innovations").text
    form = page.split('action="/programme/innovations/1">', 1)
    assert len(form) == 2, "no edit form for innovation 1 on the innovation register"
    form = form[1].split("</form>", 1)[0]
    version = re.search(r'name="version" value="(\d+)"', form)
    linked = re.search(r'<option value="([^"]*)" selected>', form)
    assert version and linked, form
    return version.group(1), linked.group(1)


def test_every_route_is_in_the_matrix(web_env) -> None:
    """No route escapes the table: each is either public or listed in ACCESS."""
    from joinedup.web.pages import CAPABILITIES

    names = route_names(web_env.app)
    unlisted = names - set(ACCESS) - PUBLIC
    assert not unlisted, f"routes missing from roles.ACCESS: {sorted(unlisted)}"
    assert set(ACCESS) <= names, f"ACCESS names routes that do not exist: {set(ACCESS) - names}"
    assert set(sample_requests(web_env, "run")) == set(ACCESS)
    assert set(ALLOWED) <= set(ACCESS)
    # When a capability page is added, the matrix must ask for it (and expect 200).
    assert not CAPABILITIES, "use a real capability slug in sample_requests, expect 200"


def test_practice_spc_404_is_suppression(web_env) -> None:
    """The practice SPC chart's 404 in the matrix is the economy's, not a broken route:
    the practice's series has suppressed months, and the partnership's is charted."""
    from joinedup.measures.definition import MeasureError

    figures = web_env.app.state.figures
    with pytest.raises(MeasureError, match=r"periods are suppressed \(counts 1-7\)"):
        figures.spc(MEASURE, "practice", web_env.practice)
    assert len(figures.spc(MEASURE, "partnership")) > 12


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_against_every_endpoint(web_env, clients, scenario_run_id, role) -> None:
    from fastapi.testclient import TestClient

    from .conftest import sign_in

    goes_to = redirects(web_env)
    wrong = []
    for name, (method, url) in sample_requests(web_env, scenario_run_id).items():
        expected = expected_status(role, name)
        c = clients[role]
        if name == "logout":
            # A session of its own: signing out must not end the shared one.
            c = TestClient(web_env.app, base_url="https://testserver")
            assert sign_in(c, role).status_code == 303
        if name == "api_scenario_run":
            r = c.post(url, json={"scenarios": [SCENARIO], "runs": 100})
        elif method == "POST":
            data = {"csrf_token": csrf_of(c.get("/account").text)}
            if name == "milestone_edit":
                version = _milestone_version(c) if expected != 403 else "0"
                data |= {"version": version, "status": "in_progress"}
            if name == "innovation_edit":
                # The link it already has: the matrix must not change what other tests read.
                version, linked = _innovation_form(c) if expected != 403 else ("0", "")
                data |= {"version": version, "evaluated_programme": linked}
            if name == "scenario_run":
                data |= {"scenario": SCENARIO, "runs": "100"}
            r = c.post(url, data=data, follow_redirects=False)
        else:
            r = c.get(url, follow_redirects=False)
        if r.status_code != expected:
            wrong.append(f"{method} {url}: {r.status_code}, expected {expected}")
        elif expected == 303 and not re.fullmatch(goes_to[name], r.headers["location"]):
            wrong.append(f"{method} {url}: to {r.headers['location']}, not {goes_to[name]}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_api_with_bearer_token(web_env, tokens, scenario_run_id, role) -> None:
    """The same matrix holds for API calls made with a bearer token."""
    from fastapi.testclient import TestClient

    c = TestClient(web_env.app, base_url="https://testserver")
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    wrong = []
    for name, (method, url) in sample_requests(web_env, scenario_run_id).items():
        if not name.startswith("api_"):
            continue
        if method == "POST":
            r = c.post(url, headers=headers, json={"scenarios": [SCENARIO], "runs": 100})
        else:
            r = c.get(url, headers=headers)
        expected = expected_status(role, name)
        if r.status_code != expected:
            wrong.append(f"{method} {url}: {r.status_code}, expected {expected}")
        elif name == "api_scenario_run" and expected == 200:
            assert r.json()["url"] == f"/api/scenarios/runs/{r.json()['run_id']}"
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


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
