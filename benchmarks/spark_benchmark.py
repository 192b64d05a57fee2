"""The same work on DuckDB and on Spark local mode: load, measures, an aggregation, scores.

For each size a synthetic economy is built once (``joinedup synth``, kept under
benchmarks/out/spark/). Each backend then runs in its own child process, which

1. loads the economy's Parquet files into a new, empty warehouse as one batch per table
   (DuckDB: Arrow through ``DuckDBWarehouse.load``; Spark: ``SparkWarehouse.import_parquet``,
   Spark reading and writing the files),
2. computes five measures by practice for every financial year (``measures.compute``),
3. runs a raw aggregation (emergency spells per practice and month),
4. scores every person with Charlson and HFRS over the last two years (``person_scores``),

timing each step inside the child. Wall time and peak memory of the child come from
run_measured; for Spark the JVM's own peak (VmHWM of the Java process) is added, since
the Python process holds little. Results go to the "Spark and DuckDB side by side"
section of RESULTS.md, with Spark / DuckDB ratios.

    .venv/bin/python benchmarks/spark_benchmark.py                   # 100,000 people
    .venv/bin/python benchmarks/spark_benchmark.py --people 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results import run_measured, write_section  # noqa: E402

OUT = HERE / "out" / "spark"
MEASURES = (
    "emergency_admissions",
    "emergency_readmissions_30d",
    "emergency_mean_length_of_stay",
    "ae_within_4_hours",
    "outpatient_dna_rate",
)
STEPS = ("start", "load", "measures", "aggregation", "scores")
YEARS = 2


def economy(people: int) -> Path:
    """The synthetic economy for ``people`` (built on first use)."""
    folder = OUT / f"econ-{people}"
    if not (folder / "parquet" / "person.parquet").exists():
        cmd = [str(ROOT / ".venv" / "bin" / "joinedup"), "synth", "--people", str(people)]
        run_measured([*cmd, "--years", str(YEARS), "--out", str(folder)])
    return folder


def _jvm_peak_mib(session) -> float:
    """Peak resident memory of the Spark driver JVM (local mode: the whole engine)."""
    proc = session.sparkContext._gateway.proc
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker(backend: str, folder: str, target: str) -> None:
    """Child process: the four steps on ``backend``; prints the step times as JSON."""
    import pyarrow.parquet as pq
    from ibis import _

    from joinedup.measures import compute
    from joinedup.risk.scores import person_scores
    from joinedup.schema import TABLES
    from joinedup.warehouse import open_warehouse

    times: dict[str, float] = {}
    source = Path(folder) / "parquet"
    t0 = time.perf_counter()
    if backend == "spark":
        from joinedup.warehouse.spark import spark_session

        session = spark_session()
        session.range(1).count()  # the JVM is up and has run a job
    times["start"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    wh = open_warehouse(Path(target), backend)
    if backend == "spark":
        wh.import_parquet(source)
    else:
        for name in TABLES:
            f = source / f"{name}.parquet"
            if f.exists():
                wh.load(name, pq.read_table(f), source=str(f), content_hash=f"bench-{name}")
    times["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = compute(
        wh, list(MEASURES), by="practice", period="financial_year", cache=False, suppression=False
    )
    times["measures"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    s = wh.table("apc_spell")
    s = s.filter(s.admission_method.startswith("2"))
    agg = s.group_by("provider_code", month=s.admitted_on.truncate("M")).aggregate(
        spells=_.count(), bed_days=_.discharged_on.delta(_.admitted_on, unit="day").sum()
    )
    n_groups = len(agg.to_pyarrow())
    times["aggregation"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    scored = {
        score: person_scores(wh, score).to_pyarrow().num_rows for score in ("charlson", "hfrs")
    }
    times["scores"] = time.perf_counter() - t0

    rows = wh.row_counts()
    jvm = _jvm_peak_mib(wh.session) if backend == "spark" else 0.0
    wh.close()
    print(
        json.dumps(
            {
                "times": times,
                "rows": rows,
                "measure_rows": len(result),
                "numerator_total": float(result["numerator"].fillna(0).sum()),
                "groups": n_groups,
                "scored": scored,
                "jvm_peak_mib": jvm,
            }
        )
    )


def run(backend: str, people: int, folder: Path) -> dict:
    """One backend at one size in a fresh warehouse: timings, wall and peak memory."""
    target = OUT / f"{backend}-{people}" / ("w.duckdb" if backend == "duckdb" else "w.spark")
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    before = os.getloadavg()[0]
    wall, peak, out = run_measured(
        [sys.executable, __file__, "--worker", backend, str(folder), str(target)],
        env={"JOINEDUP_BACKEND": backend},
    )
    result = json.loads(out.strip().splitlines()[-1])
    # other work on the machine slows both backends: record it beside the times
    result.update(wall=wall, python_peak_mib=peak, load=(before, os.getloadavg()[0]))
    shutil.rmtree(target.parent, ignore_errors=True)
    return result


def _load(result: dict) -> str:
    """The 1-minute load average before and after a child ran, as "a-b"."""
    a, b = result["load"]
    return f"{a:.1f}-{b:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000])
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [
        "| people | rows (all tables) | step | DuckDB s | Spark local s | ratio (Spark / DuckDB) |",
        "| ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    memory = [
        "| people | DuckDB wall s | DuckDB peak MiB | Spark wall s "
        "| Spark peak MiB (Python + JVM) | same answers | load average (DuckDB; Spark) |",
        "| ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    per_row = []
    for people in args.people:
        folder = economy(people)
        duck = run("duckdb", people, folder)
        spark = run("spark", people, folder)
        activity = sum(duck["rows"].values())
        same = (
            all(duck[k] == spark[k] for k in ("rows", "measure_rows", "groups", "scored"))
            and abs(duck["numerator_total"] - spark["numerator_total"]) < 1e-6
        )
        for step in STEPS:
            d, s = duck["times"][step], spark["times"][step]
            ratio = f"{s / d:.1f}" if d > 0.01 else "-"
            lines.append(f"| {people:,} | {activity:,} | {step} | {d:.2f} | {s:.2f} | {ratio} |")
        spark_mem = spark["python_peak_mib"] + spark["jvm_peak_mib"]
        memory.append(
            f"| {people:,} | {duck['wall']:.1f} | {duck['python_peak_mib']:,.0f} "
            f"| {spark['wall']:.1f} | {spark_mem:,.0f} | {'yes' if same else 'NO'} "
            f"| {_load(duck)}; {_load(spark)} |"
        )
        work = ("load", "measures", "aggregation", "scores")
        per_row.append(
            f"- {people:,} people, {activity:,} rows: DuckDB "
            f"{1e6 * sum(duck['times'][k] for k in work) / activity:.1f} µs a row, Spark local "
            f"{1e6 * sum(spark['times'][k] for k in work) / activity:.1f} µs a row "
            "(load + measures + aggregation + scores, start-up excluded)"
        )
        print("\n".join([*lines, "", *memory, "", *per_row]), flush=True)
    body = (
        f"Synthetic economies ({YEARS} years of activity), each backend in a fresh child "
        "process on a fresh warehouse. Steps: start (Spark: JVM up and a first job); load "
        "(every Parquet file as one batch); measures (" + ", ".join(MEASURES) + " by "
        "practice, every financial year, no cache); aggregation (emergency spells and bed "
        "days per provider and month); scores (Charlson and HFRS for every person, two-year "
        "look-back). Spark runs in local mode on the same cores as DuckDB: this measures "
        "Spark's overhead, not a cluster's throughput (docs/scale.md).\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "\n".join(memory)
        + "\n\nPer-row cost of the work:\n\n"
        + "\n".join(per_row)
        + "\n\n'same answers': row counts, measure rows and numerator totals, aggregation "
        "groups and scored people are equal on both backends. The load average is the "
        f"machine's ({os.cpu_count()} cores) before and after each child: other work running "
        "at the same time slows both."
    )
    write_section("Spark and DuckDB side by side", body)


if __name__ == "__main__":
    main()
