"""`joinedup schema`: the canonical schema, shown or written as docs."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import console

group = typer.Typer(
    help="The canonical schema: tables, columns, types and code lists.", no_args_is_help=True
)


@group.command("show")
def show(table: str = typer.Argument(None, help="Table to show (default: all).")) -> None:
    """Print the schema as Markdown (one table, or all)."""
    from joinedup.schema.docs import render_markdown

    console.print(render_markdown(only=table), markup=False, highlight=False)


@group.command("docs")
def docs(out: Path = typer.Option(Path("docs/schema.md"), help="File to write.")) -> None:
    """Write the schema reference (docs/schema.md) from the schema itself."""
    from joinedup.schema.docs import render_markdown

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown())
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the `schema` group to the main app."""
    app.add_typer(group, name="schema")
