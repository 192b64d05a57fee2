"""The `joinedup` command line.

Each command group lives in its own module of this package, which defines
``register(app)``; every such module is registered here. Commands call capabilities,
never the other way round.
"""

from __future__ import annotations

import typer

from joinedup import __version__

app = typer.Typer(
    name="joinedup",
    help="Shared analytics and programme platform for an integrated care partnership.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"joinedup {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    backend: str = typer.Option(
        None,
        "--backend",
        help="Warehouse engine: duckdb or spark (default: $JOINEDUP_BACKEND or duckdb).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Shared analytics and programme platform for an integrated care partnership."""
    if backend:
        from joinedup.settings import BACKEND

        BACKEND.set(backend)  # for every warehouse this process (and its children) opens


def _register() -> None:
    """Register every module of this package that defines ``register(app)``."""
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(app)


_register()


def main() -> None:
    """Entry point of the `joinedup` command."""
    app()
