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
    outcome: str = typer.Option(
        "emergency_admissions",
        "--outcome",
        help="Outcome reported at the top level and judged by the verdict: "
        "emergency_admissions, emergency_bed_days, ae_attendances, cost, op_attendances, "
        "gp_appointments.",
    ),
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
                result = figures.evaluation(
                    programme, k=k, bootstrap=bootstrap, seed=seed, outcome=outcome
                )
            else:
                with console.status(f"matching and evaluating {programme}"):
                    result = figures.evaluation(
                        programme, k=k, bootstrap=bootstrap, seed=seed, outcome=outcome
                    )
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
    _falsification_table(result)
    console.print(f"[yellow]warning:[/] {RTM_WARNING}")
    for note in result["notes"]:
        console.print(f"note: {note}")


def _falsification_table(result: dict) -> None:
    """The falsification tests, the E-value and the verdict in words."""
    if result.get("verdict") is None:
        return
    checks = RichTable(
        "test",
        "rate ratio (95% CI)",
        "interval tested",
        "enrolled events",
        "result",
        title="Falsification tests (each should find no effect: a rate ratio of 1)",
    )
    rows = [result["placebo"], *result["negative_controls"]]
    for c in rows:
        if c is None:
            continue
        if not c["computed"]:
            checks.add_row(c["label"], "not computed", "", "", "no events")
            continue
        events = "*" if c["events"] is None else f"{c['events']:,.0f}"
        checks.add_row(
            c["label"],
            f"{c['rate_ratio']:.2f} ({c['lower']:.2f} to {c['upper']:.2f})",
            f"{c['test_lower']:.2f} to {c['test_upper']:.2f} ({c['level']:.1%})",
            events,
            "[red]failed[/]" if c["failed"] else "passed",
        )
    show(checks)
    bal = result["balance"]
    state = "balanced" if bal["balanced"] else "NOT balanced: " + ", ".join(bal["over_limit"])
    console.print(
        f"balance after matching: largest |SMD| {bal['max_abs_smd_after']:.3f} "
        f"(limit {bal['limit']}): {state}"
    )
    if result.get("e_value") is not None:
        console.print(
            f"E-value: {result['e_value']:.2f} for the estimate, "
            f"{result['e_value_interval']:.2f} for the interval's limit nearer to 1"
        )
    console.print(f"[bold]verdict:[/] {result['verdict_sentence']}")
    for caveat in result.get("caveats", []):
        console.print(f"caveat: {caveat}")


def _count(n: int | None) -> str:
    return "*" if n is None else f"{n:,}"


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command to the main app."""
    app.command("evaluate")(evaluate)
