"""`joinedup report board`, `joinedup users demo` and `joinedup serve` from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from joinedup.access import accounts
from joinedup.cli import app

pytestmark = pytest.mark.integration


def test_report_board_writes_html_and_excel(web_env, tmp_path) -> None:
    from openpyxl import load_workbook

    settings = web_env.app.state.settings
    args = ["report", "board", "--quarter", "2026q1", "--out", str(tmp_path)]
    args += ["--formats", "html,xlsx", "--warehouse", str(settings.warehouse)]
    args += ["--programme-db", settings.programme_db]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    html = (tmp_path / "board-pack-2026Q1.html").read_text()
    assert "Quarter 2026Q1: January to March 2026" in html
    assert "Emergency admissions" in html and "data:image/svg+xml;base64," in html
    book = load_workbook(tmp_path / "board-pack-2026Q1.xlsx")
    assert {"Summary", "Measures", "Scenarios"} <= set(book.sheetnames)
    assert {"Workstreams", "Risks", "Decisions needed"} <= set(book.sheetnames)


def test_report_board_refuses_a_bad_quarter(web_env, tmp_path) -> None:
    r = CliRunner().invoke(app, ["report", "board", "--quarter", "2026-07", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "expected YEARQn" in r.output


def test_users_demo_creates_one_user_per_role(web_env, tmp_path) -> None:
    from joinedup.cli.users import DEMO_USERS

    db = tmp_path / "demo.sqlite"
    args = ["users", "demo", "--warehouse", str(web_env.app.state.settings.warehouse)]
    args += ["--programme-db", str(db), "--password-stdin"]
    r = CliRunner().invoke(app, args, input="demo-password-1\n")
    assert r.exit_code == 0, r.output
    assert "demo-password-1" in r.output
    engine = accounts.make_accounts_engine(f"sqlite:///{db}")
    users = {u.username: u for u in accounts.list_users(engine)}
    assert {u: users[u].role for u in DEMO_USERS} == DEMO_USERS
    assert users["demo-clinician"].org_code == web_env.practice
    # Run again: same users, new password.
    r = CliRunner().invoke(app, args, input="another-password-2\n")
    assert r.exit_code == 0
    assert accounts.authenticate(engine, "demo-ig", "another-password-2", 5, 15).role == "ig_lead"


def test_serve_without_a_warehouse_says_what_to_do(tmp_path) -> None:
    r = CliRunner().invoke(app, ["serve", "--warehouse", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 1 and "joinedup demo" in r.output


def test_report_board_runs_without_the_web_framework(web_env, tmp_path) -> None:
    """The board pack is a report, not a web page: writing it imports no FastAPI."""
    import subprocess
    import sys

    settings = web_env.app.state.settings
    code = (
        "import sys\n"
        "from joinedup.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    print('web modules:', sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn') or m.startswith('joinedup.web')))\n"
    )
    args = ["report", "board", "--quarter", "2026Q1", "--out", str(tmp_path), "--formats",
            "xlsx", "--warehouse", str(settings.warehouse), "--programme-db",
            settings.programme_db]  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "web modules: []" in r.stdout, r.stdout
    assert (tmp_path / "board-pack-2026Q1.xlsx").exists()
