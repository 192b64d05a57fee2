"""Reporting periods (month, quarter, financial year) and the data's coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import pandas as pd

from joinedup.measures.definition import PERIODS, MeasureError
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


def period_start_of(d: ibis.Value, kind: str) -> ibis.Value:
    """The start of the period of ``kind`` holding date ``d`` (a warehouse expression)."""
    if kind == "month":  # a date from its parts: DuckDB's truncate goes via a timestamp
        return ibis.date(d.year(), d.month(), 1)
    if kind == "quarter":
        return d.truncate("Q")
    fy = ibis.ifelse(d.month() >= 4, d.year(), d.year() - 1)
    return ibis.date(fy, 4, 1)


def periods_table(periods: list[Period]) -> ibis.Table:
    """``periods`` as an in-memory table: ``period_start`` and ``period_mid`` (dates)."""
    return ibis.memtable(
        pd.DataFrame(
            {
                "period_start": [p.start for p in periods],
                "period_mid": [p.mid for p in periods],
            }
        ).astype({"period_start": "datetime64[s]", "period_mid": "datetime64[s]"})
    ).mutate(period_start=ibis._.period_start.date(), period_mid=ibis._.period_mid.date())
