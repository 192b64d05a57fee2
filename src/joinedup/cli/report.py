"""`joinedup report board`: the quarterly board pack as HTML, PDF and Excel."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import WarehouseOption, console, fail, warehouse_path

report_app = typer.Typer(help="Reports: the quarterly board pack.", no_args_is_help=True)


@report_app.command("board")
def board(
    quarter: str = typer.Option(
        ..., "--quarter", "-q", help="Calendar quarter, e.g. 2026Q3 (July-September 2026)."
    ),
    out: Path = typer.Option(
        Path("board-pack"), "--out", "-o", help="Folder to write the pack into."
    ),
    formats: str = typer.Option(
        "html,pdf,xlsx", "--formats", help="Comma-separated: html, pdf, xlsx."
    ),
    warehouse: Path = WarehouseOption,
    programme_db: str = typer.Option(
        None,
        "--programme-db",
        help="Programme store URL or SQLite file (default: $JOINEDUP_PROGRAMME_DB or "
        "programme.sqlite beside the warehouse).",
    ),
) -> None:
    """Write the board pack for a quarter: board-pack-QUARTER.{html,pdf,xlsx}."""
    from joinedup import settings
    from joinedup.programme.store import normalise_url
    from joinedup.published import Figures
    from joinedup.published.figures import HEADLINE_MEASURES
    from joinedup.reports import boardpack

    wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
    bad = [f for f in wanted if f not in ("html", "pdf", "xlsx")]
    if bad:
        raise fail(f"--formats: {', '.join(bad)} not known; use html, pdf and/or xlsx")
    try:
        boardpack.quarter_bounds(quarter)
    except boardpack.QuarterError as exc:
        raise fail(str(exc)) from None
    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}: run `joinedup demo` first (or pass --warehouse FILE)")
    url = normalise_url(programme_db) if programme_db else settings.programme_url(path)
    with Figures(path) as figures:
        with console.status(f"Gathering the board pack for {quarter}"):
            pack = boardpack.build(figures, url, quarter, HEADLINE_MEASURES)
        for fmt in wanted:
            with console.status(f"Writing {boardpack.pack_path(out, pack.quarter, fmt)}"):
                target = boardpack.write(pack, out, fmt)
            console.print(f"wrote {target}")


def register(app: typer.Typer) -> None:
    """Add the `report` command group to the main app."""
    app.add_typer(report_app, name="report")
