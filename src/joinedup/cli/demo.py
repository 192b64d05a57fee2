"""`joinedup demo`: build the demo economy if needed and show what joinedup does."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import console


def _build(out: Path, people: int) -> None:
    """Build the economy (in ``out/economy``), write it as the extracts partners send
    (``out/extracts``) and load them into ``out/warehouse.duckdb`` the way real extracts
    load: key bridges, ``joinedup ingest`` of the folder, ``joinedup registers derive``."""
    import shutil

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from joinedup.ingest.pseudonymise import load_or_create_key, write_key
    from joinedup.synth import SynthConfig, build
    from joinedup.synth.extracts import load_extracts, write_extracts

    config = SynthConfig(people=people)
    economy = build(config, out / "economy", show_progress=True)
    console.rule("Writing it as the extracts partners send (national layouts)")
    shutil.rmtree(out / "extracts", ignore_errors=True)  # nothing left from an earlier build
    extracts = write_extracts(
        economy.warehouse_path,
        economy.out / "reidentification.duckdb",
        out / "extracts",
        seed=config.seed,
        show_progress=True,
    )
    console.print(
        f"{len(extracts.files)} extracts, {sum(extracts.rows.values()):,} rows: {extracts.folder}"
    )
    console.rule("Loading them: joinedup keys bridge, ingest, registers derive")
    # the economy's key, so the warehouse's person ids are the economy's
    key = out / "secrets" / "pseudonymisation.key"
    write_key(key, load_or_create_key(economy.out / "secrets" / "pseudonymisation.key"))
    warehouse, loading = out / "warehouse.duckdb", out / "warehouse.loading.duckdb"
    for stale in (warehouse, loading, out / "reidentification.duckdb", out / "key-bridge.duckdb"):
        stale.unlink(missing_ok=True)
        stale.with_name(stale.name + ".wal").unlink(missing_ok=True)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                        TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                        console=console, transient=True)  # fmt: skip
    tasks: dict[str, int] = {}

    def on_rows(path: str, n: int) -> None:
        if path not in tasks:
            tasks[path] = progress.add_task(f"loading {Path(path).name}", total=None)
        progress.advance(tasks[path], n)

    with progress:
        loaded = load_extracts(
            extracts.folder,
            loading,
            key_file=key,
            reid_store=out / "reidentification.duckdb",
            on_rows=on_rows,
        )
    loading.rename(warehouse)  # only a finished load is reused
    _load_report(loaded)


def _load_report(loaded) -> None:
    """Each extract's rows read, loaded and quarantined, with the commonest reasons."""
    from rich.table import Table as RichTable

    from joinedup.cli.common import show

    out = RichTable("extract", "table", "loaded", "quarantined")
    for r in loaded.reports:
        out.add_row(Path(r.path).name, r.table, f"{r.rows_accepted:,}", f"{r.rows_quarantined:,}")
    show(out)
    for r in loaded.reports:
        for reason, n in r.top_reasons():
            console.print(f"  {Path(r.path).name}: {n:,} x {reason}", soft_wrap=True)
    bridged = ", ".join(f"{s} ({n:,} pairs)" for s, n in loaded.bridges.items())
    console.print(f"key bridges: {bridged}", soft_wrap=True)
    registers = loaded.registers
    console.print(
        f"QOF registers derived from the GP coded events as of {registers.as_of:%d/%m/%Y} "
        f"({len(registers.counts)} registers, rules {registers.rules.version})",
        soft_wrap=True,
    )


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


def _train(out: Path, warehouse: Path) -> None:
    """Train the emergency admission risk model and write its card."""
    from joinedup.risk.model import train
    from joinedup.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=True) as wh, console.status("training"):
        train(wh, out / "risk-model")
    console.print(f"model card: {out / 'risk-model'}")


def _publish(warehouse: Path) -> None:
    """Compute every published figure (what the web app, API and board pack show)."""
    from joinedup.cli.publish import publish

    publish(warehouse=warehouse, out=None)


def _show(warehouse: Path) -> None:
    """The headline measures, the largest opportunities, the segments and the
    programme evaluation, from the published figures (what the web app shows)."""
    from joinedup.cli.measures import print_headline
    from joinedup.cli.opportunity import print_table
    from joinedup.published import Figures
    from joinedup.risk.evaluate import RTM_WARNING
    from joinedup.risk.segments import PARTNERSHIP

    console.rule("Headline measures (latest year, SPC icons on the monthly series)")
    print_headline(warehouse)
    with Figures(warehouse) as figures:
        console.rule("Where is the opportunity?")
        print_table(
            figures.opportunity_table("practice"),
            top=10,
            title="Top ten opportunities (practices against the best quartile)",
        )
        console.rule("Who needs help first: segments, tiers, evaluation")
        for kind, title in (("segment", "Bridges to Health segments"), ("tier", "Kaiser tiers")):
            frame = figures.segments(kind)
            if frame is None:
                continue
            rows = frame[frame["footprint_code"] == PARTNERSHIP]
            console.print(f"[bold]{title}[/] (people; emergency admissions per 1,000; £ per head)")
            for r in rows.itertuples():
                people = "*" if r.people != r.people else f"{r.people:,.0f}"
                console.print(
                    f"  {getattr(r, kind)}. {getattr(r, kind + '_name')}: {people}; "
                    f"{_n(r.emergency_admissions_per_1000, '{:,.0f}')}; "
                    f"£{_n(r.cost_per_head, '{:,.0f}')}",
                    highlight=False,
                )
        ev = figures.evaluation("telephone_care_management")
        place = (
            figures.evaluation("integrated_neighbourhood_teams")
            if "integrated_neighbourhood_teams" in figures.place_programmes()
            else None
        )
    console.print(
        f"Telephone care management, emergency admissions: matched rate ratio "
        f"{ev['rate_ratio']:.2f} ({ev['lower']:.2f} to {ev['upper']:.2f}); "
        f"naive before/after {ev['naive_rate_ratio']:.2f}; {ev['verdict_headline']}"
    )
    console.print(f"[yellow]{RTM_WARNING}[/]")
    if place and place["rate_ratio"] is not None:
        console.print(
            f"Integrated neighbourhood teams, emergency admissions at 65+: rate ratio "
            f"{place['rate_ratio']:.2f} ({place['lower']:.2f} to {place['upper']:.2f}) "
            f"against practices yet to start; {place['verdict_headline']}"
        )


def _n(value: object, fmt: str) -> str:
    from joinedup.measures.labels import is_missing

    return "*" if is_missing(value) else fmt.format(value)


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
    """Build the 250,000-person demo economy (once) and show what joinedup does with it.

    The economy is written as the extracts partners send (national layouts) and the
    demo's warehouse is loaded from them through `joinedup ingest`, as real data are."""
    from joinedup.synth.summary import population_summary

    warehouse = out / "warehouse.duckdb"
    if rebuild or not warehouse.exists():
        console.rule("Building the synthetic health economy")
        _build(out, people)
    else:
        console.print(f"using the demo economy in {out} (--rebuild to build it again)")
    console.rule("Population summary")
    console.print(population_summary(warehouse))
    console.rule("The risk model")
    if rebuild or not (out / "risk-model" / "model.json").exists():
        _train(out, warehouse)
    else:
        console.print(f"using the risk model in {out / 'risk-model'}")
    console.rule("Publishing every figure (measures, segments, opportunities, profiles)")
    _publish(warehouse)
    _show(warehouse)
    console.rule("Work programme")
    _programme(out)
    console.rule("Scenarios of shifting care (1,000 runs, seed 42, 2023-24 prices)")
    _scenarios(out, warehouse)
    if serve:
        console.rule("The web app")
        _serve(warehouse, port)


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the main app."""
    app.command("demo")(demo)
