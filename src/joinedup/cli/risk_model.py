"""`joinedup risk train` and `joinedup risk score`: the emergency admission risk model.

These two commands join the `risk` group defined in ``cli/risk.py``: that module calls
``register_risk(group)``. (This module has no ``register(app)`` of its own, so the
automatic registration of command modules leaves it alone.)
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path

ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    help="Folder of the trained risk model (default: $JOINEDUP_RISK_MODEL or risk-model "
    "beside the warehouse).",
)


def model_dir(model: Path | None, warehouse: Path) -> Path:
    """The model folder: as given, else ``$JOINEDUP_RISK_MODEL`` or ``risk-model`` beside
    the warehouse file (:func:`joinedup.settings.risk_model_dir`)."""
    from joinedup.settings import risk_model_dir

    return model if model is not None else risk_model_dir(warehouse)


def parse_date(value: str | None, option: str = "--as-of") -> date | None:
    """A YYYY-MM-DD option value, or a clear error."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"{option} {value!r}: expected a date as YYYY-MM-DD") from None


def open_model_and_warehouse(model: Path | None, warehouse: Path | None):
    """The trained model and the warehouse (read-only) it is used on, or a clear error.
    Returns (model, warehouse); close the warehouse when done."""
    from joinedup.risk.model import RiskModel
    from joinedup.warehouse import open_warehouse

    path = warehouse_path(warehouse)
    try:
        fitted = RiskModel.load(model_dir(model, path))
        return fitted, open_warehouse(path, read_only=True)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None


def write_frame(frame, out: Path) -> None:
    """Write ``frame`` to .parquet, .csv or .xlsx by the file's suffix."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    elif suffix == ".csv":
        frame.to_csv(out, index=False)
    elif suffix == ".xlsx":
        frame.to_excel(out, index=False)
    else:
        raise fail(f"--out {out}: expected a file name ending .parquet, .csv or .xlsx")


def train(
    warehouse: Path = WarehouseOption,
    out: Path = ModelOption,
    rounds: int = typer.Option(400, "--rounds", min=10, help="Boosting rounds (trees)."),
    seed: int = typer.Option(42, "--seed", help="Seed for the split and the trees."),
) -> None:
    """Fit, calibrate and validate the model; write it with its model card."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from joinedup.risk.model import train as fit
    from joinedup.risk.model_card import comparison
    from joinedup.warehouse import open_warehouse

    path = warehouse_path(warehouse)
    folder = model_dir(out, path)
    try:
        wh = open_warehouse(path, read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with wh, Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=None)
        try:
            result = fit(
                wh,
                folder,
                rounds=rounds,
                seed=seed,
                step=lambda s: progress.update(task, description=s),
            )
        except ValueError as exc:
            raise fail(str(exc)) from None
    comp = comparison(result.validation)
    table = RichTable(
        "model", "AUROC (95% CI)", "avg precision", "Brier", "PPV top 1%", "sens. top 5%",
        title=f"Validation: features at {result.dates['validate']}, admissions in the year after",
    )  # fmt: skip
    for r in comp.itertuples():
        table.add_row(
            r.model,
            f"{r.auroc:.3f} ({r.auroc_lower:.3f}-{r.auroc_upper:.3f})",
            f"{r.average_precision:.3f}",
            f"{r.brier:.4f}",
            f"{100 * comp.loc[r.Index, 'ppv_top_0.01']:.1f}%",
            f"{100 * comp.loc[r.Index, 'sensitivity_top_0.05']:.1f}%",
        )
    show(table)
    console.print(f"model and model card written to {folder}")
    for kind, p in sorted(result.card_paths.items()):
        console.print(f"  {kind}: {p}")


def score(
    warehouse: Path = WarehouseOption,
    model: Path = ModelOption,
    as_of: str = typer.Option(
        None, "--as-of", help="Score as at YYYY-MM-DD (default: the end of the data)."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Write person_id, risk, rank, percentile to .parquet/.csv."
    ),
) -> None:
    """Risk of an emergency admission in the next 12 months for every registered person."""
    from joinedup.risk.model import score_people

    when = parse_date(as_of)
    fitted, wh = open_model_and_warehouse(model, warehouse)
    with wh, console.status("scoring every registered person"):
        scored = score_people(wh, fitted, when)
    cols = ["person_id", "risk", "rank", "percentile", "practice_code", "footprint_code"]
    if out is not None:
        write_frame(scored[cols], out)
    risk = scored["risk"]
    n = len(scored)
    top2 = scored.head(max(1, round(0.02 * n)))
    console.print(
        f"{n:,} people scored; mean risk {risk.mean():.1%}; top 2% ({len(top2):,} people) "
        f"from {top2['risk'].min():.1%} up, expected {top2['risk'].sum():,.0f} of them "
        "admitted in the next 12 months"
    )
    if out is not None:
        console.print(f"wrote {n:,} rows to {out}")


def register_risk(group: typer.Typer) -> None:
    """Add `train` and `score` to the `risk` command group."""
    group.command("train")(train)
    group.command("score")(score)
