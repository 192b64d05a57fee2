"""How the economy compares with England: every figure of the reference file, measured.

Figures are measured on the warehouse with plain SQL, independently of the measure
engine, for the latest complete financial year: events in the year divided by the
registered population at its midpoint (rates per 1,000 per year), prevalence among
those registered at its end, shares among the events themselves. Lengths of stay are
those of the spells finished (discharged) in the year, as HES reports them. The
readmission share is counted as NHS Digital's indicator I02040 (NHS Outcomes Framework
3b) counts it, crude: of ordinary (not day case) spells discharged alive in the latest
year with 30 days of data after it, excluding maternity, obstetric and cancer spells,
the share followed by an emergency admission (not for cancer, not obstetric) 0 to 29
days after discharge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import yaml
from rich.table import Table

REFERENCE = Path(__file__).parent / "reference" / "england_benchmarks.yaml"
EMERGENCY = "('21','22','23','24','25','2A','2B','2C','2D','28')"
MATERNITY = "('31','32')"
OBSTETRIC = "('501','560')"  # treatment functions: obstetrics, midwifery
READMISSION_DAYS = 30
ELECTIVE = "('11','12','13')"
AGE_BANDS = (("0-4", 0, 4), ("5-17", 5, 17), ("18-44", 18, 44), ("45-64", 45, 64),
             ("65-74", 65, 74), ("75-84", 75, 84), ("85+", 85, 200))  # fmt: skip
# QOF registers: reference key -> (condition, youngest age counted).
QOF = {"hypertension": ("hypertension", 0), "depression_18plus": ("depression", 18),
       "diabetes_17plus": ("diabetes", 17), "asthma_6plus": ("asthma", 6),
       "ckd_18plus": ("ckd", 18), "cancer": ("cancer", 0), "chd": ("chd", 0),
       "atrial_fibrillation": ("atrial_fibrillation", 0), "copd": ("copd", 0),
       "stroke_tia": ("stroke_tia", 0), "heart_failure": ("heart_failure", 0),
       "serious_mental_illness": ("serious_mental_illness", 0), "dementia": ("dementia", 0),
       "learning_disability": ("learning_disability", 0)}  # fmt: skip
LONG_TERM = "('home_care','residential_care','nursing_care','direct_payment','day_care')"


@dataclass(frozen=True)
class Check:
    """One figure: measured value against the reference and its tolerance."""

    name: str
    value: float
    reference: float
    tolerance: float
    source: str = ""

    @property
    def within(self) -> bool:
        """True when the value lies within the relative tolerance of the reference."""
        return abs(self.value - self.reference) <= self.tolerance * self.reference


def load_reference(path: Path = REFERENCE) -> dict:
    """The published England figures."""
    return yaml.safe_load(path.read_text())


def _year(con: duckdb.DuckDBPyConnection) -> tuple[date, date, date]:
    (last,) = con.execute("SELECT max(date) FROM gp_appointment").fetchone()
    start = date(last.year if last.month >= 4 else last.year - 1, 4, 1)
    if last < date(start.year + 1, 3, 31):  # incomplete: use the year before
        start = date(start.year - 1, 4, 1)
    end = date(start.year + 1, 3, 31)
    return start, date(start.year, 9, 30), end


def compute_figures(warehouse: Path | str) -> dict[str, float]:
    """Every reference figure measured on the warehouse, keyed 'section.name[.part]'."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        start, mid, end = _year(con)
        con.execute(
            """CREATE TEMP TABLE pop AS SELECT person_id, year(?) - year_of_birth AS age
               FROM person WHERE registered_from <= ?
               AND coalesce(registered_to, DATE '9999-12-31') > ?
               AND coalesce(date_of_death, DATE '9999-12-31') > ?""",
            [mid, mid, mid, mid],
        )
        (n,) = con.execute("SELECT count(*) FROM pop").fetchone()
        one = lambda sql, *args: con.execute(sql, list(args)).fetchone()[0]  # noqa: E731
        f: dict[str, float] = {}
        deaths = one("SELECT count(*) FROM person WHERE date_of_death BETWEEN ? AND ?", start, end)
        f["population.deaths_per_1000"] = 1000 * deaths / n
        for place, k in con.execute(
            "SELECT place_of_death, count(*) FROM person WHERE date_of_death BETWEEN ? AND ? "
            "GROUP BY ALL", [start, end]).fetchall():  # fmt: skip
            f[f"population.place_of_death_share.{place}"] = k / deaths
        spells = f"FROM apc_spell WHERE admitted_on BETWEEN '{start}' AND '{end}'"
        emerg = f"{spells} AND admission_method IN {EMERGENCY}"
        f["hospital.emergency_admissions_per_1000"] = 1000 * one(f"SELECT count(*) {emerg}") / n
        for band, lo, hi in AGE_BANDS:
            by_age = emerg.replace("FROM apc_spell", "FROM apc_spell JOIN person USING (person_id)")
            num = one(f"SELECT count(*) {by_age} "
                      f"AND year(admitted_on) - year_of_birth BETWEEN {lo} AND {hi}")  # fmt: skip
            den = one(f"SELECT count(*) FROM pop WHERE age BETWEEN {lo} AND {hi}")
            f[f"hospital.emergency_admissions_per_1000_by_age.{band}"] = 1000 * num / max(den, 1)
        f["hospital.elective_and_daycase_admissions_per_1000"] = (
            1000 * one(f"SELECT count(*) {spells} AND admission_method IN {ELECTIVE}") / n
        )
        # Finished emergency spells discharged in the year (unfinished ones have none).
        discharged = (f"FROM apc_spell WHERE discharged_on BETWEEN '{start}' AND '{end}' "
                      f"AND admission_method IN {EMERGENCY}")  # fmt: skip
        f["hospital.emergency_mean_length_of_stay_days"] = one(
            f"SELECT avg(discharged_on - admitted_on) {discharged}")  # fmt: skip
        f["hospital.emergency_zero_day_share"] = one(
            f"SELECT avg((discharged_on = admitted_on)::int) {discharged}")  # fmt: skip
        f["hospital.emergency_readmission_30d_share"] = _readmission_share(con, end)
        ae = f"FROM ae_attendance WHERE arrived_at::date BETWEEN '{start}' AND '{end}'"
        f["hospital.ae_attendances_per_1000"] = 1000 * one(f"SELECT count(*) {ae}") / n
        f["hospital.ae_type1_share"] = one(f"SELECT avg((department_type = 1)::int) {ae}")
        f["hospital.ae_admitted_share_type1"] = one(
            f"SELECT avg((disposal = '01')::int) {ae} AND department_type = 1")  # fmt: skip
        op = f"FROM op_appointment WHERE date BETWEEN '{start}' AND '{end}'"
        f["hospital.outpatient_appointments_per_person"] = one(f"SELECT count(*) {op}") / n
        f["hospital.outpatient_first_share"] = one(f"SELECT avg(first_attendance::int) {op}")
        f["hospital.outpatient_dna_share"] = one(
            f"SELECT avg((attended IN ('3','7'))::int) {op}")  # fmt: skip
        f["primary_care.gp_appointments_per_person"] = (
            one(f"SELECT count(*) FROM gp_appointment WHERE date BETWEEN '{start}' AND '{end}'") / n
        )
        con.execute(
            """CREATE TEMP TABLE listed AS SELECT person_id, year(?) - year_of_birth AS age
               FROM person WHERE registered_from <= ?
               AND coalesce(registered_to, DATE '9999-12-31') > ?
               AND coalesce(date_of_death, DATE '9999-12-31') > ?""",
            [end, end, end, end],
        )
        for key, (condition, min_age) in QOF.items():
            f[f"primary_care.qof_prevalence.{key}"] = one(
                f"""SELECT count(c.person_id) / count(*) FROM listed l LEFT JOIN condition c
                    ON c.person_id = l.person_id AND c.condition = '{condition}'
                    AND c.recorded_on <= '{end}' WHERE l.age >= {min_age}"""
            )
        f["social_care.adults_65plus_long_term_support_share"] = one(
            f"""SELECT count(DISTINCT s.person_id) / (SELECT count(*) FROM pop WHERE age >= 65)
                FROM social_care_service s JOIN pop USING (person_id)
                WHERE pop.age >= 65 AND s.service_type IN {LONG_TERM}
                AND s.started_on <= '{end}'
                AND coalesce(s.ended_on, DATE '9999-12-31') >= '{start}'"""
        )
        return {k: float(v) for k, v in f.items()}
    finally:
        con.close()


def _readmission_share(con: duckdb.DuckDBPyConnection, end: date) -> float:
    """Emergency readmissions within 30 days of discharge, as NHS Digital I02040 counts.

    The year is the latest financial year ending ``end`` or before that has 30 days of
    data after it (the year ending ``end`` itself when the data hold no earlier year).
    """
    first, last = con.execute("SELECT min(date), max(date) FROM gp_appointment").fetchone()
    earlier = date(end.year - 1, 3, 31)
    while end + timedelta(days=READMISSION_DAYS) > last and earlier >= first:
        end, earlier = earlier, date(earlier.year - 1, 3, 31)
    start = date(end.year - 1, 4, 1)
    (share,) = con.execute(
        f"""WITH cancer AS (
                SELECT DISTINCT spell_id FROM apc_diagnosis
                WHERE icd10 LIKE 'C%' OR left(icd10, 3) BETWEEN 'D37' AND 'D48'),
            s AS (
                SELECT *, (spell_id IN (SELECT spell_id FROM cancer)
                           OR coalesce(primary_diagnosis LIKE 'C%'
                                       OR left(primary_diagnosis, 3) BETWEEN 'D37' AND 'D48',
                                       false)) AS cancer,
                       coalesce(specialty IN {OBSTETRIC}, false) AS obstetric
                FROM apc_spell)
            SELECT avg((EXISTS (
                SELECT 1 FROM s r WHERE r.person_id = i.person_id AND r.spell_id <> i.spell_id
                AND r.admission_method IN {EMERGENCY} AND NOT r.cancer AND NOT r.obstetric
                AND r.admitted_on >= i.discharged_on
                AND r.admitted_on < i.discharged_on + {READMISSION_DAYS}))::int)
            FROM s i
            WHERE i.discharged_on BETWEEN ? AND ? AND i.patient_classification = '1'
            AND i.admission_method NOT IN {MATERNITY} AND NOT i.obstetric AND NOT i.cancer
            AND i.discharge_destination <> '79'""",
        [start, end],
    ).fetchone()
    return share or 0.0


def compare(figures: dict[str, float], reference: dict | None = None) -> list[Check]:
    """Each reference figure beside the measured one (missing figures measure as 0)."""
    reference = reference or load_reference()
    checks: list[Check] = []
    for section, items in reference.items():
        if section.startswith("unit_costs"):
            continue
        for name, spec in items.items():
            if isinstance(spec, dict) and "value" not in spec:
                default_tol = 0.30
                for part, sub in spec.items():
                    value = sub["value"] if isinstance(sub, dict) else sub
                    tol = (
                        sub.get("tolerance", default_tol) if isinstance(sub, dict) else default_tol
                    )
                    key = f"{section}.{name}.{part}"
                    source = sub.get("source", "") if isinstance(sub, dict) else ""
                    checks.append(
                        Check(key, figures.get(key, 0.0), float(value), float(tol), source)
                    )
            else:
                key = f"{section}.{name}"
                checks.append(Check(key, figures.get(key, 0.0), float(spec["value"]),
                                    float(spec["tolerance"]), spec.get("source", "")))  # fmt: skip
    return checks


def calibration_table(warehouse: Path | str) -> Table:
    """A rich table of every reference figure, measured, with a tick or a cross."""
    checks = compare(compute_figures(warehouse))
    table = Table(title="The synthetic economy beside England (latest financial year)")
    for col, justify in (("figure", "left"), ("synthetic", "right"), ("England", "right"),
                         ("tolerance", "right"), ("", "center")):  # fmt: skip
        table.add_column(col, justify=justify)
    for c in checks:
        table.add_row(c.name, f"{c.value:,.3f}", f"{c.reference:,.3f}", f"±{c.tolerance:.0%}",
                      "[green]ok[/]" if c.within else "[red]out[/]")  # fmt: skip
    return table
