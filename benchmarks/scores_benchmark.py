"""Comorbidity and frailty scores: joinedup (Ibis on DuckDB) against comorbidipy 0.8 (polars).

For each size, random diagnoses (about 10 rows per person, 60% from the code lists) are
written to Parquet once; each tool then runs in its own child process, reads the file into
memory (untimed), scores it (timed inside the process) and writes the result. Wall time of
the whole child (start-up and I/O included) and its peak RSS come from run_measured. The
two results are compared per person. Needs .venv-oracle (scripts/setup-oracles.sh).

    .venv/bin/python benchmarks/scores_benchmark.py                 # 100k and 1M people
    .venv/bin/python benchmarks/scores_benchmark.py --people 100000  # one size
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results import run_measured, write_section  # noqa: E402

ORACLE_PYTHON = ROOT / ".venv-oracle" / "bin" / "python"
RUNNER = ROOT / "tests" / "risk" / "comorbidipy_runner.py"
OUT = HERE / "out" / "scores"
SCORES = ("charlson", "elixhauser_vw", "hfrs")
THEIR_SCORE = {"hfrs": "hfrs_score"}


def worker(source: str, score: str, target: str) -> None:
    """Child process: load the Parquet into in-memory DuckDB, time the score, write it."""
    import ibis

    from joinedup.risk.scores import score_expression

    con = ibis.duckdb.connect()
    table = con.create_table("diagnoses", con.read_parquet(source))
    start = time.perf_counter()
    result = con.to_pyarrow(score_expression(table, score))
    elapsed = time.perf_counter() - start
    import pyarrow.parquet as pq

    pq.write_table(result, target)
    print(f"{elapsed:.3f}")


def generate(people: str, target: str) -> None:
    """Child process: write the Parquet file of random diagnoses for ``people``."""
    from joinedup.risk.sample import random_diagnoses

    n = int(people)
    random_diagnoses(n, rows_per_person=10, seed=n).to_parquet(target, index=False)


def disagreements(ours: str, theirs: str, score: str) -> None:
    """Child process: print how many persons' scores differ between the two result files."""
    import pandas as pd

    a = pd.read_parquet(ours, columns=["id", "score"]).set_index("id")["score"]
    b = pd.read_parquet(theirs).set_index("id")[THEIR_SCORE.get(score, "comorbidity_score")]
    b = b.reindex(a.index)
    print(int(((a - b).abs() > 1e-6).sum()))


def count(source: str) -> None:
    """Child process: print the number of rows of a Parquet file."""
    import pyarrow.parquet as pq

    print(pq.ParquetFile(source).metadata.num_rows)


def child(*args: str) -> str:
    """Run one of this script's helpers in a child process; its stdout."""
    return run_measured([sys.executable, __file__, *args])[2].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--scores", nargs="+", default=list(SCORES), choices=SCORES)
    args = parser.parse_args()
    if not ORACLE_PYTHON.exists():
        sys.exit("benchmark needs .venv-oracle: run scripts/setup-oracles.sh first")
    rows = [
        "| people | diagnosis rows | score | joinedup scoring s | comorbidipy scoring s "
        "| ratio (comorbidipy / joinedup) | joinedup wall s, peak MiB "
        "| comorbidipy wall s, peak MiB | persons whose scores differ |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    # Everything big happens in child processes: a child's peak RSS on Linux starts from
    # the parent's RSS at fork, so the parent must stay small for the memory figures to mean
    # anything.
    OUT.mkdir(parents=True, exist_ok=True)
    for people in args.people:
        source = OUT / f"diagnoses-{people}.parquet"
        if not source.exists():
            child("--generate", str(people), str(source))
        n_rows = int(child("--count", str(source)))
        for score in args.scores:
            ours, theirs = OUT / f"ours-{people}-{score}.parquet", OUT / f"theirs-{score}.parquet"
            our_wall, our_mem, our_out = run_measured(
                [sys.executable, __file__, "--score", str(source), score, str(ours)]
            )
            their_wall, their_mem, their_out = run_measured(
                [str(ORACLE_PYTHON), str(RUNNER), str(source), score, str(theirs)]
            )
            our_s, their_s = float(our_out.split()[-1]), float(their_out.split()[-1])
            differ = int(child("--compare", str(ours), str(theirs), score))
            line = (
                f"| {people:,} | {n_rows:,} | {score} | {our_s:.2f} | {their_s:.2f} "
                f"| {their_s / our_s:.1f} | {our_wall:.1f}, {our_mem:,.0f} "
                f"| {their_wall:.1f}, {their_mem:,.0f} | {differ:,} |"
            )
            print(line, flush=True)
            rows.append(line)
    body = (
        "Random diagnoses, about 10 rows per person, 60% drawn from the code lists "
        "(`joinedup.risk.sample.random_diagnoses`). Scoring time is measured inside each "
        "child process, after the Parquet file is in memory (DuckDB table / polars frame), "
        "up to the result in memory; wall time and peak RSS cover the whole child process. "
        "Both engines use every core. HFRS scores differ by design where a person has two "
        "4-character codes in one 3-character group (comorbidipy 0.8 counts the group "
        "twice; see docs/risk.md).\n\n" + "\n".join(rows)
    )
    write_section("Comorbidity and frailty scores: joinedup vs comorbidipy", body)


HELPERS = {"--score": worker, "--generate": generate, "--compare": disagreements, "--count": count}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in HELPERS:
        HELPERS[sys.argv[1]](*sys.argv[2:])
    else:
        main()
