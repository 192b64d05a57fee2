"""Time and peak memory of building the synthetic economy at 100,000 and 1,000,000 people.

Each size runs `joinedup synth` in its own process (3 years, seed 42): generation,
Parquet files, the DuckDB warehouse and the calibration report, as a user runs it.

    python benchmarks/synth_benchmark.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import run_measured, write_section

JOINEDUP = str(Path(sys.executable).with_name("joinedup"))


def main() -> None:
    """Build each size, record wall time, peak memory and rows written."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = ["| people | years | wall time | peak memory | rows written | rows per second |",
            "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for people in args.sizes:
        out = Path(tempfile.mkdtemp(prefix="joinedup-synth-bench-"))
        try:
            wall, peak, _ = run_measured(
                [
                    JOINEDUP,
                    "synth",
                    "--people",
                    str(people),
                    "--years",
                    "3",
                    "--seed",
                    "42",
                    "--out",
                    str(out),
                ]
            )
            import duckdb

            with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
                (total,) = con.execute("SELECT sum(rows_accepted) FROM load_batch").fetchone()
        finally:
            shutil.rmtree(out, ignore_errors=True)
        rows.append(f"| {people:,} | 3 | {wall:.1f} s | {peak / 1024:.2f} GiB | {total:,} | "
                    f"{total / wall:,.0f} |")  # fmt: skip
        print(rows[-1], flush=True)
    body = (
        "`joinedup synth` end to end (generate, write Parquet, load the DuckDB warehouse, "
        "print the calibration report), one process per size.\n\n" + "\n".join(rows)
    )
    sizes = " ".join(str(s) for s in args.sizes)
    write_section("Synthetic economy build", body,
                  f"python benchmarks/synth_benchmark.py --sizes {sizes}")  # fmt: skip


if __name__ == "__main__":
    main()
