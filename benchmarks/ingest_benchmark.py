"""Ingest rate against DuckDB's own CSV reader on the same file, side by side.

A HES-shaped admitted patient care CSV (canonical column names, valid NHS numbers, one
row in twenty with a defect so quarantine is exercised) is written once per size. Then,
each in its own process:

- **duckdb read_csv**: `CREATE TABLE ... AS SELECT * FROM read_csv(file)` into a fresh
  DuckDB file (detection, parsing, typing, storage; no validation, no pseudonymisation);
- **joinedup ingest**: `joinedup ingest FILE --table apc_spell` into a fresh warehouse
  (encoding and delimiter detection, hashing, every schema check, HMAC of every NHS
  number, quarantine with reasons, one transaction).

Then, for memory, `joinedup ingest` alone on bigger files (default 1M and 5M rows):
peak memory must stay flat as the file grows (the file streams in blocks; validated
rows spill to Parquet and load in one transaction). The exact reader (Python's csv
module, used when the fast reader cannot guarantee exact row numbers) is timed too.

    python benchmarks/ingest_benchmark.py [--rows 200000 1000000] [--stream-rows 1000000 5000000]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import run_measured, write_section

JOINEDUP = str(Path(sys.executable).with_name("joinedup"))
HEADER = (
    "spell_id,nhs_number,provider_code,site_code,admitted_on,discharged_on,admission_method,"
    "patient_classification,admission_source,discharge_destination,specialty,"
    "primary_diagnosis,primary_procedure,cost\n"
)


def _nhs_numbers(n: int, rng: random.Random) -> list[str]:
    out = []
    while len(out) < n:
        nine = f"{rng.randrange(400_000_000, 999_999_999):09d}"
        total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            out.append(nine + str(check))
    return out


def write_extract(path: Path, rows: int, seed: int = 1) -> None:
    """A canonical-shape APC extract with UK dates and 5% defective rows."""
    rng = random.Random(seed)
    people = _nhs_numbers(max(rows // 5, 10), rng)
    methods = ["11", "12", "21", "22", "2A"]
    diags = ["I219", "J189", "N390", "E119", "K590", "R69X", "S720"]
    with open(path, "w", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            day = 1 + i % 28
            method = methods[i % 5] if i % 20 else "99"  # 1 row in 20 quarantined
            f.write(
                f"S{i},{people[rng.randrange(len(people))]},RXX,RXX01,{day:02d}/03/2024,"
                f"{min(day + i % 5, 28):02d}/03/2024,{method},1,19,19,300,"
                f"{diags[i % len(diags)]},,{(i % 97) * 13.5:.2f}\n"
            )


DUCKDB_READ = (
    "import duckdb, sys\n"
    "con = duckdb.connect(sys.argv[2])\n"
    "con.execute('SET enable_progress_bar = false')\n"
    "con.execute('CREATE TABLE t AS SELECT * FROM read_csv(?, dateformat = ?)',\n"
    "            [sys.argv[1], '%d/%m/%Y'])\n"
    "print(con.execute('SELECT count(*) FROM t').fetchone()[0])\n"
)

EXACT_INGEST = (
    "import sys\n"
    "from joinedup.ingest import ingest\n"
    "ingest([sys.argv[1]], table='apc_spell', warehouse=sys.argv[2], key_file=sys.argv[3],\n"
    "       fast_csv=False)\n"
)


def _measured(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s (user + system), peak MiB, stdout) of one child process.

    CPU time is shown because wall time on a shared machine depends on the others."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, peak, out = run_measured(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, peak, out


def main() -> None:
    """Measure both readers at each size and write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--stream-rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    table = [
        "| rows | file size | reader | wall time | CPU time | rows per second | peak memory "
        "| wall ratio | CPU ratio |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in args.rows:
        folder = Path(tempfile.mkdtemp(prefix="joinedup-ingest-bench-"))
        try:
            extract = folder / "apc.csv"
            write_extract(extract, rows)
            size_mb = extract.stat().st_size / 2**20
            duck_wall, duck_cpu, duck_peak, out = _measured(
                [sys.executable, "-c", DUCKDB_READ, str(extract), str(folder / "raw.duckdb")]
            )
            assert int(out.strip()) == rows
            ours_wall, ours_cpu, ours_peak, _ = _measured(
                [JOINEDUP, "ingest", str(extract), "--table", "apc_spell",
                 "--warehouse", str(folder / "w.duckdb"), "--key-file", str(folder / "k.key")]
            )  # fmt: skip
            exact_wall, exact_cpu, exact_peak, _ = _measured(
                [sys.executable, "-c", EXACT_INGEST, str(extract), str(folder / "x.duckdb"),
                 str(folder / "k.key")]
            )  # fmt: skip
            for name, wall, cpu, peak in (
                ("duckdb read_csv", duck_wall, duck_cpu, duck_peak),
                ("joinedup ingest (fast reader)", ours_wall, ours_cpu, ours_peak),
                ("joinedup ingest (exact reader)", exact_wall, exact_cpu, exact_peak),
            ):
                table.append(
                    f"| {rows:,} | {size_mb:.0f} MiB | {name} | {wall:.1f} s | {cpu:.1f} s | "
                    f"{rows / wall:,.0f} | {peak:.0f} MiB | {wall / duck_wall:.1f} | "
                    f"{cpu / duck_cpu:.1f} |"
                )
                print(table[-1], flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    stream = [
        "| rows | file size | wall time | CPU time | rows per second | peak memory |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in args.stream_rows:
        folder = Path(tempfile.mkdtemp(prefix="joinedup-ingest-bench-"))
        try:
            extract = folder / "apc.csv"
            write_extract(extract, rows)
            size_mb = extract.stat().st_size / 2**20
            wall, cpu, peak, _ = _measured(
                [JOINEDUP, "ingest", str(extract), "--table", "apc_spell",
                 "--warehouse", str(folder / "w.duckdb"), "--key-file", str(folder / "k.key")]
            )  # fmt: skip
            stream.append(
                f"| {rows:,} | {size_mb:.0f} MiB | {wall:.1f} s | {cpu:.1f} s | "
                f"{rows / wall:,.0f} | {peak:.0f} MiB |"
            )
            print(stream[-1], flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    body = (
        "Loading a HES-shaped APC CSV (14 columns, UK dates, 5% defective rows) into a new "
        "DuckDB file. `duckdb read_csv` only parses and stores; `joinedup ingest` also "
        "hashes the file, validates every field against the schema, pseudonymises every "
        "NHS number (HMAC-SHA256), writes quarantine records with reasons and commits in "
        "one transaction. Each run is its own process; peak memory is its resident set. "
        "CPU time is user + system time of the process (all threads): the machine is shared, "
        "so wall times depend on its load; the CPU ratio does much less.\n\n"
        + "\n".join(table)
        + "\n\nThe fast reader is pyarrow's CSV parser in 2 MiB blocks with vectorised "
        "validation; the exact reader (Python's csv module) is what a file gets when a "
        "record's number of fields differs from the header's (see docs/ingest.md).\n\n"
        "Streaming: `joinedup ingest` alone on bigger files of the same shape, to see "
        "whether peak memory stays flat as the file grows (docs/ingest.md, 'Memory', says "
        "where the memory goes).\n\n" + "\n".join(stream)
    )
    sizes = " ".join(str(r) for r in args.rows)
    stream_sizes = " ".join(str(r) for r in args.stream_rows)
    command = f"python benchmarks/ingest_benchmark.py --rows {sizes} --stream-rows {stream_sizes}"
    write_section("Ingest vs DuckDB read_csv", body, command=command)


if __name__ == "__main__":
    main()
