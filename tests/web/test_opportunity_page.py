"""The opportunity table in the web app, and the click from a row to the units behind
it, their practice profiles and case-finding lists."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_table_matches_the_opportunity_api(web_env, clients) -> None:
    from joinedup.opportunity import opportunity_table

    data = web_env.app.state.figures
    with data._lock:
        direct = opportunity_table(data.wh, "practice")
    body = clients["board"].get("/api/opportunity").json()
    assert [r["measure_id"] for r in body] == list(direct["measure_id"])
    for r, (_, d) in zip(body, direct.iterrows(), strict=True):
        assert r["avoidable"] == pytest.approx(d["avoidable"])
        assert (
            r["avoidable"] >= 0 and r["avoidable_lower"] <= r["avoidable"] <= r["avoidable_upper"]
        )
    page = clients["board"].get("/opportunity")
    assert page.status_code == 200
    assert f'href="/opportunity/{body[0]["measure_id"]}?by=practice"' in page.text


def test_units_behind_a_row_sum_to_the_total_and_hide_small_counts(web_env, clients) -> None:
    from joinedup.opportunity import opportunity

    data = web_env.app.state.figures
    with data._lock:
        opp = opportunity(data.wh, "emergency_admissions", "practice")
    body = clients["analyst"].get("/api/opportunity/emergency_admissions").json()
    assert body["total"]["avoidable"] == pytest.approx(float(opp.units["avoidable"].sum()))
    gap = opp.units[opp.units["avoidable"] > 0]
    assert {u["unit"] for u in body["units"]} == set(gap["unit"])
    for u in body["units"]:
        if u["observed"] is None:
            assert u["avoidable"] is None and u["cost"] is None
        else:
            assert u["observed"] == 0 or u["observed"] > 7
    shown = [u for u in body["units"] if u["observed"] is not None]
    hidden = [u for u in body["units"] if u["observed"] is None]
    expected_hidden = gap[(gap["observed"] >= 1) & (gap["observed"] <= 7)]
    assert len(hidden) >= len(expected_hidden)
    assert shown or hidden


def test_row_links_to_profiles_and_lists_for_those_allowed(web_env, clients) -> None:
    analyst = clients["analyst"].get("/opportunity/emergency_admissions").text
    board = clients["board"].get("/opportunity/emergency_admissions").text
    units = clients["analyst"].get("/api/opportunity/emergency_admissions").json()["units"]
    # The test economy is fixed (seed 11): practices with a gap are always there, and
    # without them nothing below would be checked.
    assert units, "no practice has a gap in the test economy: the links go unchecked"
    first = units[0]["unit"]
    assert f'href="/practices/{first}"' in analyst and f'href="/practices/{first}"' in board
    assert f'href="/casefinding?practice={first}"' in analyst
    assert "/casefinding?practice=" not in board  # the board may not see lists
    clinician = clients["clinician"].get("/opportunity/emergency_admissions").text
    others = [u["unit"] for u in units if u["unit"] != web_env.practice]
    assert all(f"/casefinding?practice={p}" not in clinician for p in others)


def test_unknown_measure_and_bad_grouping(clients) -> None:
    c = clients["analyst"]
    assert c.get("/api/opportunity/no_such_measure").status_code == 404
    assert c.get("/api/opportunity?by=provider").status_code == 422
