"""Schemathesis against /openapi.json: whatever is sent, the API never answers 5xx.

Driven through Schemathesis' Python API (one Hypothesis run per operation) rather
than its pytest plugin, so the session fixtures (economy, app, tokens) are shared.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.integration

EXAMPLES = 15


def test_api_never_fails_with_a_server_error(web_env, tokens) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", web_env.app)
    # As an analyst (the role with the widest API access) so calls reach the handlers.
    headers = {"Authorization": f"Bearer {tokens['analyst']}"}
    seen: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:
            response = case.call(headers=headers, timeout=300)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} {case.query} -> "
                f"{response.status_code}: {response.text[:300]}"
            )

        call()
    assert "GET /api/measures/{measure_id}" in seen and "POST /api/token" in seen


def test_openapi_documents_the_contract(anon) -> None:
    doc = anon.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/api/token", "post"),
        ("/api/measures/{measure_id}", "get"),
        ("/api/casefinding", "get"),
        ("/api/audit", "get"),
    ]:
        assert method in paths[path], path
    params = {p["name"] for p in paths["/api/casefinding"]["get"]["parameters"]}
    assert "practice" in params
