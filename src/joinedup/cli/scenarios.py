"""`joinedup scenario`: baseline, built-in list, run and compare scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path

scenario_app = typer.Typer(
    help="Scenario and economic models: activity, beds, workforce and money, with uncertainty.",
    no_args_is_help=True,
)

RunsOption = typer.Option(1000, "--runs", "-r", min=1, max=1_000_000, help="Monte Carlo runs.")
SeedOption = typer.Option(42, "--seed", "-s", help="Random seed (same seed, same numbers).")
ProjectionOption = typer.Option(
    None, "--projection", help="Population projection CSV (age_band,sex,annual_growth)."
)
FormatOption = typer.Option("table", "--format", "-f", help="table or json.")
ChartsOption = typer.Option(None, "--charts", help="Folder for SVG and PNG charts.")


def _warehouse(path: Path | None) -> Path:
    wh = warehouse_path(path)
    if not wh.exists():
        raise fail(f"{wh}: no warehouse here; build one with `joinedup synth` or give --warehouse")
    return wh


def _money(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{'-' if v < 0 else ''}£{abs(v) / 1e6:,.1f}m"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def show_comparison(results: dict) -> None:
    """Print scenarios one after another (used by `scenario compare` and `joinedup demo`):
    a short block each, so they read in an 80-column terminal."""
    for name, r in results.items():
        s, last = r.summary, r.summary["years"][-1]
        n = s["npv"]
        year = s["payback_year"]["p50"]
        payback = "-" if year is None else f"year {year:.0f}"
        console.print(f"[bold]{name}[/]", highlight=False)
        console.print(
            f"  final year: {last['bed_days']['p50']:,.0f} bed days (without it "
            f"{last['baseline_bed_days']['p50']:,.0f}), {last['beds_at_85']['p50']:,.0f} beds "
            f"at 85%, {last['wte']['p50']:,.0f} WTE",
            highlight=False,
        )
        console.print(
            f"  savings {_money(s['total_gross_savings']['p50'])}, investment "
            f"{_money(s['total_investment']['p50'])}, NPV {_money(n['p50'])} "
            f"({_money(n['p10'])} to {_money(n['p90'])}), ROI {_ratio(s['roi']['p50'])}, "
            f"payback {payback}",
            highlight=False,
        )
        for w in s["warnings"]:
            console.print(f"  [yellow]warning:[/] {w}", highlight=False)
    console.print(
        "P50 unless stated (P10 to P90 in brackets); savings and investment over the "
        "horizon, undiscounted; NPV at 3.5%; 2023-24 prices",
        highlight=False,
    )


def _run(names: list[str], warehouse: Path | None, runs: int, seed: int, projection: Path | None):
    from joinedup.scenarios import ScenarioError, run_scenarios

    try:
        return run_scenarios(
            names, _warehouse(warehouse), runs=runs, seed=seed, projection=projection
        )
    except ScenarioError as exc:
        raise fail(str(exc)) from None


@scenario_app.command("list")
def list_cmd() -> None:
    """List the built-in interventions and scenarios."""
    from rich.table import Table

    from joinedup.scenarios import library_names, load_scenario
    from joinedup.scenarios.model import _library_text, _read_yaml

    table = Table("name", "kind", "title")
    for name in library_names():
        kind = _read_yaml(_library_text(name), name).get("kind", "intervention")
        table.add_row(name, kind, load_scenario(name).title)
    show(table)


@scenario_app.command("validate")
def validate_cmd(
    files: list[str] = typer.Argument(..., help="Scenario or intervention YAML."),
) -> None:
    """Check scenario files; print what is wrong (field and what was expected)."""
    from joinedup.scenarios import ScenarioError, load_scenario

    for f in files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            raise fail(str(exc)) from None
        console.print(f"{f}: ok ({len(sc.interventions)} intervention(s), {sc.years} years)")


@scenario_app.command("baseline")
def baseline_cmd(
    warehouse: Path = WarehouseOption,
    by: str = typer.Option(
        None, "--by", help="age_band, sex, segment, risk_tier or footprint_code."
    ),
    fmt: str = FormatOption,
) -> None:
    """The latest full financial year's activity, bed days and cost by setting."""
    from joinedup.scenarios import baseline
    from joinedup.scenarios.baseline import DIMENSIONS

    if by is not None and by not in DIMENSIONS:
        raise fail(f"--by {by!r}: expected one of {', '.join(DIMENSIONS)}")
    from joinedup.measures.suppression import suppress

    b = baseline(_warehouse(warehouse))
    # Counts leave the warehouse here: small numbers are suppressed (DESIGN.md).
    frame = suppress(
        b.summary(by).reset_index(drop=True),
        ["count"],
        derived={"count": ["bed_days", "cost"]},
        total_groups=[["setting"]] + ([[by]] if by else []),
    ).frame
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "year": b.year.label,
                    "people": b.people,
                    "rows": frame.astype(object)
                    .where(frame.notna(), None)
                    .to_dict(orient="records"),
                }
            )
        )
        return
    console.print(f"Baseline {b.year.label}: {b.people:,} people (costs £, 2023-24 prices)")
    console.print(frame.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))


@scenario_app.command("run")
def run_cmd(
    name: str = typer.Argument(..., help="A built-in name (see `list`) or a YAML file."),
    warehouse: Path = WarehouseOption,
    runs: int = RunsOption,
    seed: int = SeedOption,
    projection: Path = ProjectionOption,
    fmt: str = FormatOption,
    charts: Path = ChartsOption,
) -> None:
    """Run one scenario: P10 / P50 / P90 of activity, beds, WTE and money per year."""
    if fmt not in ("table", "json"):
        raise fail(f"--format {fmt!r}: expected table or json")
    result = next(iter(_run([name], warehouse, runs, seed, projection).values()))
    if charts:
        result.charts(charts)
    if fmt == "json":
        typer.echo(json.dumps(result.summary))
        return
    s = result.summary
    console.print(
        f"[bold]{s['title'] or s['scenario']}[/] - baseline {s['baseline_year']}, "
        f"{runs:,} runs, seed {seed}, prices {s['price_base']}"
    )
    from rich.table import Table

    t = Table(
        "year",
        "bed days",
        "beds @85%",
        "WTE",
        "invest",
        "savings (P10-P90)",
        "net",
        caption="medians (P50) unless stated; £m at 2023-24 prices",
    )
    for y in s["years"]:
        g = y["gross_savings"]
        t.add_row(
            y["financial_year"],
            f"{y['bed_days']['p50']:,.0f}",
            f"{y['beds_at_85']['p50']:,.0f}",
            f"{y['wte']['p50']:,.0f}",
            _money(y["investment"]["p50"]),
            f"{_money(g['p10'])}-{_money(g['p90'])}",
            _money(y["net_benefit"]["p50"]),
        )
    show(t)
    n, r, p = s["npv"], s["roi"], s["payback_year"]
    console.print(
        f"NPV (Green Book {s['discount_rate']:.1%}): {_money(n['p50'])} "
        f"(P10 {_money(n['p10'])}, P90 {_money(n['p90'])}); ROI P50 "
        f"{_ratio(r['p50'])}; "
        f"payback year P50 {p['p50'] or 'beyond horizon'}"
    )
    for w in s["warnings"]:
        console.print(f"[yellow]warning:[/] {w}")


@scenario_app.command("compare")
def compare_cmd(
    names: list[str] = typer.Argument(..., help="Built-in names or YAML files."),
    warehouse: Path = WarehouseOption,
    runs: int = RunsOption,
    seed: int = SeedOption,
    projection: Path = ProjectionOption,
    fmt: str = FormatOption,
    charts: Path = ChartsOption,
) -> None:
    """Several scenarios side by side against the baseline (shared growth draws)."""
    results = _run(names, warehouse, runs, seed, projection)
    if charts:
        for r in results.values():
            r.charts(charts)
    if fmt == "json":
        typer.echo(json.dumps({n: r.summary for n, r in results.items()}))
        return
    show_comparison(results)


def register(app: typer.Typer) -> None:
    """Add `joinedup scenario` (and its alias `scenarios`) to the main app."""
    app.add_typer(scenario_app, name="scenario")
    app.add_typer(scenario_app, name="scenarios", hidden=True)
