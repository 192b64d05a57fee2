"""Helpers shared by the command modules: options, errors, console."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

WarehouseOption = typer.Option(
    None,
    "--warehouse",
    "-w",
    envvar="JOINEDUP_WAREHOUSE",
    help="Warehouse file (default ./joinedup-data/warehouse.duckdb).",
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def warehouse_path(path: Path | None) -> Path:
    """The warehouse path to use, given an optional --warehouse value."""
    from joinedup.warehouse import default_warehouse_path

    return path if path is not None else default_warehouse_path()
