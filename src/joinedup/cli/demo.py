"""`joinedup demo`: build the demo economy if needed and show what joinedup does."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import console


def demo(
    out: Path = typer.Option(
        Path("joinedup-data"), "--out", "-o", help="Folder of the demo economy."
    ),
    people: int = typer.Option(
        250_000, "--people", "-n", min=100, help="Size of the demo economy."
    ),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build again even if present."),
) -> None:
    """Build the 250,000-person demo economy (once) and print the population summary."""
    from joinedup.synth import SynthConfig, build
    from joinedup.synth.summary import population_summary

    warehouse = out / "warehouse.duckdb"
    if rebuild or not warehouse.exists():
        console.rule("Building the synthetic health economy")
        build(SynthConfig(people=people), out, show_progress=True)
    else:
        console.print(f"using the demo economy in {out} (--rebuild to build it again)")
    console.rule("Population summary")
    console.print(population_summary(warehouse))


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the main app."""
    app.command("demo")(demo)
