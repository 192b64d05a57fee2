"""`joinedup registers`: QOF condition registers derived from GP coded events."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path
from joinedup.cli.risk_model import parse_date

group = typer.Typer(
    help="QOF condition registers derived from GP coded events (gp_event -> condition).",
    no_args_is_help=True,
)

RulesOption = typer.Option(
    None,
    "--rules",
    help="Folder of register rules and code lists (default: the shipped QOF rules; "
    "see docs/ingest.md).",
)


def _rules(folder: Path | None):
    from joinedup.derived.registers import RulesError, load_rules

    try:
        return load_rules(folder)
    except RulesError as exc:
        raise fail(str(exc)) from None


@group.command("derive")
def derive(
    warehouse: Path = WarehouseOption,
    as_of: str = typer.Option(
        None, "--as-of", help="YYYY-MM-DD (default: the date of the latest coded event)."
    ),
    rules: Path = RulesOption,
) -> None:
    """Derive the QOF registers from the warehouse's GP coded events and load them into
    `condition` as one batch, replacing the batch the last derivation loaded; print how
    many people are on each register (counts of 1-7 suppressed)."""
    import pandas as pd

    from joinedup.derived.registers import RegistersError, load_registers
    from joinedup.measures.suppression import suppress
    from joinedup.settings import backend
    from joinedup.warehouse import open_warehouse

    when = parse_date(as_of)
    the_rules = _rules(rules)
    path = warehouse_path(warehouse)
    if backend() == "duckdb" and not path.exists():
        raise fail(f"no warehouse at {path} (pass --warehouse FILE)")
    with open_warehouse(path) as wh, console.status("deriving the QOF registers"):
        try:
            result = load_registers(wh, when, the_rules)
        except RegistersError as exc:
            raise fail(str(exc)) from None
    names = the_rules.registers
    frame = pd.DataFrame(
        {
            "register": list(result.counts),
            "qof": [names[c] for c in result.counts],
            "people": list(result.counts.values()),
        }
    )
    # Counts leave the warehouse here: small numbers are suppressed (DESIGN.md).
    safe = suppress(frame, ["people"]).frame
    table = RichTable(
        "register",
        "QOF",
        "people",
        title=f"QOF registers on {result.as_of:%d/%m/%Y}",
        caption="* 1 to 7 people (suppressed)",
    )
    for row in safe.itertuples():
        people = "*" if pd.isna(row.people) else f"{int(row.people):,}"
        table.add_row(row.register, row.qof, people)
    show(table)
    if result.status == "unchanged":
        console.print(
            f"unchanged: batch {result.batch.batch_id} already holds these registers "
            f"(same rules {the_rules.version}, date and coded events); nothing loaded"
        )
    else:
        replaced = f", replacing {result.replaced}" if result.replaced else ""
        console.print(
            f"rules {the_rules.version}: loaded batch {result.batch.batch_id} into "
            f"condition{replaced}"
        )
    partial = [c for c, r in the_rules.rules.items() if r.not_applied]
    notes = [
        f"not derived: {', '.join(the_rules.not_derivable)}" if the_rules.not_derivable else "",
        f"derived without part of the QOF rule: {', '.join(partial)}" if partial else "",
    ]
    notes = [n for n in notes if n]
    if notes:
        console.print("; ".join(notes) + " (see `joinedup registers rules`)", highlight=False)


@group.command("rules")
def rules_cmd(rules: Path = RulesOption) -> None:
    """List the register rules: clusters, minimum age, what is not applied, and the code
    lists' versions."""
    the_rules = _rules(rules)
    table = RichTable(
        "register", "QOF", "diagnosis", "resolved", "min age", "from", "limits",
        title=f"Register rules {the_rules.version} ({the_rules.folder})",
    )  # fmt: skip
    for condition, qof in the_rules.registers.items():
        rule = the_rules.rules.get(condition)
        if rule is None:
            table.add_row(condition, qof, "", "", "", "", "not derived: "
                          + the_rules.not_derivable[condition])  # fmt: skip
            continue
        table.add_row(
            condition,
            qof,
            ", ".join(rule.diagnosis),
            ", ".join(rule.resolved),
            "" if rule.min_age is None else str(rule.min_age),
            "" if rule.diagnosed_from is None else f"{rule.diagnosed_from:%d/%m/%Y}",
            " ".join(rule.not_applied),
        )
    show(table)
    clusters = RichTable("cluster", "codes", "version", "source", title="Code lists")
    for c in the_rules.clusters.values():
        source = c.provenance.get("source") or {}
        clusters.add_row(c.name, f"{len(c.codes):,}", c.version, str(source.get("repository", "")))
    show(clusters)


def register(app: typer.Typer) -> None:
    """Add the `registers` group to the main app."""
    app.add_typer(group, name="registers")
