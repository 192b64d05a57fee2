"""Summaries of Monte Carlo outputs: P10 / P50 / P90, fan data, JSON for the CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from joinedup.scenarios.engine import OCCUPANCY, SETTING_NAMES, Outputs, ScenarioModel
from joinedup.scenarios.settings import PRICE_BASE, SETTINGS

PERCENTILES = (10, 50, 90)
# Settings summed into "activity": every contact, attendance, spell and bed day; deaths
# are counted per setting but are not activity.
ACTIVITY = np.array([SETTINGS[s].unit != "deaths" for s in SETTING_NAMES])


def _clean(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 6)


def interval(values: np.ndarray, *, method: str = "linear") -> dict[str, float | None]:
    """P10, P50 and P90 over runs (axis 0). NaN and infinity become null."""
    values = np.asarray(values, dtype=float)
    if np.isnan(values).all():
        return {f"p{p}": None for p in PERCENTILES}
    q = np.nanpercentile(values, PERCENTILES, method=method, axis=0)
    return {f"p{p}": _clean(v) for p, v in zip(PERCENTILES, q, strict=True)}


def summary(model: ScenarioModel, out: Outputs, *, runs: int, seed: int) -> dict:
    """The scenario's results as a JSON-ready dict (the CLI contract).

    ``years``: one entry per projected year with activity (all settings but deaths), bed_days,
    beds_at_85, beds_at_92, wte, cost, investment, gross_savings, net_benefit as
    {p10, p50, p90}, plus the breakdowns by setting and role; ``npv``, ``roi`` and
    ``payback_year`` over the horizon.
    """
    b = model.baseline
    years = []
    for k in range(model.years):
        fy = b.year.shifted(k + 1)
        by_setting = {s: interval(out.count[:, i, k]) for i, s in enumerate(SETTING_NAMES)}
        years.append(
            {
                "year": k + 1,
                "financial_year": fy.label,
                "activity": interval(out.count[:, ACTIVITY, k].sum(axis=1)),
                "bed_days": interval(out.bed_days[:, k]),
                "beds_at_85": interval(out.beds(OCCUPANCY[0])[:, k]),
                "beds_at_92": interval(out.beds(OCCUPANCY[1])[:, k]),
                "wte": interval(out.wte[:, k]),
                "cost": interval(out.cost[:, k]),
                "investment": interval(out.investment[:, k]),
                "gross_savings": interval(out.gross_savings[:, k]),
                "net_benefit": interval(out.net_benefit[:, k]),
                "baseline_cost": interval(out.base_cost[:, k]),
                "baseline_bed_days": interval(out.base_bed_days[:, k]),
                "activity_by_setting": by_setting,
                "baseline_activity_by_setting": {
                    s: interval(out.base_count[:, i, k]) for i, s in enumerate(SETTING_NAMES)
                },
                "wte_by_role": {r: interval(w[:, k]) for r, w in out.wte_by_role.items()},
            }
        )
    sc = model.scenario
    return {
        "scenario": sc.name,
        "title": sc.title,
        "interventions": [i.name for i in sc.interventions],
        "baseline_year": b.year.label,
        "baseline_people": b.people,
        "warehouse": b.source,
        "runs": runs,
        "seed": seed,
        "price_base": PRICE_BASE,
        "discount_rate": sc.discount_rate,
        "optimism_bias": sc.optimism_bias.model_dump(),
        "occupancy": list(OCCUPANCY),
        "years": years,
        "npv": interval(out.npv),
        "roi": interval(out.roi),
        "payback_year": interval(out.payback_year, method="inverted_cdf"),
        "pv_savings": interval(out.pv_savings),
        "pv_investment": interval(out.pv_investment),
        "total_gross_savings": interval(out.gross_savings.sum(axis=1)),
        "total_investment": interval(out.investment.sum(axis=1)),
        "npv_by_intervention": {
            n: interval(
                np.asarray(out.savings_by_intervention[n] - out.investment_by_intervention[n])
                @ (1 / (1 + sc.discount_rate) ** np.arange(model.years))
            )
            for n in out.savings_by_intervention
        },
        "warnings": model.warnings,
    }


def fan(out: Outputs, metric: str, percentiles=(5, 10, 25, 50, 75, 90, 95)) -> pd.DataFrame:
    """Percentiles of a yearly metric by year (rows: year, columns: p5 ... p95)."""
    values = getattr(out, metric)
    if callable(values):
        raise ValueError(f"{metric!r} needs an argument; use beds_at_85 style names")
    q = np.percentile(values, percentiles, axis=0)
    df = pd.DataFrame(q.T, columns=[f"p{p}" for p in percentiles])
    df.insert(0, "year", np.arange(1, values.shape[1] + 1))
    return df
