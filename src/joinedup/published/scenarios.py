"""The scenario the board pack summarises: the partnership plan, with a fixed seed."""

from __future__ import annotations

from typing import Any

from joinedup.warehouse import Warehouse

#: The scenario the pack summarises (the partnership's plan), its draws and seed.
PACK_SCENARIO = "partnership_plan"
PACK_RUNS = 200
PACK_SEED = 42


def _money(value: float) -> str:
    return f"-£{-value:,.0f}" if value < 0 else f"£{value:,.0f}"


def plan_summary(wh: Warehouse) -> dict[str, Any]:
    """``text``: a sentence on the partnership plan scenario (bed days in its final year
    with and without it, net present value with its 80% range); ``rows``: its
    comparison row (``scenarios.api.comparison_table``). Empty rows, and a text saying
    why, where the library has no such scenario."""
    from joinedup.scenarios.api import baseline, comparison_table, run_scenarios
    from joinedup.scenarios.model import library_names, load_scenario

    if PACK_SCENARIO not in library_names():
        return {"text": f"The scenario library has no {PACK_SCENARIO!r} scenario.", "rows": []}
    plan = load_scenario(PACK_SCENARIO)
    runs = run_scenarios([plan], runs=PACK_RUNS, seed=PACK_SEED, base=baseline(wh, [plan]))
    table = comparison_table(runs)
    row = table.iloc[0]
    text = (
        f"The partnership plan scenario ({PACK_RUNS} Monte Carlo runs): acute bed days in "
        f"{row['final_year']} {row['bed_days_p50']:,.0f} against {row['baseline_bed_days']:,.0f} "
        f"without it; net present value {_money(row['npv_p50'])} (80% range "
        f"{_money(row['npv_p10'])} to {_money(row['npv_p90'])}). Run and compare scenarios on "
        "the Scenarios page."
    )
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return {"text": text, "rows": rows}
