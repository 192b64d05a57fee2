"""Information governance: suppression, NHS numbers only where allowed, the audit log."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from joinedup.access.roles import ROLES

from .test_matrix import expected_status, quarter, sample_requests

pytestmark = pytest.mark.integration

NHS_LIKE = re.compile(r"\b(999\d{7})\b|\b(999 \d{3} \d{4})\b")


def _responses(web_env, client, run_id, headers=None, api_only=False):
    """Every GET the matrix knows (pages and API), plus the other practice's list and the
    board pack as HTML: (route name, URL, response)."""
    gets = [(n, u) for n, (m, u) in sample_requests(web_env, run_id).items() if m == "GET"]
    gets += [
        ("api_casefinding", f"/api/casefinding?practice={web_env.other_practice}"),
        ("board_pack_download", f"/board-pack/{quarter(web_env)}.html"),
    ]
    if api_only:
        gets = [(n, u) for n, u in gets if u.startswith("/api/")]
    for name, url in gets:
        yield name, url, client.get(url, headers=headers or {}, follow_redirects=False)


def _numbers_in(body: str, known: set[str]) -> set[str]:
    found = {(a or b).replace(" ", "") for a, b in NHS_LIKE.findall(body)}
    return found & known


@pytest.mark.parametrize("role", sorted(set(ROLES) - {"clinician"}))
def test_no_nhs_number_reaches_a_role_that_may_not_see_it(
    web_env, clients, tokens, scenario_run_id, role
) -> None:
    assert len(web_env.nhs_numbers) > 1000  # the demo people do have test-range numbers
    for via, headers in (("session", None), ("token", {"Authorization": f"Bearer {tokens[role]}"})):
        responses = _responses(web_env, clients[role], scenario_run_id, headers, via == "token")
        for name, url, r in responses:
            # The page asked for is the page scanned: a refusal, an error page or a
            # redirect where the matrix expects content would leave the scan empty.
            assert r.status_code == expected_status(role, name), (role, via, url, r.status_code)
            assert not _numbers_in(r.text, web_env.nhs_numbers), (
                f"{role} ({via}) saw NHS numbers at {url}"
            )
            if "casefinding" in url:
                assert "nhs_number" not in r.text, (role, via, url)


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


def _small_counts(web_env, measure: str, by: str) -> set[tuple[str, str]]:
    """The (group, period start) cells of ``measure`` by ``by`` whose count is 1 to 7,
    from the warehouse before any suppression (measures.engine.aggregate)."""
    from joinedup.measures.engine import aggregate

    figures = web_env.app.state.figures
    with figures._lock:
        counts = aggregate(figures.wh, figures.definition(measure), by)
    small = counts[(counts["numerator"] >= 1) & (counts["numerator"] <= 7)]
    return set(zip(small["group"].astype(str), _day(small["period_start"]), strict=True))


def _day(column: pd.Series) -> list[str]:
    return list(pd.to_datetime(column).dt.strftime("%Y-%m-%d"))


def _check_suppressed(rows: pd.DataFrame, by_period: bool, small: set) -> None:
    """Independent check of the rules: every count of 1-7 in the data is hidden (and
    marked suppressed), no count 1-7 shown, and no total group (one period) with exactly
    one hidden cell."""
    assert small, "the test economy has no small counts here: the check would be empty"
    hidden_rows = rows[rows["numerator"].isna()]
    hidden = set(
        zip(hidden_rows["group"].astype(str), _day(hidden_rows["period_start"]), strict=True)
    )
    assert small <= hidden, f"small counts shown: {sorted(small - hidden)[:5]}"
    assert hidden_rows["suppressed"].astype(bool).all()
    assert not rows.loc[rows["numerator"].notna(), "suppressed"].astype(bool).any()
    shown = rows["numerator"].dropna()
    assert not ((shown >= 1) & (shown <= 7)).any()
    if by_period:
        hidden_n = rows.groupby("period")["numerator"].apply(lambda s: int(s.isna().sum()))
        assert not (hidden_n == 1).any()
    assert hidden_rows[["value", "lower", "upper"]].isna().all().all()


def test_measure_api_suppresses_small_numbers(web_env, clients) -> None:
    r = clients["board"].get("/api/measures/emergency_admissions?by=practice")
    assert r.status_code == 200
    rows = pd.DataFrame(r.json()["rows"])
    assert rows["suppressed"].sum() > 0  # a 5,000-person economy has small practice counts
    _check_suppressed(rows, True, _small_counts(web_env, "emergency_admissions", "practice"))


def test_csv_download_is_suppressed_too(web_env, clients) -> None:
    import io

    r = clients["analyst"].get("/measures/emergency_admissions/download.csv?by=practice")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = pd.read_csv(io.StringIO(r.text))
    assert rows["suppressed"].sum() > 0
    _check_suppressed(rows, True, _small_counts(web_env, "emergency_admissions", "practice"))
    # The same cells as the API hides.
    api = pd.DataFrame(
        clients["analyst"].get("/api/measures/emergency_admissions?by=practice").json()["rows"]
    )
    assert len(rows) == len(api)
    assert rows["suppressed"].astype(bool).tolist() == api["suppressed"].astype(bool).tolist()


def _age_sex(web_env, practice: str | None) -> pd.DataFrame:
    """People by age band and sex on the census day, before suppression."""
    from joinedup.practice.profile import age_sex_counts, registered_at

    figures = web_env.app.state.figures
    with figures._lock:
        return age_sex_counts(registered_at(figures.wh, figures.census_day()), practice)


def _check_pyramid(cells: list[dict], raw: pd.DataFrame) -> int:
    """A published pyramid against the unsuppressed counts: shown cells exact, every
    count of 1-7 hidden, no band or sex with exactly one hidden cell. Returns how many
    cells are hidden."""
    shown = pd.DataFrame(cells).merge(raw, on=["age_band", "sex"], suffixes=("", "_raw"))
    assert len(shown) == len(raw) == len(cells)
    hidden = shown["people"].isna()
    assert (shown.loc[~hidden, "people"] == shown.loc[~hidden, "people_raw"]).all()
    assert not (shown["people_raw"].between(1, 7) & ~hidden).any()
    for margin in ("age_band", "sex"):
        assert not (hidden.groupby(shown[margin]).sum() == 1).any(), margin
    return int(hidden.sum())


def test_overview_pyramid_is_suppressed(web_env, clients) -> None:
    r = clients["board"].get("/api/overview")
    assert r.status_code == 200
    raw = _age_sex(web_env, None)
    # The whole partnership (5,000 people) has no cell of 1-7 people: nothing is hidden.
    assert not raw["people"].between(1, 7).any()
    assert _check_pyramid(r.json()["pyramid"], raw) == 0


def test_practice_pyramid_is_suppressed(web_env, clients) -> None:
    """One practice has cells of 1-7 people: the published pyramid hides them."""
    r = clients["board"].get(f"/api/practices/{web_env.practice}/profile")
    assert r.status_code == 200
    raw = _age_sex(web_env, web_env.practice)
    small = int(raw["people"].between(1, 7).sum())
    assert small > 0, "the practice has no small cells: the check would be empty"
    assert _check_pyramid(r.json()["pyramid"], raw) >= small
