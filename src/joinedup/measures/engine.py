"""Turn measure definitions into warehouse queries: counts by period and group.

All counting happens in the warehouse engine (Ibis, so DuckDB or Spark); only the
aggregates (one row per period and group) come back to Python, where the intervals
are added by :mod:`joinedup.measures.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import pandas as pd

from joinedup.derived import event_source, registered_population
from joinedup.measures.definition import (
    GROUPINGS,
    PERIODS,
    POPULATION,
    Count,
    MeasureDefinition,
    MeasureError,
)
from joinedup.warehouse import Warehouse

# Activity tables and the date column that says when their data start and end.
COVERAGE_COLUMNS = {
    "apc_spell": "admitted_on",
    "op_appointment": "date",
    "gp_appointment": "date",
    "community_contact": "date",
}


@dataclass(frozen=True)
class Period:
    """One reporting period: [start, end] inclusive, with its midpoint and label."""

    start: date
    end: date
    mid: date
    label: str


def financial_year_label(start_year: int) -> str:
    """'2024-25' for the year starting 1 April 2024."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def period_of(day: date, kind: str) -> Period:
    """The period of kind ``kind`` that contains ``day``."""
    if kind == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        label = start.strftime("%Y-%m")
    elif kind == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        end = (start + timedelta(days=95)).replace(day=1) - timedelta(days=1)
        fy = start.year if start.month >= 4 else start.year - 1
        q = ((start.month - 4) % 12) // 3 + 1
        label = f"{financial_year_label(fy)} Q{q}"
    elif kind == "financial_year":
        fy = day.year if day.month >= 4 else day.year - 1
        start, end = date(fy, 4, 1), date(fy + 1, 3, 31)
        label = financial_year_label(fy)
    else:
        raise MeasureError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
    return Period(start, end, start + (end - start) / 2, label)


def periods_between(first: date, last: date, kind: str) -> list[Period]:
    """The complete periods of ``kind`` lying within [first, last]."""
    out = []
    p = period_of(first, kind)
    if p.start < first:
        p = period_of(p.end + timedelta(days=1), kind)
    while p.end <= last:
        out.append(p)
        p = period_of(p.end + timedelta(days=1), kind)
    return out


def coverage(wh: Warehouse) -> tuple[date, date]:
    """First and last day of activity data held (over the main activity tables)."""
    lows, highs = [], []
    for table, column in COVERAGE_COLUMNS.items():
        t = wh.table(table)
        lo, hi = t.aggregate(lo=t[column].min(), hi=t[column].max()).execute().iloc[0]
        if pd.notna(lo):
            lows.append(pd.Timestamp(lo).date())
            highs.append(pd.Timestamp(hi).date())
    if not lows:
        raise MeasureError(f"the warehouse {wh.location} holds no activity yet")
    return min(lows), max(highs)


def _condition_value(t: ibis.Table, field: str, cond: Any) -> ibis.Value:
    col = t[field]
    if isinstance(cond, dict):
        out = ibis.literal(True)
        for op, v in cond.items():
            out &= {
                "eq": lambda c, x: c == x,
                "ne": lambda c, x: c != x,
                "in": lambda c, x: c.isin(list(x)),
                "not_in": lambda c, x: ~c.isin(list(x)),
                "ge": lambda c, x: c >= x,
                "gt": lambda c, x: c > x,
                "le": lambda c, x: c <= x,
                "lt": lambda c, x: c < x,
                "is_null": lambda c, x: c.isnull() if x else c.notnull(),
                "not_null": lambda c, x: c.notnull() if x else c.isnull(),
            }[op](col, v)
        return out
    if isinstance(cond, list):
        return col.isin(cond)
    if cond is None:
        return col.isnull()
    return col == cond


def apply_where(t: ibis.Table, where: dict[str, Any]) -> ibis.Table:
    """Keep the rows of ``t`` meeting every condition of a definition's ``where``."""
    for field, cond in where.items():
        t = t.filter(_condition_value(t, field, cond).fill_null(False))
    return t


def _with_condition(wh: Warehouse, t: ibis.Table, count: Count, on: str) -> ibis.Table:
    """Keep rows of people with one of ``count.condition`` recorded on or before ``on``."""
    if not count.condition:
        return t
    c = wh.table("condition")
    c = (
        c.filter(c.condition.isin(count.condition))
        .group_by("person_id")
        .agg(first_recorded=c.recorded_on.min())
    )
    joined = t.inner_join(c, "person_id")
    return joined.filter(joined.first_recorded <= joined[on]).drop("first_recorded")


def _period_start(d: ibis.Value, kind: str) -> ibis.Value:
    if kind == "month":
        return d.truncate("M")
    if kind == "quarter":
        return d.truncate("Q")
    fy = ibis.ifelse(d.month() >= 4, d.year(), d.year() - 1)
    return ibis.date(fy, 4, 1)


def _periods_table(periods: list[Period]) -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame(
            {
                "period_start": [p.start for p in periods],
                "period_mid": [p.mid for p in periods],
            }
        ).astype({"period_start": "datetime64[s]", "period_mid": "datetime64[s]"})
    ).mutate(period_start=ibis._.period_start.date(), period_mid=ibis._.period_mid.date())


def _aggregate(
    t: ibis.Table, keys: list[str], count: Count, name: str, mean: bool = False
) -> ibis.Table:
    if mean:
        v = t[count.value].cast("float64")
        return t.group_by(keys).agg(n=v.count(), total=v.sum(), total_sq=(v * v).sum())
    if count.value:
        return t.group_by(keys).agg(**{name: t[count.value].cast("float64").sum()})
    return t.group_by(keys).agg(**{name: t.count().cast("float64")})


def aggregate(
    wh: Warehouse,
    d: MeasureDefinition,
    by: str = "partnership",
    period: str | None = None,
    periods: list[Period] | None = None,
) -> pd.DataFrame:
    """Numerator and denominator of measure ``d`` per period and group, from the warehouse.

    Returns one row per (period_start, group) with ``numerator`` and ``denominator``
    (for a mean: ``n``, ``total``, ``total_sq``); for a standardised rate also one row
    per ESP 2013 age band (column ``esp_band``).
    """
    if by not in d.groupings:
        raise MeasureError(
            f"measure {d.id!r} cannot be grouped by {by!r}; it allows: {', '.join(d.groupings)}"
        )
    kind = period or d.period
    if periods is None:
        periods = periods_between(*coverage(wh), kind)
    if not periods:
        raise MeasureError(f"the warehouse holds no complete {kind.replace('_', ' ')} of data")
    first, last = periods[0].start, periods[-1].end
    group_col = GROUPINGS[by]
    keys = ["period_start", group_col]
    if d.standardisation == "esp2013":
        keys.append("esp_band")

    num = d.numerator_count
    events = event_source(wh, num.source)
    events = events.filter((events.event_date >= first) & (events.event_date <= last))
    events = _with_condition(wh, apply_where(events, num.where), num, "event_date")
    events = events.mutate(period_start=_period_start(events.event_date, kind))
    if d.kind == "mean":
        result = _aggregate(events, keys, num, "numerator", mean=True)
    else:
        numerator = _aggregate(events, keys, num, "numerator")
        den = d.denominator
        if den.source == POPULATION:
            pop = registered_population(wh, _periods_table(periods))
            pop = _with_condition(wh, apply_where(pop, den.where), den, "period_mid")
            denominator = _aggregate(pop, keys, den, "denominator")
        else:
            de = event_source(wh, den.source)
            de = de.filter((de.event_date >= first) & (de.event_date <= last))
            de = _with_condition(wh, apply_where(de, den.where), den, "event_date")
            de = de.mutate(period_start=_period_start(de.event_date, kind))
            denominator = _aggregate(de, keys, den, "denominator")
        result = denominator.outer_join(numerator, keys)
        result = result.select(
            *[ibis.coalesce(result[k], result[f"{k}_right"]).name(k) for k in keys],
            numerator=result.numerator.fill_null(0),
            denominator=result.denominator.fill_null(0),
        )
    frame = result.to_pandas()
    frame = frame.rename(columns={group_col: "group"})
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    labels = {p.start: p.label for p in periods}
    frame.insert(1, "period", frame["period_start"].map(labels))
    frame.insert(0, "grouping", by)
    frame.insert(0, "measure_id", d.id)
    sort = ["period_start", "group", *(["esp_band"] if "esp_band" in frame else [])]
    return frame.sort_values(sort, na_position="last").reset_index(drop=True)
