"""`joinedup measures`: list, show, compute and chart the measure library (SPC, funnels);
inequalities by deprivation."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, warehouse_path
from joinedup.cli.common import show as show_table
from joinedup.measures.labels import ICON_SHORT, PERSON_DETAILS, UNIT_LABELS

group = typer.Typer(
    help=(
        "The measure library: list and show definitions, compute results, draw SPC and "
        "funnel charts, inequality by deprivation."
    ),
    no_args_is_help=True,
)

FORMATS = ("table", "csv", "parquet", "xlsx")
PERIOD_HELP = "month, quarter or financial_year (default: each measure's own period)."
BY_HELP = (
    "Grouping: partnership, footprint, cluster, practice, provider, age_band, sex, "
    "imd_quintile, ethnic_group, or 'all' (every grouping each measure allows)."
)


ChartOption = typer.Option(None, "--chart", "-c", help="Write the chart: .svg or .png.")
NoCacheOption = typer.Option(False, "--no-cache", help="Recompute, ignoring the cache.")


def _check_chart(chart: Path | None) -> None:
    if chart is not None and chart.suffix.lower() not in (".svg", ".png"):
        raise fail(f"--chart {chart}: the file must end in .svg or .png")


def _computed(status: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` under a progress status; a MeasureError ends the command
    with its message."""
    from joinedup.measures.definition import MeasureError
    from joinedup.published import NotFound

    try:
        with console.status(status):
            return fn(*args, **kwargs)
    except (MeasureError, NotFound) as exc:
        raise fail(str(exc).strip("'\"")) from None


def _library():
    from joinedup.measures.definition import MeasureError, load_library

    try:
        return load_library()
    except MeasureError as exc:
        raise fail(str(exc)) from None


def _fmt(value: object, digits: int = 2) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


@group.command("list")
def list_measures() -> None:
    """List every measure: id, title, kind, unit, period and direction of improvement."""
    library = _library()
    out = RichTable("id", "measure", title="measure library")
    for d in library.values():
        better = {"increase": "higher is better", "decrease": "lower is better"}
        out.add_row(
            d.id,
            f"{d.title} ({UNIT_LABELS[d.unit]}; {d.kind}, by {d.period.replace('_', ' ')}"
            + (f"; {better[d.direction]})" if d.direction in better else ")"),
        )
    show_table(out)
    console.print(f"{len(library)} measures; `joinedup measures show ID` for a definition")


@group.command("show")
def show(measure_id: str = typer.Argument(..., help="Measure id (see `measures list`).")) -> None:
    """Show one measure's full definition."""
    import yaml

    library = _library()
    if measure_id not in library:
        raise fail(f"unknown measure {measure_id!r}; `joinedup measures list` shows them all")
    d = library[measure_id]
    data = d.model_dump(mode="json", exclude_none=True)
    console.print(f"[bold]{d.title}[/] ({d.id})", highlight=False)
    console.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), highlight=False)


@group.command("compute")
def compute_cmd(
    ids: list[str] = typer.Argument(None, help="Measure ids (default: every measure)."),
    by: str = typer.Option("partnership", "--by", "-b", help=BY_HELP),
    period: str = typer.Option(None, "--period", "-p", help=PERIOD_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, parquet or xlsx."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file."),
    ci998: bool = typer.Option(False, "--ci998", help="Add 99.8% limits (lower_998 ...)."),
    no_cache: bool = NoCacheOption,
    warehouse: Path = WarehouseOption,
) -> None:
    """Compute measures with 95% confidence intervals; counts 1-7 are suppressed.

    Rates are per year (annualised), as the web app, the API and the board pack show
    them: the rows are the published figures (``joinedup.published``)."""
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt in ("parquet", "xlsx") and out is None:
        raise fail(f"--format {fmt} needs --out FILE")
    library = _library()
    if ci998:  # the published figures plus 99.8% limits (the same finalise, one more level)
        from joinedup.measures.results import compute

        results = _computed(
            "computing measures",
            compute,
            _existing(warehouse),
            ids or None,
            by=by,
            period=period,
            levels=(0.95, 0.998),
            cache=False if no_cache else None,
            library=library,
        )
    else:
        with _figures(warehouse, no_cache, library) as figures:
            results = _computed("computing measures", figures.measures, ids or None, by, period)
    _write(results, fmt, out)


def _existing(warehouse: Path | None) -> Path:
    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}; build one with `joinedup synth` or `joinedup demo`")
    return path


def _figures(warehouse: Path | None, no_cache: bool = False, library=None):
    """The published figures of the warehouse (a clear error when there is none)."""
    from joinedup.published import Figures

    return Figures(_existing(warehouse), cache=False if no_cache else None, library=library)


def _write(results, fmt: str, out: Path | None) -> None:
    if fmt == "table":
        _print_table(results)
        if out is not None:
            results.to_csv(out, index=False)
        return
    if fmt == "csv":
        if out is None:
            typer.echo(results.to_csv(index=False), nl=False)
        else:
            results.to_csv(out, index=False)
    elif fmt == "parquet":
        results.to_parquet(out, index=False)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.to_excel(out, index=False, sheet_name="measures")
    if out is not None:
        console.print(f"wrote {len(results):,} rows to {out}")


def _print_table(results) -> None:
    """The results as one table per measure and grouping (few columns, so they fit an
    80-column terminal; wider ones print one row a block)."""
    from joinedup.measures.definition import load_library

    library = load_library()
    # Feedback measures with a response base carry responses, eligible and a rate.
    rates = "response_rate" in results.columns
    for (mid, grouping), rows in results.groupby(["measure_id", "grouping"], sort=False):
        d = library.get(mid)
        title = f"{d.title if d else mid} ({mid}) by {grouping.replace('_', ' ')}"
        unit = UNIT_LABELS.get(rows["unit"].iloc[0], rows["unit"].iloc[0])
        table = RichTable(title=f"{title}, {unit}", title_justify="left")
        names = ["group", "period", "numerator", "denominator", "value", "95% CI"]
        if rates:
            names += ["responses", "eligible", "rate"]
        for name in names:
            table.add_column(name, justify="left" if name in ("group", "period") else "right")
        for r in rows.itertuples():
            ci = f"{_fmt(r.lower)}-{_fmt(r.upper)}" if not _missing(r.lower) else "-"
            row = [str(r.group), r.period, _fmt(r.numerator, 0), _fmt(r.denominator, 0),
                   _fmt(r.value), ci]  # fmt: skip
            if rates:
                rate = "-" if _missing(r.response_rate) else f"{r.response_rate:.1f}%"
                row += [_fmt(r.responses, 0), _fmt(r.eligible, 0), rate]
            table.add_row(*row)
        show_table(table)
    console.print(
        f"{len(results):,} rows; '-' marks suppressed or undefined figures (counts 1-7 and "
        "the cells that would reveal them are hidden)"
    )
    if rates:
        console.print(
            "response rate: responses per 100 eligible (what the answers are about, e.g. "
            "A&E attendances) in the same period and group; no value from too few responses"
        )
    if "person_details" in results.columns:  # where people's details came from
        for source in results["person_details"].dropna().unique():
            console.print(f"note: {PERSON_DETAILS.get(source, source)}", highlight=False)


def _missing(value: object) -> bool:
    import pandas as pd

    return value is None or pd.isna(value)


@group.command("spc")
def spc_cmd(
    measure_id: str = typer.Argument(..., help="Measure id."),
    by: str = typer.Option("partnership", "--by", "-b", help=BY_HELP),
    group_value: str = typer.Option(
        None, "--group", "-g", help="Group to chart (e.g. a practice)."
    ),
    period: str = typer.Option(
        None, "--period", "-p", help="month or quarter (default: the measure's own period)."
    ),
    chart: Path = ChartOption,
    no_cache: bool = NoCacheOption,
    warehouse: Path = WarehouseOption,
) -> None:
    """Making Data Count XmR chart of one measure: icons, rule per point, optional chart."""
    _check_chart(chart)
    with _figures(warehouse, no_cache, _library()) as figures:
        frame = _computed("charting", figures.spc, measure_id, by, group_value, period)
    attrs = frame.attrs
    table = RichTable("period", "value", "mean", "limits", "point", "rule")
    for r in frame.itertuples():
        table.add_row(
            str(r.x),
            _fmt(r.value),
            _fmt(r.mean),
            f"{_fmt(r.lower_limit)} - {_fmt(r.upper_limit)}",
            str(r.point_type).replace("_", " "),
            str(r.rule or ""),
        )
    show_table(table)
    console.print(
        f"{attrs['title']} ({attrs['group']}, {attrs['unit']}): variation "
        f"[bold]{ICON_SHORT.get(attrs['variation_icon'], '-')}[/], assurance "
        f"[bold]{ICON_SHORT.get(attrs['assurance_icon'], 'no target')}[/]",
        highlight=False,
    )
    for note in attrs.get("warnings", []):
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if chart is not None:
        from joinedup.charts.spc import spc_chart

        data = spc_chart(
            frame,
            f"{attrs['title']} - {attrs['group']}",
            attrs["unit"],
            fmt=chart.suffix.lower().lstrip("."),  # type: ignore[arg-type]
        )
        chart.write_bytes(data)
        console.print(f"wrote {chart}")


@group.command("funnel")
def funnel_cmd(
    measure_id: str = typer.Argument(..., help="Measure id (a proportion or a rate)."),
    by: str = typer.Option("practice", "--by", "-b", help="practice, provider, cluster ..."),
    period: str = typer.Option(
        "financial_year", "--period", "-p", help="month, quarter or financial_year (latest)."
    ),
    overdispersion: bool = typer.Option(
        False, "--overdispersion", help="Widen the limits for over-dispersion (Spiegelhalter)."
    ),
    chart: Path = ChartOption,
    no_cache: bool = NoCacheOption,
    warehouse: Path = WarehouseOption,
) -> None:
    """Funnel plot across practices or providers: who lies outside 95% and 99.8% limits."""
    _check_chart(chart)
    with _figures(warehouse, no_cache, _library()) as figures:
        frame = _computed(
            "computing the measure by unit", figures.funnel, measure_id, by, period, overdispersion
        )
    attrs = frame.attrs
    outside = frame[frame["outlier"] != "within"].sort_values("z")
    table = RichTable(by, "value", "95% limits", "99.8% limits", "outside")
    for _, r in outside.iterrows():
        table.add_row(
            str(r["unit"]),
            _fmt(r["value"], 3),
            f"{_fmt(r['lower_95'], 3)} - {_fmt(r['upper_95'], 3)}",
            f"{_fmt(r['lower_99.8'], 3)} - {_fmt(r['upper_99.8'], 3)}",
            str(r["outlier"]).replace("_", " ") + "%",
        )
    console.print(f"{attrs['title']} ({attrs['value_label'].lower()})", highlight=False)
    if len(outside):
        show_table(table)
    adjusted = f"; over-dispersion phi {attrs['phi']:.2f}" if attrs["adjusted"] else ""
    console.print(
        f"{len(outside)} of {len(frame)} units outside the 95% limits (target "
        f"{attrs['target']:.4g}{adjusted}); suppressed units are not shown",
        highlight=False,
    )
    if chart is not None:
        from joinedup.charts.funnel import funnel_chart

        chart.write_bytes(
            funnel_chart(
                frame,
                attrs["title"],
                value_label=attrs["value_label"],
                size_label=attrs["size_label"],
                fmt=chart.suffix.lower().lstrip("."),  # type: ignore[arg-type]
            )
        )
        console.print(f"wrote {chart}")


@group.command("inequality")
def inequality_cmd(
    measure_id: str = typer.Argument(..., help="Measure id."),
    period: str = typer.Option(
        "financial_year", "--period", "-p", help="month, quarter or financial_year."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table or csv."),
    out: Path = typer.Option(None, "--out", "-o", help="Write CSV to this file."),
    no_cache: bool = NoCacheOption,
    warehouse: Path = WarehouseOption,
) -> None:
    """Inequality by deprivation: slope and relative indices (SII, RII), Core20 gap."""
    if fmt not in ("table", "csv"):
        raise fail(f"unknown format {fmt!r}; expected table or csv")
    with _figures(warehouse, no_cache, _library()) as figures:
        frame = _computed(
            "computing the measure by IMD quintile", figures.inequality, measure_id, period
        )
    if fmt == "csv" or out is not None:
        if out is None:
            typer.echo(frame.to_csv(index=False), nl=False)
            return
        frame.to_csv(out, index=False)
        console.print(f"wrote {len(frame):,} rows to {out}")
        if fmt == "csv":
            return
    ci = lambda r, c: f"{_fmt(r[c])} ({_fmt(r[c + '_lower'])} to {_fmt(r[c + '_upper'])})"  # noqa: E731
    table = RichTable("period", "SII", "RII", "Core20", "rest", "Core20 gap", "Core20 / rest")
    for _, r in frame.iterrows():
        table.add_row(
            str(r["period"]),
            ci(r, "sii"),
            ci(r, "rii"),
            _fmt(r["core20_value"]),
            _fmt(r["rest_value"]),
            ci(r, "core20_gap"),
            ci(r, "core20_ratio"),
        )
    show_table(table)
    attrs = frame.attrs
    console.print(
        f"{attrs['title']} ({attrs['unit']}), 95% intervals. SII: modelled value in the "
        "least deprived minus the most deprived (IMD quintiles); RII: their ratio. "
        "Core20: IMD quintile 1; rest: quintiles 2-5.",
        highlight=False,
    )
    for note in sorted({n for n in frame["note"] if n}):
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def print_headline(warehouse: Path, cache: bool = True) -> None:
    """Print the headline measures with their SPC icons (used by `joinedup demo`): one
    block of lines per measure, so it reads in an 80-column terminal."""
    with _figures(warehouse, not cache) as figures:
        board = _computed("computing the headline measures", figures.headline)
    console.print("[bold]Headline measures[/] (partnership; rates per year)", highlight=False)
    for r in board.itertuples():
        ci = "" if _missing(r.year_lower) else f" ({_fmt(r.year_lower)} to {_fmt(r.year_upper)})"
        icons = ICON_SHORT.get(r.variation_icon, "too few points")
        if isinstance(r.assurance_icon, str):
            icons += f", {ICON_SHORT[r.assurance_icon]}"
        console.print(f"[bold]{r.title}[/]", highlight=False)
        console.print(
            f"  {r.latest_year or '-'}: {_fmt(r.year_value)}{ci} {r.unit_label}; "
            f"{r.latest_period or '-'}: {_fmt(r.period_value)}; {icons}",
            highlight=False,
        )


@group.command("headline")
def headline_cmd(
    no_cache: bool = NoCacheOption,
    warehouse: Path = WarehouseOption,
) -> None:
    """The headline measures: latest financial year, latest month and SPC icons."""
    print_headline(warehouse, cache=not no_cache)


def register(app: typer.Typer) -> None:
    """Add the `measures` command group to the main app."""
    app.add_typer(group, name="measures")
