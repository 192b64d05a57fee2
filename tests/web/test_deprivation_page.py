"""The measure page shows the measure's inequality by deprivation (SII, RII, Core20 gap)."""

from __future__ import annotations

import re

import pytest

from joinedup.measures.deprivation import inequality_for
from joinedup.measures.labels import fmt_value

pytestmark = pytest.mark.integration


def test_measure_page_shows_the_latest_years_indices_and_why_some_are_missing(
    web_env, clients
) -> None:
    data = web_env.app.state.figures
    with data._lock:
        latest = inequality_for(data.wh, "emergency_admissions", cache=False).iloc[-1]
    page = clients["analyst"].get("/measures/emergency_admissions")
    assert page.status_code == 200, page.text
    section = page.text.split(f"Inequality by deprivation, {latest['period']}</h3>", 1)[1]
    section = section.split("</dl>", 1)[0]
    # The test economy's people fall in IMD quintiles 2-4: an SII over those three, no
    # Core20 gap, and the page says why.
    assert "Nothing counted in IMD quintiles 1, 5" in section
    sii = re.search(r"Slope index of inequality \(SII\)</dt>\s*<dd[^>]*>([^<]*)", section)
    assert sii is not None, section
    assert sii.group(1).startswith(f"{fmt_value(latest['sii'], 'per_1000')} (95% interval ")
    assert "Core20 gap</dt>" not in section


def test_board_pack_gives_each_measures_inequality_in_words_and_in_the_workbook(
    web_env, clients
) -> None:
    import io

    from openpyxl import load_workbook

    data = web_env.app.state.figures
    with data._lock:
        yearly = inequality_for(data.wh, "emergency_admissions", cache=False)
    # The 2026 Q1 pack reads the financial year that quarter ends (2025-26).
    latest = yearly[yearly["period"] == "2025-26"].iloc[0]
    html = clients["analyst"].get("/board-pack/2026Q1.html")
    assert html.status_code == 200
    sentence = re.search(
        r"<h3>Emergency admissions per 1,000 population</h3>.*?"
        r'<p class="inequality">Inequality by deprivation, 2025-26: (.*?)</p>',
        html.text,
        re.S,
    )
    assert sentence, "the emergency admissions section needs its inequality line"
    assert f"slope index of inequality {fmt_value(latest['sii'], 'per_1000')}" in sentence.group(1)
    assert "nothing counted in IMD quintiles 1, 5" in sentence.group(1)
    book = load_workbook(io.BytesIO(clients["analyst"].get("/board-pack/2026Q1.xlsx").content))
    rows = list(book["Inequalities"].values)
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header[0] == "measure" and "emergency_admissions" in body
    assert body["emergency_admissions"]["sii"] == pytest.approx(latest["sii"])
    assert body["emergency_admissions"]["core20_gap"] is None  # no one in the Core20 here


def test_the_api_gives_each_years_indices(web_env, clients) -> None:
    data = web_env.app.state.figures
    with data._lock:
        yearly = inequality_for(data.wh, "emergency_admissions", cache=False)
    body = clients["board"].get("/api/measures/emergency_admissions/inequality").json()
    assert [r["period"] for r in body["rows"]] == list(yearly["period"])
    assert body["rows"][-1]["sii"] == pytest.approx(yearly["sii"].iloc[-1])
    assert body["rows"][-1]["core20_gap"] is None  # JSON null, not NaN
    assert clients["board"].get("/api/measures/no_such/inequality").status_code == 404
