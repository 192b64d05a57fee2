"""`joinedup serve`: the web app and JSON API on the demo (or any) economy."""

from __future__ import annotations

import threading
from pathlib import Path

import typer

from joinedup.cli.common import WarehouseOption, console, fail, warehouse_path


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (loopback by default)."
    ),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    warehouse: Path = WarehouseOption,
    programme_db: str = typer.Option(
        None,
        "--programme-db",
        help="Programme store URL or SQLite file (users, sessions, audit log); "
        "default $JOINEDUP_PROGRAMME_DB or programme.sqlite beside the warehouse.",
    ),
    insecure_cookies: bool = typer.Option(
        False,
        "--insecure-cookies",
        help="Drop the Secure flag from cookies (only for plain http on a non-loopback name).",
    ),
) -> None:
    """Serve the web app (pages and JSON API, /openapi.json) on the warehouse."""
    import uvicorn

    from joinedup.access.accounts import list_users, make_accounts_engine
    from joinedup.web.app import create_app
    from joinedup.web.config import WebSettings

    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}: run `joinedup demo` first (or pass --warehouse FILE)")
    settings = WebSettings(
        warehouse=path, programme_db=programme_db, secure_cookies=not insecure_cookies
    )
    if not list_users(make_accounts_engine(settings.programme_db)):
        console.print(
            "[yellow]No users yet:[/] add one with "
            "`joinedup users add NAME --role admin --org ORG --password-stdin`"
        )
    app = create_app(settings)

    # Compute (or load) every published figure while the server starts, so that the
    # first pages anyone opens are a lookup and a render.
    def warm() -> None:
        from joinedup.published.publish import publish

        publish(app.state.figures)

    threading.Thread(target=warm, daemon=True).start()
    console.print(f"joinedup web app on [bold]http://{host}:{port}/[/] (warehouse {path})")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the main app."""
    app.command("serve")(serve)
