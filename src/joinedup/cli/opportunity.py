"""`joinedup opportunity`: where would matching a fair benchmark change most?"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, err_console, fail, show, warehouse_path

FORMATS = ("table", "csv", "json", "xlsx")
#: Units whose figures are published (the web app's opportunity view).
UNITS = ("practice", "footprint")


def _cell(value: object) -> object:
    return ", ".join(map(str, value)) if isinstance(value, list) else value


def _flat(frame):
    return frame.assign(**{c: frame[c].map(_cell) for c in frame.columns if c in (
        "practices", "peers", "top_units")})  # fmt: skip


def _emit(frame, records: list[dict], fmt: str, out: Path | None, sheet: str) -> None:
    if fmt == "json":
        text = json.dumps(records, indent=2, default=str)
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text + "\n")
    elif fmt == "csv":
        if out is None:
            typer.echo(_flat(frame).to_csv(index=False), nl=False)
        else:
            _flat(frame).to_csv(out, index=False)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _flat(frame).to_excel(out, index=False, sheet_name=sheet)
    if out is not None:
        err_console.print(f"wrote {len(frame):,} rows to {out}")


def _units_table(result, units, top: int) -> None:
    """The units of one measure's opportunity (``units``: published, suppressed)."""
    d = result.measure
    console.print(
        f"[bold]{d.title}[/]: {result.by}s against the {result.benchmark.replace('_', ' ')}"
        f"{' (deprivation adjusted)' if result.deprivation else ''}, {result.window}",
        highlight=False,
    )
    t = RichTable()
    for name in ("unit", "observed", "expected", "O/E", "avoidable", "bed days", "cost £"):
        t.add_column(name, justify="left" if name == "unit" else "right")
    for r in units.head(top).itertuples():
        t.add_row(
            r.unit,
            _n(r.observed, "{:,.0f}"),
            f"{r.expected:,.1f}",
            _n(r.ratio, "{:.2f}"),
            _n(r.avoidable, "{:,.1f}"),
            _n(r.bed_days, "{:,.0f}"),
            _n(r.cost, "{:,.0f}"),
        )
    show(t)
    total = result.total
    console.print(
        f"total avoidable {total['avoidable']:,.1f} events ({total['avoidable_lower']:,.1f} to "
        f"{total['avoidable_upper']:,.1f}), {total['bed_days']:,.0f} bed days, "
        f"£{total['cost']:,.0f}; {total['most_deprived_share']:.0%} of the gap in the most "
        f"deprived fifth. Per event: {result.basis.basis}. * suppressed (1-7 events).",
        highlight=False,
    )


def _n(value: object, fmt: str) -> str:
    from joinedup.measures.labels import is_missing

    return "*" if is_missing(value) else fmt.format(value)


def print_table(table, top: int | None = None, title: str = "opportunity") -> None:
    """Print the opportunity table (one block of lines per measure, so it reads in an
    80-column terminal)."""
    console.print(f"[bold]{title}[/]", highlight=False)
    rows = table if top is None else table.head(top)
    for r in rows.itertuples():
        console.print(f"[bold]{r.rank}. {r.title}[/] ({r.measure_id})", highlight=False)
        console.print(
            f"   {r.avoidable:,.0f} avoidable events ({r.avoidable_lower:,.0f} to "
            f"{r.avoidable_upper:,.0f}), {r.bed_days:,.0f} bed days, £{r.cost:,.0f}; "
            f"{r.most_deprived_share:.0%} in the most deprived fifth; "
            f"largest gaps: {', '.join(r.top_units[:3])}",
            highlight=False,
        )


def opportunity_cmd(
    measure: str = typer.Option(
        None, "--measure", "-m", help="Measure id (default: every event-count measure)."
    ),
    by: str = typer.Option(
        "practice", "--by", "-b", help="practice, cluster, footprint or provider."
    ),
    benchmark: str = typer.Option(
        "best_quartile",
        "--benchmark",
        help="best_quartile, peers (best 5 of 10 similar) or target.",
    ),
    target: float = typer.Option(None, "--target", help="Target in the measure's unit."),
    deprivation: bool = typer.Option(
        False, "--deprivation", help="Adjust for deprivation (IMD quintile) as well as age and sex."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, json or xlsx."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file."),
    top: int = typer.Option(20, "--top", "-n", min=1, help="Rows shown in the table format."),
    warehouse: Path = WarehouseOption,
) -> None:
    """Opportunity: each unit against a fair, age-sex standardised benchmark, the gap in
    events, bed days and money. With --measure, one row per unit; without, one row per
    measure ranked by bed days, money, then avoidable events."""
    from joinedup.opportunity import OpportunityError, opportunity, opportunity_table
    from joinedup.published import Figures, NotFound
    from joinedup.published.opportunity import safe_units

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and out is None:
        raise fail("--format xlsx needs --out FILE")
    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}; give --warehouse FILE or run `joinedup demo`")
    # The published figures (as the web app shows them) unless asked for another view.
    published = benchmark == "best_quartile" and target is None and not deprivation and by in UNITS
    figures = Figures(path)
    try:
        with err_console.status("counting and standardising"):
            if measure:
                result = (
                    figures.opportunity(measure, by)
                    if published
                    else opportunity(
                        figures.wh, measure, by, benchmark, target=target, deprivation=deprivation
                    )
                )
            elif published:
                table = figures.opportunity_table(by)
            else:
                table = opportunity_table(figures.wh, by, benchmark, deprivation=deprivation)
    except (OpportunityError, NotFound, ValueError, KeyError) as exc:
        raise fail(str(exc).strip("'\"")) from None
    finally:
        figures.close()
    if measure:
        units = safe_units(result)
        if fmt == "table":
            _units_table(result, units, top)
        else:
            from joinedup.published.opportunity import records

            _emit(units, records(units), fmt, out, "opportunity")
            total = result.total
            err_console.print(
                f"total avoidable {total['avoidable']:.6g} events over {len(units)} "
                f"units ({result.window}); observed counts of 1-7 suppressed",
                highlight=False,
            )
    elif fmt == "table":
        print_table(table, top, f"Opportunity by {by} against the {benchmark.replace('_', ' ')}")
    else:
        _emit(table, table.to_dict(orient="records"), fmt, out, "opportunity")


def register(app: typer.Typer) -> None:
    """Add the `opportunity` command to the main app."""
    app.command("opportunity")(opportunity_cmd)
