"""Variation between practices or providers: a measure's funnel plot.

A proportion is compared on its own scale (:func:`~joinedup.measures.funnel.proportion_funnel`,
target the pooled proportion); a crude rate or a ratio of counts as observed / expected
events (:func:`~joinedup.measures.funnel.ratio_funnel`), each unit expected to have the
pooled rate, i.e. indirectly standardised for nothing but size. Means and directly
standardised rates have no funnel. Units whose figures are suppressed (counts 1-7) are
left out, so no hidden count can be read off the chart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from joinedup.measures.definition import MeasureDefinition, MeasureError, load_library
from joinedup.measures.funnel import proportion_funnel, ratio_funnel
from joinedup.measures.results import compute, resolve_ids
from joinedup.warehouse import Warehouse

#: The fewest units a funnel is drawn for.
MIN_UNITS = 3


def has_funnel(d: MeasureDefinition) -> bool:
    """Whether a measure can be compared between units on a funnel plot."""
    return d.kind != "mean" and d.standardisation == "none"


def _check_funnel(d: MeasureDefinition) -> None:
    if not has_funnel(d):
        raise MeasureError(
            f"measure {d.id!r} is a {'mean' if d.kind == 'mean' else 'standardised rate'}: "
            "a funnel plot compares proportions and ratios of counts"
        )


def measure_funnel(
    d: MeasureDefinition,
    table: pd.DataFrame,
    adjust_overdispersion: bool = False,
) -> pd.DataFrame | None:
    """The funnel table of a measure from its results per unit (``group``,
    ``numerator``, ``denominator``, ``value``, ``suppressed``), or None with fewer than
    ``MIN_UNITS`` units to show (or, for a rate, no events in any of them). Suppressed
    units and the "unknown" group are left out.

    ``attrs`` also hold ``value_label`` and ``size_label`` for drawing.
    """
    _check_funnel(d)
    shown = table[
        (table["group"] != "unknown")
        & ~table["suppressed"].astype(bool)
        & table["value"].notna()
        & table["denominator"].notna()
        & (table["denominator"] > 0)
    ]
    if len(shown) < MIN_UNITS:
        return None
    num = shown["numerator"].astype(float).to_numpy()
    den = shown["denominator"].astype(float).to_numpy()
    units = list(shown["group"])
    if d.kind != "proportion" and num.sum() <= 0:
        return None  # no events anywhere: nothing to expect, nothing to compare
    if d.kind == "proportion":
        frame = proportion_funnel(num, den, units, adjust_overdispersion=adjust_overdispersion)
        frame.attrs.update(value_label="Proportion", size_label="Denominator")
    else:
        expected = den * num.sum() / den.sum()
        frame = ratio_funnel(num, expected, units, adjust_overdispersion=adjust_overdispersion)
        frame.attrs.update(
            value_label="Observed / expected",
            size_label="Expected events (at the rate of all units together)",
        )
    return frame


def funnel_for(
    warehouse: Warehouse | str | Path,
    measure: str | MeasureDefinition,
    by: str = "practice",
    period: str = "financial_year",
    *,
    adjust_overdispersion: bool = False,
    cache: Path | bool | None = None,
    library: dict[str, MeasureDefinition] | None = None,
) -> pd.DataFrame:
    """Funnel table of one measure across the units of ``by`` in its latest ``period``
    (:func:`funnel_of` on the measure's results)."""
    library = library if library is not None else load_library()
    d = measure if isinstance(measure, MeasureDefinition) else resolve_ids(library, [measure])[0]
    _check_funnel(d)
    results = compute(warehouse, [d.id], by, period, cache=cache, library={d.id: d})
    return funnel_of(d, results, by, adjust_overdispersion)


def funnel_of(
    d: MeasureDefinition,
    results: pd.DataFrame,
    by: str = "practice",
    adjust_overdispersion: bool = False,
) -> pd.DataFrame:
    """Funnel table of measure ``d`` across the units in the newest period of
    ``results`` (rows of :func:`~joinedup.measures.results.compute` by ``by``).

    One row per unit shown, with its value, 95% and 99.8% limits and ``outlier``
    (``within``, ``above_95``, ``below_99.8`` ...); see
    :func:`joinedup.measures.funnel.proportion_funnel`. ``attrs`` hold the measure,
    ``period``, ``title`` and the axis labels. Raises :class:`MeasureError` for a mean or
    a standardised rate, or when fewer than ``MIN_UNITS`` units can be shown.
    """
    _check_funnel(d)
    if results.empty:
        raise MeasureError(f"measure {d.id!r} by {by} has no complete period of data")
    latest = results[results["period_start"] == results["period_start"].max()]
    frame = measure_funnel(d, latest, adjust_overdispersion)
    period_label = latest["period"].iloc[0]
    if frame is None:
        units = latest[latest["group"] != "unknown"]
        raise MeasureError(
            f"no funnel for {d.id!r} by {by} in {period_label}: it needs {MIN_UNITS} units or "
            f"more with figures that can be shown and some events; there are {len(units)}, "
            f"{int(units['suppressed'].sum())} of them suppressed"
        )
    frame.attrs.update(
        measure_id=d.id,
        period=period_label,
        grouping=by,
        title=f"{d.title}: {by.replace('_', ' ')}s, {period_label}",
    )
    return frame
