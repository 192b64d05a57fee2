"""Is it working? The evaluation pages, their charts and the JSON API render the
published evaluations (``Figures.evaluation``) of the economy's two programmes: one of
enrolled people (telephone care management) and one started practice by practice
(integrated neighbourhood teams); the board pack shows the same, and the innovation
register links to them."""

from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import escape

from .test_matrix import PERSON_PROGRAMME, PLACE_PROGRAMME, quarter

pytestmark = pytest.mark.integration

SVG = "{http://www.w3.org/2000/svg}"
#: The badge colour of each verdict (the words are always there too).
BADGES = {"benefit": "green", "harm": "red", "no_clear_effect": "grey", "inconclusive": "orange"}


def _doc(web_env, programme: str) -> dict:
    return web_env.app.state.figures.evaluation(programme)


def _esc(text: str) -> str:
    """``text`` as a template writes it (Jinja's escaping)."""
    return str(escape(text))


def _shown(text: str) -> str:
    """A sentence as the page shows it (escaped, first letter capital)."""
    return _esc(text[:1].upper() + text[1:])


def _badge(page: str) -> tuple[str, str]:
    """The verdict badge's colour and words."""
    found = re.search(r'<p id="verdict"><strong class="nhsuk-tag nhsuk-tag--(\w+)">([^<]+)<', page)
    assert found, "no verdict badge"
    return found.group(1), found.group(2)


def _points(svg: bytes, gid: str) -> int:
    root = ET.fromstring(svg)
    return sum(len(list(g.iter(f"{SVG}use"))) for g in root.iter(f"{SVG}g") if g.get("id") == gid)


def test_the_economy_has_both_kinds_of_programme(web_env) -> None:
    """Nothing below is vacuous: both programmes are there and both were evaluated."""
    figures = web_env.app.state.figures
    assert {PERSON_PROGRAMME, PLACE_PROGRAMME} <= set(figures.programmes())
    assert figures.place_programmes() == [PLACE_PROGRAMME]
    place, person = _doc(web_env, PLACE_PROGRAMME), _doc(web_env, PERSON_PROGRAMME)
    assert place["kind"] == "place" and "kind" not in person
    assert place["verdict"] and person["verdict"]
    assert [s for s in place["event_study"] if s["rate_ratio"] is not None]
    assert place["synthetic_control"] is not None


def test_the_list_shows_every_programme_with_its_verdict(web_env, clients) -> None:
    page = clients["board"].get("/evaluation")
    assert page.status_code == 200
    assert "Is it working?" in page.text
    assert '<a href="/evaluation">Is it working?</a>' in page.text.replace(
        ' aria-current="page"', ""
    )  # in the navigation
    for name in web_env.app.state.figures.programmes():
        doc = _doc(web_env, name)
        row = page.text.split(f'data-programme="{name}"', 1)[1].split("</tr>", 1)[0]
        assert f'href="/evaluation/{name}"' in row
        assert _shown(doc["verdict_headline"]) in row
        assert f"{doc['rate_ratio']:.2f} ({doc['lower']:.2f} to {doc['upper']:.2f})" in row


def test_a_person_level_programme_page(web_env, clients) -> None:
    from joinedup.risk.evaluate import RTM_WARNING

    doc = _doc(web_env, PERSON_PROGRAMME)
    page = clients["analyst"].get(f"/evaluation/{PERSON_PROGRAMME}")
    assert page.status_code == 200
    text = page.text
    assert _badge(text) == (BADGES[doc["verdict"]], _shown(doc["verdict_headline"]))
    assert _esc(doc["verdict_sentence"]) in text
    assert f"{doc['rate_ratio']:.2f} ({doc['lower']:.2f} to {doc['upper']:.2f})" in text
    table = text.split('id="falsification"', 1)[1].split("</table>", 1)[0]
    for check in [doc["placebo"], *doc["negative_controls"]]:
        assert _shown(check["label"]) in table
    assert 'id="balance"' in table and f"{doc['balance']['max_abs_smd_after']:.3f}" in table
    assert f"E-value {doc['e_value']:.2f}" in text
    detectable = text.split('id="minimum-detectable"', 1)[1].split("</p>", 1)[0]
    d = doc["minimum_detectable"]
    if d["lower_rate_ratio"] is None:  # this small economy's interval reaches 0
        assert doc["lower"] == 0 and "Not computed: the interval reaches 0" in detectable
    else:
        low, high = d["lower_rate_ratio"], d["higher_rate_ratio"]
        assert f"{low:.2f} or below, or {high:.2f}" in detectable
    assert f'src="/evaluation/{PERSON_PROGRAMME}/tests.svg"' in text
    assert "event-study.svg" not in text and "synthetic-control.svg" not in text
    naive = text.split('id="naive"', 1)[1].split("</div>", 1)[0]
    assert f"{doc['naive_rate_ratio']:.2f}" in naive
    assert _esc(RTM_WARNING) in naive
    # The register entry that names it (the demo's telephone care management).
    assert "Telephone care management for high-risk patients" in text


def test_a_place_based_programme_page(web_env, clients) -> None:
    doc = _doc(web_env, PLACE_PROGRAMME)
    page = clients["clinician"].get(f"/evaluation/{PLACE_PROGRAMME}")
    assert page.status_code == 200
    text = page.text
    assert _badge(text) == (BADGES[doc["verdict"]], _shown(doc["verdict_headline"]))
    assert _esc(doc["verdict_sentence"]) in text
    for chart in ("tests", "event-study", "synthetic-control"):
        assert f'src="/evaluation/{PLACE_PROGRAMME}/{chart}.svg"' in text, chart
    pre = text.split('id="pre-trend"', 1)[1].split("</tr>", 1)[0]
    assert f"p = {doc['pre_trend']['p_value']:.3f}" in pre
    assert ("Failed" if doc["pre_trend"]["failed"] else "Passed") in pre
    assert 'id="balance"' not in text and 'id="naive"' not in text
    d = doc["minimum_detectable"]
    detectable = text.split('id="minimum-detectable"', 1)[1].split("</p>", 1)[0]
    assert f"{d['lower_rate_ratio']:.2f} or below, or {d['higher_rate_ratio']:.2f}" in detectable
    if doc["verdict"] == "no_clear_effect":  # and the verdict's sentence says it too
        assert f"a rate ratio of {d['lower_rate_ratio']:.2f} or below" in doc["verdict_sentence"]
    study = text.split('id="event-study"', 1)[1].split("</table>", 1)[0]
    assert study.count("<tr>") == len(doc["event_study"]) + 1  # and the header
    starts = text.split('id="starts"', 1)[1].split("</table>", 1)[0]
    assert starts.count("<tr>") == len(doc["starts"]) + 1
    for s in doc["starts"]:
        assert f"<td>{s['unit']}</td><td>{s['started_on']}</td>" in starts
    for sentence in doc["assumptions"]:
        assert _esc(sentence) in text
    sc = doc["synthetic_control"]
    assert f"placebo-in-space p-value {sc['p_value']:.2f}" in text.lower()
    assert "Integrated neighbourhood teams in GP clusters" in text  # the register entry


def test_the_charts_are_svg_with_a_point_per_step(web_env, clients) -> None:
    doc = _doc(web_env, PLACE_PROGRAMME)
    c = clients["ig_lead"]
    r = c.get(f"/evaluation/{PLACE_PROGRAMME}/event-study.svg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    shown = [s for s in doc["event_study"] if s["rate_ratio"] is not None]
    before = sum(1 for s in shown if s["months_since_start"] < 0)
    assert _points(r.content, "event-study-before") == before
    assert _points(r.content, "event-study-after") == len(shown) - before
    r = c.get(f"/evaluation/{PLACE_PROGRAMME}/synthetic-control.svg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(r.content)
    assert {"synthetic-control-actual", "synthetic-control-synthetic"} <= {
        g.get("id") for g in root.iter(f"{SVG}g")
    }
    for programme in (PERSON_PROGRAMME, PLACE_PROGRAMME):
        r = c.get(f"/evaluation/{programme}/tests.svg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
        assert _points(r.content, "forest-estimate") == 1
    # A person-level programme has no event study and no synthetic control.
    for chart in ("event-study", "synthetic-control"):
        assert c.get(f"/evaluation/{PERSON_PROGRAMME}/{chart}.svg").status_code == 404


def test_an_unknown_programme_is_not_found(clients) -> None:
    c = clients["analyst"]
    for url in ("/evaluation/no_such_programme", "/evaluation/no_such_programme/tests.svg",
                "/evaluation/no_such_programme/event-study.svg",
                "/api/evaluations/no_such_programme"):  # fmt: skip
        r = c.get(url)
        assert r.status_code == 404, url
        assert _esc("No programme called 'no_such_programme'") in r.text or (
            "No programme called 'no_such_programme'" in r.json()["detail"]
        ), url


def test_a_programme_that_cannot_be_evaluated_says_why(web_env, clients, monkeypatch) -> None:
    figures = web_env.app.state.figures
    every, evaluate = figures.programmes(), figures.evaluation

    def evaluation(name, **kwargs):
        if name == "no_enrolments_yet":
            raise ValueError("programme 'no_enrolments_yet': nobody has a full year before it")
        return evaluate(name, **kwargs)

    monkeypatch.setattr(figures, "programmes", lambda: [*every, "no_enrolments_yet"])
    monkeypatch.setattr(figures, "evaluation", evaluation)
    page = clients["analyst"].get("/evaluation/no_enrolments_yet")
    assert page.status_code == 200
    assert "This programme cannot be evaluated: programme &#39;no_enrolments_yet&#39;: nobody " \
        "has a full year before it." in page.text  # fmt: skip
    assert 'id="falsification"' not in page.text
    assert clients["analyst"].get("/evaluation/no_enrolments_yet/tests.svg").status_code == 404
    r = clients["analyst"].get("/api/evaluations/no_enrolments_yet")
    assert r.status_code == 422 and "nobody has a full year" in r.json()["detail"]


def test_the_api_gives_the_published_documents(web_env, clients, tokens) -> None:
    from fastapi.testclient import TestClient

    figures = web_env.app.state.figures
    listing = clients["programme_manager"].get("/api/evaluations").json()
    assert [e["programme"] for e in listing] == figures.programmes()
    with TestClient(web_env.app, base_url="https://testserver") as c:
        headers = {"Authorization": f"Bearer {tokens['board']}"}
        for item in listing:
            name = item["programme"]
            published = json.loads(json.dumps(figures.evaluation(name)))
            assert item["verdict"] == published["verdict"]
            assert item["rate_ratio"] == published["rate_ratio"]
            assert item["kind"] == published.get("kind", "person")
            assert item["url"] == f"/api/evaluations/{name}"
            r = c.get(item["url"], headers=headers)
            assert r.status_code == 200
            assert r.json() == published


def test_the_board_pack_shows_the_place_based_evaluation(web_env, clients) -> None:
    from openpyxl import load_workbook

    from joinedup.charts.evaluation import event_study_svg, falsification_svg

    place, person = _doc(web_env, PLACE_PROGRAMME), _doc(web_env, PERSON_PROGRAMME)
    r = clients["board"].get(f"/board-pack/{quarter(web_env)}.html")
    assert r.status_code == 200
    section = r.text.split(f'id="evaluation-{PLACE_PROGRAMME}"', 1)[1].split("</div>", 1)[0]
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', section)
    charts = {alt.split(" ", 2)[0]: base64.b64decode(data).decode() for data, alt in images}
    assert charts["Event"] == event_study_svg(place)  # "Event study of ..."
    assert charts["Forest"] == falsification_svg(place)
    assert f"p = {place['pre_trend']['p_value']:.3f}" in section
    assert "Synthetic control:" in section
    for sentence in place["assumptions"]:
        assert _esc(sentence) in section
    other = r.text.split(f'id="evaluation-{PERSON_PROGRAMME}"', 1)[1].split("</div>", 1)[0]
    assert "Balance after matching" in other and "Event study" not in other
    # The workbook: one row of each kind.
    book = clients["board"].get(f"/board-pack/{quarter(web_env)}.xlsx")
    rows = list(load_workbook(io.BytesIO(book.content))["Evaluations"].values)
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_name[PLACE_PROGRAMME]["kind"] == "place"
    assert by_name[PLACE_PROGRAMME]["pre_trend_p_value"] == place["pre_trend"]["p_value"]
    assert by_name[PLACE_PROGRAMME]["units_started"] == place["units_started"]
    assert by_name[PERSON_PROGRAMME]["kind"] == "person"
    assert by_name[PERSON_PROGRAMME]["max_abs_smd_after"] == person["balance"]["max_abs_smd_after"]
    assert by_name[PERSON_PROGRAMME]["pre_trend_p_value"] is None


def test_the_innovation_register_links_to_the_evaluations(web_env, clients) -> None:
    page = clients["board"].get("/programme/innovations")
    assert page.status_code == 200
    entries = {
        PERSON_PROGRAMME: "Telephone care management for high-risk patients",
        PLACE_PROGRAMME: "Integrated neighbourhood teams in GP clusters",
    }
    for name, title in entries.items():
        row = page.text.split(f"<td>{title}</td>", 1)[1].split("</tr>", 1)[0]
        doc = _doc(web_env, name)
        assert f'<a href="/evaluation/{name}">' in row
        assert _esc(doc["verdict_headline"]) in row
    api = clients["board"].get("/api/programme").json()
    named = {i["title"]: i["evaluated_programme"] for i in api["innovations"]}
    assert named["Integrated neighbourhood teams in GP clusters"] == PLACE_PROGRAMME


def test_a_programme_manager_links_an_innovation_to_an_evaluation(web_env, clients) -> None:
    """The register's form sets the programme an entry's evaluation rests on (the CLI's
    ``--evaluates``); an unknown programme, a stale version and a role that may not edit
    are refused; an empty choice clears the link."""
    from .conftest import csrf_of

    manager = clients["programme_manager"]
    entries = manager.get("/api/programme").json()["innovations"]
    free = next(i for i in entries if i["evaluated_programme"] is None)
    url = f"/programme/innovations/{free['id']}"

    def post(client, **form):
        token = csrf_of(client.get("/account").text)
        return client.post(url, data={"csrf_token": token, **form}, follow_redirects=False)

    def current():
        found = manager.get("/api/programme").json()["innovations"]
        return next(i for i in found if i["id"] == free["id"])

    refused = post(clients["board"], version=free["version"], evaluated_programme=PERSON_PROGRAMME)
    assert refused.status_code == 403
    unknown = post(manager, version=free["version"], evaluated_programme="no_such_programme")
    assert unknown.status_code == 422 and PERSON_PROGRAMME in unknown.text
    saved = post(manager, version=free["version"], evaluated_programme=PERSON_PROGRAMME)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith(f"#innovation-{free['id']}")
    linked = current()
    assert linked["evaluated_programme"] == PERSON_PROGRAMME
    page = manager.get(saved.headers["location"]).text
    assert "Innovation register entry saved." in page
    row = page.split(f'<tr id="innovation-{free["id"]}">', 1)[1].split("</tr>", 1)[0]
    assert f'<a href="/evaluation/{PERSON_PROGRAMME}">' in row
    assert _esc(_doc(web_env, PERSON_PROGRAMME)["verdict_headline"]) in row
    stale = post(manager, version=free["version"], evaluated_programme="")
    assert stale.status_code == 409
    cleared = post(manager, version=linked["version"], evaluated_programme="")
    assert cleared.status_code == 303
    assert current()["evaluated_programme"] is None
