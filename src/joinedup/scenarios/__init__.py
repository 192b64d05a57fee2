"""Scenario and economic models: what if we shift care out of hospital?

Baseline (the latest full financial year from the warehouse), projection (population
growth by age band and sex plus non-demographic growth per setting), interventions
declared in YAML, and a vectorised, seeded Monte Carlo of activity, beds, workforce and
money with Green Book discounting. Typical use::

    from joinedup.scenarios import run_scenarios
    results = run_scenarios(["partnership_plan"], "warehouse.duckdb", runs=1000, seed=42)
    results["partnership_plan"].summary["npv"]        # {"p10": ..., "p50": ..., "p90": ...}
    results["partnership_plan"].charts("out/")          # fan charts, tornado, waterfall
"""

from joinedup.scenarios.api import (
    ScenarioRun,
    baseline,
    comparison_table,
    run_scenario,
    run_scenarios,
)
from joinedup.scenarios.baseline import Baseline, FinancialYear, compute_baseline
from joinedup.scenarios.engine import ScenarioModel
from joinedup.scenarios.model import (
    Intervention,
    Range,
    Scenario,
    ScenarioError,
    library_names,
    load_scenario,
    parse_scenario,
)
from joinedup.scenarios.projection import load_projection

__all__ = [
    "Baseline",
    "FinancialYear",
    "Intervention",
    "Range",
    "Scenario",
    "ScenarioError",
    "ScenarioModel",
    "ScenarioRun",
    "baseline",
    "comparison_table",
    "compute_baseline",
    "library_names",
    "load_projection",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "run_scenarios",
]
