"""Information governance: suppression, NHS numbers only where allowed, the audit log."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from joinedup.access.roles import ROLES

from .test_matrix import sample_requests

pytestmark = pytest.mark.integration

NHS_LIKE = re.compile(r"\b(999\d{7})\b|\b(999 \d{3} \d{4})\b")


def _responses(web_env, client, headers=None, api_only=False):
    """Every GET the matrix knows (pages and API), plus the other practice's list."""
    urls = [u for m, u in sample_requests(web_env).values() if m == "GET"]
    urls += [f"/api/casefinding?practice={web_env.other_practice}", "/board-pack/2026Q1.html"]
    if api_only:
        urls = [u for u in urls if u.startswith("/api/")]
    for url in urls:
        r = client.get(url, headers=headers or {})
        yield url, r


def _numbers_in(body: str, known: set[str]) -> set[str]:
    found = {(a or b).replace(" ", "") for a, b in NHS_LIKE.findall(body)}
    return found & known


@pytest.mark.parametrize("role", sorted(set(ROLES) - {"clinician"}))
def test_no_nhs_number_reaches_a_role_that_may_not_see_it(web_env, clients, tokens, role) -> None:
    assert len(web_env.nhs_numbers) > 1000  # the demo people do have test-range numbers
    for via, headers in (("session", None), ("token", {"Authorization": f"Bearer {tokens[role]}"})):
        for url, r in _responses(web_env, clients[role], headers, api_only=via == "token"):
            leaked = _numbers_in(r.text, web_env.nhs_numbers) if r.status_code == 200 else set()
            assert not leaked, f"{role} ({via}) saw NHS numbers at {url}"
            assert "nhs_number" not in r.text or r.status_code != 200 or "casefinding" not in url


def test_clinician_sees_own_practice_only_and_every_read_is_audited(
    web_env, clients, tokens
) -> None:
    c = clients["clinician"]
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    r = c.get(f"/api/casefinding?practice={web_env.practice}&reason=annual review", headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["identifiable"] and body["patients"]
    numbers = {p["nhs_number"] for p in body["patients"]}
    assert numbers <= web_env.nhs_numbers and all(n.startswith("999") for n in numbers)
    # The same NHS numbers are in the restricted store under these person ids.
    assert (
        c.get(f"/api/casefinding?practice={web_env.other_practice}", headers=headers).status_code
        == 403
    )
    page = c.get(f"/casefinding?practice={web_env.other_practice}")
    assert page.status_code == 403 and not _numbers_in(page.text, web_env.nhs_numbers)
    # Other pages show the clinician no NHS numbers either.
    for url in ("/overview", "/api/measures/emergency_admissions?by=practice"):
        assert not _numbers_in(c.get(url, headers=headers).text, web_env.nhs_numbers)

    audit = clients["ig_lead"].get("/api/audit?username=clinician&q=annual review").json()
    ids = {e["person_id"] for e in audit["entries"]}
    assert ids == {p["person_id"] for p in body["patients"]}
    entry = audit["entries"][0]
    assert entry["page"] == "GET /api/casefinding" and entry["reason"] == "annual review"
    assert entry["practice_code"] == web_env.practice and entry["role"] == "clinician"
    csv = clients["ig_lead"].get("/audit.csv?q=annual review")
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == len(ids) + 1


def test_analyst_list_is_pseudonymised(web_env, clients) -> None:
    r = clients["analyst"].get(f"/api/casefinding?practice={web_env.other_practice}")
    assert r.status_code == 200
    body = r.json()
    assert not body["identifiable"]
    assert all("nhs_number" not in p for p in body["patients"])
    before = len(clients["ig_lead"].get("/api/audit?username=analyst").json()["entries"])
    assert before == 0  # pseudonymised reads are not identifiable reads


def test_audit_log_is_append_only(web_env, clients) -> None:
    clients["clinician"].get("/casefinding")
    engine = web_env.app.state.accounts
    with engine.connect() as con:
        assert con.execute(text("SELECT count(*) FROM identifiable_access_log")).scalar() > 0
    for statement in (
        "UPDATE identifiable_access_log SET reason = 'x'",
        "DELETE FROM identifiable_access_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as con:
            con.execute(text(statement))


def _check_suppressed(rows: pd.DataFrame, by_period: bool) -> None:
    """Independent check of the rules: no count 1-7 shown, and no total group (one
    period) with exactly one hidden cell."""
    shown = rows["numerator"].dropna()
    assert not ((shown >= 1) & (shown <= 7)).any()
    if by_period:
        hidden = rows.groupby("period")["numerator"].apply(lambda s: int(s.isna().sum()))
        assert not (hidden == 1).any()
    hidden_rows = rows[rows["numerator"].isna()]
    assert hidden_rows[["value", "lower", "upper"]].isna().all().all()


def test_measure_api_suppresses_small_numbers(clients) -> None:
    r = clients["board"].get("/api/measures/emergency_admissions?by=practice")
    assert r.status_code == 200
    rows = pd.DataFrame(r.json()["rows"])
    assert rows["suppressed"].sum() > 0  # a 5,000-person economy has small practice counts
    _check_suppressed(rows, by_period=True)


def test_csv_download_is_suppressed_too(clients) -> None:
    import io

    r = clients["analyst"].get("/measures/emergency_admissions/download.csv?by=practice")
    rows = pd.read_csv(io.StringIO(r.text))
    _check_suppressed(rows, by_period=True)


def test_overview_pyramid_is_suppressed(clients) -> None:
    body = clients["board"].get("/api/overview").json()
    people = pd.Series([c["people"] for c in body["pyramid"]], dtype="float")
    assert not ((people >= 1) & (people <= 7)).any()
