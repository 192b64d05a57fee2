"""`joinedup evaluate`: a programme against a matched comparison group."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path


def evaluate(
    programme: str = typer.Option(..., "--programme", "-p", help="Programme name."),
    warehouse: Path = WarehouseOption,
    output_format: str = typer.Option("table", "--format", "-f", help="table | json"),
    k: int = typer.Option(5, "--k", min=1, help="Comparison people per enrolled person."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=100, help="Bootstrap replicates."),
    seed: int = typer.Option(20260401, "--seed", help="Seed for index dates and bootstrap."),
) -> None:
    """Matched difference-in-differences of a programme, beside the naive before/after
    (the published figure: the same numbers the board pack shows, small numbers
    suppressed)."""
    from joinedup.published import Figures
    from joinedup.risk.evaluate import RTM_WARNING

    if output_format not in ("table", "json"):
        raise fail(f"--format {output_format!r}: expected table or json")
    try:
        figures = Figures(warehouse_path(warehouse))
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with figures:
        try:
            if output_format == "json":
                result = figures.evaluation(programme, k=k, bootstrap=bootstrap, seed=seed)
            else:
                with console.status(f"matching and evaluating {programme}"):
                    result = figures.evaluation(programme, k=k, bootstrap=bootstrap, seed=seed)
        except ValueError as exc:
            raise fail(str(exc)) from None
    if output_format == "json":
        typer.echo(json.dumps(result, indent=2))
        return
    console.print(
        f"[bold]{programme}[/]: {_count(result['enrolled'])} enrolled, "
        f"{_count(result['eligible_enrolled'])} with a full year before enrolment, "
        f"{_count(result['matched_enrolled'])} matched to "
        f"{_count(result['comparison_people'])} comparison people (k={result['k']}) from a "
        f"pool of {_count(result['comparison_pool'])} (* 1 to 7, suppressed)"
    )
    table = RichTable(
        "outcome",
        "matched DiD rate ratio (95% CI)",
        "12-month-pre DiD",
        "naive before/after",
        "enrolled pre -> post",
        "comparison pre -> post",
        title="Rates per person-year. Pre -> post columns: pre = the baseline before the 12 "
        "months preceding the index date (the primary figure's); the 12-month-pre and naive "
        "figures use those 12 months.",
    )
    for o in result["outcomes"].values():
        table.add_row(
            o["label"],
            f"{o['rate_ratio']:.2f} ({o['lower']:.2f} to {o['upper']:.2f})",
            f"{o['pre12_rate_ratio']:.2f} ({o['pre12_lower']:.2f} to {o['pre12_upper']:.2f})",
            f"{o['naive_rate_ratio']:.2f} ({o['naive_lower']:.2f} to {o['naive_upper']:.2f})",
            f"{o['enrolled_pre']:,.2f} -> {o['enrolled_post']:,.2f}",
            f"{o['comparison_pre']:,.2f} -> {o['comparison_post']:,.2f}",
        )
    show(table)
    bal = RichTable("covariate", "SMD before", "SMD after", title="Balance")
    for row in result["balance"]["covariates"]:
        bal.add_row(row["covariate"], f"{row['smd_before']:+.3f}", f"{row['smd_after']:+.3f}")
    show(bal)
    console.print(f"[yellow]warning:[/] {RTM_WARNING}")
    for note in result["notes"]:
        console.print(f"note: {note}")


def _count(n: int | None) -> str:
    return "*" if n is None else f"{n:,}"


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command to the main app."""
    app.command("evaluate")(evaluate)
