"""The web app's chart images: published figures drawn once and kept as SVG bytes.

Drawing is :mod:`joinedup.charts`; the figures are :class:`joinedup.published.Figures`'s.
Each image is kept beside the figures of the same state of the data, so a chart is
drawn once, not once per request.
"""

from __future__ import annotations

from joinedup.charts.funnel import funnel_chart
from joinedup.charts.spc import spc_chart
from joinedup.measures.definition import MeasureError
from joinedup.measures.labels import UNIT_LABELS
from joinedup.published import Figures


def spc_svg(
    figures: Figures, measure_id: str, by: str = "partnership", group: str | None = None
) -> bytes | None:
    """The measure's XmR chart (Making Data Count) for the partnership or one group, or
    None where it cannot be charted (too few points, a suppressed period)."""

    def draw() -> bytes | None:
        d = figures.definition(measure_id)
        try:
            frame = figures.spc(measure_id, by, group)
        except MeasureError:
            return None
        title = d.title if by == "partnership" else f"{d.title}: {group}"
        return spc_chart(frame, title, UNIT_LABELS[d.unit])

    return figures.figure(f"chart:spc:{measure_id}:{by}:{group}", draw)


def funnel_svg(
    figures: Figures, measure_id: str, by: str = "practice", highlight: str | None = None
) -> bytes | None:
    """The funnel plot across the units of ``by`` in the newest financial year
    (suppressed units left out), or None where no funnel applies (means, standardised
    rates, too few units). ``highlight`` rings one unit (a practice viewing its own
    profile)."""

    def draw() -> bytes | None:
        try:
            frame = figures.funnel(measure_id, by)
        except MeasureError:
            return None
        return funnel_chart(
            frame,
            frame.attrs["title"],
            value_label=frame.attrs["value_label"],
            size_label=frame.attrs["size_label"],
            highlight=highlight,
        )

    return figures.figure(f"chart:funnel:{measure_id}:{by}:{highlight}", draw)


#: The charts of an evaluation, by the name its address gives them.
EVALUATION_CHARTS = ("event-study", "synthetic-control", "tests")


def evaluation_svg(figures: Figures, programme: str, chart: str) -> bytes | None:
    """One chart of the programme's published evaluation: its "event-study" or
    "synthetic-control" (place-based programmes) or its falsification "tests" (a forest
    plot), or None where there is nothing to draw (not evaluated, withheld, or not that
    kind of programme)."""
    from joinedup.charts.evaluation import (
        event_study_svg,
        falsification_svg,
        synthetic_control_svg,
    )
    from joinedup.reports.boardpack import evaluation_or_reason

    if chart not in EVALUATION_CHARTS:
        raise ValueError(f"evaluation_svg: chart must be one of {EVALUATION_CHARTS}, not {chart!r}")

    def draw() -> bytes | None:
        doc = evaluation_or_reason(figures, programme)
        if doc.get("reason"):
            return None
        try:
            if chart == "event-study":
                svg = event_study_svg(doc)
            elif chart == "synthetic-control":
                svg = synthetic_control_svg(doc.get("synthetic_control") or {})
            else:
                svg = falsification_svg(doc)
        except ValueError:  # withheld, or not a chart this kind of programme has
            return None
        return svg.encode("utf-8")

    return figures.figure(f"chart:evaluation:{chart}:{programme}", draw)
