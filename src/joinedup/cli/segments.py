"""`joinedup segments`: Bridges to Health segments and Kaiser pyramid tiers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail
from joinedup.cli.risk_model import (
    ModelOption,
    open_model_and_warehouse,
    parse_date,
    write_frame,
)


def segments(
    warehouse: Path = WarehouseOption,
    model: Path = ModelOption,
    by: str = typer.Option("none", "--by", help="none | footprint | practice"),
    as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: end of the data)."),
    share: float = typer.Option(
        0.02, "--case-management-share", help="Share of people in Kaiser level 3."
    ),
    min_risk: float = typer.Option(
        None, "--case-management-min-risk", help="Or: level 3 is everyone at this risk or above."
    ),
    min_conditions: int = typer.Option(
        1, "--min-conditions", min=1, help="Long-term conditions that put someone in level 2."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Write the segment and tier tables to FILE.csv or FILE.xlsx."
    ),
) -> None:
    """People, activity and cost by Bridges to Health segment and Kaiser tier."""
    from joinedup.risk.model import score_people
    from joinedup.risk.segments import PyramidThresholds, segment_people, segment_summary

    area = {"none": None, "footprint": "footprint", "practice": "practice"}
    if by not in area:
        raise fail(f"--by {by!r}: expected none, footprint or practice")
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise fail(f"--out {out}: expected a file name ending .csv or .xlsx")
    try:
        thresholds = PyramidThresholds(share, min_risk, min_conditions)
    except ValueError as exc:
        raise fail(str(exc)) from None
    when = parse_date(as_of)
    fitted, wh = open_model_and_warehouse(model, warehouse)
    with wh, console.status("scoring and segmenting every registered person"):
        people = segment_people(score_people(wh, fitted, when), thresholds)
    tables = {kind: segment_summary(people, area[by], kind) for kind in ("segment", "tier")}
    if by == "none":
        for kind, result in tables.items():
            t = RichTable(
                kind, "people", "% people", "emerg. adm. /1000", "bed days /1000",
                "A&E /1000", "cost/head £", "% cost",
                title=f"By {'Bridges to Health segment' if kind == 'segment' else 'Kaiser tier'}"
                " (activity in the last 12 months)",
            )  # fmt: skip
            for r in result.frame.itertuples():
                t.add_row(
                    f"{getattr(r, kind)} {getattr(r, kind + '_name')}",
                    _n(r.people, "{:,.0f}"),
                    _n(r.share_of_people, "{:.1%}"),
                    _n(r.emergency_admissions_per_1000, "{:,.0f}"),
                    _n(r.emergency_bed_days_per_1000, "{:,.0f}"),
                    _n(r.ae_attendances_per_1000, "{:,.0f}"),
                    _n(r.cost_per_head, "{:,.0f}"),
                    _n(r.share_of_cost, "{:.1%}"),
                )
            console.print(t)
    else:
        for kind, result in tables.items():
            console.print(f"{kind}: {len(result.frame):,} rows by {by}")
    hidden = sum(len(r.log) for r in tables.values())
    if hidden:
        console.print(f"{hidden} cells suppressed (counts of 1-7 and what they would reveal)")
    if out is not None:
        if out.suffix.lower() == ".xlsx":
            import pandas as pd

            out.parent.mkdir(parents=True, exist_ok=True)
            with pd.ExcelWriter(out) as xl:
                for kind, result in tables.items():
                    result.frame.to_excel(xl, sheet_name=kind, index=False)
        else:
            import pandas as pd

            both = pd.concat(
                [r.frame.assign(table=k) for k, r in tables.items()], ignore_index=True
            )
            write_frame(both, out)
        console.print(f"wrote {out}")


def _n(value, fmt: str) -> str:
    import pandas as pd

    return "*" if pd.isna(value) else fmt.format(value)


def register(app: typer.Typer) -> None:
    """Add the `segments` command to the main app."""
    app.command("segments")(segments)
