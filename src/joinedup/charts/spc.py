"""Draw Making Data Count SPC charts (from `joinedup.measures.spc.xmr`) as SVG or PNG.

The SVG is deterministic (fixed hash salt, no date, text kept as text) so that the same
frame always gives the same bytes, and it carries a <title> and <desc> for screen readers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any, Literal
from xml.sax.saxutils import escape

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from joinedup.measures.labels import ASSURANCE_TEXT, VARIATION_TEXT

# Colours as NHSRplotthedots / the Making Data Count Power BI team use them.
COLOURS = {
    "common_cause": "#7B7D7D",  # grey
    "improvement": "#289DE0",  # blue
    "concern": "#FAB428",  # orange
    "neutral_high": "#361475",  # purple
    "neutral_low": "#361475",
    "line": "#7B7D7D",
    "mean": "#000000",
    "limit": "#7B7D7D",
    "target": "#DE1B1B",
}


def _badge_colour(icon: str | None) -> str:
    if icon is None:
        return COLOURS["common_cause"]
    for key in ("improvement", "concern", "neither"):
        if icon.startswith(key):
            return COLOURS["neutral_high" if key == "neither" else key]
    return {"pass": COLOURS["improvement"], "fail": COLOURS["concern"]}.get(
        icon, COLOURS["common_cause"]
    )


def _text_on(fill: str) -> str:
    """Black or white text, whichever contrasts more with the badge colour (WCAG luminance)."""
    channels = [int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


def spc_chart(
    frame: pd.DataFrame,
    title: str,
    y_label: str,
    x_labels: Sequence[Any] | None = None,
    fmt: Literal["svg", "png"] = "svg",
    x_label: str = "Period",
) -> bytes:
    """Draw an SPC chart of an `xmr` frame and return it as SVG or PNG bytes.

    Points are coloured per Making Data Count (blue improvement, orange concern, purple
    neutral special cause, grey common cause); the mean is solid, process limits dashed,
    the target (if any) red; the variation and assurance icons appear as text badges in the
    top corners. ``x_labels`` default to the frame's ``x`` column.
    """
    missing = {"value", "mean", "lower_limit", "upper_limit", "point_type", "period"} - set(
        frame.columns
    )
    if missing:
        raise ValueError(f"spc_chart: frame lacks columns {sorted(missing)}; pass xmr() output")
    if frame.empty:
        raise ValueError("spc_chart: the frame has no points to draw")
    if fmt not in ("svg", "png"):
        raise ValueError(f"spc_chart: fmt must be 'svg' or 'png', got {fmt!r}")
    labels = list(frame["x"] if x_labels is None and "x" in frame else x_labels or [])
    if labels and len(labels) != len(frame):
        raise ValueError(f"spc_chart: {len(labels)} x labels for {len(frame)} points")

    rc = {"svg.hashsalt": "joinedup", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
    # A bare Figure (no pyplot): no global backend switch, no figure registry to leak.
    with mpl.rc_context(rc):
        fig = Figure(figsize=(9, 4.8), dpi=100)
        ax = fig.subplots()
        _draw(ax, frame, title, y_label, x_label, labels)
        buf = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight")
    data = buf.getvalue()
    return _accessible_svg(data, title, _description(frame, y_label)) if fmt == "svg" else data


def _draw(ax: Any, frame: pd.DataFrame, title: str, y_label: str, x_label: str, labels: list):
    pos = list(range(len(frame)))
    ax.plot(pos, frame["value"], color=COLOURS["line"], linewidth=1.2, zorder=1)
    for _, rows in frame.groupby("period", sort=True):
        xs = list(rows.index)
        ax.plot(xs, rows["mean"], color=COLOURS["mean"], linewidth=1.2, label="_mean")
        for col in ("lower_limit", "upper_limit"):
            ax.plot(xs, rows[col], color=COLOURS["limit"], linestyle="--", linewidth=1)
    for kind, rows in frame.groupby("point_type", sort=True):
        ax.scatter(
            list(rows.index), rows["value"], color=COLOURS[str(kind)], s=28, zorder=3, gid=kind
        )
    target = frame["target"].iloc[-1] if "target" in frame else math.nan
    if not math.isnan(target):
        ax.axhline(target, color=COLOURS["target"], linestyle=":", linewidth=1.4)
    ax.set_title(title, loc="left", fontsize=13, pad=28)
    ax.set_ylabel(y_label)
    ax.set_xlabel(x_label)
    if labels:
        step = max(1, math.ceil(len(labels) / 12))
        ax.set_xticks(pos[::step], [str(v) for v in labels[::step]], rotation=45, ha="right")
    ax.grid(axis="y", color="#E8EDEE", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    variation = frame.attrs.get("variation_icon")
    assurance = frame.attrs.get("assurance_icon")
    badges = [(VARIATION_TEXT.get(variation or "", "Variation: not available"), variation)]
    if assurance:
        badges.append((ASSURANCE_TEXT[assurance], assurance))
    for i, (text, icon) in enumerate(badges):
        fill = _badge_colour(icon)
        ax.text(
            1.0,
            1.02 + 0.07 * i,
            text,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8.5,
            color=_text_on(fill),
            bbox={"boxstyle": "round,pad=0.3", "facecolor": fill, "lw": 0},
        )


def _description(frame: pd.DataFrame, y_label: str) -> str:
    last = frame.iloc[-1]
    parts = [
        f"SPC chart of {y_label}, {len(frame)} points.",
        f"Latest mean {last['mean']:.4g}, process limits {last['lower_limit']:.4g} "
        f"to {last['upper_limit']:.4g}.",
        VARIATION_TEXT.get(frame.attrs.get("variation_icon") or "", "") + ".",
    ]
    if frame.attrs.get("assurance_icon"):
        parts.append(ASSURANCE_TEXT[frame.attrs["assurance_icon"]] + ".")
    if "special_cause" in frame:
        parts.append(f"{int(frame['special_cause'].sum())} special-cause points.")
    return " ".join(parts)


def _accessible_svg(data: bytes, title: str, desc: str) -> bytes:
    """Give the SVG a role, a <title> and a <desc> so screen readers announce it."""
    text = data.decode("utf-8")
    head_end = text.index(">", text.index("<svg")) + 1
    opening = text[:head_end].replace("<svg ", '<svg role="img" aria-labelledby="t d" ', 1)
    extra = f'\n <title id="t">{escape(title)}</title>\n <desc id="d">{escape(desc)}</desc>'
    return (opening + extra + text[head_end:]).encode("utf-8")
