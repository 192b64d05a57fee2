"""Speed and peak memory of the scenario model: baseline extraction and the Monte Carlo.

Each measurement runs in its own process (peak RSS per child). The baseline (with the
cohorts of all seven built-in interventions) is computed from a synthetic economy's
warehouse; the Monte Carlo of the `partnership_plan` scenario (all seven interventions,
5 years) then runs on that baseline scaled to 1,000,000 people. The Monte Carlo works on
aggregated cells (age band x sex x segment x risk tier x footprint x setting), so its cost
does not grow with the population; the baseline query does.

    python benchmarks/scenarios_benchmark.py [--warehouse FILE] [--people 100000]
        [--runs 1000 10000] [--nhp-python PYTHON --nhp-runs 20]

Without --warehouse a 100,000-person economy is built first (not timed).

Peer: the Strategy Unit's New Hospital Programme demand model (`nhp-model` on PyPI, which
needs Python 3.12+, so it runs from its own environment given by --nhp-python, e.g.
`python3.12 -m venv /tmp/nhp && /tmp/nhp/bin/pip install nhp-model==6.1.0`). Its A&E model
is run on the same economy's A&E attendances of the baseline year (one row per attendance,
written in its input layout), projecting five years ahead, with its sample parameters
(activity avoidance, non-demographic growth, baseline adjustment) and our demographic
factors; health status adjustment and inequalities are switched off (they need NHP's own
fitted inputs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import run_measured, write_section

TARGET_PEOPLE = 1_000_000


def child(warehouse: str, runs: int) -> None:
    """Measured in a child process: print timings as JSON."""
    from joinedup.scenarios import baseline, load_scenario, run_scenarios

    sc = load_scenario("partnership_plan")
    t0 = time.perf_counter()
    base = baseline(warehouse, [sc])
    t1 = time.perf_counter()
    scaled = base.scaled(TARGET_PEOPLE / base.people)
    t2 = time.perf_counter()
    result = run_scenarios([sc], base=scaled, runs=runs, seed=42)["partnership_plan"]
    t3 = time.perf_counter()
    print(json.dumps({"people": base.people, "baseline_s": t1 - t0, "mc_s": t3 - t2,
                      "cells": len(base.activity), "params": len(result.model.params),
                      "npv_p50": result.summary["npv"]["p50"]}))  # fmt: skip


NHP_RUNNER = """
import json, sys, time
from nhp.model.aae import AaEModel
from nhp.model.data import Local
from nhp.model.model_iteration import ModelIteration
from nhp.model.params import load_sample_params

data_path, runs, start_year = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = load_sample_params()
p.update(dataset="synthetic", model_runs=runs, start_year=start_year, end_year=start_year + 5,
         health_status_adjustment=False, inequalities={})
p["demographic_factors"]["variant_probabilities"] = {"principal_proj": 1.0}

class NoHSA:
    def run(self, *args, **kwargs):
        return None

t0 = time.perf_counter()
model = AaEModel(p, Local(data_path, start_year, "synthetic"), hsa=NoHSA())
t1 = time.perf_counter()
total = 0.0
for r in range(1, runs + 1):
    total += float(ModelIteration(model, r).get_aggregate_results()["default"].sum())
t2 = time.perf_counter()
print(json.dumps({"rows": len(model.data), "setup_s": t1 - t0, "runs_s": t2 - t1,
                  "mean_arrivals": total / runs}))
"""


def write_nhp_inputs(warehouse: str, out: Path) -> tuple[int, int]:
    """Write the baseline year's A&E attendances in nhp_model's input layout."""
    import duckdb
    import numpy as np
    import pandas as pd

    from joinedup.scenarios import baseline

    year = baseline(warehouse).year.start.year
    with duckdb.connect(warehouse, read_only=True) as con:
        df = con.sql(f"""
            SELECT row_number() OVER () AS rn, 1 AS arrivals,
                   least(greatest({year} - p.year_of_birth, 0), 90)::BIGINT AS age,
                   (CASE p.sex WHEN 'M' THEN 1 ELSE 2 END)::BIGINT AS sex,
                   a.department_type, a.arrival_mode = '1' AS is_ambulance, a.disposal
            FROM ae_attendance a JOIN person p USING (person_id)
            WHERE a.arrived_at >= TIMESTAMP '{year}-04-01'
              AND a.arrived_at < TIMESTAMP '{year + 1}-04-01'""").df()
    rng = np.random.default_rng(1)
    n = len(df)
    type1 = df["department_type"].isin([1, 2])
    df = df.assign(
        pod=np.where(type1, "aae_type-01", "aae_type-03"),
        aedepttype=np.where(type1, "01", "03"),
        sitetret="RXX01",
        acuity=rng.choice(["immediate-resuscitation", "urgent", "standard", "non-urgent"], n),
        age_group=pd.cut(df["age"], [-1, 17, 64, 200], labels=["0-17", "18-64", "65+"]).astype(str),
        attendance_category="1",
        group=np.where(df["is_ambulance"], "ambulance", "walk-in"),
        tretspef_grouped="Other",
        is_main_icb=True,
        is_wla=False,
        demog_type="demographics",
        icb="QXX",
        sushrg_trimmed="VB11Z",
        imd_quintile=3,
        is_frequent_attender=rng.random(n) < 0.05,
        is_left_before_treatment=df["disposal"].eq("12"),
        is_low_cost_referred_or_discharged=df["disposal"].isin(["02", "03"])
        & (rng.random(n) < 0.3),
        is_discharged_no_treatment=df["disposal"].eq("03") & (rng.random(n) < 0.2),
    ).drop(columns=["department_type", "disposal"])
    df["ndggrp"] = df["group"]
    df["hsagrp"] = "aae_" + np.where(df["age"] < 18, "child", "adult") + "_" + df["group"]

    def write(name: str, frame: pd.DataFrame) -> None:
        folder = out / name / f"fyear={year}" / "dataset=synthetic"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / "0.parquet", index=False)

    write("aae", df)
    # Demographic factors from the same default projection joinedup uses (by band and sex).
    from joinedup.derived.persons import AGE_BANDS
    from joinedup.scenarios import load_projection

    rates = load_projection()
    years = [str(y) for y in range(year, year + 6)]
    rows = []
    for sex, code in (("M", 1), ("F", 2)):
        for label, low, high in AGE_BANDS:
            for age in range(low, (high if high is not None else 90) + 1):
                g = rates[(label, sex)]
                rows.append({"variant": "principal_proj", "age": age, "sex": code,
                             **{y: (1 + g) ** (int(y) - year) for y in years}})  # fmt: skip
    write("demographic_factors", pd.DataFrame(rows))
    write("birth_factors", pd.DataFrame(rows))
    write("inequalities", pd.DataFrame({"icb": ["QXX"], "sushrg_trimmed": ["VB11Z"],
                                        "imd_quintile": [3], "activity_rate": [1.0],
                                        "fitted_line": [1.0]}))  # fmt: skip
    return n, year


def run_nhp(python: str, warehouse: str, runs: int) -> dict:
    """Write nhp_model inputs and run its A&E model ``runs`` times in its own process."""
    tmp = Path(tempfile.mkdtemp(prefix="joinedup-nhp-bench-"))
    try:
        _, year = write_nhp_inputs(warehouse, tmp / "data")
        script = tmp / "run_nhp.py"
        script.write_text(NHP_RUNNER)
        wall, peak, out = run_measured(
            [python, str(script), str(tmp / "data"), str(runs), str(year)]
        )
        return {**json.loads(out.strip().splitlines()[-1]), "wall": wall, "peak": peak}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    """Build (or use) an economy, then measure the baseline and the Monte Carlo."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", default=None)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--nhp-python", default=None, help="Python with nhp-model installed.")
    parser.add_argument("--nhp-runs", type=int, default=20)
    parser.add_argument("--economy-note", default="", help="How the --warehouse was built.")
    parser.add_argument("--child", nargs=2, metavar=("WAREHOUSE", "RUNS"), help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    tmp = None
    warehouse = args.warehouse
    if warehouse is None:
        tmp = Path(tempfile.mkdtemp(prefix="joinedup-scenario-bench-"))
        subprocess.run([str(Path(sys.executable).with_name("joinedup")), "synth", "--people",
                        str(args.people), "--years", "3", "--seed", "42", "--out", str(tmp)],
                       check=True, capture_output=True)  # fmt: skip
        warehouse = str(tmp / "warehouse.duckdb")
    rows = [
        "| warehouse people | baseline query s | Monte Carlo population | runs | years x "
        "interventions | Monte Carlo s | runs per second | process wall s | peak memory |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    measured: list[dict] = []
    try:
        for runs in args.runs:
            wall, peak, out = run_measured(
                [sys.executable, __file__, "--child", warehouse, str(runs)]
            )
            r = json.loads(out.strip().splitlines()[-1])
            measured.append({**r, "runs": runs})
            rows.append(
                f"| {r['people']:,} | {r['baseline_s']:.2f} | {TARGET_PEOPLE:,} | {runs:,} | "
                f"5 x 7 ({r['params']} uncertain inputs) | {r['mc_s']:.2f} | "
                f"{runs / r['mc_s']:,.0f} | {wall:.1f} | {peak:,.0f} MiB |"
            )
            print(rows[-1], flush=True)
        peer = ""
        if args.nhp_python:
            mc = measured[0]
            r = run_nhp(args.nhp_python, warehouse, args.nhp_runs)
            nhp_rate = args.nhp_runs / r["runs_s"]
            ours_rate = mc["runs"] / mc["mc_s"]
            peer = (
                "\n\nSide by side, same session, same economy (nhp-model's time per run does "
                "not depend on the number of runs; joinedup's is measured at its first --runs "
                "value, since a handful of vectorised runs only measures fixed overhead):\n\n"
                "| model | workload per run | runs | model runs s | runs per second | "
                "process wall s | peak memory |\n|---|---|---:|---:|---:|---:|---:|\n"
                f"| nhp-model 6.1 A&E model | {r['rows']:,} attendance rows resampled, end year "
                f"(5 years ahead) | {args.nhp_runs} | {r['runs_s']:.1f} | {nhp_rate:,.2f} | "
                f"{r['wall']:.1f} | {r['peak']:,.0f} MiB |\n"
                f"| joinedup `partnership_plan` | all settings x 5 years x 7 interventions on "
                f"{mc['cells']:,} baseline cells (scaled to 1,000,000 people) | {mc['runs']:,} | "
                f"{mc['mc_s']:.2f} | {ours_rate:,.0f} | - | - |\n\n"
                f"Ratio of runs per second (joinedup / nhp-model): {ours_rate / nhp_rate:,.0f}. "
                "The two are different kinds of model: nhp-model resamples every row of activity "
                "(Poisson draws per row, then aggregates by many breakdowns) and models one "
                "activity type per model object; joinedup works on aggregated cells. nhp-model "
                "ran with its sample parameters, our demographic factors, health status "
                "adjustment and inequalities off."
            )
            print(peer, flush=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    body = (
        "`partnership_plan` (all seven built-in interventions, 5 years, 1,000 / 10,000 seeded "
        "runs). Baseline: the warehouse query of the latest financial year with the seven "
        "intervention cohorts. Monte Carlo: the same baseline scaled to 1,000,000 people "
        "(the engine works on aggregated cells, so its time does not depend on the population; "
        "it includes sampling every input, the arithmetic and the P10/P50/P90 summary). Peak "
        "memory is the child process's, baseline included.\n\n"
        + "\n".join(rows)
        + (peer or "\n\nPeer (nhp-model) not run: give --nhp-python.")
    )
    runs = " ".join(str(r) for r in args.runs)
    if args.warehouse:
        src = "--warehouse WAREHOUSE"
        economy = (
            f"Economy: the warehouse given ({measured[0]['people']:,} people in the baseline "
            f"year{'; ' + args.economy_note if args.economy_note else ''})."
        )
    else:
        src = f"--people {args.people}"
        economy = f"Economy: `joinedup synth --people {args.people} --years 3 --seed 42`."
    if args.nhp_python:
        src += f" --nhp-python PYTHON3.12 --nhp-runs {args.nhp_runs}"
    load = os.getloadavg()[0]
    body = (
        economy
        + " "
        + body
        + f"\n\nLoad average (1 min) at the end of the run: {load:.1f} on {os.cpu_count()} cores"
        + (
            " - the machine was shared, so times are noisy."
            if load > (os.cpu_count() or 1)
            else "."
        )
    )
    write_section("Scenario model: baseline and Monte Carlo", body,
                  f"python benchmarks/scenarios_benchmark.py {src} --runs {runs}")  # fmt: skip


if __name__ == "__main__":
    main()
