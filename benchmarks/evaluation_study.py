"""Operating characteristics of the evaluations over many economies.

For each size, seed and planted effect, an economy is built, telephone care management
(or the hand-made world's programme) is evaluated, and the result is set against the
truth the economy planted. The summary per setting gives the mean bias of the log rate
ratio, the coverage of the 95% interval, the share of intervals that exclude no effect,
how often each falsification test failed, and the verdicts.

Two kinds of economy:

- ``synth``: ``joinedup synth`` economies (3 years), effect planted by
  ``--programme-effect``: everything the generator does (frailty the data do not show,
  age, seasons, readmissions, the last months of life, case finding); ``--launch-years``
  starts the programme later in the data (``--years 5 --launch-years 3``: three years of
  history before it).
- ``place``: ``joinedup synth`` economies with the area effect set by ``--effects``
  (``--area-effect``), the integrated neighbourhood teams evaluated at area level
  (:mod:`joinedup.risk.place`); in its rows ``enrolled`` is the units started,
  ``matched_sets`` the units never started, ``controls_failed`` the pre-trend test and
  ``naive_rate_ratio`` the synthetic control's estimate.
- ``world``: the hand-made worlds of ``tests/risk/evaluation_worlds.py`` on one synthetic
  economy per size: emergency admissions at a steady rate per person, case finding on
  frailty and last year's admissions, the effect known exactly; ``--trends`` adds worlds
  where case finding prefers people whose admissions rise (or fall) by that much a year.

    python benchmarks/evaluation_study.py --kind synth --sizes 60000 --seeds 1 2 3 \
        --effects 1.0 0.8 [--out study.csv] [--write-results]
    python benchmarks/evaluation_study.py --kind world --sizes 20000 --seeds 1 2 3 4 5 \
        --effects 1.0 0.8 --trends 0 0.6 -0.6
    python benchmarks/evaluation_study.py --kind place --sizes 200000 --seeds 1 2 3 \
        --effects 1.0 0.85

``--comparisons never_enrolled not_yet_enrolled`` evaluates every person-level economy
with both comparison designs (``joinedup evaluate --comparisons``), side by side.

Each row is appended to ``--out`` (CSV) as soon as it is measured, so a long study can
be stopped and its rows kept. ``--write-results`` writes the summary into
benchmarks/RESULTS.md ("Evaluation operating characteristics").
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
VERDICTS = ("benefit", "harm", "no_clear_effect", "inconclusive")
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def _row(kind, people, seed, effect, trend, doc, seconds, years=3) -> dict:
    p = doc["placebo"] or {}
    second = doc.get("placebo_never_enrolled") or {}
    controls = doc["negative_controls"]
    return {
        "kind": kind,
        "comparisons": doc.get("comparisons", "not_yet_enrolled"),
        "people": people,
        "years": years,
        "seed": seed,
        "effect": effect,
        "trend": trend,
        "enrolled": doc["enrolled"],
        "matched_sets": doc["outcomes"]["emergency_admissions"]["matched_sets"],
        "rate_ratio": doc["rate_ratio"],
        "lower": doc["lower"],
        "upper": doc["upper"],
        "naive_rate_ratio": doc["naive_rate_ratio"],
        "placebo_rate_ratio": p.get("rate_ratio"),
        "placebo_lower": p.get("lower"),
        "placebo_upper": p.get("upper"),
        "placebo_failed": bool(p.get("failed")),
        "second_placebo_failed": bool(second.get("failed")),
        "controls_failed": sum(bool(c["failed"]) for c in controls),
        "max_abs_smd": doc["balance"]["max_abs_smd_after"],
        "verdict": doc["verdict"],
        "e_value": doc["e_value"],
        "detectable": (doc.get("minimum_detectable") or {}).get("lower_rate_ratio"),
        "seconds": round(seconds, 1),
    }


def synth_run(
    people: int,
    seed: int,
    effect: float,
    bootstrap: int,
    years: int,
    comparisons: list[str],
    launch_years: int = 1,
) -> list[dict]:
    """Build one synthetic economy (telephone care management starting ``launch_years``
    into it), evaluate the programme with each design of ``comparisons``."""
    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    with tempfile.TemporaryDirectory(prefix="evalstudy-") as tmp:
        config = SynthConfig(
            people=people, years=years, seed=seed, programme_launch_years=launch_years
        ).with_programme_effect(effect)
        built = build(config, Path(tmp))
        with open_warehouse(built.warehouse_path, read_only=True) as wh:
            return [
                evaluate_programme(
                    wh, "telephone_care_management", bootstrap=bootstrap, comparisons=c
                ).as_dict()
                for c in comparisons
            ]


def place_run(people: int, seed: int, effect: float, bootstrap: int, years: int = 3) -> dict:
    """Build one synthetic economy with ``effect`` as its area effect, evaluate the
    integrated neighbourhood teams at area level (its interval is the jackknife's:
    ``bootstrap`` does not apply)."""
    from joinedup.risk.place import evaluate_place
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    with tempfile.TemporaryDirectory(prefix="evalstudy-") as tmp:
        config = SynthConfig(people=people, years=years, seed=seed).with_area_effect(effect)
        built = build(config, Path(tmp))
        with open_warehouse(built.warehouse_path, read_only=True) as wh:
            doc = evaluate_place(wh, "integrated_neighbourhood_teams")
            return doc.as_dict()


def _place_row(people, seed, effect, doc, seconds, years=3) -> dict:
    p = doc["placebo"]
    sc = doc["synthetic_control"] or {}
    return {
        "kind": "place",
        "comparisons": "not_yet_started",
        "people": people,
        "years": years,
        "seed": seed,
        "effect": effect,
        "trend": 0.0,
        "enrolled": doc["units_started"],
        "matched_sets": doc["units_never_started"],
        "rate_ratio": doc["rate_ratio"],
        "lower": doc["lower"],
        "upper": doc["upper"],
        "naive_rate_ratio": sc.get("rate_ratio"),
        "placebo_rate_ratio": p["rate_ratio"],
        "placebo_lower": p["lower"],
        "placebo_upper": p["upper"],
        "placebo_failed": bool(p["failed"]),
        "second_placebo_failed": False,
        "controls_failed": int(bool(doc["pre_trend"]["failed"])),
        "max_abs_smd": 0.0,
        "verdict": doc["verdict"],
        "e_value": doc["e_value"],
        "detectable": (doc.get("minimum_detectable") or {}).get("lower_rate_ratio"),
        "seconds": round(seconds, 1),
    }


def world_run(
    base: Path,
    seed: int,
    effect: float,
    trend: float,
    bootstrap: int,
    enrolled: int,
    comparisons: list[str],
) -> list[dict]:
    """One hand-made world on the economy ``base``, evaluated with each design of
    ``comparisons``."""
    from tests.risk import evaluation_worlds as worlds

    from joinedup.risk.evaluate import evaluate_programme
    from joinedup.warehouse import open_warehouse

    with tempfile.TemporaryDirectory(prefix="evalworld-") as tmp:
        path = Path(tmp) / "world.duckdb"
        worlds.rewrite(
            base, path, effect=effect, enrolled=enrolled, seed=seed, trend_per_year=trend
        )
        with open_warehouse(path, read_only=True) as wh:
            return [
                evaluate_programme(
                    wh, worlds.PROGRAMME, bootstrap=bootstrap, comparisons=c
                ).as_dict()
                for c in comparisons
            ]


def _report(args, people: int, seed: int, effect: float, trend: float, row: dict) -> None:
    """One line per evaluated economy, as it is measured."""
    design = f" {row['comparisons']}" if "comparisons" in row else ""
    print(
        f"{args.kind}{design} n={people:,} years={args.years} seed={seed} "
        f"effect={effect} trend={trend}: "
        f"{row['rate_ratio']:.3f} ({row['lower']:.3f} to {row['upper']:.3f}), "
        f"placebo {row['placebo_rate_ratio']:.3f} "
        f"({row['placebo_lower']:.3f} to {row['placebo_upper']:.3f}), "
        f"max |SMD| {row['max_abs_smd']:.3f}, {row['verdict']} "
        f"[{row['seconds']:.0f} s]",
        flush=True,
    )


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per setting: bias, coverage, significance, falsification and verdicts."""
    out = []
    keys = ["kind", "comparisons", "people", "years", "effect", "trend"]
    for key, g in rows.groupby(keys, sort=True):
        truth = g.effect.iloc[0]
        log_rr = np.log(g.rate_ratio.astype(float))
        counts = g.verdict.value_counts()
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                "economies": len(g),
                "mean_rate_ratio": round(float(np.exp(log_rr.mean())), 3),
                "mean_bias_log": round(float(log_rr.mean() - math.log(truth)), 3),
                "sd_log": round(float(log_rr.std(ddof=1)), 3) if len(g) > 1 else None,
                "coverage": round(float(((g.lower <= truth) & (truth <= g.upper)).mean()), 2),
                "excludes_1": round(float(((g.upper < 1) | (g.lower > 1)).mean()), 2),
                "mean_detectable": round(
                    float(np.exp(np.log(g.detectable.astype(float)).mean())), 3
                ),
                "placebo_failed": round(float(g.placebo_failed.mean()), 2),
                "second_placebo_failed": round(float(g.second_placebo_failed.mean()), 2),
                "controls_failed": round(float((g.controls_failed > 0).mean()), 2),
                "unbalanced": round(float((g.max_abs_smd > 0.1).mean()), 2),
                **{v: int(counts.get(v, 0)) for v in VERDICTS},
            }
        )
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (no extra dependency)."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("synth", "world", "place"), default="world")
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--effects", type=float, nargs="+", default=[1.0, 0.8])
    ap.add_argument("--trends", type=float, nargs="+", default=[0.0], help="world only")
    ap.add_argument("--enrolled", type=int, default=1000, help="world only")
    ap.add_argument("--years", type=int, default=3, help="years of data")
    ap.add_argument(
        "--launch-years",
        type=int,
        default=1,
        help="synth only: years into the data that telephone care management starts",
    )
    ap.add_argument("--bootstrap", type=int, default=400)
    ap.add_argument(
        "--comparisons",
        nargs="+",
        default=["not_yet_enrolled"],
        choices=("never_enrolled", "not_yet_enrolled"),
        help="person-level designs, each evaluated on the same economies",
    )
    ap.add_argument("--out", type=Path, default=None, help="CSV of every economy's result")
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()

    rows: list[dict] = []
    writer = None
    handle = args.out.open("a", newline="") if args.out else None
    for people in args.sizes:
        base_dir = None
        if args.kind == "world":
            from joinedup.synth import SynthConfig, build

            base_dir = tempfile.TemporaryDirectory(prefix="evalbase-")
            config = SynthConfig(people=people, years=args.years, seed=5)
            base = build(config, Path(base_dir.name))
        for trend in args.trends if args.kind == "world" else [0.0]:
            for effect in args.effects:
                for seed in args.seeds:
                    t = time.perf_counter()
                    if args.kind == "place":
                        doc = place_run(people, seed, effect, args.bootstrap, args.years)
                        found = [
                            _place_row(
                                people, seed, effect, doc, time.perf_counter() - t, args.years
                            )
                        ]
                    else:
                        if args.kind == "synth":
                            docs = synth_run(
                                people, seed, effect, args.bootstrap, args.years,
                                args.comparisons, args.launch_years,
                            )  # fmt: skip
                        else:
                            docs = world_run(
                                base.warehouse_path,
                                seed,
                                effect,
                                trend,
                                args.bootstrap,
                                args.enrolled,
                                args.comparisons,
                            )
                        seconds = (time.perf_counter() - t) / len(docs)
                        found = [
                            _row(args.kind, people, seed, effect, trend, d, seconds, args.years)
                            for d in docs
                        ]
                    for row in found:
                        _report(args, people, seed, effect, trend, row)
                        rows.append(row)
                    if handle is not None:
                        for row in found:
                            if writer is None:
                                writer = csv.DictWriter(handle, fieldnames=list(row))
                                if handle.tell() == 0:
                                    writer.writeheader()
                            writer.writerow(row)
                        handle.flush()
        if base_dir is not None:
            base_dir.cleanup()
    if handle is not None:
        handle.close()
    table = summary(pd.DataFrame(rows))
    print(table.to_string(index=False))
    if args.write_results:
        from results import write_section

        body = (
            "Person-level evaluation (matched difference-in-differences of emergency "
            "admissions, docs/evaluation.md) against the effect each economy planted. "
            "mean_bias_log: mean log rate ratio minus the log of the truth; coverage: share "
            "of 95% intervals containing the truth; excludes_1: share of intervals "
            "excluding no effect; mean_detectable: the rate ratio below which an economy's "
            "evaluation would find a fall 80% of the time (minimum detectable effect, "
            "geometric mean); placebo_failed / controls_failed / unbalanced: share of "
            "economies where that falsification test failed; then the verdicts.\n\n"
            + markdown(table)
        )
        if args.kind == "place":
            body = (
                "Place-based evaluation (imputation difference-in-differences of emergency "
                "admissions of people aged 65 and over, docs/evaluation.md) against the area "
                "effect each economy planted; columns as for the person-level study, with "
                "controls_failed the pre-trend test.\n\n" + markdown(table)
            )
            write_section("Place-based evaluation operating characteristics", body)
        else:
            write_section("Evaluation operating characteristics", body)


if __name__ == "__main__":
    main()
