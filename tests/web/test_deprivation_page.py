"""The measure page shows the measure's inequality by deprivation (SII, RII, Core20 gap)."""

from __future__ import annotations

import re

import pytest

from joinedup.measures.deprivation import inequality_for
from joinedup.web.charts import fmt_value

pytestmark = pytest.mark.integration


def test_measure_page_shows_the_latest_years_indices_and_why_some_are_missing(
    web_env, clients
) -> None:
    data = web_env.app.state.data
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
