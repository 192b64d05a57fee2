"""`joinedup warehouse`: inspect the warehouse and its load batches."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, fail, show, warehouse_path

group = typer.Typer(
    help="Inspect the warehouse: tables, row counts and load batches.", no_args_is_help=True
)


@group.command("tables")
def tables(warehouse: Path = WarehouseOption) -> None:
    """List the canonical tables with their row counts."""
    from joinedup.warehouse import open_warehouse

    try:
        wh = open_warehouse(warehouse_path(warehouse), read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with wh:
        out = RichTable("table", "rows", title=f"warehouse {wh.location}")
        for name, n in wh.row_counts().items():
            out.add_row(name, f"{n:,}")
        show(out)


@group.command("batches")
def batches(warehouse: Path = WarehouseOption) -> None:
    """List every load batch with its row accounting (read = accepted + quarantined)."""
    from joinedup.warehouse import open_warehouse

    try:
        wh = open_warehouse(warehouse_path(warehouse), read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with wh:
        df = wh.batches()
    out = RichTable(
        "batch", "table", "source", "read", "accepted", "quarantined", "status", "loaded at"
    )
    for r in df.itertuples():
        out.add_row(
            r.batch_id,
            r.table_name,
            r.source_file,
            f"{r.rows_read:,}",
            f"{r.rows_accepted:,}",
            f"{r.rows_quarantined:,}",
            r.status,
            str(r.loaded_at),
        )
    show(out)


def register(app: typer.Typer) -> None:
    """Add the `warehouse` group to the main app."""
    app.add_typer(group, name="warehouse")
