"""Population projection: growth by age band and sex, applied to baseline cells.

A projection file is a CSV with ``age_band``, ``sex`` (F or M) and ``annual_growth`` (a
fraction, compounded each year), one row per age band of ``joinedup.derived.AGE_BANDS``
and sex; lines starting with ``#`` are comments (provenance). The shipped default is
``data/population_projection_england.csv``; see its header for its source.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from joinedup.scenarios.model import AGE_BAND_NAMES, ScenarioError

DEFAULT_PROJECTION = "population_projection_england.csv"


def _default_text() -> str:
    return (
        resources.files("joinedup.scenarios")
        .joinpath("data", DEFAULT_PROJECTION)
        .read_text(encoding="utf-8")
    )


def load_projection(path: str | Path | None = None) -> dict[tuple[str, str], float]:
    """Annual growth by (age_band, sex) from ``path`` (or the shipped default)."""
    source = str(path) if path else f"default {DEFAULT_PROJECTION}"
    try:
        text = Path(path).read_text(encoding="utf-8") if path else _default_text()
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read the projection file ({exc.strerror})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    data = [(n, line) for n, line in lines if not line.lstrip().startswith("#")]
    if not data:
        raise ScenarioError(f"{source}: no rows")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in data)))
    need = {"age_band", "sex", "annual_growth"}
    missing = need - set(reader.fieldnames or [])
    if missing:
        raise ScenarioError(
            f"{source}: line {data[0][0]}: missing column(s) {', '.join(sorted(missing))}; "
            "expected age_band,sex,annual_growth"
        )
    rates: dict[tuple[str, str], float] = {}
    for (line_no, _), row in zip(data[1:], reader, strict=True):
        where = f"{source}: line {line_no}"
        band, sex = row["age_band"].strip(), row["sex"].strip()
        if band not in AGE_BAND_NAMES:
            raise ScenarioError(
                f"{where}: age_band {band!r} unknown; expected one of: {', '.join(AGE_BAND_NAMES)}"
            )
        if sex not in ("F", "M"):
            raise ScenarioError(f"{where}: sex {sex!r}; expected F or M")
        try:
            growth = float(row["annual_growth"])
        except (TypeError, ValueError):
            raise ScenarioError(
                f"{where}: annual_growth {row['annual_growth']!r}; expected a fraction like 0.012"
            ) from None
        if not -0.5 < growth < 0.5:
            raise ScenarioError(
                f"{where}: annual_growth {growth} out of range; expected a fraction a year "
                "(0.012 = 1.2%), between -0.5 and 0.5"
            )
        if (band, sex) in rates:
            raise ScenarioError(f"{where}: {band} {sex} given twice")
        rates[(band, sex)] = growth
    absent = [f"{b} {s}" for b in AGE_BAND_NAMES for s in "FM" if (b, s) not in rates]
    if absent:
        raise ScenarioError(f"{source}: no row for {', '.join(absent)}")
    return rates


def growth_factors(
    cells: pd.DataFrame, rates: dict[tuple[str, str], float] | None, years: int
) -> np.ndarray:
    """Population multiplier of each cell (rows of ``cells``) in years 1..``years``.

    ``cells`` has ``age_band`` and ``sex``. Sex ``U`` (or missing) takes the average of
    the F and M rates. ``rates=None`` means a flat population (every factor 1).
    """
    t = np.arange(1, years + 1)
    if rates is None:
        return np.ones((len(cells), years))
    g = np.array(
        [
            rates[(b, s)] if (b, s) in rates else (rates[(b, "F")] + rates[(b, "M")]) / 2
            for b, s in zip(cells["age_band"], cells["sex"], strict=True)
        ]
    )
    return (1.0 + g)[:, None] ** t[None, :]
