"""Scenario charts as SVG and PNG: fan charts, tornado, waterfall of savings.

Bare matplotlib Figures (no pyplot state); SVGs are deterministic (fixed hash salt, no
date) so the same results give the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

if TYPE_CHECKING:
    from joinedup.scenarios.api import ScenarioRun

RC = {"svg.hashsalt": "joinedup", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
BLUE, GREY, GREEN, RED = "#005EB8", "#768692", "#009639", "#DA291C"  # NHS identity colours
_THOUSANDS = FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _save(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight")
    return buf.getvalue()


def fan_chart(
    values: np.ndarray,
    labels: list[str],
    title: str,
    y_label: str,
    baseline: np.ndarray | None = None,
    fmt: str = "svg",
) -> bytes:
    """A fan chart of ``values`` (runs x years): P5-P95, P10-P90, P25-P75 bands, median.

    ``baseline`` (runs x years), if given, is drawn as a grey median line ("without").
    """
    q = np.percentile(values, [5, 10, 25, 50, 75, 90, 95], axis=0)
    x = np.arange(values.shape[1])
    with mpl.rc_context(RC):
        fig = Figure(figsize=(8, 4.5), dpi=100)
        ax = fig.subplots()
        for (lo, hi), alpha in (((0, 6), 0.15), ((1, 5), 0.25), ((2, 4), 0.4)):
            ax.fill_between(x, q[lo], q[hi], color=BLUE, alpha=alpha, linewidth=0)
        ax.plot(
            x,
            q[3],
            color=BLUE,
            linewidth=2,
            label="with scenario: median; bands P25-P75, P10-P90, P5-P95",
        )
        if baseline is not None:
            ax.plot(
                x,
                np.median(baseline, axis=0),
                color=GREY,
                linestyle="--",
                label="without scenario (median)",
            )
        ax.set_xticks(x, labels)
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_title(title, loc="left")
        ax.set_ylabel(y_label)
        ax.legend(frameon=False, loc="best", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        return _save(fig, fmt)


def tornado_chart(
    rows: list[dict], title: str, x_label: str, top: int = 12, fmt: str = "svg"
) -> bytes:
    """A tornado of one-way sensitivity rows (``ScenarioModel.tornado`` output)."""
    rows = [r for r in rows if r["swing"] > 0][:top][::-1]
    with mpl.rc_context(RC):
        fig = Figure(figsize=(9, 0.45 * max(len(rows), 1) + 1.5), dpi=100)
        ax = fig.subplots()
        if rows:
            centre = rows[0]["central"]
            y = np.arange(len(rows))
            lo = np.array([r["value_at_low"] for r in rows]) - centre
            hi = np.array([r["value_at_high"] for r in rows]) - centre
            ax.barh(y, lo, left=centre, color=RED, label="input at its low value")
            ax.barh(y, hi, left=centre, color=GREEN, label="input at its high value")
            ax.axvline(centre, color="black", linewidth=0.8)
            ax.xaxis.set_major_formatter(_THOUSANDS)
            ax.set_yticks(y, [r["label"] for r in rows], fontsize=8)
            ax.legend(frameon=False, fontsize=8, loc="lower right")
        ax.set_title(title, loc="left")
        ax.set_xlabel(x_label)
        ax.spines[["top", "right"]].set_visible(False)
        return _save(fig, fmt)


def waterfall_chart(
    items: list[tuple[str, float]],
    title: str,
    y_label: str,
    fmt: str = "svg",
    total_label: str = "total",
) -> bytes:
    """A waterfall: each (label, amount) adds to the running total; a final total bar."""
    with mpl.rc_context(RC):
        fig = Figure(figsize=(9, 4.8), dpi=100)
        ax = fig.subplots()
        running = 0.0
        for k, (_label, amount) in enumerate(items):
            ax.bar(k, amount, bottom=running, color=GREEN if amount >= 0 else RED)
            running += amount
        ax.bar(len(items), running, color=BLUE)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_xticks(
            range(len(items) + 1),
            [i[0] for i in items] + [total_label],
            rotation=30,
            ha="right",
            fontsize=8,
        )
        ax.set_title(title, loc="left")
        ax.set_ylabel(y_label)
        ax.spines[["top", "right"]].set_visible(False)
        return _save(fig, fmt)


def scenario_charts(run: ScenarioRun, folder: Path, formats=("svg", "png")) -> list[Path]:
    """Write the fan charts, tornado and waterfall of one scenario run; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    m, out, s = run.model, run.outputs, run.summary
    labels = [y["financial_year"] for y in s["years"]]
    name = m.scenario.name
    rate = m.scenario.discount_rate
    d = 1 / (1 + rate) ** np.arange(m.years)
    items = []
    for iv in m.scenario.interventions:
        items.append(
            (f"{iv.name} savings", float(np.median(out.savings_by_intervention[iv.name] @ d)))
        )
        items.append(
            (
                f"{iv.name} investment",
                -float(np.median(out.investment_by_intervention[iv.name] @ d)),
            )
        )
    tornado_rows = run.tornado()
    charts = {
        "fan_bed_days": lambda f: fan_chart(
            out.bed_days, labels, f"{name}: acute bed days", "bed days a year", out.base_bed_days, f
        ),
        "fan_cost": lambda f: fan_chart(
            out.cost,
            labels,
            f"{name}: cost of activity",
            "£ a year (2023-24 prices)",
            np.broadcast_to(out.base_cost, out.cost.shape),
            f,
        ),
        "fan_net_benefit": lambda f: fan_chart(
            out.net_benefit, labels, f"{name}: net benefit", "£ a year (2023-24 prices)", None, f
        ),
        "fan_wte": lambda f: fan_chart(out.wte, labels, f"{name}: workforce", "WTE", None, f),
        "tornado_npv": lambda f: tornado_chart(
            tornado_rows,
            f"{name}: what moves the NPV",
            "net present value, £ (2023-24 prices)",
            fmt=f,
        ),
        "waterfall_npv": lambda f: waterfall_chart(
            items,
            f"{name}: present value by intervention (medians)",
            "£ (2023-24 prices, discounted)",
            f,
            total_label="net present value (sum of the medians)",
        ),
    }
    paths = []
    for stem, draw in charts.items():
        for fmt in formats:
            path = folder / f"{name}_{stem}.{fmt}"
            path.write_bytes(draw(fmt))
            paths.append(path)
    return paths
