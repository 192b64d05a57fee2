"""`joinedup demo`: build the demo economy if needed and show what joinedup does."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import console


def _programme(out: Path) -> None:
    """Load the example work programme into the demo's programme store, once."""
    from sqlalchemy import select

    from joinedup.programme import open_store
    from joinedup.programme.demo import load_demo
    from joinedup.programme.models import Partnership

    store = open_store(f"sqlite:///{out / 'programme.sqlite'}")
    with store.session("demo") as s:
        if s.scalars(select(Partnership)).first() is None:
            load_demo(s)
            console.print(f"loaded the example work programme into {out / 'programme.sqlite'}")
        else:
            console.print(f"using the work programme in {out / 'programme.sqlite'}")


def _scenarios(out: Path, warehouse: Path) -> None:
    """Run the papers' scenarios and draw the partnership plan's charts."""
    from joinedup.cli.scenarios import show_comparison
    from joinedup.scenarios import run_scenarios

    results = run_scenarios(
        ["telephone_care_business_case", "telephone_care_management",
         "end_of_life_community_beds", "outpatient_followup_reduction", "partnership_plan"],
        warehouse, runs=1000, seed=42,
    )  # fmt: skip
    show_comparison(results)
    paths = results["partnership_plan"].charts(out / "charts" / "scenarios")
    console.print(f"scenario charts (SVG and PNG): {paths[0].parent}")


def _opportunities(warehouse: Path) -> None:
    """The ten largest opportunities by practice against the best quartile."""
    from joinedup.cli.opportunity import print_table
    from joinedup.opportunity import opportunity_table
    from joinedup.warehouse import open_warehouse

    wh = open_warehouse(warehouse, read_only=True)
    try:
        measures = ["emergency_admissions", "emergency_admissions_65plus",
                    "chronic_acsc_admissions", "ae_attendances"]  # fmt: skip
        table = opportunity_table(wh, "practice", measures=measures)
        print_table(table, top=10, title="Top ten opportunities (practices, best quartile)")
    finally:
        wh.close()


def _risk(out: Path, warehouse: Path) -> None:
    """Train the risk model, segment the population and evaluate the programme."""
    from rich.table import Table

    from joinedup.risk.evaluate import RTM_WARNING, evaluate_programme
    from joinedup.risk.model import score_people, train
    from joinedup.risk.segments import segment_people, segment_summary
    from joinedup.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=True) as wh:
        trained = train(wh, out / "risk-model")
        console.print(f"model card: {out / 'risk-model'}")
        people = segment_people(score_people(wh, trained.model))
        for kind, title in (("segment", "Bridges to Health segments"), ("tier", "Kaiser tiers")):
            frame = segment_summary(people, kind=kind).frame
            table = Table(*[str(c) for c in frame.columns], title=title)
            for row in frame.itertuples(index=False):
                table.add_row(*[f"{v:,.0f}" if isinstance(v, float) else str(v) for v in row])
            console.print(table)
        ev = evaluate_programme(wh, "telephone_care_management").as_dict()
    console.print(
        f"Telephone care management, emergency admissions: matched rate ratio "
        f"{ev['rate_ratio']:.2f} ({ev['lower']:.2f} to {ev['upper']:.2f}); "
        f"naive before/after {ev['naive_rate_ratio']:.2f}"
    )
    console.print(f"[yellow]{RTM_WARNING}[/]")


def _serve(warehouse: Path, port: int) -> None:
    """Create the demo users (printing their password) and serve the web app."""
    from joinedup.cli.serve import serve
    from joinedup.cli.users import demo as demo_users

    demo_users(warehouse=warehouse, programme_db=None, password_stdin=False)
    serve(host="127.0.0.1", port=port, warehouse=warehouse, programme_db=None,
          insecure_cookies=False)  # fmt: skip


def demo(
    out: Path = typer.Option(
        Path("joinedup-data"), "--out", "-o", help="Folder of the demo economy."
    ),
    people: int = typer.Option(
        250_000, "--people", "-n", min=100, help="Size of the demo economy."
    ),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build again even if present."),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="End by serving the web app on 127.0.0.1."
    ),
    port: int = typer.Option(8000, "--port", "-p", help="Port of the web app."),
) -> None:
    """Build the 250,000-person demo economy (once) and show what joinedup does with it."""
    from joinedup.synth import SynthConfig, build
    from joinedup.synth.summary import population_summary

    warehouse = out / "warehouse.duckdb"
    if rebuild or not warehouse.exists():
        console.rule("Building the synthetic health economy")
        build(SynthConfig(people=people), out, show_progress=True)
    else:
        console.print(f"using the demo economy in {out} (--rebuild to build it again)")
    console.rule("Population summary")
    console.print(population_summary(warehouse))
    console.rule("Headline measures (latest year, SPC icons on the monthly series)")
    from joinedup.cli.measures import print_headline

    print_headline(warehouse)
    console.rule("Where is the opportunity?")
    _opportunities(warehouse)
    console.rule("Who needs help first: risk, segments, evaluation")
    _risk(out, warehouse)
    console.rule("Work programme")
    _programme(out)
    console.rule("Scenarios: shifting care out of hospital (1,000 runs, seed 42, 2023-24 prices)")
    _scenarios(out, warehouse)
    if serve:
        console.rule("The web app")
        _serve(warehouse, port)


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the main app."""
    app.command("demo")(demo)
