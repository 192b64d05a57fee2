"""Time and peak memory of the risk model (train, score, explain) and the evaluation.

Each step runs in its own process on an existing warehouse (or on economies built for
the run with `joinedup synth`, 3 years, seed 42):

- **train**: features for two years in the warehouse engine, LightGBM (400 trees, one
  thread), Platt calibration, both comparators, validation and the model card;
- **score**: features at the end of the data and a calibrated risk for everyone;
- **explain**: reasons in words (LightGBM pred_contrib) for the top 2%;
- **evaluate**: `joinedup evaluate` of telephone care management (matching, DiD,
  1,000 bootstrap replicates).

    python benchmarks/model_benchmark.py [--warehouse FILE ...] [--sizes 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import run_measured, write_section

JOINEDUP = str(Path(sys.executable).with_name("joinedup"))

CHILD = r"""
import json, sys, time
from joinedup.warehouse import open_warehouse
step, warehouse, folder = sys.argv[1:4]
wh = open_warehouse(warehouse, read_only=True)
t = time.perf_counter()
out = {}
if step == "train":
    from joinedup.risk.model import train
    r = train(wh, folder)
    out["people"] = len(r.validation)
elif step in ("score", "explain"):
    from joinedup.risk.model import RiskModel, score_people
    from joinedup.risk.explain import reasons
    scored = score_people(wh, RiskModel.load(folder))
    out["people"] = len(scored)
    if step == "explain":
        t = time.perf_counter()
        top = scored.head(round(0.02 * len(scored)))
        reasons(RiskModel.load(folder), top)
        out["people"] = len(top)
elif step == "evaluate":
    from joinedup.risk.evaluate import evaluate_programme
    r = evaluate_programme(wh, "telephone_care_management")
    out["people"] = r.comparison_pool + r.eligible_enrolled
out["seconds"] = time.perf_counter() - t
print(json.dumps(out))
"""


def measure(step: str, warehouse: Path, folder: Path) -> tuple[float, float, dict]:
    """Run one step in a child process: wall time, peak RSS (MiB) and what it reported."""
    wall, peak, stdout = run_measured(
        [sys.executable, "-c", CHILD, step, str(warehouse), str(folder)]
    )
    return wall, peak, json.loads(stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure each step on each warehouse and write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, nargs="*", default=[])
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    args, _ = parser.parse_known_args()
    sizes = args.sizes if args.sizes is not None else ([] if args.warehouse else [200_000])
    built: list[Path] = []
    targets = list(args.warehouse)
    try:
        for people in sizes:
            out = Path(tempfile.mkdtemp(prefix="joinedup-model-bench-"))
            built.append(out)
            run_measured([JOINEDUP, "synth", "--people", str(people), "--years", "3",
                          "--seed", "42", "--out", str(out)])  # fmt: skip
            targets.append(out / "warehouse.duckdb")
        for warehouse in targets:
            folder = Path(tempfile.mkdtemp(prefix="joinedup-model-"))
            built.append(folder)
            rows = [
                "| step | people | wall time (process) | time in step | peak memory |",
                "|---|---:|---:|---:|---:|",
            ]
            registered = 0
            for step in ("train", "score", "explain", "evaluate"):
                wall, peak, info = measure(step, warehouse, folder)
                registered = registered or info["people"]
                rows.append(
                    f"| {step} | {info['people']:,} | {wall:.1f} s | "
                    f"{info['seconds']:.1f} s | {peak / 1024:.2f} GiB |"
                )
                print(rows[-1], flush=True)
            body = (
                "One process per step (people: the registered population; for explain, the "
                "top 2% explained; for evaluate, enrolled plus comparison pool). LightGBM "
                "runs on one thread: on a shared two-core machine OpenMP's second thread "
                "made training about eight times slower. Load average on the machine "
                f"during the run: {os.getloadavg()[0]:.1f}.\n\n" + "\n".join(rows)
            )
            size = f"{round(registered, -3):,}"
            write_section(f"Risk model and evaluation, {size} registered people", body)
    finally:
        for path in built:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
