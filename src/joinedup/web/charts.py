"""Chart images of a measure for pages and the board pack (SVG, drawn on the server)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from joinedup.measures.charts import spc_chart
from joinedup.web.data import DataService

UNIT_LABELS = {
    "per_1000": "per 1,000",
    "per_100000": "per 100,000",
    "percent": "%",
    "per_person": "per person",
    "cost_per_head": "£ per head",
    "mean_days": "days",
    "mean_score": "score",
    "ratio": "ratio",
}


def spc_svg(data: DataService, measure_id: str) -> bytes | None:
    """The measure's XmR chart (Making Data Count), or None if there are too few points."""
    key = f"spc.svg:{measure_id}"
    if key not in data._memo:
        data._memo[key] = _spc_svg(data, measure_id)
    return data._memo[key]


def _spc_svg(data: DataService, measure_id: str) -> bytes | None:
    view = data.measure_view(measure_id)
    if view.spc is None:
        return None
    d = view.definition
    return spc_chart(view.spc, d.title, UNIT_LABELS.get(d.unit, d.unit))


def funnel_svg(data: DataService, measure_id: str, by: str = "practice") -> bytes | None:
    """Funnel plot of the last 12 periods pooled across ``by`` units (suppressed units
    left out), or None where no funnel applies (means, standardised rates)."""
    key = f"funnel.svg:{measure_id}:{by}"
    if key not in data._memo:
        data._memo[key] = _funnel_svg(data, measure_id, by)
    return data._memo[key]


def _funnel_svg(data: DataService, measure_id: str, by: str) -> bytes | None:
    from joinedup.measures.funnel import plot_funnel, proportion_funnel, ratio_funnel

    d = data.definition(measure_id)
    if d.kind == "mean" or d.standardisation != "none" or by not in d.groupings:
        return None
    table = data.measure_recent(measure_id, by)
    table = table[~table["suppressed"] & table["denominator"].notna() & (table["denominator"] > 0)]
    if len(table) < 3:
        return None
    num = table["numerator"].astype(float).to_numpy()
    den = table["denominator"].astype(float).to_numpy()
    if d.kind == "proportion":
        frame = proportion_funnel(num, den, units=list(table["group"]))
        size_label = "Denominator (12 months)"
        value_label = "Proportion"
    else:
        expected = den * num.sum() / den.sum()
        frame = ratio_funnel(num, expected, units=list(table["group"]))
        size_label = "Expected events (12 months, partnership rate)"
        value_label = "Observed / expected"
    with tempfile.TemporaryDirectory() as tmp:
        paths = plot_funnel(
            frame,
            Path(tmp) / "funnel",
            f"{d.title}: {by}s, last 12 periods",
            value_label=value_label,
            size_label=size_label,
        )
        svg = next(p for p in paths if p.suffix == ".svg")
        return svg.read_bytes()


def fmt_value(value: float | None, unit: str) -> str:
    """A measure value for display ('*' when suppressed)."""
    if value is None or pd.isna(value):
        return "*"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "cost_per_head":
        return f"£{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
