"""Pictures of a programme's evaluation, drawn from the published document
(:meth:`joinedup.published.Figures.evaluation`) as SVG: the event study and the
synthetic control of a place-based programme, and the falsification tests of either
kind as a forest plot.

Rate ratios are drawn on a log scale, where 0.5 and 2 are as far from 1 either side. A
figure the document withholds (None: small numbers) is left out; an interval reaching
beyond what the axis shows (0, or a bootstrap limit in the thousands) is cut at the
edge and ends in an arrowhead. Each SVG is deterministic (fixed hash salt, no date,
text kept as text) and carries a <title> and <desc> for screen readers; none draws a
title of its own (the page or pack gives it).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from joinedup.charts.spc import _accessible_svg

NHS_BLUE = "#005EB8"
NHS_MID_GREY = "#768692"
NHS_DARK_GREY = "#425563"
NHS_RED = "#DA291C"
TEXT = "#212B32"
#: The widest span of rate ratios an axis shows; what lies beyond is cut at the edge.
FLOOR, CEILING = 0.05, 20.0
#: Where the vertical "programme starts" line of the event study is drawn: between the
#: last step before the start (-3 to -1 months) and the first after (0 to 2).
START_AT = -1.5
RC = {"svg.hashsalt": "joinedup", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
COARSE = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)
FINE = (0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 4)


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def _span(values: Sequence[Any]) -> tuple[float, float]:
    """The axis limits: every positive finite value and 1, padded, within FLOOR..CEILING."""
    shown = [float(v) for v in values if _finite(v) and v > 0] + [1.0]
    return max(min(shown) / 1.3, FLOOR), min(max(shown) * 1.3, CEILING)


def _log_axis(ax: Any, which: str, lo: float, hi: float) -> None:
    """The ``which`` ("x" or "y") axis of ``ax`` on a log scale from ``lo`` to ``hi``,
    with plain-number ticks (0.5, 1, 2)."""
    getattr(ax, f"set_{which}scale")("log")
    # A little room beyond lo and hi, so that a point cut at an edge stays in view.
    getattr(ax, f"set_{which}lim")(lo / 1.15, hi * 1.15)
    axis = ax.xaxis if which == "x" else ax.yaxis
    ticks = [t for t in (COARSE if hi / lo > 8 else FINE) if lo / 1.15 <= t <= hi * 1.15]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def _cut(v: float, lo: float, hi: float) -> tuple[float, bool]:
    """``v`` as drawn within ``lo``..``hi``, and whether it was cut at an edge."""
    if not _finite(v) or v <= lo:
        return lo, not (_finite(v) and v == lo)
    if v >= hi:
        return hi, v != hi
    return float(v), False


def _save(fig: Figure, title: str, desc: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return _accessible_svg(buf.getvalue(), title, desc).decode("utf-8")


def _name(doc: dict[str, Any]) -> str:
    return str(doc.get("programme") or "the programme").replace("_", " ")


def _ratio(v: Any) -> str:
    return f"{v:.2f}" if _finite(v) else "*"


# --- The event study ---------------------------------------------------------------------


def event_study_svg(doc: dict[str, Any]) -> str:
    """The event study of a place-based evaluation: the rate ratio in each three-month
    step since the start (negative: before it) with its 95% interval, a line at 1 and a
    dashed line at the start; steps before the start grey, after it blue. Steps whose
    figure is withheld are left out. ValueError when no step has a figure."""
    steps = [s for s in doc.get("event_study") or [] if _finite(s.get("rate_ratio"))]
    if not steps:
        raise ValueError("event_study_svg: the document has no event study to draw")
    values = [v for s in steps for v in (s["rate_ratio"], s.get("lower"), s.get("upper"))]
    lo, hi = _span(values)
    with mpl.rc_context(RC):
        fig = Figure(figsize=(8, 4.2), dpi=100)
        ax = fig.subplots()
        ax.axhline(1.0, color=TEXT, linewidth=1, zorder=1.8)
        ax.axvline(START_AT, color=NHS_DARK_GREY, linestyle="--", linewidth=1.2, zorder=1.8)
        ax.text(START_AT, 1.0, " start", transform=ax.get_xaxis_transform(), va="top",
                ha="left", fontsize=9, color=NHS_DARK_GREY)  # fmt: skip
        for name, colour, chosen in (
            ("before", NHS_MID_GREY, [s for s in steps if s["months_since_start"] < 0]),
            ("after", NHS_BLUE, [s for s in steps if s["months_since_start"] >= 0]),
        ):
            if not chosen:
                continue
            xs = [s["months_since_start"] for s in chosen]
            for s, x in zip(chosen, xs, strict=True):
                _interval_bar(ax, x, s.get("lower"), s.get("upper"), lo, hi, colour)
            ys = [_cut(s["rate_ratio"], lo, hi)[0] for s in chosen]
            ax.scatter(xs, ys, color=colour, s=34, zorder=3, gid=f"event-study-{name}")
        _log_axis(ax, "y", lo, hi)
        xs = [s["months_since_start"] for s in steps]
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlim(min(xs) - 1.5, max(xs) + 1.5)
        ax.set_xlabel("months since start")
        ax.set_ylabel("rate ratio (log scale)")
        ax.grid(axis="y", color="#E8EDEE", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        before = sum(1 for s in steps if s["months_since_start"] < 0)
        desc = (
            f"Event study of {_name(doc)}: the rate ratio of "
            f"{doc.get('outcome_label') or 'the outcome'} in started units against what "
            f"their own trend and the other units' predicted, by three-month step since "
            f"the start, with 95% intervals; {before} steps before the start (which should "
            f"be near 1) and {len(steps) - before} after. "
            + "; ".join(
                f"{s['months']} months: {_ratio(s['rate_ratio'])} "
                f"({_ratio(s.get('lower'))} to {_ratio(s.get('upper'))})"
                for s in steps
            )
            + "."
        )
        return _save(fig, f"Event study: {_name(doc)}", desc)


def _interval_bar(
    ax: Any,
    at: float,
    lower: Any,
    upper: Any,
    lo: float,
    hi: float,
    colour: str,
    vertical: bool = True,
) -> None:
    """An interval bar at ``at`` (none without both limits), vertical or horizontal; a
    cut end is an arrowhead."""
    if lower is None or upper is None:
        return
    (a, cut_a), (b, cut_b) = _cut(lower, lo, hi), _cut(upper, lo, hi)
    ends = ((a, cut_a, "v" if vertical else "<"), (b, cut_b, "^" if vertical else ">"))

    def xy(along: list[float]) -> tuple[list[float], list[float]]:
        across = [at] * len(along)
        return (across, along) if vertical else (along, across)

    ax.plot(*xy([a, b]), color=colour, linewidth=1.6, zorder=2)
    for end, cut, marker in ends:
        if cut:
            ax.plot(*xy([end]), marker=marker, color=colour, markersize=6, zorder=2)


# --- The synthetic control --------------------------------------------------------------


def synthetic_control_svg(sc: dict[str, Any]) -> str:
    """The synthetic control of one started unit: its monthly rate and the synthetic
    unit's (the weighted never-started units fitted to its months before the start),
    with a vertical line at the start. ValueError when there is no series to draw."""
    series = (sc or {}).get("series") or []
    if not series:
        raise ValueError("synthetic_control_svg: no synthetic control series to draw")
    months = [str(r["month"]) for r in series]
    actual = [r["actual"] if _finite(r.get("actual")) else math.nan for r in series]
    synthetic = [r["synthetic"] if _finite(r.get("synthetic")) else math.nan for r in series]
    unit, started = str(sc.get("unit") or "the unit"), str(sc.get("started_on") or "")
    start = next((i for i, m in enumerate(months) if m[:7] >= started[:7]), None)
    units = str(sc.get("units") or "rate").split(", by month")[0]
    with mpl.rc_context(RC):
        fig = Figure(figsize=(8, 4.2), dpi=100)
        ax = fig.subplots()
        pos = list(range(len(months)))
        ax.plot(pos, actual, color=NHS_BLUE, linewidth=1.8, label=f"{unit} (actual)",
                gid="synthetic-control-actual")  # fmt: skip
        ax.plot(pos, synthetic, color=NHS_DARK_GREY, linewidth=1.8, linestyle="--",
                label="synthetic control", gid="synthetic-control-synthetic")  # fmt: skip
        if start is not None and started:
            ax.axvline(start - 0.5, color=TEXT, linestyle=":", linewidth=1.2,
                       gid="synthetic-control-start")  # fmt: skip
            ax.text(start - 0.5, 1.0, f" start {started}", transform=ax.get_xaxis_transform(),
                    va="top", ha="left", fontsize=9, color=TEXT)  # fmt: skip
        step = max(1, math.ceil(len(months) / 12))
        ax.set_xticks(pos[::step], [_month_label(m) for m in months[::step]], rotation=45,
                      ha="right")  # fmt: skip
        ax.set_ylim(bottom=0)
        ax.set_ylabel(units)
        ax.set_xlabel("month")
        ax.grid(axis="y", color="#E8EDEE", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, fontsize=9, loc="lower left")
        desc = (
            f"Synthetic control for {unit}, started {started or 'unknown'}: its monthly "
            f"{units} (solid) against a weighted mix of units that never started, fitted to "
            f"its months before the start (dashed), {months[0]} to {months[-1]}. Rate ratio "
            f"after the start {_ratio(sc.get('rate_ratio'))}, placebo-in-space p-value "
            f"{_ratio(sc.get('p_value'))}."
        )
        return _save(fig, f"Synthetic control: {unit}", desc)


def _month_label(iso: str) -> str:
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    try:
        return f"{names[int(iso[5:7]) - 1]} {iso[:4]}"
    except (ValueError, IndexError):
        return iso


# --- The falsification tests as a forest plot -------------------------------------------


def forest_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the forest plot: the estimate (95% interval), then each falsification
    test with the interval it is judged on (the placebo's 95%, each negative control's
    Bonferroni level), and ``status`` estimate, passed, failed or not computed."""
    rows: list[dict[str, Any]] = []
    if _finite(doc.get("rate_ratio")):
        label = f"estimate: {doc.get('outcome_label') or 'the outcome'}"
        rows.append({"label": label, "rate_ratio": doc["rate_ratio"], "lower": doc.get("lower"),
                     "upper": doc.get("upper"), "status": "estimate"})  # fmt: skip
    for check in doc.get("falsification_tests") or []:
        if not isinstance(check, dict) or check.get("label") is None:
            continue
        computed = check.get("computed", True) and _finite(check.get("rate_ratio"))
        status = ("failed" if check.get("failed") else "passed") if computed else "not computed"
        rows.append({
            "label": str(check["label"]),
            "rate_ratio": check.get("rate_ratio") if computed else None,
            "lower": check.get("test_lower", check.get("lower")),
            "upper": check.get("test_upper", check.get("upper")),
            "status": status,
        })  # fmt: skip
    return rows


STATUS_COLOURS = {"estimate": NHS_BLUE, "passed": NHS_MID_GREY, "failed": NHS_RED}


def falsification_svg(doc: dict[str, Any]) -> str:
    """The estimate and its falsification tests as a forest plot on a log scale: each
    row a rate ratio with the interval it is judged on, a line at 1 (no effect), and the
    result in words at the right (a test passes when its interval contains 1). Failed
    tests are red, passed grey, the estimate blue. ValueError when no row has a figure."""
    rows = forest_rows(doc)
    if not any(_finite(r["rate_ratio"]) for r in rows):
        raise ValueError("falsification_svg: the document has no estimate or test to draw")
    values = [v for r in rows for v in (r["rate_ratio"], r["lower"], r["upper"])]
    lo, hi = _span(values)
    with mpl.rc_context(RC):
        fig = Figure(figsize=(8, 0.5 * len(rows) + 1.1), dpi=100)
        ax = fig.subplots()
        ax.axvline(1.0, color=TEXT, linewidth=1, zorder=1.8)
        ys = list(range(len(rows)))[::-1]
        for status, colour in STATUS_COLOURS.items():
            chosen = [(y, r) for y, r in zip(ys, rows, strict=True)
                      if r["status"] == status and _finite(r["rate_ratio"])]  # fmt: skip
            if not chosen:
                continue
            for y, r in chosen:
                _interval_bar(ax, y, r["lower"], r["upper"], lo, hi, colour, vertical=False)
            ax.scatter(
                [_cut(r["rate_ratio"], lo, hi)[0] for _, r in chosen],
                [y for y, _ in chosen],
                color=colour,
                s=40,
                zorder=3,
                marker="D" if status == "estimate" else "o",
                gid=f"forest-{status}",
            )
        for y, r in zip(ys, rows, strict=True):
            ax.text(1.02, y, r["status"], transform=ax.get_yaxis_transform(), va="center",
                    fontsize=9, color=STATUS_COLOURS.get(r["status"], TEXT),
                    fontweight="bold" if r["status"] == "failed" else "normal")  # fmt: skip
        ax.set_yticks(ys, [r["label"] for r in rows])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        _log_axis(ax, "x", lo, hi)
        ax.set_xlabel("rate ratio (log scale); 1 = no effect")
        ax.grid(axis="x", color="#E8EDEE", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        desc = (
            f"The estimate for {_name(doc)} and its falsification tests, each an estimate of "
            "an effect that should be nothing (a rate ratio of 1): "
            + "; ".join(
                f"{r['label']}: {_ratio(r['rate_ratio'])} ({_ratio(r['lower'])} to "
                f"{_ratio(r['upper'])}), {r['status']}"
                for r in rows
            )
            + "."
        )
        return _save(fig, f"Falsification tests: {_name(doc)}", desc)
