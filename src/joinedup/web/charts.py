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


def funnel_svg(
    data: DataService, measure_id: str, by: str = "practice", highlight: str | None = None
) -> bytes | None:
    """Funnel plot of the last 12 periods pooled across ``by`` units (suppressed units
    left out), or None where no funnel applies (means, standardised rates).
    ``highlight`` rings one unit (a practice viewing its own profile)."""
    key = f"funnel.svg:{measure_id}:{by}:{highlight}"
    if key not in data._memo:
        data._memo[key] = _funnel_svg(data, measure_id, by, highlight)
    return data._memo[key]


def group_spc_svg(data: DataService, measure_id: str, by: str, group: str) -> bytes | None:
    """XmR chart of one group's series (e.g. one practice), or None when any period is
    suppressed (leaving out the small counts but keeping the zeros would bias the
    chart) or there are fewer than two periods."""
    from joinedup.measures.spc import xmr

    key = f"spc.svg:{measure_id}:{by}:{group}"
    if key not in data._memo:
        d = data.definition(measure_id)
        table = data.measure_table(measure_id, by)
        series = table[table["group"] == group]
        chart = None
        if len(series) >= 2 and not series["suppressed"].any() and series["value"].notna().all():
            direction = d.direction if d.direction in ("increase", "decrease") else "neutral"
            frame = xmr(
                series["value"].astype(float).to_numpy(),
                improvement=direction,
                x=list(series["period"]),
            )
            chart = spc_chart(frame, f"{d.title}: {group}", UNIT_LABELS.get(d.unit, d.unit))
        data._memo[key] = chart
    return data._memo[key]


def _funnel_svg(data: DataService, measure_id: str, by: str, highlight: str | None) -> bytes | None:
    from joinedup.measures.funnel import plot_funnel
    from joinedup.measures.variation import has_funnel, measure_funnel

    d = data.definition(measure_id)
    if not has_funnel(d) or by not in d.groupings:
        return None
    frame = measure_funnel(d, data.measure_recent(measure_id, by))
    if frame is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = plot_funnel(
            frame,
            Path(tmp) / "funnel",
            f"{d.title}: {by}s, last 12 periods",
            value_label=frame.attrs["value_label"],
            size_label=f"{frame.attrs['size_label']}, last 12 periods",
            highlight=highlight,
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
