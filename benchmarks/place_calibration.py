"""Calibration of the place-based evaluation on panels whose truth is known.

Panels as in tests/risk/test_place.py (``_panel``: 30 units over 36 months, unit and
month effects, Poisson admissions, starts in waves between months 12 and 27, 8 units
never starting, the planted rate ratio from each start). For each panel the whole
evaluation runs (imputation estimate, placebo in time, pre-trend test, jackknife
intervals); the summary is the coverage of the 95% interval and how often the
falsification tests fail a design that is sound by construction (nominal 5% each).

    python benchmarks/place_calibration.py [--panels 200] [--effect 0.85] [--write-results]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "risk"))


def main() -> None:
    from test_place import _panel

    from joinedup.risk.place import evaluate_panel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panels", type=int, default=200)
    ap.add_argument("--effect", type=float, default=0.85)
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    cover = pre = placebo = verdicts = 0
    for seed in range(1000, 1000 + args.panels):
        panel, rollout, _ = _panel(seed, effect=args.effect, size=(3000, 8000))
        doc = evaluate_panel(panel, rollout, programme="panel").as_dict()
        cover += doc["lower"] <= args.effect <= doc["upper"]
        pre += doc["pre_trend"]["failed"]
        placebo += doc["placebo"]["failed"]
        verdicts += doc["verdict"] == "inconclusive"
    n = args.panels
    seconds = time.perf_counter() - t
    line = (
        f"| {n} | {args.effect} | {cover / n:.1%} | {pre / n:.1%} | {placebo / n:.1%} | "
        f"{verdicts / n:.1%} | {seconds:.0f} s |"
    )
    head = (
        "| panels | planted | 95% interval holds the truth | pre-trend test failed | "
        "placebo failed | inconclusive | time |\n|---|---|---|---|---|---|---|"
    )
    print(head + "\n" + line)
    if args.write_results:
        from results import write_section

        write_section(
            "Place-based evaluation calibration",
            "Jackknife intervals and falsification tests of the place-based evaluation on "
            "panels whose truth is known (`python benchmarks/place_calibration.py "
            f"--panels {n} --effect {args.effect}`): sound designs, so the tests should "
            "fail about 5% each.\n\n" + head + "\n" + line,
        )


if __name__ == "__main__":
    main()
