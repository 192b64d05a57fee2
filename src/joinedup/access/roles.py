"""Roles and the role-by-endpoint matrix: who may call which page or API endpoint.

:data:`ACCESS` is the one table the app enforces (every route looks its own name up
here) and the matrix test checks (every role against every route). A route missing
from the table is refused to everyone.
"""

from __future__ import annotations

BOARD = "board"
PROGRAMME_MANAGER = "programme_manager"
ANALYST = "analyst"
CLINICIAN = "clinician"
IG_LEAD = "ig_lead"
ADMIN = "admin"

ROLES: dict[str, str] = {
    BOARD: "Partnership board member",
    PROGRAMME_MANAGER: "Programme manager",
    ANALYST: "Analyst",
    CLINICIAN: "Practice clinician",
    IG_LEAD: "Information governance lead",
    ADMIN: "Administrator",
}

EVERYONE = frozenset(ROLES)
#: Roles that may see a case-finding list: clinicians (own practice, identifiable) and
#: analysts (pseudonymised: person ids, never NHS numbers).
CASEFINDING = frozenset({CLINICIAN, ANALYST})
#: Roles that may see NHS numbers (own practice only, every read audited).
IDENTIFIABLE = frozenset({CLINICIAN})
PROGRAMME_EDITORS = frozenset({PROGRAMME_MANAGER, ADMIN})
BOARD_PACK = frozenset({BOARD, PROGRAMME_MANAGER, ANALYST, ADMIN})
SCENARIO_RUNNERS = frozenset({ANALYST, PROGRAMME_MANAGER, ADMIN})
#: Roles that may call a practice's patient-level pages (its activity feed, frequent
#: attenders): that practice's clinicians (the route checks the practice, with NHS
#: numbers) and the administrator (pseudonymised). Everyone sees the aggregate profile.
PRACTICE_PATIENTS = frozenset({CLINICIAN, ADMIN})

#: Route name -> roles allowed. Route names are the endpoint function names.
ACCESS: dict[str, frozenset[str]] = {
    # pages
    "overview_page": EVERYONE,
    "measures_page": EVERYONE,
    "measure_page": EVERYONE,
    "measure_csv": EVERYONE,
    "measure_spc_svg": EVERYONE,
    "measure_funnel_svg": EVERYONE,
    "pyramid_svg": EVERYONE,
    "casefinding_page": CASEFINDING,
    "population_page": EVERYONE,
    "audit_page": frozenset({IG_LEAD}),
    "audit_csv": frozenset({IG_LEAD}),
    "capability_page": EVERYONE,
    "programme_page": EVERYONE,
    "milestone_edit": PROGRAMME_EDITORS,
    "innovation_edit": PROGRAMME_EDITORS,
    "scenarios_page": EVERYONE,
    "scenario_run": SCENARIO_RUNNERS,
    "scenario_result": EVERYONE,
    "board_pack_page": BOARD_PACK,
    "board_pack_download": BOARD_PACK,
    "opportunity_page": EVERYONE,
    "opportunity_measure_page": EVERYONE,
    # Is it working? Evaluations are aggregates (small numbers suppressed): everyone.
    "evaluation_page": EVERYONE,
    "evaluation_programme_page": EVERYONE,
    "evaluation_event_study_svg": EVERYONE,
    "evaluation_synthetic_control_svg": EVERYONE,
    "evaluation_tests_svg": EVERYONE,
    "practices_page": EVERYONE,
    "practice_mine": frozenset({CLINICIAN}),
    "practice_profile_page": EVERYONE,
    "practice_spc_svg": EVERYONE,
    "practice_funnel_svg": EVERYONE,
    "practice_feed_page": PRACTICE_PATIENTS,
    "practice_feed_download": PRACTICE_PATIENTS,
    "practice_attenders_page": PRACTICE_PATIENTS,
    "practice_attenders_download": PRACTICE_PATIENTS,
    "account_page": EVERYONE,
    "logout": EVERYONE,
    # JSON API
    "api_me": EVERYONE,
    "api_overview": EVERYONE,
    "api_measures": EVERYONE,
    "api_measure": EVERYONE,
    "api_measure_inequality": EVERYONE,
    "api_population": EVERYONE,
    "api_casefinding": CASEFINDING,
    "api_audit": frozenset({IG_LEAD}),
    "api_opportunity": EVERYONE,
    "api_opportunity_measure": EVERYONE,
    "api_evaluations": EVERYONE,
    "api_evaluation": EVERYONE,
    "api_practices": EVERYONE,
    "api_practice_profile": EVERYONE,
    "api_practice_feed": PRACTICE_PATIENTS,
    "api_practice_attenders": PRACTICE_PATIENTS,
    "api_programme": EVERYONE,
    "api_scenarios": EVERYONE,
    "api_scenario_run": SCENARIO_RUNNERS,
    "api_scenario_result": EVERYONE,
}

#: Routes anyone may reach without signing in.
PUBLIC = frozenset(
    {"login_page", "login_submit", "api_token", "health", "openapi", "static", "root"}
)


def allowed(role: str, route_name: str) -> bool:
    """Whether ``role`` may call the route called ``route_name``."""
    return role in ACCESS.get(route_name, frozenset())
