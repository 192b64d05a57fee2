"""`joinedup refresh`: one command from new extracts to a new board pack."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path


def refresh(
    extracts: Path = typer.Argument(
        None,
        help="Folder of new extracts to ingest first (optional; files already loaded with "
        "the same content are not loaded again).",
        show_default=False,
    ),
    warehouse: Path = WarehouseOption,
    key_file: Path = typer.Option(
        None,
        "--key-file",
        help="Pseudonymisation key for the ingest (default: $JOINEDUP_KEY_FILE or "
        "joinedup-data/secrets/pseudonymisation.key).",
    ),
    quarter: str = typer.Option(
        None,
        "--quarter",
        "-q",
        help="Board pack quarter, e.g. 2026Q1 (default: the latest complete quarter of the data).",
    ),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for the board pack (default: board-pack/ beside the warehouse).",
    ),
    retrain: bool = typer.Option(
        False, "--retrain", help="Train the risk model again even if there is one."
    ),
    force: bool = typer.Option(
        False, "--force", help="Run every step, even those whose inputs did not change."
    ),
) -> None:
    """Ingest what is new, then bring everything downstream up to date: QOF registers
    from GP coded events, the risk model (trained only if there is none, or with
    --retrain), every published figure (measures, headline, inequalities, population,
    segments, tiers and risk list, opportunities, practice profiles, the plan
    scenario), the evaluation of each programme, and the board pack (HTML, PDF, Excel).
    A step whose inputs did not change since the last refresh, and whose outputs exist,
    is skipped; the state each step ran on is kept in WAREHOUSE.refresh.json."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table as RichTable

    from joinedup.derived.registers import RegistersError, RulesError
    from joinedup.ingest import IngestError
    from joinedup.programme.errors import StoreURLError
    from joinedup.refresh import RefreshError, StepResult
    from joinedup.refresh import refresh as run
    from joinedup.reports.boardpack import QuarterError

    finished: list[StepResult] = []
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def progress(r: StepResult) -> None:
        if r.status == "running":
            text = r.step + (f": {r.detail}" if r.detail else "")
            if r.step not in tasks:
                tasks[r.step] = bar.add_task(text, total=None)
            bar.update(tasks[r.step], description=text[:70])
            return
        if r.step in tasks:
            bar.remove_task(tasks.pop(r.step))
        finished.append(r)
        mark = {"done": "[green]done[/]", "skipped": "[dim]skipped[/]"}.get(
            r.status, "[red]failed[/]"
        )
        took = "" if r.status == "skipped" else f" ({r.seconds:.1f} s)"
        bar.console.print(
            f"{r.step}: {mark}{took}" + (f" - {r.detail}" if r.detail else ""), soft_wrap=True
        )

    def summary() -> None:
        table = RichTable("step", "status", "seconds", title="Refresh")
        for r in finished:
            table.add_row(r.step, r.status, f"{r.seconds:.1f}")
        show(table)

    path = warehouse_path(warehouse)
    try:
        with bar:
            result = run(
                path,
                extracts,
                key_file=key_file,
                quarter=quarter,
                out=out,
                retrain=retrain,
                force=force,
                progress=progress,
            )
    except (
        IngestError, RegistersError, RulesError, QuarterError, RefreshError, StoreURLError,
        FileNotFoundError,
    ) as exc:  # fmt: skip
        if finished:
            summary()
        raise fail(str(exc)) from None
    summary()
    console.print(f"input states kept in {result.state_file}", soft_wrap=True)
    if result.board_pack:
        console.print(
            f"board pack {result.quarter}: {', '.join(str(p) for p in result.board_pack)}",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add the `refresh` command to the main app."""
    app.command("refresh")(refresh)
