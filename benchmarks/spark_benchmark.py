"""The same work on DuckDB and on Spark local mode: ingest, load, measures, scores, features.

For each size a synthetic economy is built once (``joinedup synth``, kept under
benchmarks/out/spark/), with a CSV extract of its admitted patient care spells (canonical
column names, the NHS numbers from the economy's re-identification store, one row in 50
with an invalid admission method and one in 200 with an invalid NHS number). Each backend
then runs in its own child process, which

1. starts (Spark: the JVM is up and has run a job),
2. ingests the CSV extract into a second, empty warehouse (``joinedup.ingest.ingest``:
   validation, pseudonymisation, quarantine, one batch),
3. loads the economy's Parquet files into a new, empty warehouse as one batch per table
   (DuckDB: Arrow through ``DuckDBWarehouse.load``; Spark: ``SparkWarehouse.import_parquet``,
   Spark reading and writing the files),
4. computes five measures by practice for every financial year (``measures.compute``),
5. runs a raw aggregation (emergency spells per practice and month),
6. scores every person with Charlson and HFRS over the last two years (``person_scores``),
7. builds the risk model's features for everyone registered at the end of the data
   (``risk.features.person_features``, HFRS and Charlson included) into the Python process,
8. segments them: Bridges to Health segments and Kaiser tiers (``segment_people``),

timing each step inside the child and taking its peak resident memory (the high-water
mark is reset before each step through /proc/<pid>/clear_refs; for Spark the JVM's peak
is added, since the Python process holds little). Wall time of the child comes from
run_measured. Results go to the "Spark and DuckDB side by side" section of RESULTS.md,
with Spark / DuckDB ratios and a check that both backends gave the same answers.

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
from contextlib import contextmanager, suppress
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results import run_measured, write_section  # noqa: E402

from joinedup.warehouse.spark import DRIVER_MEMORY_ENV  # noqa: E402

OUT = HERE / "out" / "spark"
MEASURES = (
    "emergency_admissions",
    "emergency_readmissions_30d",
    "emergency_mean_length_of_stay",
    "ae_within_4_hours",
    "outpatient_dna_rate",
)
STEPS = (
    "start",
    "ingest",
    "load",
    "measures",
    "aggregation",
    "scores",
    "features",
    "segments",
)
# Steps on the loaded warehouse, whose cost is given per row of it.
WORK = ("load", "measures", "aggregation", "scores", "features", "segments")
# Columns of the features whose totals must agree between backends.
FEATURE_SUMS = (
    "age",
    "ltc_count",
    "emergency_admissions",
    "bed_days",
    "ae_attendances",
    "gp_appointments",
    "cost",
    "hfrs",
    "charlson",
)
YEARS = 2
# Spark local mode's default driver heap (1 GiB) loses the features of 1,000,000 people
# as they are collected ("TaskResultLost (result lost from block manager)").
DRIVER_MEMORY = "4g"
EXTRACT = "apc_spell.csv"
BAD_METHOD_EVERY = 50  # admission method 99 (not a code): quarantined
BAD_NHS_EVERY = 200  # NHS number 1234567890 (fails the check digit): quarantined


def economy(people: int) -> Path:
    """The synthetic economy for ``people`` (built on first use)."""
    folder = OUT / f"econ-{people}"
    if not (folder / "parquet" / "person.parquet").exists():
        cmd = [str(ROOT / ".venv" / "bin" / "joinedup"), "synth", "--people", str(people)]
        run_measured([*cmd, "--years", str(YEARS), "--out", str(folder)])
    return folder


def extract(folder: Path) -> tuple[Path, int]:
    """The economy's apc_spell rows as a canonical-header CSV with NHS numbers (written
    on first use) and its number of rows."""
    import duckdb

    path = folder / EXTRACT
    con = duckdb.connect()
    try:
        if not path.exists():
            con.execute(f"ATTACH '{folder / 'reidentification.duckdb'}' AS reid (READ_ONLY)")
            spells = folder / "parquet" / "apc_spell.parquet"
            con.execute(
                f"""
                COPY (
                    SELECT s.spell_id,
                        CASE WHEN s.n % {BAD_NHS_EVERY} = 7 THEN '1234567890'
                             ELSE i.nhs_number END AS nhs_number,
                        s.provider_code, s.site_code, s.admitted_on, s.discharged_on,
                        CASE WHEN s.n % {BAD_METHOD_EVERY} = 3 THEN '99'
                             ELSE s.admission_method END AS admission_method,
                        s.patient_classification, s.admission_source,
                        s.discharge_destination, s.specialty, s.primary_diagnosis,
                        s.primary_procedure, s.cost
                    FROM (SELECT *, row_number() OVER (ORDER BY spell_id) AS n
                          FROM read_parquet('{spells}')) s
                    JOIN reid.identity i USING (person_id)
                    ORDER BY s.n
                ) TO '{path}.tmp' (HEADER, DELIMITER ',')
                """
            )
            Path(f"{path}.tmp").rename(path)
        rows = con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchone()[0]
    finally:
        con.close()
    return path, int(rows)


def _peak_mib(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process since its last reset, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak(pid: int | str = "self") -> None:
    """Reset a process's peak resident memory to its current size (Linux 4.0 on)."""
    with suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _standin_risk(frame):
    """A stand-in for the risk model's score, used only to cut the Kaiser tiers.

    The model needs three years of admissions and the economies have two; what is
    measured here is the segmentation, and both backends get the same stand-in (more
    emergency admissions, conditions, frailty and age: higher), ties broken by person id.
    """
    import numpy as np

    x = (
        0.8 * frame["emergency_admissions"]
        + 0.2 * frame["ltc_count"]
        + 0.05 * frame["hfrs"]
        + 0.01 * frame["age"]
    ).to_numpy(float)
    return 1 - np.exp(-x)


def worker(backend: str, folder: str, target: str) -> None:
    """Child process: the steps on ``backend``; prints times, peaks and answers as JSON."""
    import pyarrow.parquet as pq
    from ibis import _

    from joinedup.ingest import ingest
    from joinedup.measures import compute
    from joinedup.risk.features import data_end, person_features
    from joinedup.risk.scores import person_scores
    from joinedup.risk.segments import segment_people
    from joinedup.schema import TABLES
    from joinedup.warehouse import open_warehouse

    times: dict[str, float] = {}
    peaks: dict[str, float] = {}  # Python + JVM, MiB
    jvm: list[int] = []  # the JVM's process id, once there is one
    python_peak = [_peak_mib()]  # imports; the resets below hide it from wait4
    jvm_peak = [0.0]

    @contextmanager
    def step(name: str):
        print(f"step {name}", file=sys.stderr, flush=True)  # where a failure happened
        for pid in ("self", *jvm):
            _reset_peak(pid)
        t0 = time.perf_counter()
        yield
        times[name] = time.perf_counter() - t0
        python_peak.append(_peak_mib())
        jvm_peak.append(sum(_peak_mib(pid) for pid in jvm))
        peaks[name] = python_peak[-1] + jvm_peak[-1]

    source = Path(folder) / "parquet"
    target = Path(target)
    answers: dict[str, object] = {}

    with step("start"):
        if backend == "spark":
            from joinedup.warehouse.spark import spark_session

            session = spark_session()
            session.range(1).count()  # the JVM is up and has run a job
            jvm.append(session.sparkContext._gateway.proc.pid)

    with step("ingest"):
        iwh = open_warehouse(target.with_name(f"ingest.{target.suffix[1:]}"), backend)
        (report,) = ingest(
            [Path(folder) / EXTRACT],
            table="apc_spell",
            warehouse=iwh,
            key_file=Path(folder) / "secrets" / "pseudonymisation.key",
            reid_store=target.with_name("reidentification.duckdb"),
        )
        spells = iwh.table("apc_spell")
        answers["ingest"] = {
            "read": report.rows_read,
            "accepted": report.rows_accepted,
            "quarantined": report.rows_quarantined,
            "reasons": dict(sorted(report.reasons.items())),
            "stored": int(spells.count().execute()),
            "people": int(spells.person_id.nunique().execute()),
            "cost": round(float(spells.cost.sum().execute()), 2),
        }
        iwh.close()

    with step("load"):
        wh = open_warehouse(target, backend)
        if backend == "spark":
            wh.import_parquet(source)
        else:
            for name in TABLES:
                f = source / f"{name}.parquet"
                if f.exists():
                    wh.load(name, pq.read_table(f), source=str(f), content_hash=f"bench-{name}")

    with step("measures"):
        result = compute(
            wh,
            list(MEASURES),
            by="practice",
            period="financial_year",
            cache=False,
            suppression=False,
        )

    with step("aggregation"):
        s = wh.table("apc_spell")
        s = s.filter(s.admission_method.startswith("2"))
        agg = s.group_by("provider_code", month=s.admitted_on.truncate("M")).aggregate(
            spells=_.count(), bed_days=_.discharged_on.delta(_.admitted_on, unit="day").sum()
        )
        n_groups = len(agg.to_pyarrow())

    with step("scores"):
        scored = {
            score: person_scores(wh, score).to_pyarrow().num_rows for score in ("charlson", "hfrs")
        }

    with step("features"):
        as_of = data_end(wh)
        frame = person_features(wh, as_of).to_pyarrow().to_pandas()
    answers["features"] = {
        "as_of": as_of.isoformat(),
        "rows": len(frame),
        "columns": len(frame.columns),
        **{c: round(float(frame[c].fillna(0).sum()), 4) for c in FEATURE_SUMS},
    }

    with step("segments"):
        frame = frame.sort_values("person_id", kind="stable").reset_index(drop=True)
        frame["risk"] = _standin_risk(frame)
        people = segment_people(frame)
        answers["segments"] = {
            "segment": {str(k): int(v) for k, v in people["segment"].value_counts().items()},
            "tier": {str(k): int(v) for k, v in people["tier"].value_counts().items()},
        }

    rows = wh.row_counts()
    wh.close()
    print(
        json.dumps(
            {
                "times": times,
                "peaks": peaks,
                "python_peak_mib": max(python_peak),
                "rows": rows,
                "measure_rows": len(result),
                "numerator_total": float(result["numerator"].fillna(0).sum()),
                "groups": n_groups,
                "scored": scored,
                **answers,
                "jvm_peak_mib": max(jvm_peak),
            }
        )
    )


def run(backend: str, people: int, folder: Path, driver_memory: str = DRIVER_MEMORY) -> dict:
    """One backend at one size in a fresh warehouse: timings, wall and peak memory."""
    env = {"JOINEDUP_BACKEND": backend}
    if backend == "spark":
        env[DRIVER_MEMORY_ENV] = driver_memory  # read when the session starts the JVM
    target = OUT / f"{backend}-{people}" / ("w.duckdb" if backend == "duckdb" else "w.spark")
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    before = os.getloadavg()[0]
    wall, peak, out = run_measured(
        [sys.executable, __file__, "--worker", backend, str(folder), str(target)], env=env
    )
    result = json.loads(out.strip().splitlines()[-1])
    # other work on the machine slows both backends: record it beside the times
    result.update(wall=wall, load=(before, os.getloadavg()[0]))
    # the child resets its high-water mark before each step, so wait4's figure covers
    # only the last step: the child's own maximum over the steps is the peak
    result["python_peak_mib"] = max(peak, result["python_peak_mib"])
    shutil.rmtree(target.parent, ignore_errors=True)
    return result


def _load(result: dict) -> str:
    """The 1-minute load average before and after a child ran, as "a-b"."""
    a, b = result["load"]
    return f"{a:.1f}-{b:.1f}"


def differences(duck: dict, spark: dict) -> list[str]:
    """The answers on which the two backends disagree (empty: the same answers)."""
    keys = ("rows", "measure_rows", "groups", "scored", "ingest", "features", "segments")
    out = [k for k in keys if duck[k] != spark[k]]
    if abs(duck["numerator_total"] - spark["numerator_total"]) >= 1e-6:
        out.append("numerator_total")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--driver-memory",
        default=DRIVER_MEMORY,
        help=f"heap of Spark's local driver JVM (default {DRIVER_MEMORY})",
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [
        "| people | rows (all tables) | step | DuckDB s | Spark local s | ratio (Spark / DuckDB) "
        "| DuckDB peak MiB | Spark peak MiB (Python + JVM) |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    memory = [
        "| people | DuckDB wall s | DuckDB peak MiB | Spark wall s "
        "| Spark peak MiB (Python + JVM) | same answers | load average (DuckDB; Spark) |",
        "| ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    per_row = []
    answers = []
    for people in args.people:
        folder = economy(people)
        _, extract_rows = extract(folder)
        duck = run("duckdb", people, folder)
        spark = run("spark", people, folder, args.driver_memory)
        activity = sum(duck["rows"].values())
        differ = differences(duck, spark)
        for step in STEPS:
            d, s = duck["times"][step], spark["times"][step]
            ratio = f"{s / d:.1f}" if d > 0.01 else "-"
            lines.append(
                f"| {people:,} | {activity:,} | {step} | {d:.2f} | {s:.2f} | {ratio} "
                f"| {duck['peaks'][step]:,.0f} | {spark['peaks'][step]:,.0f} |"
            )
        spark_mem = spark["python_peak_mib"] + spark["jvm_peak_mib"]
        memory.append(
            f"| {people:,} | {duck['wall']:.1f} | {duck['python_peak_mib']:,.0f} "
            f"| {spark['wall']:.1f} | {spark_mem:,.0f} "
            f"| {'yes' if not differ else 'NO: ' + ', '.join(differ)} "
            f"| {_load(duck)}; {_load(spark)} |"
        )
        per_row.append(
            f"- {people:,} people, {activity:,} rows: DuckDB "
            f"{1e6 * sum(duck['times'][k] for k in WORK) / activity:.1f} µs a row, Spark local "
            f"{1e6 * sum(spark['times'][k] for k in WORK) / activity:.1f} µs a row "
            f"({' + '.join(WORK)}, start-up and ingest excluded); ingest of "
            f"{extract_rows:,} CSV rows: DuckDB "
            f"{1e6 * duck['times']['ingest'] / extract_rows:.0f} µs a row, Spark local "
            f"{1e6 * spark['times']['ingest'] / extract_rows:.0f} µs a row"
        )
        ing, feat, seg = duck["ingest"], duck["features"], duck["segments"]
        answers.append(
            f"- {people:,} people: ingest read {ing['read']:,} rows, accepted "
            f"{ing['accepted']:,}, quarantined {ing['quarantined']:,} ("
            + ", ".join(f"{k.split(':')[0]} {v:,}" for k, v in ing["reasons"].items())
            + f"); features for "
            f"{feat['rows']:,} people as at {feat['as_of']}; Bridges segments "
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(seg["segment"].items()))
            + "; Kaiser tiers "
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(seg["tier"].items()))
        )
        print("\n".join([*lines, "", *memory, "", *per_row, "", *answers]), flush=True)
    sizes = " ".join(str(p) for p in args.people)
    if args.driver_memory != DRIVER_MEMORY:
        sizes += f" --driver-memory {args.driver_memory}"
    body = (
        f"Synthetic economies ({YEARS} years of activity), each backend in a fresh child "
        "process on fresh warehouses. Steps: start (Spark: JVM up and a first job); ingest "
        "(`joinedup.ingest.ingest` of a CSV extract of the economy's admitted patient care "
        "spells, canonical column names with NHS numbers, one row in "
        f"{BAD_METHOD_EVERY} with an invalid admission method and one in {BAD_NHS_EVERY} "
        "with an invalid NHS number, into an empty warehouse); load (every Parquet file "
        "as one batch); measures (" + ", ".join(MEASURES) + " by practice, every "
        "financial year, no cache); aggregation (emergency spells and bed days per "
        "provider and month); scores (Charlson and HFRS for every person, two-year "
        "look-back); features (the risk model's features, HFRS and Charlson included, "
        "for everyone registered at the end of the data, `person_features`, fetched into "
        "Python); segments (Bridges to Health segments and Kaiser tiers of those people, "
        "`segment_people`). Spark runs in local mode on the same cores as DuckDB: this "
        "measures Spark's overhead, not a cluster's throughput (docs/scale.md). The "
        f"Spark driver's heap is {args.driver_memory} (`--driver-memory`): with Spark's "
        "default of 1 GiB, collecting the features of 1,000,000 people fails with "
        "'TaskResultLost (result lost from block manager)'.\n\n"
        "Ingest and segments are mostly Python on both backends: ingest validates and "
        "pseudonymises in the Python process (on Spark it writes the batch's Parquet "
        "with Arrow), and segment_people applies the Bridges rules with in-process DuckDB "
        "(an Ibis memtable) and cuts the Kaiser tiers with NumPy, whatever the warehouse "
        "backend. The Kaiser cut needs a risk score; the risk model needs three years of "
        "admissions and these economies have two, so a fixed stand-in score of the "
        "features (emergency admissions, conditions, HFRS, age) is used, the same on "
        "both backends.\n\n"
        "Peak memory per step is the resident high-water mark during that step (reset "
        "through /proc/<pid>/clear_refs before each step); for Spark it is the Python "
        "process's plus the JVM's. Memory the JVM took in an earlier step and kept counts "
        "in later steps.\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "\n".join(memory)
        + "\n\nPer-row cost of the work:\n\n"
        + "\n".join(per_row)
        + "\n\nWhat both backends computed (DuckDB's figures; 'same answers' says "
        "whether Spark's were equal):\n\n"
        + "\n".join(answers)
        + "\n\nThe extract's NHS numbers are the economy's own (`joinedup synth`: the 999 "
        "test range first, then 998, ... beyond its 909,000 valid numbers)."
        + "\n\n'same answers': row counts, measure rows and numerator totals, aggregation "
        "groups, scored people, the ingest's rows read, accepted and quarantined with "
        "their reasons and the stored rows, people and cost, the features' row and "
        f"column counts and the totals of {', '.join(FEATURE_SUMS)}, and the number of "
        "people in each Bridges segment and Kaiser tier are equal on both backends. "
        f"The load average is the machine's ({os.cpu_count()} cores) before and after "
        "each child: other work running at the same time slows both."
    )
    write_section(
        "Spark and DuckDB side by side",
        body,
        command=f"python benchmarks/spark_benchmark.py --people {sizes}",
    )


if __name__ == "__main__":
    main()
