"""Person-level features at an index date, computed in the warehouse engine.

One row per (person, index date): age, sex, deprivation, long-term conditions recorded
before the date and their count, activity in the 12 months before the date by setting
(emergency and elective admissions, bed days, A&E, outpatients, GP, community), its
recency and cost, social care at the date, and (optionally) the Hospital Frailty Risk
Score and Charlson index over the same look-back. The risk model uses one index date
for everybody (``person_features``); the evaluation uses each person's own enrolment or
comparison date (``features_at``). Both are Ibis expressions, so they run unchanged on
every warehouse backend; nothing here loops over people in Python.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from joinedup.derived.persons import is_registered, persons, with_age
from joinedup.schema import codes
from joinedup.warehouse import Warehouse
from joinedup.warehouse.sums import exact_sum

LOOKBACK_DAYS = 365
RECENT_DAYS = 90
# Conditions in the order features and model cards list them (QOF register names).
CONDITIONS: tuple[str, ...] = tuple(codes.CONDITION)

# Activity counted over a period, in the order they appear in a feature row.
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "emergency_admissions",
    "emergency_admissions_90d",
    "emergency_bed_days",
    "elective_admissions",
    "maternity_admissions",
    "bed_days",
    "ae_attendances",
    "op_attendances",
    "op_dna",
    "gp_appointments",
    "community_contacts",
    "cost",
    "days_since_emergency",
)

# Columns a model may use (numbers only; categorical attributes are encoded).
NUMERIC_FEATURES: tuple[str, ...] = (
    "age",
    "female",
    "imd_decile",
    *(f"ltc_{c}" for c in CONDITIONS),
    "ltc_count",
    *ACTIVITY_COLUMNS,
    "social_care",
    "care_home",
)
SCORE_FEATURES: tuple[str, ...] = ("hfrs", "charlson")


def _in_period(when: ir.Value, start: ir.Value, end: ir.Value) -> ir.BooleanValue:
    return (when >= start) & (when < end)


def activity(wh: Warehouse, periods: ir.Table) -> ir.Table:
    """Activity of each person in each period, counted in the warehouse.

    ``periods`` has ``person_id``, ``period_start`` and ``period_end`` (dates, end
    exclusive) and any other key columns (e.g. ``index_date``); it must have one row per
    key. Returns ``periods`` with the columns of ``ACTIVITY_COLUMNS`` added (zero when
    nothing happened; ``days_since_emergency`` is days from the latest emergency
    admission to the period end, or the period length plus one when there was none).
    Admissions and their bed days and cost belong to the period they start in. Costs are
    summed exactly, so a person's cost (a feature of the risk model) is the same each run.
    """
    keys = list(periods.columns)
    p = periods.rename(_pid="person_id")
    pkeys = ["_pid" if k == "person_id" else k for k in keys]

    s = wh.table("apc_spell")
    spells = s.mutate(
        emergency=s.admission_method.isin(codes.EMERGENCY_METHODS),
        elective=s.admission_method.isin(codes.ELECTIVE_METHODS),
        maternity=s.admission_method.isin(codes.MATERNITY_METHODS),
        los=s.discharged_on.delta(s.admitted_on, unit="day").fill_null(0),
    )
    sj = spells.inner_join(p, spells.person_id == p._pid)
    sj = sj.filter(_in_period(sj.admitted_on, sj.period_start, sj.period_end))
    recent_start = sj.period_end - ibis.interval(days=RECENT_DAYS)
    apc = sj.group_by(pkeys).aggregate(
        emergency_admissions=sj.emergency.sum(),
        emergency_admissions_90d=(sj.emergency & (sj.admitted_on >= recent_start)).sum(),
        emergency_bed_days=ibis.cases((sj.emergency, sj.los), else_=0).sum(),
        elective_admissions=sj.elective.sum(),
        maternity_admissions=sj.maternity.sum(),
        bed_days=sj.los.sum(),
        apc_cost=exact_sum(sj.cost.fill_null(0)),
        last_emergency=ibis.cases((sj.emergency, sj.admitted_on), else_=None).max(),
    )

    a = wh.table("ae_attendance")
    aj = a.inner_join(p, a.person_id == p._pid)
    aj = aj.filter(_in_period(aj.arrived_at.date(), aj.period_start, aj.period_end))
    ae = aj.group_by(pkeys).aggregate(
        ae_attendances=aj.count(), ae_cost=exact_sum(aj.cost.fill_null(0))
    )

    o = wh.table("op_appointment")
    oj = o.inner_join(p, o.person_id == p._pid)
    oj = oj.filter(_in_period(oj.date, oj.period_start, oj.period_end))
    op = oj.group_by(pkeys).aggregate(
        op_attendances=oj.attended.isin(codes.OP_SEEN).sum(),
        op_dna=oj.attended.isin(codes.OP_DNA).sum(),
        op_cost=exact_sum(oj.cost.fill_null(0)),
    )

    g = wh.table("gp_appointment")
    gj = g.inner_join(p, g.person_id == p._pid)
    gj = gj.filter(_in_period(gj.date, gj.period_start, gj.period_end))
    gp = gj.group_by(pkeys).aggregate(gp_appointments=gj.count())

    c = wh.table("community_contact")
    cj = c.inner_join(p, c.person_id == p._pid)
    cj = cj.filter(_in_period(cj.date, cj.period_start, cj.period_end))
    cc = cj.group_by(pkeys).aggregate(
        community_contacts=cj.count(), community_cost=exact_sum(cj.cost.fill_null(0))
    )

    out = p
    for part in (apc, ae, op, gp, cc):
        out = out.left_join(part, pkeys).drop(*(f"{k}_right" for k in pkeys))
    out = out.rename(person_id="_pid")
    length = out.period_end.delta(out.period_start, unit="day")
    zero = ibis.literal(0)
    return out.select(
        *keys,
        emergency_admissions=out.emergency_admissions.fill_null(zero),
        emergency_admissions_90d=out.emergency_admissions_90d.fill_null(zero),
        emergency_bed_days=out.emergency_bed_days.fill_null(zero),
        elective_admissions=out.elective_admissions.fill_null(zero),
        maternity_admissions=out.maternity_admissions.fill_null(zero),
        bed_days=out.bed_days.fill_null(zero),
        ae_attendances=out.ae_attendances.fill_null(zero),
        op_attendances=out.op_attendances.fill_null(zero),
        op_dna=out.op_dna.fill_null(zero),
        gp_appointments=out.gp_appointments.fill_null(zero),
        community_contacts=out.community_contacts.fill_null(zero),
        cost=(
            out.apc_cost.fill_null(0.0)
            + out.ae_cost.fill_null(0.0)
            + out.op_cost.fill_null(0.0)
            + out.community_cost.fill_null(0.0)
        ),
        days_since_emergency=out.period_end.delta(out.last_emergency, unit="day").fill_null(
            length + 1
        ),
    )


def features_at(
    wh: Warehouse,
    index: ir.Table,
    lookback_days: int = LOOKBACK_DAYS,
    scores: bool = False,
) -> ir.Table:
    """Features of each (``person_id``, ``index_date``) row of ``index``.

    Conditions count if recorded before the index date; activity is that of the
    ``lookback_days`` before it; age is in whole years at the index date; social care
    and care home mean a long-term (or residential / nursing) package open on the date.
    With ``scores``, the HFRS and Charlson index over the look-back are added (needs
    the index to hold a single date).
    """
    idx = index.select("person_id", "index_date").distinct()
    people = persons(wh).drop("registered_from", "registered_to", "place_of_death")
    base = idx.inner_join(people, "person_id")
    base = with_age(base, base.index_date).drop("esp_band")
    base = base.mutate(female=(base.sex == "F").cast("int8"))

    cond = wh.table("condition")
    cj = cond.inner_join(idx, "person_id")
    cj = cj.filter(cj.recorded_on < cj.index_date)
    flags = cj.group_by(["person_id", "index_date"]).aggregate(
        **{f"ltc_{c}": (cj.condition == c).any().cast("int8") for c in CONDITIONS}
    )
    base = base.left_join(flags, ["person_id", "index_date"]).drop(
        "person_id_right", "index_date_right"
    )
    base = base.mutate(**{f"ltc_{c}": base[f"ltc_{c}"].fill_null(0) for c in CONDITIONS})
    ltc_sum = sum((base[f"ltc_{c}"].cast("int16") for c in CONDITIONS), ibis.literal(0))
    base = base.mutate(ltc_count=ltc_sum.cast("int16"))

    sc = wh.table("social_care_service")
    sj = sc.inner_join(idx, "person_id")
    sj = sj.filter(
        (sj.started_on <= sj.index_date) & (sj.ended_on.isnull() | (sj.ended_on > sj.index_date))
    )
    care = sj.group_by(["person_id", "index_date"]).aggregate(
        social_care=sj.service_type.isin(codes.SOCIAL_CARE_LONG_TERM).any().cast("int8"),
        care_home=sj.service_type.isin(("residential_care", "nursing_care")).any().cast("int8"),
    )
    base = base.left_join(care, ["person_id", "index_date"]).drop(
        "person_id_right", "index_date_right"
    )
    base = base.mutate(
        social_care=base.social_care.fill_null(0), care_home=base.care_home.fill_null(0)
    )

    periods = idx.mutate(
        period_start=idx.index_date - ibis.interval(days=lookback_days),
        period_end=idx.index_date,
    )
    act = activity(wh, periods).drop("period_start", "period_end")
    out = base.left_join(act, ["person_id", "index_date"]).drop(
        "person_id_right", "index_date_right"
    )
    if scores:
        out = _with_scores(wh, out, index, lookback_days)
    return out


def _with_scores(wh: Warehouse, t: ir.Table, index: ir.Table, lookback_days: int) -> ir.Table:
    from joinedup.risk.scores import person_scores

    as_of = pd.Timestamp(index.index_date.max().execute()).date()
    years = max(1, round(lookback_days / 365))
    for name, score in (("hfrs", "hfrs"), ("charlson", "charlson")):
        s = person_scores(wh, score, as_of, years).select("person_id", **{name: "score"})
        t = t.left_join(s, "person_id").drop("person_id_right")
        t = t.mutate(**{name: t[name].fill_null(0)})
    return t


def registered_on(wh: Warehouse, when: date) -> ir.Table:
    """``person_id`` of everyone registered and alive on ``when``."""
    p = wh.table("person")
    return p.filter(is_registered(p, when)).select("person_id")


def person_features(
    wh: Warehouse, as_of: date, lookback_days: int = LOOKBACK_DAYS, scores: bool = True
) -> ir.Table:
    """Features of everyone registered and alive on ``as_of``, as at that date."""
    index = registered_on(wh, as_of).mutate(index_date=ibis.literal(as_of))
    return features_at(wh, index, lookback_days, scores=scores)


def emergency_outcome(wh: Warehouse, start: date, days: int = 365) -> ir.Table:
    """``person_id`` and ``admitted`` (1) for everyone with an emergency admission in
    [start, start + days)."""
    s = wh.table("apc_spell")
    end = start + timedelta(days=days)
    hit = s.filter(
        s.admission_method.isin(codes.EMERGENCY_METHODS)
        & (s.admitted_on >= start)
        & (s.admitted_on < end)
    )
    return hit.select("person_id").distinct().mutate(admitted=ibis.literal(1, "int8"))


def data_end(wh: Warehouse) -> date:
    """The day after the latest admission or A&E arrival: where the data stop."""
    latest = max(
        pd.Timestamp(wh.table("apc_spell").admitted_on.max().execute()),
        pd.Timestamp(wh.table("ae_attendance").arrived_at.max().execute()).normalize(),
    )
    if pd.isna(latest):
        raise ValueError("apc_spell is empty: load admitted patient care data first")
    return latest.date() + timedelta(days=1)
