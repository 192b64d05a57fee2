"""`joinedup casefind`: a practice's or footprint's case-finding list, with reasons."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show
from joinedup.cli.risk_model import (
    ModelOption,
    open_model_and_warehouse,
    parse_date,
    write_frame,
)


def casefind(
    practice: str = typer.Option(None, "--practice", "-p", help="Practice (ODS) code."),
    footprint: str = typer.Option(None, "--footprint", help="Footprint code."),
    warehouse: Path = WarehouseOption,
    model: Path = ModelOption,
    as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: end of the data)."),
    include_enrolled: bool = typer.Option(
        False, "--include-enrolled", help="Keep people already enrolled in a programme."
    ),
    exclude_care_home: bool = typer.Option(
        False, "--exclude-care-home", help="Leave out people living in a care home."
    ),
    age_band: list[str] = typer.Option(
        None, "--age-band", help="Keep only this age band (repeatable), e.g. 75-84."
    ),
    condition: list[str] = typer.Option(
        None, "--condition", help="Keep only people with this condition (repeatable)."
    ),
    share: float = typer.Option(
        0.02, "--case-management-share", help="Share of the population in the top tier."
    ),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="At most this many rows."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the list to FILE.csv or .xlsx."),
) -> None:
    """The top-tier people of a practice or footprint, ranked by risk, with reasons."""
    from joinedup.risk.casefind import ListFilters, case_finding_list
    from joinedup.risk.model import score_people
    from joinedup.risk.segments import PyramidThresholds

    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise fail(f"--out {out}: expected a file name ending .csv or .xlsx")
    try:
        filters = ListFilters(
            practice=practice,
            footprint=footprint,
            exclude_enrolled=not include_enrolled,
            exclude_care_home=exclude_care_home,
            age_bands=tuple(age_band or ()),
            conditions=tuple(condition or ()),
        )
        thresholds = PyramidThresholds(case_management_share=share)
    except ValueError as exc:
        raise fail(str(exc)) from None
    when = parse_date(as_of)
    fitted, wh = open_model_and_warehouse(model, warehouse)
    with wh, console.status("scoring and building the list"):
        scored = score_people(wh, fitted, when)
        try:
            rows = case_finding_list(wh, fitted, scored, filters, thresholds, limit)
        except ValueError as exc:
            raise fail(str(exc)) from None
    where = f"practice {practice}" if practice else f"footprint {footprint}"
    t = RichTable("#", "person_id", "risk", "age", "segment", "reasons",
                  title=f"Case-finding list: {where} ({len(rows)} people)")  # fmt: skip
    for r in rows.head(50).itertuples():
        t.add_row(
            str(r.list_rank), r.person_id, f"{r.risk_percent:.1f}%", str(r.age_band),
            str(r.segment_name), r.reasons,
        )  # fmt: skip
    show(t)
    if len(rows) > 50:
        console.print(f"... {len(rows) - 50} more (use --out to export the whole list)")
    if out is not None:
        write_frame(rows, out)
        console.print(f"wrote {len(rows)} rows to {out}")


def register(app: typer.Typer) -> None:
    """Add the `casefind` command to the main app."""
    app.command("casefind")(casefind)
