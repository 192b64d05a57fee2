"""Run every benchmark in this folder (`make bench`), each writing its RESULTS.md section.

    python benchmarks/run.py [--sizes 100000 1000000] [--only measures spark ...]

The synthetic economies the warehouse benchmarks read (3 years, seed 42, one per size)
are built once into benchmarks/out/econ-N through the door real data use (national
extracts, then ingest; kept for the next run; delete the folder to rebuild). Each
script is then run with the sizes or the warehouses it takes: measures and
the risk model on every economy, the scenario model on the largest, the web app on a
250,000-person economy (the demo's size); the synthetic build, ingest (CSV rows = the
sizes, and five times the largest for the streaming table), comorbidity scores and Spark
side by side at the sizes.
The nhp-model comparison of the scenario benchmark runs when JOINEDUP_NHP_PYTHON names a
Python with nhp-model installed. JOINEDUP_BENCH_RESULTS=FILE writes the sections to FILE
instead of RESULTS.md (a trial run at small sizes leaves the recorded results alone).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
JOINEDUP = str(Path(sys.executable).with_name("joinedup"))


def economy(people: int) -> Path:
    """The warehouse of a synthetic economy of ``people`` (built if not there yet).

    Built the way real data arrive: the economy is written as national-layout extracts
    (``joinedup synth --extracts``), which are loaded with ``joinedup ingest`` (key
    bridges, header recognition, episodes to spells) and ``joinedup registers derive``.
    """
    folder = HERE / "out" / f"econ-{people}"
    warehouse = folder / "warehouse.duckdb"
    if not warehouse.exists():
        print(f"== building a {people:,}-person economy in {folder} through ingest", flush=True)
        built, extracts = folder / "economy", folder / "extracts"
        subprocess.run([JOINEDUP, "synth", "--people", str(people), "--years", "3",
                        "--seed", "42", "--out", str(built), "--extracts", str(extracts)],
                       check=True)  # fmt: skip
        loading = folder / "warehouse.loading.duckdb"
        loading.unlink(missing_ok=True)
        key = built / "secrets" / "pseudonymisation.key"  # the economy's ids
        subprocess.run([JOINEDUP, "ingest", str(extracts), "--warehouse", str(loading),
                        "--key-file", str(key)], check=True)  # fmt: skip
        subprocess.run([JOINEDUP, "registers", "derive", "--warehouse", str(loading)], check=True)
        loading.rename(warehouse)  # only a finished load is reused
    return warehouse


def arguments(name: str, sizes: list[int]) -> list[str]:
    """The command-line arguments of benchmark ``name`` for ``sizes``."""
    counts = [str(n) for n in sizes]
    if name == "ingest":
        return ["--rows", *counts, "--stream-rows", str(5 * max(sizes))]
    if name in ("scores", "spark"):
        return ["--people", *counts]
    if name == "synth":
        return ["--sizes", *counts]
    if name == "measures":
        return [a for n in sizes for a in ("--warehouse", str(economy(n)))]
    if name == "model":
        return ["--warehouse", *[str(economy(n)) for n in sizes]]
    if name == "scenarios":
        nhp = os.environ.get("JOINEDUP_NHP_PYTHON")
        return ["--warehouse", str(economy(max(sizes))), *(["--nhp-python", nhp] if nhp else [])]
    if name == "web":  # the demo's size, whatever the others run at
        return ["--warehouse", str(economy(250_000))]
    if name == "refresh":  # from raw extracts: it writes its own
        return ["--people", *[str(n) for n in sorted({250_000, *sizes})]]
    return []


def main() -> int:
    """Run each `*_benchmark.py` script in turn; stop at the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--only", nargs="+", help="Run just these (e.g. measures spark).")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("*_benchmark.py"))
    for script in scripts:
        name = script.name.removesuffix("_benchmark.py")
        if args.only and name not in args.only:
            continue
        command = [sys.executable, str(script), *arguments(name, sorted(args.sizes))]
        print(f"== {' '.join(command[1:])}", flush=True)
        code = subprocess.call(command)
        if code:
            print(f"{script.name} failed (exit status {code})", file=sys.stderr)
            return code
    results = os.environ.get("JOINEDUP_BENCH_RESULTS") or HERE / "RESULTS.md"
    print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
