"""The population summary `joinedup demo` prints: who is here and what they use."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Group
from rich.table import Table

from joinedup.synth.calibration import compare, compute_figures

HEADLINES = (
    ("hospital.emergency_admissions_per_1000", "Emergency admissions per 1,000"),
    ("hospital.elective_and_daycase_admissions_per_1000", "Elective and day case per 1,000"),
    ("hospital.emergency_mean_length_of_stay_days", "Emergency mean length of stay (days)"),
    ("hospital.emergency_readmission_30d_share", "Emergency readmissions within 30 days"),
    ("hospital.ae_attendances_per_1000", "A&E attendances per 1,000"),
    ("hospital.outpatient_appointments_per_person", "Outpatient appointments per person"),
    ("primary_care.gp_appointments_per_person", "GP appointments per person"),
    ("population.deaths_per_1000", "Deaths per 1,000"),
    ("population.place_of_death_share.hospital", "Deaths in hospital (share)"),
)
ACTIVITY = ("apc_spell", "apc_diagnosis", "ae_attendance", "op_appointment", "gp_appointment",
            "community_contact", "social_care_service", "programme_enrolment",
            "programme_rollout")  # fmt: skip


def population_summary(warehouse: Path | str) -> Group:
    """People, footprints, practices, activity counts and headline rates beside England."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        people = Table(title="Population", show_header=False)
        people.add_column(justify="left")
        people.add_column(justify="right")
        people.add_row("People ever registered", f"{one('SELECT count(*) FROM person'):,}")
        registered = one(
            "SELECT count(*) FROM person WHERE registered_to IS NULL AND date_of_death IS NULL"
        )
        people.add_row("Registered at the end of the data", f"{registered:,}")
        people.add_row("Footprints", f"{one('SELECT count(*) FROM footprint'):,}")
        people.add_row("GP practices", f"{one('SELECT count(*) FROM practice'):,}")
        people.add_row(
            "GP clusters", f"{one('SELECT count(DISTINCT cluster_code) FROM practice'):,}"
        )
        people.add_row(
            "Period of activity",
            " to ".join(str(d) for d in con.execute(
                "SELECT min(admitted_on), max(admitted_on) FROM apc_spell").fetchone()),
        )  # fmt: skip
        activity = Table(title="Activity (rows)", show_header=False)
        activity.add_column(justify="left")
        activity.add_column(justify="right")
        for name in ACTIVITY:
            activity.add_row(name, f"{one(f'SELECT count(*) FROM {name}'):,}")
    checks = {c.name: c for c in compare(compute_figures(warehouse))}
    rates = Table(title="Latest financial year beside England")
    for col in ("measure", "here", "England"):
        rates.add_column(col, justify="left" if col == "measure" else "right")
    for key, label in HEADLINES:
        c = checks[key]
        fmt = "{:.1%}" if c.reference < 1 else "{:,.1f}"
        rates.add_row(label, fmt.format(c.value), fmt.format(c.reference))
    return Group(people, activity, rates)
