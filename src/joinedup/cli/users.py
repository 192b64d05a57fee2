"""`joinedup users`: add and list the web app's users (kept in the programme store)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path

users_app = typer.Typer(help="Users of the web app and API.", no_args_is_help=True)

ProgrammeDbOption = typer.Option(
    None,
    "--programme-db",
    help="Programme store URL or SQLite file (default: $JOINEDUP_PROGRAMME_DB or "
    "programme.sqlite beside the warehouse).",
)


def _engine(programme_db: str | None, warehouse: Path | None = None):
    """The accounts engine on --programme-db, else the programme store of the settings
    (beside ``warehouse``, default the default warehouse); a bad URL is a clean error."""
    from joinedup.access.accounts import make_accounts_engine
    from joinedup.programme.errors import StoreURLError
    from joinedup.settings import programme_url

    try:
        return make_accounts_engine(programme_db or programme_url(warehouse))
    except StoreURLError as exc:
        raise fail(str(exc)) from None


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="Sign-in name (letters, digits, . - _)."),
    role: str = typer.Option(
        ...,
        "--role",
        "-r",
        help="board, programme_manager, analyst, clinician, ig_lead or admin.",
    ),
    org: str = typer.Option(
        ..., "--org", help="Organisation ODS code (a clinician's practice code)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (first line)."
    ),
    programme_db: str = ProgrammeDbOption,
) -> None:
    """Add a user (the first administrator, or anyone)."""
    from joinedup.access.accounts import AccountError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(_engine(programme_db), username, role, org, password)
    except AccountError as exc:
        raise fail(str(exc)) from None
    console.print(f"added {user.username} ({user.role}, {user.org_code})")


@users_app.command("list")
def list_(programme_db: str = ProgrammeDbOption) -> None:
    """List the users (name, role, organisation)."""
    from rich.table import Table

    from joinedup.access.accounts import list_users

    table = Table("username", "role", "organisation")
    for u in list_users(_engine(programme_db)):
        table.add_row(u.username, u.role, u.org_code)
    show(table)


#: The demo's users: one per role (the clinician's organisation is a practice).
DEMO_USERS = {
    "demo-board": "board",
    "demo-programme": "programme_manager",
    "demo-analyst": "analyst",
    "demo-clinician": "clinician",
    "demo-ig": "ig_lead",
    "demo-admin": "admin",
}


@users_app.command("demo")
def demo(
    warehouse: Path = WarehouseOption,
    programme_db: str = ProgrammeDbOption,
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Use the password on standard input (default: a new random one).",
    ),
) -> None:
    """Create (or reset) one demo user per role and print how to sign in.

    The demo clinician belongs to the demo economy's largest practice, so the
    case-finding page shows identifiable (test-range) NHS numbers for it. Run again to
    get a fresh password; only users called demo-* are touched.
    """
    import secrets

    import duckdb

    from joinedup.access.accounts import AccountError, add_user, list_users, set_password

    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}: run `joinedup demo` first (or pass --warehouse FILE)")
    with duckdb.connect(str(path), read_only=True) as con:
        practice = con.execute(
            "SELECT practice_code FROM person GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    engine = _engine(programme_db, path)
    existing = {u.username for u in list_users(engine)}
    try:
        for username, role in DEMO_USERS.items():
            if username in existing:
                set_password(engine, username, password)
            else:
                org = practice if role == "clinician" else "DEMO"
                add_user(engine, username, role, org, password)
    except AccountError as exc:
        raise fail(str(exc)) from None
    from rich.table import Table

    table = Table("username", "role", "organisation", title="Demo users")
    for u in list_users(engine):
        if u.username in DEMO_USERS:
            table.add_row(u.username, u.role, u.org_code)
    show(table)
    console.print(f"password for every demo user: [bold]{password}[/]")
    console.print(
        "sign in at the address `joinedup serve` prints (http://127.0.0.1:8000/ by default); "
        f"demo-clinician sees the case-finding list and this week's hospital activity "
        f"(My practice) of practice {practice}"
    )


def register(app: typer.Typer) -> None:
    """Add the `users` command group to the main app."""
    app.add_typer(users_app, name="users")
