"""Time and peak memory of computing every built-in measure by every grouping, monthly.

For each warehouse given, three runs, each in its own process:

1. **ours**: ``joinedup.measures.compute(warehouse, by="all", period="month")`` with an
   empty cache: every built-in measure by every grouping it allows, every complete month
   of data (3 years for `joinedup synth`), intervals and suppression included;
2. **ours, cached**: the same call again with the cache now warm (unchanged batches);
3. **DuckDB scan**: DuckDB reading just the columns the measures involve (one aggregate
   per table that forces every such column to be read), the floor any engine has to pay;
4. **DuckDB join and group**: hand-written DuckDB SQL doing the least that grouped counts
   need: each activity table joined to its people and counted (one count, no conditions)
   by month and by each grouping, in one GROUPING SETS query per table. A lower bound
   for any engine that counts events by person attributes at query time.

The ratio ours / scan is the figure the measures issue asks for; ours / join and group
says how far the engine is from the work its design cannot avoid.

    python benchmarks/measures_benchmark.py --warehouse path/to/warehouse.duckdb [...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import run_measured, write_section

# The columns the built-in measures read (through the derived event sources).
COLUMNS = {
    "person": ["person_id", "year_of_birth", "sex", "ethnicity", "imd_decile", "practice_code",
               "registered_from", "registered_to", "date_of_death", "place_of_death"],
    "practice": ["practice_code", "cluster_code", "footprint_code"],
    "condition": ["person_id", "condition", "recorded_on"],
    "apc_spell": ["spell_id", "person_id", "provider_code", "admitted_on", "discharged_on",
                  "admission_method", "patient_classification", "discharge_destination",
                  "primary_diagnosis", "cost"],
    "apc_diagnosis": ["spell_id", "icd10"],
    "ae_attendance": ["person_id", "provider_code", "arrived_at", "departed_at",
                      "department_type", "arrival_mode", "disposal", "cost"],
    "op_appointment": ["person_id", "provider_code", "date", "first_attendance", "attended",
                       "cost"],
    "gp_appointment": ["person_id", "date", "mode"],
    "community_contact": ["person_id", "provider_code", "date", "cost"],
    "social_care_service": ["person_id", "service_type", "started_on"],
}  # fmt: skip


# Activity tables: the date each is counted by and whether it has a provider.
ACTIVITY = {
    "apc_spell": ("admitted_on", True),
    "ae_attendance": ("CAST(arrived_at AS DATE)", True),
    "op_appointment": ("date", True),
    "gp_appointment": ("date", False),
    "community_contact": ("date", True),
    "social_care_service": ("started_on", False),
}


def child_ours(warehouse: str, cache: str) -> None:
    """Compute every measure by every grouping, monthly; print the number of rows."""
    from joinedup.measures import compute

    results = compute(warehouse, by="all", period="month", cache=Path(cache))
    print(len(results), results["measure_id"].nunique(), results["grouping"].nunique())


def child_scan(warehouse: str) -> None:
    """Read every involved column once with DuckDB (min of each forces a full read)."""
    import duckdb

    with duckdb.connect(warehouse, read_only=True) as con:
        for table, columns in COLUMNS.items():
            aggs = ", ".join(f"min({c}), count({c})" for c in columns)
            con.execute(f"SELECT {aggs} FROM {table}").fetchall()
    print("scanned")


def child_join_group(warehouse: str) -> None:
    """Count each activity table by month and each grouping, joined to its people."""
    import duckdb

    with duckdb.connect(warehouse, read_only=True) as con:
        for table, (day, provider) in ACTIVITY.items():
            groups = ["practice_code", "age", "sex", "imd_decile", "ethnicity"]
            groups += ["provider_code"] * provider
            sets = ", ".join(f"(month, {g})" for g in groups)
            con.execute(
                f"""SELECT month, {", ".join(groups)}, count(*)
                FROM (SELECT make_date(year(d), month(d), 1) AS month,
                             year(d) - p.year_of_birth AS age, p.practice_code, p.sex,
                             p.imd_decile, p.ethnicity{", e.provider_code" * provider}
                      FROM (SELECT *, {day} AS d FROM {table}) AS e
                      JOIN person AS p USING (person_id))
                GROUP BY GROUPING SETS ({sets})"""
            ).fetchall()
    print("counted")


def measure(warehouse: Path) -> str:
    """Run the three measurements on one warehouse; return its RESULTS.md row."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        (people,) = con.execute("SELECT count(*) FROM person").fetchone()
        (months,) = con.execute(
            "SELECT count(DISTINCT date_trunc('month', date)) FROM gp_appointment"
        ).fetchone()
    cache = tempfile.mkdtemp(prefix="joinedup-measure-cache-")
    me = [sys.executable, __file__]
    try:
        ours, ours_peak, out = run_measured([*me, "--child", "ours", str(warehouse), cache])
        rows, n_measures, n_groupings = (int(x) for x in out.split()[-3:])
        cached, _peak, _ = run_measured([*me, "--child", "ours", str(warehouse), cache])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    scans = []
    for _ in range(3):  # the scan is short: best of three
        t, scan_peak, _ = run_measured([*me, "--child", "scan", str(warehouse)])
        scans.append(t)
    scan = min(scans)
    floor = min(run_measured([*me, "--child", "join_group", str(warehouse)])[0] for _ in range(3))
    row = (
        f"| {people:,} | {months} | {n_measures} x {n_groupings} groupings | {rows:,} | "
        f"{ours:.1f} s | {ours_peak / 1024:.2f} GiB | {cached:.1f} s | {scan:.2f} s | "
        f"{scan_peak / 1024:.2f} GiB | {ours / scan:.0f}x | {floor:.2f} s | {ours / floor:.1f}x |"
    )
    print(row, flush=True)
    return row


def main() -> None:
    """Parse arguments, run each warehouse, write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, action="append", help="Warehouse file.")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        {"ours": child_ours, "scan": child_scan, "join_group": child_join_group}[kind](*rest)
        return
    if not args.warehouse:
        parser.error("give --warehouse (build one with `joinedup synth --people N --out DIR`)")
    started = time.time()
    rows = [
        "| people | months | measures | result rows | ours | ours peak | ours, cached | "
        "DuckDB scan | scan peak | ours / scan | DuckDB join and group | ours / join and group |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [measure(w) for w in args.warehouse]
    body = (
        "Every built-in measure by every grouping it allows, every complete month, with 95% "
        "intervals and small-number suppression (`joinedup.measures.compute(wh, by='all', "
        "period='month')`, empty cache), against DuckDB reading just the columns involved "
        "(best of three), and against hand-written DuckDB SQL that joins each activity table "
        "to its people and counts it, with no conditions, by month and by each grouping in "
        "one GROUPING SETS query (best of three): the least any engine counting events by "
        "person attributes at query time has to do. *Cached* repeats the call with unchanged "
        "load batches. Each run is "
        "a fresh process; times include Python start-up and imports (most of the cached run).\n\n"
        + "\n".join(rows)
    )
    paths = " ".join(f"--warehouse {w.parent.name}/{w.name}" for w in args.warehouse)
    write_section("Measures", body, f"python benchmarks/measures_benchmark.py {paths}")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
