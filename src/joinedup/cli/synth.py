"""`joinedup synth`: build the synthetic health economy."""

from __future__ import annotations

from pathlib import Path

import typer

from joinedup.cli.common import console


def synth(
    people: int = typer.Option(250_000, "--people", "-n", min=100, help="Registered people."),
    years: int = typer.Option(
        3, "--years", "-y", min=1, max=10, help="Financial years of activity, ending 31 March 2026."
    ),
    seed: int = typer.Option(42, "--seed", "-s", help="Random seed: same seed, same files."),
    out: Path = typer.Option(
        Path("joinedup-data"),
        "--out",
        "-o",
        help="Folder for the Parquet files, truth.json and warehouse.duckdb.",
    ),
    effect: float = typer.Option(
        None,
        "--programme-effect",
        min=0.05,
        max=2.0,
        help="True emergency-admission rate ratio of telephone care management "
        "(default 0.80: 20% fewer emergency admissions while enrolled).",
    ),
    launch_years: int = typer.Option(
        1,
        "--programme-launch-years",
        min=1,
        help="Financial years into the window that telephone care management starts "
        "(default 1: the second year; must be less than --years). More leaves more history "
        "before it for the evaluation's baseline.",
    ),
    area_effect: float = typer.Option(
        None,
        "--area-effect",
        min=0.05,
        max=2.0,
        help="Rate ratio of emergency admissions of people aged 65 and over registered at a "
        "practice once its integrated neighbourhood team has started (1.0 = no effect).",
    ),
    extracts: Path = typer.Option(
        None,
        "--extracts",
        help="Also write the economy as the extracts partners send, in national layouts "
        "(HES APC episodes and OP keyed by PSEUDO_HESID, ECDS, GP register and coded events, "
        "CSDS, MHSDS, CLD, FFT; canonical files for tables with no national layout), with "
        "key bridges and the commands that load them (see docs/ingest.md).",
    ),
) -> None:
    """Build a synthetic health economy: Parquet files, truth.json and a DuckDB warehouse;
    with --extracts, also the national-layout extracts that load into the same warehouse
    through `joinedup ingest`."""
    from joinedup.synth import SynthConfig, build
    from joinedup.synth.calibration import calibration_table

    try:
        config = SynthConfig(
            people=people, years=years, seed=seed, programme_launch_years=launch_years
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--programme-launch-years") from exc
    if effect is not None:
        config = config.with_programme_effect(effect)
    if area_effect is not None:
        config = config.with_area_effect(area_effect)
    result = build(config, out, show_progress=True)
    console.print(f"wrote {result.warehouse_path} and {len(result.parquet_files)} Parquet files")
    console.print(calibration_table(result.warehouse_path))
    if extracts is not None:
        from joinedup.synth.extracts import write_extracts

        written = write_extracts(
            result.warehouse_path,
            out / "reidentification.duckdb",
            extracts,
            seed=seed,
            show_progress=True,
        )
        key = out / "secrets" / "pseudonymisation.key"
        console.print(
            f"wrote {len(written.files)} extracts to {extracts} "
            f"({sum(written.rows.values()):,} rows); load them with the economy's key:",
            soft_wrap=True,
        )
        for scheme, path in written.bridges.items():
            console.print(
                f"  joinedup keys bridge {path} --scheme {scheme} --key-file {key}",
                soft_wrap=True,
                highlight=False,
            )
        console.print(
            f"  joinedup ingest {extracts} --warehouse WAREHOUSE --key-file {key}\n"
            "  joinedup registers derive --warehouse WAREHOUSE",
            soft_wrap=True,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add the `synth` command to the main app."""
    app.command("synth")(synth)
