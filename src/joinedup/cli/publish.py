"""`joinedup publish`: compute every published figure ahead of its first reader."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import WarehouseOption, console, fail, warehouse_path


def publish(
    warehouse: Path = WarehouseOption,
    out: Path = typer.Option(
        None, "--out", "-o", help="Also write every figure to this folder as CSV and JSON."
    ),
) -> None:
    """Compute every figure the web app, the API and the board pack show (measures by
    every grouping, headline, inequalities, population, segments, opportunities,
    practice profiles, the plan scenario) and keep them beside the warehouse, so the
    first page after a refresh is quick; with --out, write them as files too."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from joinedup.published import Figures
    from joinedup.published.publish import export, steps

    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}: run `joinedup demo` first (or pass --warehouse FILE)")
    with Figures(path) as figures:
        todo = steps(figures)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("publishing", total=len(todo))
            for label, step in todo:
                bar.update(task, description=label[:38])
                step()
                bar.advance(task)
        pruned = figures.store.prune()
        console.print(
            f"published {figures.store.computed} figures computed, {figures.store.loaded} "
            f"already kept (state {figures.store.state})"
            + (f"; {pruned} older states removed" if pruned else "")
        )
        if out is not None:
            with console.status(f"writing {out}"):
                files = export(figures, out)
            console.print(f"wrote {len(files)} files to {out}")


def register(app: typer.Typer) -> None:
    """Add the `publish` command to the main app."""
    app.command("publish")(publish)
