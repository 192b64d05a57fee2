"""Counting for opportunity analysis, in the warehouse engine (Ibis).

Only aggregates come back to Python: per unit and stratum (age band, sex, IMD
quintile) the measure's numerator and denominator over the analysis window, the
bed days and cost that one avoidable event stands for, the population profile of
each unit (for similar peers) and which practices make up each unit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import pandas as pd

from joinedup.measures.conditions import apply_where, with_condition
from joinedup.measures.definition import (
    GROUPINGS,
    POPULATION,
    POPULATION_FIELDS,
    Count,
    MeasureDefinition,
)
from joinedup.measures.engine import Sources
from joinedup.measures.periods import Period, coverage, periods_between
from joinedup.warehouse import Warehouse
from joinedup.warehouse.sums import exact_mean

#: Analysis window: the latest this many complete months of data.
WINDOW_MONTHS = 12
STRATA = ["age_band", "sex", "imd_quintile"]
UNIT_GROUPINGS = ("practice", "cluster", "footprint", "provider")
MINORITY_ETHNIC_GROUPS_EXCLUDE = ("White", "Unknown")
# Columns of the registered population that measures' filters and the profile read.
POPULATION_COLUMNS = ("person_id", "period_mid", *POPULATION_FIELDS)


@dataclass(frozen=True)
class EventBasis:
    """What one avoidable event stands for: bed days and pounds, and where they came from."""

    bed_days: float
    cost: float
    basis: str


def window(wh: Warehouse, follow_up_days: int = 0, months: int = WINDOW_MONTHS) -> list[Period]:
    """The latest ``months`` complete months of data, leaving ``follow_up_days`` after."""
    first, last = coverage(wh)
    periods = periods_between(first, last - timedelta(days=follow_up_days), "month")
    if not periods:
        raise ValueError(f"the warehouse {wh.location} holds no complete month of data")
    return periods[-months:]


class Inputs:
    """Event sources and population over one window, materialised once and shared."""

    def __init__(self, wh: Warehouse, periods: list[Period]):
        self.wh, self.periods = wh, periods
        self.sources = Sources(wh, "month", periods)
        self._events: dict[str, ibis.Table] = {}
        self._population: ibis.Table | None = None
        self.memo: dict[Any, pd.DataFrame] = {}

    @property
    def label(self) -> str:
        """The window as text, e.g. '2025-04 to 2026-03'."""
        return f"{self.periods[0].label} to {self.periods[-1].label}"

    def events(self, name: str) -> ibis.Table:
        """Event source ``name`` within the window (materialised where supported)."""
        if name not in self._events:
            self._events[name] = _cache(self.sources.events(name))
        return self._events[name]

    def population(self) -> ibis.Table:
        """Registered population at each month's midpoint (one row per person-month)."""
        if self._population is None:
            pop = self.sources.population()
            self._population = _cache(
                pop.select(*[c for c in POPULATION_COLUMNS if c in pop.columns])
            )
        return self._population

    def release(self) -> None:
        """Drop the materialised tables."""
        for t in [
            *self._events.values(),
            *([self._population] if self._population is not None else []),
        ]:
            with contextlib.suppress(Exception):
                t.release()
        self._events.clear()
        self._population = None


def _cache(t: ibis.Table) -> ibis.Table:
    try:
        return t.cache()
    except NotImplementedError:
        return t


def _rows(inputs: Inputs, count: Count) -> ibis.Table:
    if count.source == POPULATION:
        t = inputs.population()
        return with_condition(inputs.wh, apply_where(t, count.where), count, "period_mid")
    t = inputs.events(count.source)
    return with_condition(inputs.wh, apply_where(t, count.where), count, "event_date")


def _by_unit_and_stratum(t: ibis.Table, by: str, scale: float = 1.0) -> pd.DataFrame:
    column = GROUPINGS[by]
    keys = {
        "unit": t[column].cast("string").fill_null("unknown"),
        "age_band": t.age_band.fill_null("unknown"),
        "sex": t.sex.cast("string").fill_null("unknown"),
        "imd_quintile": t.imd_quintile.cast("string").fill_null("unknown"),
    }
    frame = t.group_by(**keys).agg(n=t.count()).execute()
    frame["n"] = frame["n"].astype(float) / scale
    return frame


def strata_counts(inputs: Inputs, d: MeasureDefinition, by: str) -> pd.DataFrame:
    """``unit``, ``age_band``, ``sex``, ``imd_quintile``, ``observed``, ``denominator``.

    For a rate the denominator is person-years (registered person-months / 12); for a
    proportion it is the denominator's events. Strata with no denominator are dropped.
    """
    key = ("strata", d.id, by)
    if key in inputs.memo:
        return inputs.memo[key]
    num = _by_unit_and_stratum(_rows(inputs, d.numerator_count), by)
    scale = 12.0 if d.denominator.source == POPULATION else 1.0
    den_key = ("den", by, d.denominator.model_dump_json())
    if den_key not in inputs.memo:
        inputs.memo[den_key] = _by_unit_and_stratum(_rows(inputs, d.denominator), by, scale)
    den = inputs.memo[den_key]
    out = den.rename(columns={"n": "denominator"}).merge(
        num.rename(columns={"n": "observed"}), on=["unit", *STRATA], how="outer"
    )
    out[["observed", "denominator"]] = out[["observed", "denominator"]].fillna(0.0)
    # Events of people outside the denominator (e.g. registered after the midpoint)
    # are kept: drop only strata with neither.
    out = out[(out["denominator"] > 0) | (out["observed"] > 0)]
    out = out.sort_values(["unit", *STRATA]).reset_index(drop=True)
    inputs.memo[key] = out
    return out


# Numerator flags whose avoidable "event" is not the counted row itself:
# flag -> (rows that stand for it, bed-day column, cost: "events" mean or "bed_day").
_BASIS_OVERRIDES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "readmitted_30d": (
        {"emergency": True},
        "los_days",
        "events",
        "an avoided readmission is an emergency spell: mean length of stay and cost of "
        "emergency spells",
    ),
    "stay_21_plus": (
        {"emergency": True, "stay_21_plus": True},
        "excess_bed_days",
        "bed_day",
        "a shortened long stay saves its bed days beyond the trim point, at the excess "
        "bed day tariff",
    ),
    "zero_los": (
        {"emergency": True, "zero_los": False},
        "los_days",
        "bed_day",
        "a same-day instead of an overnight emergency stay saves the overnight stay's bed "
        "days, at the excess bed day tariff",
    ),
}

# Reference tariff (england_benchmarks.yaml unit_costs_gbp_2023_24) per source when the
# events carry no cost: (source, flag that must be in the numerator or None, tariff key).
_TARIFFS: tuple[tuple[str, str | None, str], ...] = (
    ("apc_spell", "emergency", "emergency_admission_spell"),
    ("apc_spell", None, "elective_spell"),
    ("ae_attendance", None, "ae_type1_attendance"),
    ("gp_appointment", None, "gp_appointment"),
    ("community_contact", None, "community_nurse_contact"),
)


def unit_costs() -> dict[str, float]:
    """Reference unit costs in pounds, 2023-24 prices (the synthetic economy's tariff)."""
    from joinedup.scenarios.settings import reference_unit_costs

    return reference_unit_costs()


def _tariff(source: str, where: dict[str, Any]) -> tuple[float, str] | None:
    for src, flag, key in _TARIFFS:
        if src == source and (flag is None or where.get(flag) is True):
            return float(unit_costs()[key]), f"reference tariff {key}"
    return None


def event_basis(inputs: Inputs, d: MeasureDefinition) -> EventBasis:
    """Bed days and cost per avoidable event of ``d`` (partnership-wide means)."""
    key = ("basis", d.id)
    if key in inputs.memo:
        return inputs.memo[key]
    num = d.numerator_count
    override = next((v for f, v in _BASIS_OVERRIDES.items() if f in num.where), None)
    if override is not None:
        where, bed_col, cost_mode, why = override
        count = num.model_copy(update={"where": where, "condition": []})
    elif d.kind == "rate" and not num.value:
        where, bed_col, cost_mode = num.where, "los_days", "events"
        count, why = num, "mean length of stay and cost of the counted events"
    else:
        basis = EventBasis(0.0, 0.0, "no bed days or cost attached to this measure's events")
        inputs.memo[key] = basis
        return basis
    t = _rows(inputs, count)
    aggs: dict[str, Any] = {"n": t.count()}
    # Exact means: a parallel AVG of doubles differs in its last digits run to run.
    if bed_col in t.columns:
        aggs["bed_days"] = exact_mean(t[bed_col].cast("float64"))
    if "cost" in t.columns:
        aggs["cost"] = exact_mean(t.cost.cast("float64"))
    row = t.aggregate(**aggs).execute().iloc[0]
    bed_days = float(row.get("bed_days", 0.0)) if pd.notna(row.get("bed_days")) else 0.0
    if cost_mode == "bed_day":
        cost = bed_days * float(unit_costs()["excess_bed_day"])
    elif pd.notna(row.get("cost")) and float(row.get("cost", 0.0)) > 0:
        cost = float(row["cost"])
        why += " (cost column of the events)"
    else:
        tariff = _tariff(count.source, where)
        cost, source = tariff if tariff else (0.0, "no tariff")
        why += f" ({source})"
    basis = EventBasis(bed_days, cost, why)
    inputs.memo[key] = basis
    return basis


def practice_map(wh: Warehouse) -> pd.DataFrame:
    """Every practice with its cluster and footprint."""
    p = wh.table("practice")
    return (
        p.select("practice_code", "cluster_code", "footprint_code")
        .execute()
        .sort_values("practice_code")
        .reset_index(drop=True)
    )


def population_profile(inputs: Inputs, by: str) -> pd.DataFrame:
    """Per unit, the population features peers are chosen by (see peers.FEATURES).

    People registered at the midpoint of the window's middle month: shares aged under
    18, 65 and over, 85 and over; share in the most deprived national fifth; share
    of minority ethnic groups; share with a long-term condition recorded by then.
    """
    key = ("profile", by)
    if key in inputs.memo:
        return inputs.memo[key]
    mid = inputs.periods[len(inputs.periods) // 2].mid
    pop = inputs.population()
    pop = pop.filter(pop.period_mid == mid)
    c = inputs.wh.table("condition")
    ltc = (
        c.filter(c.recorded_on <= mid)
        .select("person_id")
        .distinct()
        .mutate(has_ltc=ibis.literal(1))
    )
    pop = pop.left_join(ltc, "person_id")
    pop = pop.drop(*[col for col in pop.columns if col.endswith("_right")])
    column = GROUPINGS[by]
    frame = (
        pop.group_by(unit=pop[column].cast("string").fill_null("unknown"))
        .agg(
            population=pop.count(),
            under_18=(pop.age < 18).cast("int64").sum(),
            aged_65_plus=(pop.age >= 65).cast("int64").sum(),
            aged_85_plus=(pop.age >= 85).cast("int64").sum(),
            most_deprived=(pop.imd_quintile == 1).fill_null(False).cast("int64").sum(),
            minority_ethnic=(~pop.ethnic_group.isin(MINORITY_ETHNIC_GROUPS_EXCLUDE))
            .fill_null(False)
            .cast("int64")
            .sum(),
            long_term_condition=pop.has_ltc.fill_null(0).sum(),
        )
        .execute()
    )
    for col in frame.columns:
        if col not in ("unit", "population"):
            frame[col] = frame[col].astype(float) / frame["population"]
    frame = frame.sort_values("unit").reset_index(drop=True)
    inputs.memo[key] = frame
    return frame


def window_mid(periods: list[Period]) -> date:
    """The midpoint day of the window's middle month."""
    return periods[len(periods) // 2].mid
