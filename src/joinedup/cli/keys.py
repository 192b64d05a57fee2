"""`joinedup keys`: how the warehouse's people are keyed, and the key bridge."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path

keys_app = typer.Typer(
    help="Person keys: NHS numbers and pseudonym schemes, and the bridge that links them.",
    no_args_is_help=False,
    invoke_without_command=True,
)

KeyFileOption = typer.Option(
    None, "--key-file", help="Pseudonymisation key (default: as for joinedup ingest)."
)
ReidOption = typer.Option(
    None, "--reid-store", help="Re-identification store; the bridge is kept beside it."
)


@keys_app.callback()
def status(
    ctx: typer.Context,
    warehouse: Path = WarehouseOption,
    key_file: Path = KeyFileOption,
    reid_store: Path = ReidOption,
) -> None:
    """Which key each table's live batches carry, and what links to what."""
    if ctx.invoked_subcommand is not None:
        return
    from joinedup.ingest.keys import key_status

    try:
        rows, notes = key_status(warehouse_path(warehouse), key_file, reid_store)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    out = RichTable("person key", "table", "batches", "rows", "bridged keys")
    for r in rows:
        out.add_row(
            r["person_key"], r["table"], f"{r['batches']:,}", f"{r['rows']:,}", r["bridged"]
        )
    show(out)
    for note in notes:
        console.print(note, soft_wrap=True)


@keys_app.command("bridge")
def bridge(
    path: Path = typer.Argument(..., help="CSV of NHS number and source key pairs."),
    scheme: str = typer.Option(..., "--scheme", help="The source key's scheme (e.g. hesid)."),
    nhs_column: str = typer.Option(None, "--nhs-column", help="The NHS number column."),
    key_column: str = typer.Option(None, "--key-column", help="The source key column."),
    key_file: Path = KeyFileOption,
    reid_store: Path = ReidOption,
) -> None:
    """Load pairs of NHS number and pseudonym so files keyed either way link.

    Load the bridge before the pseudonymised extracts: rows already loaded keep the
    person ids they were given (reload them with `joinedup ingest --replaces`).
    """
    from joinedup.ingest import IngestError
    from joinedup.ingest.keys import bridge_beside, load_bridge
    from joinedup.ingest.pseudonymise import load_or_create_key, reid_store_path

    try:
        key = load_or_create_key(key_file)
        store = bridge_beside(reid_store_path(key_file, reid_store))
        result = load_bridge(path, scheme, key, store, nhs_column=nhs_column, key_column=key_column)
    except (IngestError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"{path}: {result['rows']:,} rows ({result['nhs_column']} with {result['key_column']}); "
        f"{result['pairs_added']:,} new {scheme} keys bridged",
        soft_wrap=True,
    )
    if result["rows_unused"]:
        first = ", ".join(str(r) for r in result["first_unused_rows"])
        console.print(
            f"  {result['rows_unused']:,} rows not used (invalid NHS number or blank key): "
            f"rows {first}{' ...' if result['rows_unused'] > 10 else ''}",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add `keys` to the main app."""
    app.add_typer(keys_app, name="keys")
