"""`joinedup opportunity`: where would matching a fair benchmark change most?"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, err_console, fail, warehouse_path

FORMATS = ("table", "csv", "json", "xlsx")


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


def _units_table(result, top: int) -> None:
    d = result.measure
    title = (
        f"{d.title}: {result.by}s against the {result.benchmark.replace('_', ' ')}"
        f"{' (deprivation adjusted)' if result.deprivation else ''}, {result.window}"
    )
    t = RichTable(title=title)
    for name in ("unit", "observed", "expected", "ratio (95% CI)", "benchmark",
                 "avoidable (95% CI)", "bed days", "cost £", "most deprived"):  # fmt: skip
        t.add_column(name, justify="left" if name == "unit" else "right")
    for r in result.units.head(top).itertuples():
        t.add_row(
            r.unit,
            f"{r.observed:,.0f}",
            f"{r.expected:,.1f}",
            f"{r.ratio:.2f} ({r.ratio_lower:.2f}-{r.ratio_upper:.2f})",
            f"{r.benchmark_ratio:.2f}",
            f"{r.avoidable:,.1f} ({r.avoidable_lower:,.1f}-{r.avoidable_upper:,.1f})",
            f"{r.bed_days:,.0f}",
            f"{r.cost:,.0f}",
            f"{r.most_deprived_share:.0%}",
        )
    console.print(t)
    total = result.total
    console.print(
        f"total avoidable {total['avoidable']:,.1f} events, {total['bed_days']:,.0f} bed days, "
        f"£{total['cost']:,.0f}; {total['most_deprived_share']:.0%} of the gap in the most "
        f"deprived fifth. Per event: {result.basis.basis}.",
        highlight=False,
    )


def print_table(table, top: int | None = None, title: str = "opportunity") -> None:
    """Print the opportunity table (one row per measure) as a rich table."""
    t = RichTable(title=title)
    for name in ("#", "measure", "better", "avoidable (range)", "bed days", "cost £",
                 "most deprived", "top units"):  # fmt: skip
        t.add_column(
            name,
            justify="left" if name in ("measure", "top units") else "right",
            no_wrap=name == "measure",
        )
    rows = table if top is None else table.head(top)
    for r in rows.itertuples():
        t.add_row(
            str(r.rank),
            r.measure_id,
            r.better,
            f"{r.avoidable:,.0f} ({r.avoidable_lower:,.0f}-{r.avoidable_upper:,.0f})",
            f"{r.bed_days:,.0f}",
            f"{r.cost:,.0f}",
            f"{r.most_deprived_share:.0%}",
            ", ".join(r.top_units[:3]),
        )
    console.print(t)


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
    from joinedup.warehouse import open_warehouse

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and out is None:
        raise fail("--format xlsx needs --out FILE")
    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}; give --warehouse FILE or run `joinedup demo`")
    wh = open_warehouse(path, read_only=True)
    try:
        with err_console.status("counting and standardising"):
            if measure:
                result = opportunity(
                    wh, measure, by, benchmark, target=target, deprivation=deprivation
                )
            else:
                table = opportunity_table(wh, by, benchmark, deprivation=deprivation)
    except (OpportunityError, ValueError, KeyError) as exc:
        raise fail(str(exc).strip("'\"")) from None
    finally:
        wh.close()
    if measure:
        if fmt == "table":
            _units_table(result, top)
        else:
            _emit(result.units, result.records(), fmt, out, "opportunity")
            total = result.total
            err_console.print(
                f"total avoidable {total['avoidable']:.6g} events over {len(result.units)} "
                f"units ({result.window})",
                highlight=False,
            )
    elif fmt == "table":
        print_table(table, top, f"opportunity by {by} against the {benchmark.replace('_', ' ')}")
    else:
        _emit(table, table.to_dict(orient="records"), fmt, out, "opportunity")


def register(app: typer.Typer) -> None:
    """Add the `opportunity` command to the main app."""
    app.command("opportunity")(opportunity_cmd)
