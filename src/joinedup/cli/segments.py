"""`joinedup segments`: Bridges to Health segments and Kaiser pyramid tiers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path
from joinedup.cli.risk_model import (
    ModelOption,
    model_dir,
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
    """People, activity and cost by Bridges to Health segment and Kaiser tier (the
    tables the web app shows; counts of 1-7 people suppressed, with the cells that
    would reveal them)."""
    import pandas as pd

    from joinedup.published import Figures
    from joinedup.risk.model import score_people
    from joinedup.risk.segments import (
        PARTNERSHIP,
        PyramidThresholds,
        segment_people,
        segment_summary,
    )

    if by not in ("none", "footprint", "practice"):
        raise fail(f"--by {by!r}: expected none, footprint or practice")
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise fail(f"--out {out}: expected a file name ending .csv or .xlsx")
    try:
        thresholds = PyramidThresholds(share, min_risk, min_conditions)
    except ValueError as exc:
        raise fail(str(exc)) from None
    when = parse_date(as_of)
    fitted, wh = open_model_and_warehouse(model, warehouse)
    area = "footprint" if by == "none" else by
    published = when is None and thresholds == PyramidThresholds()
    with wh, console.status("scoring and segmenting every registered person"):
        if published:  # the figures the web app and the API show
            figures = Figures(wh, risk_model=model_dir(model, warehouse_path(warehouse)))
            tables = {kind: figures.segments(kind, area) for kind in ("segment", "tier")}
        else:
            people = segment_people(score_people(wh, fitted, when), thresholds)
            tables = {k: segment_summary(people, area, k).frame for k in ("segment", "tier")}
    if by == "none":
        for kind, frame in tables.items():
            rows = frame[frame["footprint_code"] == PARTNERSHIP]
            console.print(
                f"[bold]By {'Bridges to Health segment' if kind == 'segment' else 'Kaiser tier'}"
                "[/] (the partnership; activity in the last 12 months)",
                highlight=False,
            )
            t = RichTable(kind, "people", "%", "adm/1000", "bed d/1000", "A&E/1000", "£/head",
                          "% cost")  # fmt: skip
            for r in rows.itertuples():
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
            show(t)
    else:
        for kind, frame in tables.items():
            console.print(f"{kind}: {len(frame):,} rows by {by} (area ALL: the partnership)")
    hidden = sum(int(f["people"].isna().sum()) for f in tables.values())
    if hidden:
        console.print(f"{hidden} cells suppressed (counts of 1-7 and what they would reveal)")
    if out is not None:
        if out.suffix.lower() == ".xlsx":
            out.parent.mkdir(parents=True, exist_ok=True)
            with pd.ExcelWriter(out) as xl:
                for kind, frame in tables.items():
                    frame.to_excel(xl, sheet_name=kind, index=False)
        else:
            both = pd.concat([f.assign(table=k) for k, f in tables.items()], ignore_index=True)
            write_frame(both, out)
        console.print(f"wrote {out}")


def _n(value, fmt: str) -> str:
    import pandas as pd

    return "*" if pd.isna(value) else fmt.format(value)


def register(app: typer.Typer) -> None:
    """Add the `segments` command to the main app."""
    app.command("segments")(segments)
