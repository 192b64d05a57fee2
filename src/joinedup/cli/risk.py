"""`joinedup risk`: comorbidity and frailty scores (and, later, the risk model)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path

group = typer.Typer(
    help="Risk stratification: comorbidity and frailty scores from coded diagnoses.",
    no_args_is_help=True,
)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"--as-of {value!r}: expected a date as YYYY-MM-DD") from None


@group.command("scores")
def scores(
    score: str = typer.Option(
        ..., "--score", "-s", help="charlson | charlson_quan2011 | elixhauser_vw | hfrs"
    ),
    as_of: str = typer.Option(
        None,
        "--as-of",
        help="Score as at this date, YYYY-MM-DD (default: day after the "
        "latest admission). Spells admitted before it and within the look-back count.",
    ),
    lookback_years: int = typer.Option(
        2, "--lookback-years", min=1, help="Years of admitted patient care diagnoses."
    ),
    warehouse: Path = WarehouseOption,
    out: Path = typer.Option(
        None, "--out", "-o", help="Write one row per person to FILE.parquet or FILE.csv."
    ),
) -> None:
    """Score every person admitted in the look-back window, inside the warehouse engine."""
    from joinedup.risk.definitions import SCORES, score_definition
    from joinedup.risk.scores import default_as_of, person_scores
    from joinedup.warehouse import open_warehouse

    if score not in SCORES:
        raise fail(f"--score {score!r}: expected one of {', '.join(SCORES)}")
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise fail(f"--out {out}: expected a file name ending .parquet or .csv")
    when = _parse_date(as_of)
    try:
        wh = open_warehouse(warehouse_path(warehouse), read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with wh:
        try:
            when = when or default_as_of(wh)
        except ValueError as exc:
            raise fail(str(exc)) from None
        with console.status(f"scoring {score} as at {when} in {wh.location}"):
            result = person_scores(wh, score, when, lookback_years).to_pyarrow()
    definition = score_definition(score)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(result, out)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(result, out)
    frame = result.to_pandas()
    console.print(
        f"{definition.title}, weights {SCORES[score][1]} (sources: docs/risk.md)\n"
        f"{len(frame):,} people admitted {lookback_years} year(s) before {when}; "
        f"mean score {frame['score'].mean() if len(frame) else 0:.2f}"
    )
    counts = sorted(((int(frame[n].sum()), n) for n in definition.category_names), reverse=True)
    shown = [(n, name) for n, name in counts if n][:20]
    table = RichTable(
        "category", "people", "%", title=f"{score}: people with each category (top {len(shown)})"
    )
    for n, name in shown:
        table.add_row(name, f"{n:,}", f"{100 * n / len(frame):.1f}")
    show(table)
    if "band" in frame:
        console.print(frame["band"].value_counts().to_string())
    if out is not None:
        console.print(f"wrote {len(frame):,} rows to {out}")


def register(app: typer.Typer) -> None:
    """Add the `risk` command group (scores, train, score) to the main app."""
    from joinedup.cli.risk_model import register_risk

    register_risk(group)
    app.add_typer(group, name="risk")
