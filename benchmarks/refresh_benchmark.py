"""A whole refresh, from raw extracts to the board pack, at 250,000 and 1,000,000 people.

For each size a synthetic economy (3 years, seed 42) is written as the national-layout
extracts a partnership receives (`joinedup synth --extracts`); then, into an empty
warehouse, as an analyst would:

1. `joinedup refresh EXTRACTS`: ingest every file (the key bridges in `bridges/`
   first), derive the QOF registers from the GP coded events, train the risk model,
   publish every figure, evaluate each programme, write the board pack (HTML, PDF,
   Excel);
2. `joinedup refresh EXTRACTS` again, with nothing new: every step should be skipped.

Each command runs in its own process; the table gives wall time and peak memory, and
the refresh's own time per step (from its progress lines). The goal in issue 21 is a
1,000,000-person refresh in under 10 minutes on 2 cores. No peer tool does this whole
job, so there is no ratio here; the ingest and measures benchmarks compare their parts
with DuckDB and others.

    python benchmarks/refresh_benchmark.py [--people 250000 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import run_measured, write_section

JOINEDUP = str(Path(sys.executable).with_name("joinedup"))
# "publish: done (79.2 s) - ..." and the like, from the refresh's progress lines
STEP_LINE = re.compile(r"^(?P<step>[a-z ]+): (?P<status>done|skipped)(?: \((?P<s>[0-9.]+) s\))?")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


def step_times(stdout: str) -> dict[str, float]:
    """Seconds per refresh step, from its printed progress."""
    out: dict[str, float] = {}
    for line in stdout.splitlines():
        m = STEP_LINE.match(line)
        if m:
            out[m["step"].strip()] = float(m["s"] or 0)
    return out


def measure(people: int, work: Path) -> dict:
    """Write the extracts of a ``people`` economy, then refresh a new warehouse from them."""
    economy, extracts = work / "economy", work / "extracts"
    synth = run_measured([JOINEDUP, "synth", "--people", str(people), "--years", "3",
                          "--seed", "42", "--out", str(economy),
                          "--extracts", str(extracts)])  # fmt: skip
    warehouse = work / "refreshed" / "warehouse.duckdb"
    key = economy / "secrets" / "pseudonymisation.key"  # the economy's person ids
    common = ["--warehouse", str(warehouse), "--key-file", str(key)]
    env = {"COLUMNS": "200", "JOINEDUP_PROGRAMME_DB": f"sqlite:///{work / 'programme.sqlite'}"}
    first = run_measured([JOINEDUP, "refresh", str(extracts), *common], env=env)
    again = run_measured([JOINEDUP, "refresh", str(extracts), *common], env=env)
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        (rows,) = con.execute(
            "SELECT sum(rows_read) FROM load_batch WHERE status = 'loaded'"
        ).fetchone()
    files = sum(1 for p in extracts.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in extracts.rglob("*") if p.is_file())
    return {"people": people, "synth": synth,
            "first": first, "again": again, "steps": step_times(first[2]),
            "rows": rows or 0, "files": files, "mib": size / 2**20}  # fmt: skip


def main() -> None:
    """Measure each size and write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="Keep the extracts and warehouses here.")
    args = parser.parse_args()
    results = []
    for people in args.people:
        work = (
            (args.keep / f"refresh-{people}")
            if args.keep
            else Path(tempfile.mkdtemp(prefix="joinedup-refresh-bench-"))
        )
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"== {people:,} people in {work}", flush=True)
        try:
            results.append(measure(people, work))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        r = results[-1]
        print(f"   refresh {r['first'][0]:.0f} s, peak {r['first'][1]:.0f} MiB", flush=True)
    steps = list(dict.fromkeys(s for r in results for s in r["steps"]))
    lines = [
        "| people | extracts written (files, size) | rows read | "
        "refresh: extracts to board pack | peak memory | second refresh (nothing new) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['people']:,} | {_minutes(r['synth'][0])} ({r['files']} files, "
            f"{r['mib']:,.0f} MiB) | {r['rows']:,} | "
            f"**{_minutes(r['first'][0])}** | {r['first'][1]:,.0f} MiB | "
            f"{_minutes(r['again'][0])} |"
        )
    if steps:
        lines += ["", "Time per refresh step (seconds, from its progress lines):", "",
                  "| people | " + " | ".join(steps) + " |",
                  "|---:|" + "---:|" * len(steps)]  # fmt: skip
        for r in results:
            cells = " | ".join(f"{r['steps'].get(s, 0):.0f}" for s in steps)
            lines.append(f"| {r['people']:,} | {cells} |")
    goal = [r for r in results if r["people"] >= 1_000_000]
    if goal:
        met = goal[0]["first"][0] < 600
        lines += ["", f"Goal (1,000,000 people, extracts to board pack, under 10 minutes): "
                  f"{'met' if met else 'not met'}."]  # fmt: skip
    write_section("Refresh: extracts to board pack", "\n".join(lines))


if __name__ == "__main__":
    main()
