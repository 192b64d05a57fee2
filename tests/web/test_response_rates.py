"""Response rates beside patient-voice figures on the measure page and in the board pack.

Expected numbers come from plain SQL over the warehouse's tables (answers counted by
response date, A&E attendances by arrival date), not from the measure code.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pandas as pd
import pytest

from .conftest import warehouse_sql

pytestmark = pytest.mark.integration


def _count(app, sql: str, params: list) -> int:
    return int(warehouse_sql(app, sql, params).iloc[0, 0])


def _ae_month(data, month: str) -> tuple[int, int]:
    """(FFT answers about A&E, A&E attendances of known people) in a 'YYYY-MM' month."""
    first = date.fromisoformat(f"{month}-01")
    last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
    return _counts(data, first, last)


def _counts(data, first: date, last: date) -> tuple[int, int]:
    answers = _count(
        data,
        "SELECT count(*) FROM feedback_response WHERE instrument = 'fft' AND setting = 'ae' "
        "AND responded_on BETWEEN ? AND ?",
        [first, last],
    )
    # The engine counts events of people it knows (joined to the person table).
    attendances = _count(
        data,
        "SELECT count(*) FROM ae_attendance a JOIN person p USING (person_id) "
        "WHERE CAST(a.arrived_at AS DATE) BETWEEN ? AND ?",
        [first, last],
    )
    return answers, attendances


def test_measure_page_shows_responses_and_rate_beside_each_figure(web_env, clients) -> None:
    data = web_env.app
    page = clients["analyst"].get("/measures/fft_positive_ae")
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr><td>(\d{4}-\d{2})</td>(.*?)</tr>", page.text, re.S)
    assert len(rows) == 12
    for month, cells in rows:
        answers, attendances = _ae_month(data, month)
        assert attendances > 7 and answers > 7, "the test needs unsuppressed months"
        rate = 100 * answers / attendances
        assert 5 < rate < 25, f"{month}: an A&E response rate of {rate:.1f}% is implausible"
        assert f"{answers:,} responses ({rate:.1f}% response rate)" in cells, cells
    assert "responses per 100 A&amp;E attendances" in page.text


def test_no_rate_where_anonymous_answers_cannot_be_placed(clients) -> None:
    page = clients["analyst"].get("/measures/fft_positive_ae").text
    section = page.split("By age band, ", 1)[1].split("</table>", 1)[0]
    assert " responses" in section or "* responses" in section
    assert "response rate" not in section


def test_no_figure_from_too_few_responses_on_the_web(clients) -> None:
    csv = clients["analyst"].get("/measures/fft_positive_ae/download.csv?by=practice")
    assert csv.status_code == 200
    table = pd.read_csv(io.StringIO(csv.text))
    few = table["responses"].notna() & (table["responses"] < 10)
    assert few.any(), "the test needs practices with few answers in a month"
    assert table.loc[few, "value"].isna().all()
    assert table["responses"].dropna().gt(7).all(), "counts 1-7 are suppressed"
    assert table["response_rate"].isna().all(), "no rate by practice (anonymous answers)"
    by_provider = pd.read_csv(
        io.StringIO(
            clients["analyst"].get("/measures/fft_positive_ae/download.csv?by=provider").text
        )
    )
    assert by_provider["response_rate"].notna().any()


def test_board_pack_gives_the_response_rate_beside_each_figure(web_env, clients) -> None:
    data = web_env.app
    quarter, first, last = "2026Q1", date(2026, 1, 1), date(2026, 3, 31)
    html = clients["analyst"].get(f"/board-pack/{quarter}.html")
    assert html.status_code == 200
    answers, attendances = _counts(data, first, last)
    assert answers >= 10 and attendances > 7
    rate = round(100 * answers / attendances, 1)
    row = re.search(r"<tr><td>A&amp;E / urgent treatment centre</td>(.*?)</tr>", html.text, re.S)
    assert row, "the A&E row of 'What people told us this quarter'"
    assert f"{answers:,}" in row.group(1)
    assert f"{rate}% of {attendances:,} A&amp;E attendances" in row.group(1)
