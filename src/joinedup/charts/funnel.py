"""Funnel plots drawn as SVG or PNG (the statistics are :mod:`joinedup.measures.funnel`).

The SVG keeps its text as text and carries a title and a description for screen
readers; it is deterministic (fixed hash salt, no date), so the same table always
gives the same bytes.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from joinedup.measures.funnel import funnel_curve, level_label

#: Colours close to the NHS identity palette (NHS Blue, dark grey, warm yellow, red).
NHS_BLUE = "#005EB8"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_WARM_YELLOW = "#FFB81C"
NHS_RED = "#DA291C"
NHS_ORANGE = "#ED8B00"


def funnel_chart(
    frame: pd.DataFrame,
    title: str,
    value_label: str | None = None,
    size_label: str | None = None,
    label_outliers: bool = True,
    highlight: Any | None = None,
    fmt: Literal["svg", "png"] = "svg",
) -> bytes:
    """Draw a funnel table (:func:`~joinedup.measures.funnel.proportion_funnel` or
    :func:`~joinedup.measures.funnel.ratio_funnel`) as SVG or PNG bytes.

    Outliers at the widest limits are labelled; ``highlight`` names one unit to ring
    and label (e.g. the practice being viewed).
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"funnel_chart: fmt must be 'svg' or 'png', got {fmt!r}")
    # The object API (no pyplot) keeps no global state, so it is safe in a web server.
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    kind = frame.attrs["kind"]
    size_col = "denominator" if kind == "proportion" else "expected"
    value_label = value_label or ("Proportion" if kind == "proportion" else "Ratio (O/E)")
    size_label = size_label or ("Denominator" if kind == "proportion" else "Expected events")
    curve = funnel_curve(frame)
    levels = sorted(frame.attrs["levels"])
    styles = {0: ("--", NHS_ORANGE), 1: ("-", NHS_RED)}

    fig = Figure(figsize=(8, 5), dpi=120)
    ax = fig.subplots()
    ax.axhline(frame.attrs["target"], color=NHS_DARK_GREY, linewidth=1.2, label="Target")
    for i, level in enumerate(levels):
        lab = level_label(level)
        style, colour = styles.get(i, (":", NHS_MID_GREY))
        ax.plot(
            curve["size"],
            curve[f"upper_{lab}"],
            style,
            color=colour,
            linewidth=1.2,
            label=f"{lab}% limits",
        )
        ax.plot(curve["size"], curve[f"lower_{lab}"], style, color=colour, linewidth=1.2)
    widest = level_label(max(levels))
    out = frame[f"above_{widest}"] | frame[f"below_{widest}"]
    ax.scatter(
        frame.loc[~out, size_col],
        frame.loc[~out, "value"],
        s=22,
        color=NHS_BLUE,
        label="Unit",
        zorder=3,
    )
    if out.any():
        ax.scatter(
            frame.loc[out, size_col],
            frame.loc[out, "value"],
            s=30,
            color=NHS_WARM_YELLOW,
            edgecolors=NHS_DARK_GREY,
            label=f"Outside {widest}% limits",
            zorder=4,
        )
    if label_outliers:
        for _, row in frame.loc[out].iterrows():
            ax.annotate(
                str(row["unit"]),
                (row[size_col], row["value"]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
    mine = frame["unit"] == highlight if highlight is not None else frame["unit"] != frame["unit"]
    if mine.any():
        ax.scatter(
            frame.loc[mine, size_col],
            frame.loc[mine, "value"],
            s=110,
            facecolors="none",
            edgecolors=NHS_DARK_GREY,
            linewidths=2,
            label=str(highlight),
            zorder=5,
        )
        if not (label_outliers and out[mine].any()):
            row = frame.loc[mine].iloc[0]
            ax.annotate(
                str(highlight),
                (row[size_col], row["value"]),
                fontsize=9,
                fontweight="bold",
                xytext=(6, -12),
                textcoords="offset points",
            )
    sizes = frame[size_col]
    if sizes.max() > 10 * sizes.min():  # log axis only when sizes span a decade or more
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(size_label)
    ax.set_ylabel(value_label)
    suffix = " (adjusted for over-dispersion)" if frame.attrs.get("adjusted") else ""
    ax.set_title(title + suffix)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()

    n_out = int(out.sum())
    description = (
        f"Funnel plot of {len(frame)} units against {size_label.lower()}; "
        f"{n_out} outside the {widest}% limits."
    )
    if mine.any():
        row = frame.loc[mine].iloc[0]
        where = "outside" if out[mine].any() else "within"
        description += f" {highlight} is marked: {row['value']:.3g}, {where} the {widest}% limits."
    buf = io.BytesIO()
    # Real <text> in the SVG (not glyph paths) so screen readers and search can read it.
    rc = {"svg.hashsalt": "joinedup", "svg.fonttype": "none"}
    with matplotlib.rc_context(rc):
        metadata = {"Title": title, "Description": description}
        metadata.update({"Date": None} if fmt == "svg" else {"Software": None})
        fig.savefig(buf, format=fmt, metadata=metadata)
    data = buf.getvalue()
    return _label_svg(data, title, description) if fmt == "svg" else data


def plot_funnel(
    frame: pd.DataFrame,
    path: str | Path,
    title: str,
    value_label: str | None = None,
    size_label: str | None = None,
    label_outliers: bool = True,
    highlight: Any | None = None,
) -> list[Path]:
    """Draw a funnel table as SVG and PNG next to each other; return the paths written.

    ``path`` without suffix (or with .svg/.png) names both files (see
    :func:`funnel_chart`).
    """
    base = Path(path)
    base = base.with_suffix("") if base.suffix in {".svg", ".png"} else base
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("svg", "png"):
        target = base.with_suffix(f".{fmt}")
        target.write_bytes(
            funnel_chart(frame, title, value_label, size_label, label_outliers, highlight, fmt)
        )
        written.append(target)
    return written


def _label_svg(data: bytes, title: str, description: str) -> bytes:
    """Give the SVG root role="img", an accessible name, a <title> and a <desc>."""
    text = data.decode("utf-8")
    start = text.index("<svg")
    end = text.index(">", start)
    label = escape(title, quote=True)
    opening = text[start:end].replace("<svg", f'<svg role="img" aria-label="{label}"', 1)
    inserted = f"<desc>{escape(description)}</desc>"
    if "<title>" not in text:  # matplotlib writes <title> from the metadata itself
        inserted = f"<title>{escape(title)}</title>" + inserted
    return (text[:start] + opening + ">" + inserted + text[end + 1 :]).encode("utf-8")
