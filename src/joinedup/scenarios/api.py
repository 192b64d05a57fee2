"""The Python API: run scenarios against a warehouse, compare them, draw their charts."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from joinedup.scenarios.baseline import Baseline, compute_baseline
from joinedup.scenarios.engine import Outputs, ScenarioModel
from joinedup.scenarios.model import Scenario, load_scenario
from joinedup.scenarios.projection import load_projection
from joinedup.scenarios.report import summary as _summary
from joinedup.warehouse import Warehouse


@dataclass
class ScenarioRun:
    """One scenario's Monte Carlo: the model, every run's outputs and their summary."""

    model: ScenarioModel
    outputs: Outputs
    summary: dict

    def tornado(self, metric: str = "npv") -> list[dict]:
        """One-way sensitivity of ``metric`` to each uncertain input, largest swing first."""
        return self.model.tornado(metric)

    def charts(self, folder: str | Path, formats: tuple[str, ...] = ("svg", "png")) -> list[Path]:
        """Fan charts, tornado and waterfall of this scenario into ``folder``."""
        from joinedup.scenarios.charts import scenario_charts

        return scenario_charts(self, Path(folder), formats)


def _open(warehouse: str | Path):
    from joinedup.warehouse import open_warehouse

    wh = open_warehouse(warehouse, read_only=True)
    with contextlib.suppress(AttributeError):  # DuckDB's progress bar would garble JSON.
        wh.raw.execute("SET enable_progress_bar = false")
    return wh


def baseline(
    warehouse: str | Path | Warehouse, scenarios: list[Scenario] | None = None
) -> Baseline:
    """The baseline of ``warehouse`` (a file, or an open warehouse), with the cohort of
    every intervention in ``scenarios``."""
    cohorts = {
        i.name: i.cohort
        for sc in scenarios or []
        for i in sc.interventions
        if i.cohort.rates is None
    }
    if isinstance(warehouse, Warehouse):
        return compute_baseline(warehouse, cohorts)
    with _open(warehouse) as wh:
        return compute_baseline(wh, cohorts)


def run_scenarios(
    names_or_files: list[str | Path | Scenario],
    warehouse: str | Path | None = None,
    *,
    runs: int = 1000,
    seed: int = 42,
    projection: str | Path | None = None,
    base: Baseline | None = None,
) -> dict[str, ScenarioRun]:
    """Run each scenario (built-in name, YAML file or Scenario) on one shared baseline.

    The same seed gives the same numbers; scenarios in one call share the draws of the
    growth assumptions, so their differences are the interventions'.
    """
    scenarios = [s if isinstance(s, Scenario) else load_scenario(s) for s in names_or_files]
    if base is None:
        if warehouse is None:
            raise ValueError("give a warehouse path or a baseline")
        base = baseline(warehouse, scenarios)
    rates = load_projection(projection)
    out: dict[str, ScenarioRun] = {}
    for sc in scenarios:
        model = ScenarioModel(sc, base, rates)
        outputs = model.run(runs, seed)
        out[sc.name] = ScenarioRun(model, outputs, _summary(model, outputs, runs=runs, seed=seed))
    return out


def run_scenario(
    name_or_file: str | Path | Scenario, warehouse: str | Path | None = None, **kwargs
) -> ScenarioRun:
    """Run one scenario; see ``run_scenarios`` for the arguments."""
    return next(iter(run_scenarios([name_or_file], warehouse, **kwargs).values()))


def comparison_table(results: dict[str, ScenarioRun]) -> pd.DataFrame:
    """Scenarios side by side: final-year bed days, beds, WTE, cost and the appraisal."""
    rows = []
    for name, r in results.items():
        s, last = r.summary, r.summary["years"][-1]
        rows.append(
            {
                "scenario": name,
                "final_year": last["financial_year"],
                "baseline_bed_days": last["baseline_bed_days"]["p50"],
                "bed_days_p50": last["bed_days"]["p50"],
                "beds_at_85_p50": last["beds_at_85"]["p50"],
                "wte_p50": last["wte"]["p50"],
                "gross_savings_p50": s["total_gross_savings"]["p50"],
                "investment_p50": s["total_investment"]["p50"],
                "npv_p10": s["npv"]["p10"],
                "npv_p50": s["npv"]["p50"],
                "npv_p90": s["npv"]["p90"],
                "roi_p50": s["roi"]["p50"],
                "payback_year_p50": s["payback_year"]["p50"],
            }
        )
    return pd.DataFrame(rows)
