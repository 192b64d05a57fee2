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
    help="Warehouse file (default: $JOINEDUP_WAREHOUSE or joinedup-data/warehouse.duckdb).",
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def warehouse_path(path: Path | None) -> Path:
    """The warehouse path to use, given an optional --warehouse value."""
    from joinedup.settings import warehouse_path as default

    return path if path is not None else default()


def _plain(cell: object) -> str:
    """A table cell as plain text (markup and styles dropped)."""
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    return Text.from_markup(str(cell)).plain if isinstance(cell, str) else str(cell)


def show(table, out: Console | None = None) -> None:
    """Print a rich table as it is when it fits the terminal, else one row a block (the
    first cell in bold, then "header: value" for the rest, wrapped), so that nothing is
    cut short or folded into a column one word wide in an 80-column terminal."""
    from rich.cells import cell_len
    from rich.padding import Padding
    from rich.text import Text

    out = out or console
    columns = table.columns
    cells = [[_plain(c) for c in col.cells] for col in columns]
    headers = [_plain(col.header) for col in columns]
    widths = [
        max([cell_len(line) for v in (h, *col) for line in str(v).splitlines() or [""]])
        for h, col in zip(headers, cells, strict=True)
    ]
    if sum(widths) + 3 * len(widths) + 1 <= out.width:
        out.print(table)
        return
    if table.title:
        out.print(Text(_plain(table.title), style="bold"))
    for row in zip(*cells, strict=True):
        out.print(Text(f"{headers[0]}: {row[0]}" if headers[0] else row[0], style="bold"))
        rest = "; ".join(
            f"{h.replace(chr(10), ' ')}: {v}"
            for h, v in zip(headers[1:], row[1:], strict=True)
            if v not in ("", None)
        )
        if rest:
            out.print(Padding(Text(rest.replace("\n", " ")), (0, 0, 0, 2)))
    if table.caption:
        out.print(Text(_plain(table.caption)))
