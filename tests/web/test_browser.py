"""Headless Chromium (Debian's, driven by Playwright's Python API; never a downloaded
browser): sign in as each role, walk every page in the navigation (an evaluation with
its charts too), edit a milestone, download the board pack. Screenshots go to
test-artifacts/web/ (gitignored) or $JOINEDUP_TEST_ARTIFACTS."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import skip_or_fail
from joinedup.access.roles import ROLES

from .conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = os.environ.get("JOINEDUP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("JOINEDUP_TEST_ARTIFACTS", "test-artifacts")) / "web"


@pytest.fixture(scope="module")
def server(web_env):
    """The app served by uvicorn on a free loopback port, in a thread."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(web_env.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (scripts/install-system-packages.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],  # Playwright gives every launch a fresh, temporary profile of its own.
        )
        yield b
        b.close()


def _sign_in(page, base: str, role: str) -> None:
    page.goto(f"{base}/overview")
    assert "/login" in page.url
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/overview")


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_walks_every_page(server, browser, web_env, role) -> None:
    out = ARTIFACTS / role
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server) else None)
    _sign_in(page, server, role)
    # The skip link is the first thing a keyboard reaches.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"

    links = page.locator("nav[aria-label=Main] a")
    targets = [
        (links.nth(i).inner_text(), links.nth(i).get_attribute("href"))
        for i in range(links.count())
    ]
    assert targets, "no navigation for this role"
    for label, href in targets:
        response = page.goto(server + href)
        assert response.status == 200, f"{role}: {label} ({href}) -> {response.status}"
        assert page.locator("h1").count() == 1, f"{role}: {href} needs exactly one h1"
        page.screenshot(
            path=str(out / f"{href.strip('/').replace('/', '_') or 'home'}.png"), full_page=True
        )
    if role in ("board", "analyst"):
        page.goto(f"{server}/measures/emergency_admissions")
        assert page.locator("img.app-chart").first.evaluate("i => i.naturalWidth") > 0
        page.screenshot(path=str(out / "measure_detail.png"), full_page=True)
        # Is it working? A place-based programme's page loads with every chart drawn.
        page.goto(f"{server}/evaluation")
        page.get_by_role("link", name="Integrated neighbourhood teams").click()
        page.wait_for_url(f"{server}/evaluation/integrated_neighbourhood_teams")
        charts = page.locator("img.app-chart")
        assert charts.count() == 3  # the tests, the event study, the synthetic control
        for i in range(charts.count()):
            assert charts.nth(i).evaluate("i => i.complete && i.naturalWidth") > 0, i
        page.screenshot(path=str(out / "evaluation_detail.png"), full_page=True)
    context.close()
    assert not external, f"requests left the app: {external[:3]}"
    assert not failed, f"failed requests: {failed[:3]}"


def test_clinician_sees_own_patients(server, browser, web_env) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server, "clinician")
    page.goto(f"{server}/casefinding")
    header = page.locator("table th").first.inner_text()
    assert header == "NHS number"
    first = page.locator("table tbody tr td").first.inner_text().replace(" ", "")
    assert first in web_env.nhs_numbers
    page.screenshot(
        path=str(ARTIFACTS / "clinician" / "casefinding_identifiable.png"), full_page=True
    )
    context.close()


def test_practice_feed_for_its_own_clinicians_only(server, browser, web_env) -> None:
    """A clinician signs in, opens "My practice" and sees this week's attendances,
    admissions and discharges with NHS numbers and reasons to act; a clinician of
    another practice is refused; the IG lead finds every patient shown in the audit."""
    from joinedup.access.accounts import add_user, list_users

    if "clinician-elsewhere" not in {u.username for u in list_users(web_env.app.state.accounts)}:
        add_user(web_env.app.state.accounts, "clinician-elsewhere", "clinician",
                 web_env.other_practice, PASSWORD)  # fmt: skip
    out = ARTIFACTS / "clinician"
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in(page, server, "clinician")
    page.get_by_role("link", name="My practice").click()
    page.wait_for_url(f"{server}/practices/{web_env.practice}/feed")
    assert "your patients in hospital" in page.locator("h1").inner_text()
    page.select_option("#days", "28")  # a small practice may be quiet for a week
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**days=28**")
    rows = page.locator("tr.feed-row")
    assert rows.count() > 0
    events = {rows.nth(i).get_attribute("data-event") for i in range(rows.count())}
    assert events <= {"ae_attendance", "emergency_admission", "discharge"}
    shown = {
        rows.nth(i).locator("td").nth(2).inner_text().replace(" ", "") for i in range(rows.count())
    }
    assert shown <= web_env.nhs_numbers
    assert page.locator("tr.feed-row strong").count() > 0, "no reasons to act shown"
    page.screenshot(path=str(out / "practice_feed.png"), full_page=True)
    page.goto(f"{server}/practices/{web_env.practice}/attenders")
    assert page.locator("h1").inner_text().endswith("frequent attenders")
    page.screenshot(path=str(out / "practice_attenders.png"), full_page=True)
    page.goto(f"{server}/practices/{web_env.practice}")
    assert page.locator("#prevalence tbody tr").count() >= 10
    charts = page.locator("img.app-chart")
    assert charts.count() >= 2
    assert charts.first.evaluate("i => i.complete && i.naturalWidth") > 0
    page.screenshot(path=str(out / "practice_profile.png"), full_page=True)
    context.close()

    other = browser.new_context()
    page = other.new_page()
    _sign_in(page, server, "clinician-elsewhere")
    response = page.goto(f"{server}/practices/{web_env.practice}/feed")
    assert response.status == 403
    assert "own practice" in page.locator("main").inner_text()
    other.close()

    ig = browser.new_context()
    page = ig.new_page()
    _sign_in(page, server, "ig_lead")
    page.goto(f"{server}/audit?q=/practices/{web_env.practice}/feed")
    logged = page.locator("main table tbody tr")
    assert logged.count() >= len(shown)
    ig.close()


def test_programme_manager_edits_a_milestone(server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server, "programme_manager")
    page.goto(f"{server}/programme/workstreams")
    card = page.locator(".nhsuk-card").first
    card.locator("summary").click()
    card.get_by_label("Status").select_option("at_risk")
    card.get_by_label("Forecast date (YYYY-MM-DD)").fill("2027-01-15")
    card.get_by_role("button").click()
    page.wait_for_url("**/programme/workstreams?saved=*")
    assert "saved" in page.locator("[role=status]").inner_text()
    assert "forecast 2027-01-15" in page.locator(".nhsuk-card").first.inner_text()
    page.screenshot(
        path=str(ARTIFACTS / "programme_manager" / "milestone_saved.png"), full_page=True
    )
    context.close()


def test_programme_manager_links_an_innovation_to_its_evaluation(server, browser) -> None:
    """The register's "Link an evaluation" form: choose a programme, save, and the entry
    links to its evaluation with the verdict; choosing none clears it again."""
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server, "programme_manager")
    page.goto(f"{server}/programme/innovations")
    rows = page.locator("tbody tr")
    free = next(
        rows.nth(i) for i in range(rows.count()) if "/evaluation/" not in rows.nth(i).inner_html()
    )
    row_id = free.get_attribute("id")
    free.locator("summary").click()
    free.get_by_label("Evaluated by the programme").select_option("telephone_care_management")
    free.get_by_role("button").click()
    page.wait_for_url("**/programme/innovations?saved=*")
    assert "saved" in page.locator("[role=status]").inner_text()
    row = page.locator(f"#{row_id}")
    link = row.get_by_role("link", name="telephone care management")
    assert link.get_attribute("href") == "/evaluation/telephone_care_management"
    page.screenshot(
        path=str(ARTIFACTS / "programme_manager" / "innovation_linked.png"), full_page=True
    )
    row.locator("summary").click()
    row.get_by_label("Evaluated by the programme").select_option("")
    row.get_by_role("button").click()
    page.wait_for_url("**/programme/innovations?saved=*")
    assert page.locator(f"#{row_id} a[href^='/evaluation/']").count() == 0
    context.close()


def test_board_member_downloads_the_board_pack(server, browser) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _sign_in(page, server, "board")
    page.goto(f"{server}/board-pack")
    # The first download after a refresh builds the pack; a slow machine needs time.
    for fmt, magic in (("PDF", b"%PDF"), ("Excel", b"PK")):
        with page.expect_download(timeout=180_000) as info:
            page.get_by_role("link", name=f"({fmt})").click()
        path = ARTIFACTS / "board" / info.value.suggested_filename
        info.value.save_as(path)
        assert path.read_bytes()[:4].startswith(magic)
    context.close()


def test_analyst_runs_and_compares_scenarios(server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server, "analyst")
    page.goto(f"{server}/scenarios")
    boxes = page.locator("input[name=scenario]")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Monte Carlo runs").select_option("200")
    page.get_by_role("button", name="Run scenarios").click()
    page.wait_for_url("**/scenarios/runs/*", timeout=180_000)
    assert page.locator("table tbody tr").count() == 2
    assert page.locator("figure img").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "analyst" / "scenario_run.png"), full_page=True)
    # Anyone signed in can open a run's address; the board cannot start one.
    url = page.url
    context.close()
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server, "board")
    assert page.goto(url).status == 200
    page.goto(f"{server}/scenarios")
    assert page.get_by_role("button", name="Run scenarios").count() == 0
    context.close()
