"""The baseline: the latest full financial year's activity, bed days and cost.

Computed in the warehouse engine (Ibis) and brought back aggregated: one row per age
band, sex, segment, risk tier, footprint and setting. Cohort profiles (the activity of
the people an intervention reaches) are computed the same way.

Conventions:

- The population is everyone registered at some time in the year and alive at its
  start; age is taken at the year's midpoint (1 October).
- Segment (a Bridges to Health style grouping by long-term conditions recorded by the
  end of the year): ``end_of_life`` (died in the year), ``complex`` (4+ conditions),
  ``multimorbid`` (2-3), ``single_ltc`` (1), ``healthy`` (none).
- Risk tier, a utilisation tier until risk scores are wired in: emergency admissions in
  the previous financial year, ``high`` (2+), ``moderate`` (1), ``low`` (none).
- Cost is the warehouse's cost where the table has one, otherwise the reference unit
  cost (GP appointments, ambulance conveyances); bed days are discharge minus admission
  date of the spells admitted in the year.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import ibis
import pandas as pd

from joinedup.derived.persons import AGE_BANDS, band
from joinedup.scenarios.model import Cohort
from joinedup.scenarios.settings import SETTINGS
from joinedup.schema import codes
from joinedup.warehouse import Warehouse
from joinedup.warehouse.sums import exact_sum

DIMENSIONS = ("age_band", "sex", "segment", "risk_tier", "footprint_code")
COMMUNITY_DEATH_PLACES = ("home", "care_home", "hospice")


@dataclass(frozen=True)
class FinancialYear:
    """An April to March financial year."""

    start: date

    @property
    def end(self) -> date:
        """The last day (31 March)."""
        return date(self.start.year + 1, 3, 31)

    @property
    def mid(self) -> date:
        """The midpoint used for ages (1 October)."""
        return date(self.start.year, 10, 1)

    @property
    def label(self) -> str:
        """As written in the NHS: 2025/26."""
        return f"{self.start.year}/{(self.start.year + 1) % 100:02d}"

    def shifted(self, years: int) -> FinancialYear:
        """The financial year ``years`` later (earlier if negative)."""
        return FinancialYear(date(self.start.year + years, 4, 1))


def latest_full_year(wh: Warehouse) -> FinancialYear:
    """The latest financial year the warehouse's activity covers to its end."""
    s = wh.table("apc_spell")
    last = s.admitted_on.max().to_pyarrow().as_py()
    if last is None:
        raise ValueError("the warehouse has no hospital spells: cannot find a baseline year")
    end_year = last.year if last >= date(last.year, 3, 31) else last.year - 1
    return FinancialYear(date(end_year - 1, 4, 1))


def _in_year(col: ibis.Value, fy: FinancialYear) -> ibis.Value:
    return (col >= fy.start) & (col <= fy.end)


def people(wh: Warehouse, fy: FinancialYear) -> ibis.Table:
    """Everyone in the population in year ``fy`` with the attributes cohorts select on."""
    p = wh.table("person")
    pr = wh.table("practice").select("practice_code", "footprint_code")
    inpop = (
        (p.registered_from <= fy.end)
        & (p.registered_to.isnull() | (p.registered_to >= fy.start))
        & (p.date_of_death.isnull() | (p.date_of_death >= fy.start))
    )
    base = p.filter(inpop).left_join(pr, "practice_code")
    c = wh.table("condition")
    n_cond = (
        c.filter(c.recorded_on <= fy.end).group_by("person_id").agg(n_conditions=ibis._.count())
    )
    prior = fy.shifted(-1)
    s = wh.table("apc_spell")
    prior_em = (
        s.filter(s.admission_method.isin(codes.EMERGENCY_METHODS) & _in_year(s.admitted_on, prior))
        .group_by("person_id")
        .agg(prior_emergency=ibis._.count())
    )
    t = base.left_join(n_cond, "person_id").left_join(prior_em, "person_id")
    age = (ibis.literal(fy.mid.year) - t.year_of_birth).cast("int16")
    n = t.n_conditions.fill_null(0)
    died = t.date_of_death.notnull() & (t.date_of_death <= fy.end)
    em = t.prior_emergency.fill_null(0)
    return t.select(
        "person_id",
        "sex",
        footprint_code=t.footprint_code.fill_null("unknown"),
        age=age,
        age_band=band(age, AGE_BANDS),
        n_conditions=n.cast("int16"),
        segment=ibis.cases(
            (died, "end_of_life"),
            (n >= 4, "complex"),
            (n >= 2, "multimorbid"),
            (n == 1, "single_ltc"),
            else_="healthy",
        ),
        risk_tier=ibis.cases((em >= 2, "high"), (em == 1, "moderate"), else_="low"),
    )


def _events(t: ibis.Table, setting: str, bed_days=None, cost=None) -> ibis.Table:
    unit = SETTINGS[setting].unit_cost
    return t.select(
        "person_id",
        setting=ibis.literal(setting),
        bed_days=(bed_days if bed_days is not None else ibis.literal(0)).cast("float64"),
        cost=(cost.fill_null(unit) if cost is not None else ibis.literal(unit)).cast("float64"),
    )


def events(wh: Warehouse, fy: FinancialYear) -> ibis.Table:
    """Every unit of measured activity in the year: person_id, setting, bed_days, cost."""
    s = wh.table("apc_spell")
    s = s.filter(_in_year(s.admitted_on, fy))
    los = s.discharged_on.delta(s.admitted_on, unit="day").fill_null(0)
    elective = s.admission_method.isin(codes.ELECTIVE_METHODS)
    a = wh.table("ae_attendance")
    a = a.filter(_in_year(a.arrived_at.date(), fy))
    o = wh.table("op_appointment")
    o = o.filter(_in_year(o.date, fy) & o.attended.isin(codes.OP_SEEN))
    virtual = o.medium.isin(("telephone", "video", "online")).fill_null(False)
    g = wh.table("gp_appointment")
    c = wh.table("community_contact")
    d = wh.table("person")
    d = d.filter(d.date_of_death.notnull() & _in_year(d.date_of_death, fy))
    parts = [
        _events(
            s.filter(s.admission_method.isin(codes.EMERGENCY_METHODS)),
            "emergency_admission",
            los,
            s.cost,
        ),
        _events(
            s.filter(elective & (s.patient_classification == "1")),
            "elective_admission",
            los,
            s.cost,
        ),
        _events(s.filter(elective & (s.patient_classification == "2")), "daycase", None, s.cost),
        _events(a.filter(a.department_type.isin((1, 2))), "ae_type1", None, a.cost),
        _events(a.filter(a.department_type.isin((3, 4))), "ae_type3", None, a.cost),
        _events(a.filter(a.arrival_mode == "1"), "ambulance_conveyance"),
        _events(o.filter(o.first_attendance), "op_first", None, o.cost),
        _events(o.filter(~o.first_attendance & ~virtual), "op_followup", None, o.cost),
        _events(o.filter(~o.first_attendance & virtual), "op_followup_virtual", None, o.cost),
        _events(g.filter(_in_year(g.date, fy)), "gp_appointment"),
        _events(c.filter(_in_year(c.date, fy)), "community_contact", None, c.cost),
        _events(d.filter(d.place_of_death == "hospital"), "hospital_death"),
        _events(d.filter(d.place_of_death.isin(COMMUNITY_DEATH_PLACES)), "community_death"),
    ]
    return ibis.union(*parts)


def _aggregate(
    pp: ibis.Table, ev: ibis.Table, by: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population and activity of ``pp`` grouped by ``by`` (executed in the warehouse).

    Sums are exact and rows sorted: the engine returns groups in whatever order its
    threads finish, and the scenario model adds the rows up in the order given.
    """
    population = pp.group_by(list(by)).agg(people=pp.count()).to_pandas()
    joined = ev.inner_join(pp.select("person_id", *by), "person_id")
    activity = (
        joined.group_by([*by, "setting"])
        .agg(
            count=joined.count(),
            bed_days=exact_sum(joined.bed_days),
            cost=exact_sum(joined.cost),
        )
        .to_pandas()
    )
    return (
        population.sort_values(list(by), ignore_index=True),
        activity.sort_values([*by, "setting"], ignore_index=True),
    )


@dataclass
class Baseline:
    """The baseline year's population and activity, aggregated.

    ``population``: one row per cell of DIMENSIONS with ``people``. ``activity``: one row
    per cell and setting with ``count``, ``bed_days`` and ``cost`` (pounds, 2023-24).
    """

    year: FinancialYear
    population: pd.DataFrame
    activity: pd.DataFrame
    source: str = ""
    cohorts: dict[str, CohortProfile] = field(default_factory=dict)

    def summary(self, by: str | None = None) -> pd.DataFrame:
        """Activity, bed days and cost by setting (and ``by``, a dimension, if given)."""
        keys = ["setting"] if by is None else [by, "setting"]
        out = self.activity.groupby(keys, as_index=False)[["count", "bed_days", "cost"]].sum()
        return out.sort_values(keys, ignore_index=True)

    @property
    def people(self) -> int:
        """Headcount of the baseline population."""
        return int(self.population["people"].sum())

    def scaled(self, factor: float) -> Baseline:
        """The same baseline with every count multiplied (benchmarks, what-if sizes)."""
        pop = self.population.assign(people=self.population["people"] * factor)
        cols = ["count", "bed_days", "cost"]
        act = self.activity.copy()
        act[cols] = act[cols] * factor
        cohorts = {k: v.scaled(factor) for k, v in self.cohorts.items()}
        return replace(self, population=pop, activity=act, cohorts=cohorts)


@dataclass
class CohortProfile:
    """People an intervention can reach, by age band and sex, and their activity a year."""

    population: pd.DataFrame  # age_band, sex, people
    activity: pd.DataFrame  # age_band, sex, setting, count, bed_days, cost

    def scaled(self, factor: float) -> CohortProfile:
        """Counts multiplied by ``factor``."""
        act = self.activity.copy()
        act[["count", "bed_days", "cost"]] *= factor
        return CohortProfile(self.population.assign(people=self.population["people"] * factor), act)


def _cohort_filter(pp: ibis.Table, wh: Warehouse, fy: FinancialYear, cohort: Cohort) -> ibis.Table:
    preds = []
    if cohort.segments:
        preds.append(pp.segment.isin(cohort.segments))
    if cohort.risk_tiers:
        preds.append(pp.risk_tier.isin(cohort.risk_tiers))
    if cohort.age_bands:
        preds.append(pp.age_band.isin(cohort.age_bands))
    if cohort.age_min is not None:
        preds.append(pp.age >= cohort.age_min)
    if cohort.age_max is not None:
        preds.append(pp.age <= cohort.age_max)
    if cohort.sex:
        preds.append(pp.sex.isin(cohort.sex))
    if cohort.footprints:
        preds.append(pp.footprint_code.isin(cohort.footprints))
    if cohort.min_conditions:
        preds.append(pp.n_conditions >= cohort.min_conditions)
    out = pp.filter(*preds) if preds else pp
    if cohort.conditions:
        c = wh.table("condition")
        having = c.filter(c.condition.isin(cohort.conditions) & (c.recorded_on <= fy.end))
        out = out.semi_join(having.select("person_id").distinct(), "person_id")
    return out


def compute_baseline(
    wh: Warehouse,
    cohorts: dict[str, Cohort] | None = None,
    year: FinancialYear | None = None,
) -> Baseline:
    """The baseline of warehouse ``wh`` and the profile of each cohort (by name)."""
    fy = year or latest_full_year(wh)
    # Computed once and kept as temporary tables: every cohort reuses them.
    pp = people(wh, fy).cache()
    ev = events(wh, fy).cache()
    population, activity = _aggregate(pp, ev, DIMENSIONS)
    profiles = {}
    for name, cohort in (cohorts or {}).items():
        sub = _cohort_filter(pp, wh, fy, cohort)
        pop, act = _aggregate(sub, ev, ("age_band", "sex"))
        profiles[name] = CohortProfile(pop, act)
    return Baseline(fy, population, activity, source=str(wh.location), cohorts=profiles)
