"""The practice view in the web app: who sees which patients, with what, and the audit.

Contract: ``GET /api/practices/{code}/feed?days=N`` returns the feed rows of that
practice's registered patients, 403 for anyone but its clinicians and the
administrator; each row has person_id, event, date, provider_code, and nhs_number
for callers allowed to see it.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from joinedup.access.roles import ROLES

from .conftest import warehouse_sql

pytestmark = pytest.mark.integration

FEED = "/api/practices/{code}/feed?days={days}"


def _bearer(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture(scope="module")
def api(web_env):
    from fastapi.testclient import TestClient

    with TestClient(web_env.app, base_url="https://testserver") as c:
        yield c


def test_contract_rows_for_the_practices_own_clinician(web_env, api, tokens) -> None:
    from joinedup.practice.feed import activity_feed

    r = api.get(FEED.format(code=web_env.practice, days=28), headers=_bearer(tokens, "clinician"))
    assert r.status_code == 200
    body = r.json()
    rows = body["rows"]
    assert rows, "the largest practice has activity in 28 days"
    for row in rows:
        assert {"person_id", "event", "date", "provider_code", "nhs_number"} <= set(row)
        assert row["event"] in ("ae_attendance", "emergency_admission", "discharge")
        assert row["nhs_number"] in web_env.nhs_numbers
    data = web_env.app.state.figures
    with data._lock:
        direct = activity_feed(data.wh, web_env.practice, 28)
    assert [(x["person_id"], x["event"], x["date"]) for x in rows] == [
        (p, e, d.isoformat())
        for p, e, d in zip(direct["person_id"], direct["event"], direct["date"], strict=True)
    ]
    # Every patient is registered with the practice (checked in the warehouse itself).
    ids = {x["person_id"] for x in rows}
    practices = warehouse_sql(
        web_env.app,
        "SELECT DISTINCT practice_code FROM person WHERE list_contains(?, person_id)",
        [list(ids)],
    )
    assert set(practices["practice_code"]) == {web_env.practice}
    assert body["end"] >= body["start"]
    assert {s["source"] for s in body["sources"]} >= {"ae", "apc_admissions", "apc_discharges"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_the_practices_clinicians_and_the_administrator(web_env, api, tokens, role) -> None:
    r = api.get(FEED.format(code=web_env.practice, days=7), headers=_bearer(tokens, role))
    if role == "clinician":
        assert r.status_code == 200
    elif role == "admin":
        assert r.status_code == 200
        assert all("nhs_number" not in x for x in r.json()["rows"])
        assert r.json()["identifiable"] is False
    else:
        assert r.status_code == 403


def test_a_clinician_of_another_practice_is_refused(web_env, api, tokens) -> None:
    r = api.get(
        FEED.format(code=web_env.other_practice, days=7), headers=_bearer(tokens, "clinician")
    )
    assert r.status_code == 403
    assert "own practice" in r.json()["detail"]
    r = api.get(f"/api/practices/{web_env.other_practice}/attenders",
                headers=_bearer(tokens, "clinician"))  # fmt: skip
    assert r.status_code == 403


def test_days_are_checked(web_env, api, tokens) -> None:
    h = _bearer(tokens, "clinician")
    assert api.get(FEED.format(code=web_env.practice, days=0), headers=h).status_code == 422
    assert api.get(FEED.format(code=web_env.practice, days=91), headers=h).status_code == 422
    assert api.get("/api/practices/not-a-code/feed", headers=h).status_code == 422


def test_every_view_and_export_is_audited(web_env, clients) -> None:
    from joinedup.access.audit import search_audit

    engine = web_env.app.state.accounts
    c = clients["clinician"]
    page = f"/practices/{web_env.practice}/feed"
    before = len(search_audit(engine, username="clinician", limit=100_000))
    r = c.get(page + "?days=28")
    assert r.status_code == 200
    shown = r.text.count('class="feed-row"')
    assert shown > 0
    after = search_audit(engine, username="clinician", limit=100_000)
    viewed = [a for a in after[: len(after) - before] if a["page"] == page]
    assert len(viewed) == len({x for x in _ids(web_env, 28)})
    assert all(a["practice_code"] == web_env.practice for a in viewed)
    # Exports too.
    x = c.get(page + ".xlsx?days=28")
    assert x.status_code == 200
    frame = pd.read_excel(io.BytesIO(x.content), dtype=str)
    assert list(frame.columns[:2]) == ["nhs_number", "person_id"]
    assert set(frame["nhs_number"]) <= web_env.nhs_numbers
    exports = search_audit(engine, username="clinician", q="(export)", limit=100_000)
    assert {a["person_id"] for a in exports} >= set(frame["person_id"])


def _ids(web_env, days):
    from joinedup.practice.feed import activity_feed

    data = web_env.app.state.figures
    with data._lock:
        return set(activity_feed(data.wh, web_env.practice, days)["person_id"])


def test_profile_is_aggregate_and_suppressed_for_everyone(web_env, clients) -> None:
    for role in ("board", "analyst", "clinician"):
        r = clients[role].get(f"/api/practices/{web_env.practice}/profile")
        assert r.status_code == 200, role
        p = r.json()
        assert "rows" not in p and "nhs_number" not in r.text
        counts = [c["count"] for c in p["this_week"]["counts"]]
        counts += [x["people"] for x in p["pyramid"]]
        counts += [x["observed"] for x in p["prevalence"]]
        assert all(v is None or v == 0 or v > 7 for v in counts), role
        assert p["list_size"] and p["list_size"] > 7
        assert p["peers"] and all(x["practice_code"] != web_env.practice for x in p["peers"])
    page = clients["board"].get(f"/practices/{web_env.practice}")
    assert page.status_code == 200 and "Long-term conditions against expected" in page.text
    # The board sees no link to the patient-level pages.
    assert f"/practices/{web_env.practice}/feed" not in page.text


def test_practices_list_for_cluster_and_footprint_leads(web_env, clients) -> None:
    r = clients["programme_manager"].get("/api/practices")
    assert r.status_code == 200
    rows = r.json()
    assert {x["practice_code"] for x in rows} == set(
        web_env.app.state.figures.practices()["practice_code"]
    )
    for x in rows:
        for e in ("ae_attendance", "emergency_admission", "discharge"):
            assert x[e] is None or x[e] == 0 or x[e] > 7
    one = rows[0]["footprint_code"]
    sub = clients["programme_manager"].get(f"/api/practices?footprint={one}").json()
    assert sub and all(x["footprint_code"] == one for x in sub)


def test_practice_charts_draw(web_env, clients) -> None:
    c = clients["analyst"]
    data = web_env.app.state.figures
    for mid in ("emergency_admissions", "ae_attendances"):
        table = data.measure(mid, "practice")
        mine = table[table["group"] == web_env.practice]
        spc = c.get(f"/practices/{web_env.practice}/measures/{mid}/spc.svg")
        # A series with a suppressed month is not charted: dropping small counts but
        # keeping the zeros would bias it.
        if mine["suppressed"].any():
            assert spc.status_code == 404, mid
        else:
            assert spc.status_code == 200 and spc.headers["content-type"].startswith("image/svg")
    base = f"/practices/{web_env.practice}/measures/emergency_admissions"
    funnel = c.get(base + "/funnel.svg")
    assert funnel.status_code == 200 and f"{web_env.practice} is marked" in funnel.text
    assert c.get(f"/practices/{web_env.practice}/measures/pam_score/spc.svg").status_code == 404
