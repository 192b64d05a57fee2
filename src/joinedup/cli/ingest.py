"""`joinedup ingest`: load partner extracts; `joinedup quarantine` and `joinedup mappings`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path


def ingest(
    paths: list[Path] = typer.Argument(
        ...,
        help="Extract files, or folders of them (without --mapping/--table, each file's "
        "mapping comes from its name or the folder's joinedup-manifest.yaml).",
    ),
    table: str = typer.Option(
        None, "--table", "-t", help="Canonical table to load (optional if the mapping names it)."
    ),
    mapping: str = typer.Option(
        None, "--mapping", "-m", help="Mapping YAML file, or a shipped mapping name (hes_apc)."
    ),
    fmt: str = typer.Option(
        None, "--format", "-f", help="csv, parquet or fhir (default: from the file name)."
    ),
    warehouse: Path = WarehouseOption,
    key_file: Path = typer.Option(
        None,
        "--key-file",
        help="Pseudonymisation key, created (mode 0600) if absent (default: $JOINEDUP_KEY_FILE "
        "or joinedup-data/secrets/pseudonymisation.key).",
    ),
    reid_store: Path = typer.Option(
        None,
        "--reid-store",
        help="Restricted re-identification store (default: beside the key file).",
    ),
    replaces: str = typer.Option(
        None, "--replaces", help="Batch id this corrected file replaces (history is kept)."
    ),
    report: Path = typer.Option(
        None, "--report", help="Also write the load report: FILE.md (Markdown) or FILE.csv."
    ),
    fhir_person_key: str = typer.Option(
        "nhs-number",
        "--fhir-person-key",
        help="How FHIR patients are keyed: nhs-number (patients without one are "
        "quarantined), or patient-id (Patient.id, pseudonymised like any source key: for "
        "bundles without NHS numbers, such as Synthea's).",
    ),
) -> None:
    """Validate, pseudonymise and load extracts; bad rows go to quarantine with a reason."""
    from joinedup.ingest import IngestError
    from joinedup.ingest import ingest as run

    if fmt is not None and fmt not in ("csv", "parquet", "fhir"):
        raise fail(f"--format {fmt!r}: expected csv, parquet or fhir")
    if fhir_person_key not in ("nhs-number", "patient-id"):
        raise fail(f"--fhir-person-key {fhir_person_key!r}: expected nhs-number or patient-id")
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def on_rows(path: str, n: int) -> None:
        if path not in tasks:
            tasks[path] = progress.add_task(f"reading {path}", total=None)
        progress.advance(tasks[path], n)

    try:
        with progress:
            reports = run(
                paths,
                table=table,
                mapping=mapping,
                fmt=fmt,
                warehouse=warehouse_path(warehouse),
                key_file=key_file,
                reid_store=reid_store,
                replaces=replaces,
                on_rows=on_rows,
                fhir_person_key=fhir_person_key,
            )
    except IngestError as exc:
        raise fail(str(exc)) from None
    _summary(reports)
    if report is not None:
        from joinedup.ingest.report import write

        write(reports, report)
        console.print(f"load report written to {report}")


def _summary(reports) -> None:
    out = RichTable("file", "table", "status", "read", "accepted", "quarantined", "batch")
    for r in reports:
        out.add_row(
            r.path,
            r.table,
            r.status,
            f"{r.rows_read:,}",
            f"{r.rows_accepted:,}",
            f"{r.rows_quarantined:,}",
            ", ".join(b.batch_id for b in r.batches),
        )
    show(out)
    for r in reports:
        if r.status == "unchanged":
            console.print(f"{r.path}: {r.message}", soft_wrap=True)
            continue
        console.print(f"{r.path}: {r.message}", soft_wrap=True)
        if r.key_note:
            console.print(f"  {r.key_note}", soft_wrap=True)
        for b in r.batches[1:]:
            console.print(f"  also loaded {b.rows_accepted:,} rows into {b.table_name}")
        for reason, n in r.top_reasons():
            console.print(f"  {n:,} x {reason}", soft_wrap=True)


def quarantine(
    batch: str = typer.Option(None, "--batch", "-b", help="Only this batch."),
    limit: int = typer.Option(50, "--limit", "-n", help="Rows to show."),
    warehouse: Path = WarehouseOption,
) -> None:
    """Show quarantined rows: batch, file, row, field, value and the reason."""
    from joinedup.warehouse import open_warehouse

    try:
        wh = open_warehouse(warehouse_path(warehouse), read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with wh:
        t = wh.table("quarantine")
        if batch:
            t = t.filter(t.batch_id == batch)
        total = int(t.count().execute())
        df = t.order_by(["batch_id", "source_row"]).limit(limit).to_pandas()
    out = RichTable("batch", "file", "row", "field", "value", "reason")
    for r in df.itertuples():
        out.add_row(
            r.batch_id, r.source_file, str(r.source_row), _text(r.field), _text(r.value), r.reason
        )
    show(out)
    console.print(f"{min(limit, total):,} of {total:,} quarantine records shown")


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value)  # NaN != NaN


mappings_app = typer.Typer(
    help="The column mappings that take national and partner extracts.",
    invoke_without_command=True,
)


@mappings_app.callback()
def mappings(
    ctx: typer.Context,
    markdown: bool = typer.Option(
        False, "--markdown", help="Each layout's specification and fields, as Markdown."
    ),
    out: Path = typer.Option(None, "--out", help="Write the Markdown to this file."),
) -> None:
    """List the shipped column mappings (use the name with --mapping)."""
    if ctx.invoked_subcommand is not None:
        return
    from joinedup.ingest.mapping import load_mapping, shipped_mappings

    if markdown or out is not None:
        from joinedup.ingest.layouts import render_markdown

        text = render_markdown()
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text)
            console.print(f"wrote {out}")
        return

    out = RichTable("name", "table", "also", "person key", "description")
    for name in sorted(shipped_mappings()):
        m = load_mapping(name)
        also = ", ".join(t.table.name for t in m.also)
        out.add_row(name, m.table.name, also, m.key_scheme or "", m.description)
    show(out)


@mappings_app.command("check")
def check(
    path: Path = typer.Argument(..., help="One extract file."),
    mapping: str = typer.Option(
        None, "--mapping", "-m", help="Check with this mapping instead of recognising one."
    ),
    table: str = typer.Option(None, "--table", "-t", help="Canonical table (canonical headers)."),
    warehouse: Path = WarehouseOption,
    key_file: Path = typer.Option(None, "--key-file", help="Pseudonymisation key, if any."),
) -> None:
    """Which mapping would load FILE, and what would be quarantined; writes nothing."""
    from joinedup.ingest import IngestError
    from joinedup.ingest.pipeline import check as run

    try:
        report, why = run(
            path, mapping=mapping, table=table, warehouse=warehouse_path(warehouse),
            key_file=key_file,
        )  # fmt: skip
    except IngestError as exc:
        raise fail(str(exc)) from None
    mapping_name = report.table if report.status == "unchanged" else why
    console.print(f"{path}: loads into {report.table}; {mapping_name}", soft_wrap=True)
    console.print(f"  {report.message}", soft_wrap=True)
    if report.key_note:
        console.print(f"  {report.key_note}", soft_wrap=True)
    for reason, n in report.top_reasons(10):
        console.print(f"  {n:,} x {reason}", soft_wrap=True)
    if report.examples:
        out = RichTable("row", "field", "value", "reason")
        for r in report.examples:
            out.add_row(str(r["source_row"]), _text(r["field"]), _text(r["value"]), r["reason"])
        show(out)
    console.print("nothing was written", style="dim")


def register(app: typer.Typer) -> None:
    """Add `ingest`, `quarantine` and `mappings` to the main app."""
    app.command("ingest")(ingest)
    app.command("quarantine")(quarantine)
    app.add_typer(mappings_app, name="mappings")
