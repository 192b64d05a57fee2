"""Turn measure definitions into warehouse queries: counts by period and group.

All counting happens in the warehouse engine (Ibis, so DuckDB or Spark); only the
aggregates (one row per period and group) come back to Python, where the intervals
are added by :mod:`joinedup.measures.stats`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
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
    POPULATION_FIELDS,
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


def with_condition(wh: Warehouse, t: ibis.Table, count: Count, on: str) -> ibis.Table:
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


def _mask(t: ibis.Table, where: dict[str, Any]) -> ibis.Value:
    """One boolean expression: every condition of ``where`` holds (missing = false)."""
    out = ibis.literal(True)
    for field, cond in where.items():
        out &= _condition_value(t, field, cond).fill_null(False)
    return out


def _needed_columns(plan: Iterable[MeasureDefinition]) -> dict[str, set[str]]:
    """Columns of each event source that two or more of ``plan``'s counts read."""
    uses: dict[str, int] = {}
    columns: dict[str, set[str]] = {}
    base = {"person_id", "event_date", "period_start", "esp_band", *GROUPINGS.values()}
    for d in plan:
        for count in (d.numerator_count, d.denominator):
            if count is None or count.source in (None, POPULATION):
                continue
            uses[count.source] = uses.get(count.source, 0) + 1
            cols = columns.setdefault(count.source, set(base))
            cols.update(count.where)
            if count.value:
                cols.add(count.value)
    return {source: cols for source, cols in columns.items() if uses[source] >= 2}


class Sources:
    """The inputs one compute run shares between measures.

    Event sources are restricted to the run's periods and given ``period_start``. Give
    ``plan`` (the definitions the run will compute) and every source that two or more of
    them read is materialised once (``Table.cache()``, on backends that support it) with
    just the columns they need, so the readmission window and the person joins are
    computed once, not once per measure. Aggregated denominators are remembered too:
    most rates share the registered population.
    """

    def __init__(
        self,
        wh: Warehouse,
        kind: str,
        periods: list[Period],
        plan: Iterable[MeasureDefinition] = (),
        data_end: date | None = None,
    ):
        if kind not in PERIODS:
            raise MeasureError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
        if not periods:
            raise MeasureError(f"the warehouse holds no complete {kind.replace('_', ' ')} of data")
        self.wh, self.kind, self.periods = wh, kind, periods
        self.data_end = data_end or periods[-1].end
        self.labels = {p.start: p.label for p in periods}
        self.plan = list(plan)
        self.columns = _needed_columns(self.plan)
        self._population_counts: dict[str, pd.DataFrame] | None = None
        self._events: dict[str, ibis.Table] = {}
        self._population: ibis.Table | None = None
        self.memo: dict[str, pd.DataFrame] = {}

    @classmethod
    def for_warehouse(
        cls, wh: Warehouse, kind: str, plan: Iterable[MeasureDefinition] = ()
    ) -> Sources:
        """Sources over every complete period of ``kind`` in the warehouse's data."""
        if kind not in PERIODS:
            raise MeasureError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
        first, last = coverage(wh)
        return cls(wh, kind, periods_between(first, last, kind), plan, last)

    def events(self, name: str) -> ibis.Table:
        """Event source ``name`` within the run's periods, with ``period_start``."""
        if name not in self._events:
            first, last = self.periods[0].start, self.periods[-1].end
            e = event_source(self.wh, name)
            e = e.filter((e.event_date >= first) & (e.event_date <= last))
            e = e.mutate(period_start=_period_start(e.event_date, self.kind))
            if name in self.columns:
                e = self._cache(e.select(*[c for c in e.columns if c in self.columns[name]]))
            self._events[name] = e
        return self._events[name]

    def population(self) -> ibis.Table:
        """Registered population at each period's midpoint (one row per person and period)."""
        if self._population is None:
            self._population = registered_population(self.wh, _periods_table(self.periods))
        return self._population

    def _cache(self, t: ibis.Table) -> ibis.Table:
        try:
            return t.cache()
        except NotImplementedError:  # backends without temporary tables
            return t

    def population_counts(self, count: Count) -> pd.DataFrame | None:
        """Counts of the registered population matching ``count``, by ESP band.

        On first use, every population denominator of the plan is counted in one pass
        over the population (a conditional sum each), by every population grouping the
        plan asks for. None when ``count`` is not one of the plan's.
        """
        if self._population_counts is None:
            self._population_counts = _count_populations(self)
        return self._population_counts.get(_key(count.model_dump()))

    def release(self) -> None:
        """Drop the materialised tables (call before closing the warehouse)."""
        for t in self._events.values():
            with contextlib.suppress(Exception):
                t.release()
        self._events.clear()

    def label(self, start: date) -> str:
        """The label of the period starting on ``start``."""
        return self.labels[start]


def _grouped(
    wh: Warehouse,
    t: ibis.Table,
    groupings: list[str],
    keys: list[str],
    values: dict[str, ibis.Value | None],
    mean: bool = False,
) -> pd.DataFrame:
    """Aggregate ``t`` by period, ``keys`` and each grouping, in one GROUPING SETS query.

    ``values`` maps output names to a numeric expression to sum (None: count rows). For
    a mean the single value gives ``n``, ``total`` and ``total_sq``. Missing group values
    are reported as "unknown". Returns a long frame with ``grouping`` and ``group``.
    """
    gcols = {g: f"g_{g}" for g in groupings}
    inner = t.select(
        period_start=t.period_start,
        **{k: t[k] for k in keys},
        **{gcols[g]: t[GROUPINGS[g]].cast("string").fill_null("unknown") for g in groupings},
        **{name: v.cast("float64") for name, v in values.items() if v is not None},
    )
    if mean:
        (name,) = values
        aggs = [f"count({name}) AS n", f"sum({name}) AS total", f"sum({name} * {name}) AS total_sq"]
    else:
        aggs = [
            f"count(*) AS {name}" if v is None else f"sum({name}) AS {name}"
            for name, v in values.items()
        ]
    # The outer query is SQL (Ibis has no GROUPING SETS); register the in-memory
    # tables (the periods) that the compiled inner query refers to, as execute() would.
    wh.con._run_pre_execute_hooks(inner)
    base = ["period_start", *keys]
    sets = ", ".join(f"({', '.join([*base, gcols[g]])})" for g in groupings)
    sql = (
        f"SELECT {', '.join([*base, *gcols.values(), *aggs])} "
        f"FROM ({wh.con.compile(inner)}) AS src GROUP BY GROUPING SETS ({sets})"
    )
    frame = wh.con.sql(sql).to_pandas()
    parts = []
    for g, col in gcols.items():
        part = frame[frame[col].notna()].drop(columns=[c for c in gcols.values() if c != col])
        part = part.rename(columns={col: "group"})
        part.insert(0, "grouping", g)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    out["group"] = out["group"].astype(str)
    return out


def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def _count_frame(
    src: Sources, count: Count, groupings: list[str], keys: list[str], name: str
) -> pd.DataFrame:
    """Numerator or denominator ``count`` aggregated for every grouping (memoised)."""
    memo = _key(count.model_dump(), groupings, keys, name)
    if memo in src.memo:
        return src.memo[memo]
    shared = src.population_counts(count) if count.source == POPULATION else None
    if shared is not None and set(groupings) <= set(shared["grouping"]):
        out = shared[shared["grouping"].isin(groupings)]
        index = ["grouping", "period_start", "group", *keys]
        out = out.groupby(index, as_index=False, sort=False)["count"].sum()
        src.memo[memo] = out.rename(columns={"count": name})
        return src.memo[memo]
    if count.source == POPULATION:
        t = src.population()
        t = with_condition(src.wh, apply_where(t, count.where), count, "period_mid")
    else:
        t = src.events(count.source)
        t = with_condition(src.wh, apply_where(t, count.where), count, "event_date")
    values: dict[str, ibis.Value | None] = {name: t[count.value] if count.value else None}
    if count.value:
        values[f"{name}_events"] = None
    out = _grouped(src.wh, t, groupings, keys, values)
    src.memo[memo] = out
    return out


def _count_populations(src: Sources) -> dict[str, pd.DataFrame]:
    """Every population denominator of ``src.plan`` in one pass (see population_counts)."""
    specs: dict[str, Count] = {}
    groupings: set[str] = set()
    for d in src.plan:
        den = d.denominator
        if den is not None and den.source == POPULATION and not den.value:
            specs.setdefault(_key(den.model_dump()), den)
            groupings.update(g for g in d.groupings if GROUPINGS[g] in POPULATION_FIELDS)
    if not specs:
        return {}
    t = src.population()
    conditions = sorted({tuple(sorted(c.condition)) for c in specs.values() if c.condition})
    for i, names in enumerate(conditions):
        c = src.wh.table("condition")
        first = (
            c.filter(c.condition.isin(list(names)))
            .group_by("person_id")
            .agg(**{f"first_{i}": c.recorded_on.min()})
        )
        t = t.left_join(first, "person_id")
        t = t.drop(*[col for col in t.columns if col.endswith("_right")])
    values: dict[str, ibis.Value | None] = {}
    for j, count in enumerate(specs.values()):
        hit = _mask(t, count.where)
        if count.condition:
            recorded = t[f"first_{conditions.index(tuple(sorted(count.condition)))}"]
            hit &= (recorded.notnull() & (recorded <= t.period_mid)).fill_null(False)
        values[f"pop_{j}"] = ibis.ifelse(hit, 1, 0)
    order = [g for g in GROUPINGS if g in groupings]
    frame = _grouped(src.wh, t, order, ["esp_band"], values)
    out = {}
    for j, key in enumerate(specs):
        part = frame[["grouping", "period_start", "group", "esp_band", f"pop_{j}"]]
        part = part[part[f"pop_{j}"] > 0]  # as a filtered count would: no empty groups
        out[key] = part.rename(columns={f"pop_{j}": "count"}).reset_index(drop=True)
    return out


def aggregate_groupings(src: Sources, d: MeasureDefinition, groupings: list[str]) -> pd.DataFrame:
    """Numerator and denominator of ``d`` per grouping, period and group (see aggregate)."""
    bad = [g for g in groupings if g not in d.groupings]
    if bad:
        raise MeasureError(
            f"measure {d.id!r} cannot be grouped by {bad[0]!r}; it allows: {', '.join(d.groupings)}"
        )
    keys = ["esp_band"] if d.standardisation == "esp2013" else []
    index = ["grouping", "period_start", "group", *keys]
    num = d.numerator_count
    if d.kind == "mean":
        t = src.events(num.source)
        t = with_condition(src.wh, apply_where(t, num.where), num, "event_date")
        frame = _grouped(src.wh, t, groupings, keys, {"v": t[num.value]}, mean=True)
        frame["n"] = frame["n"].astype("int64")
    elif d.kind == "proportion" and not d.numerator.condition:
        # One pass: the numerator is a flag over the denominator's rows.
        den = d.denominator
        t = src.events(den.source)
        t = with_condition(src.wh, apply_where(t, den.where), den, "event_date")
        hit = _mask(t, num.where)
        values = {
            "numerator": ibis.ifelse(hit, 1.0, 0.0)
            if not num.value
            else ibis.ifelse(hit, t[num.value].cast("float64"), 0.0),
            "denominator": None if not den.value else t[den.value],
        }
        if num.value:  # the events behind a summed numerator, for suppression
            values["numerator_events"] = ibis.ifelse(hit, 1.0, 0.0)
        frame = _grouped(src.wh, t, groupings, keys, values)
    else:
        n = _count_frame(src, num, groupings, keys, "numerator")
        dn = _count_frame(src, d.denominator, groupings, keys, "denominator")
        frame = dn.merge(n, on=index, how="outer")
        filled = [c for c in frame.columns if c not in index]
        frame[filled] = frame[filled].fillna(0.0)
    if d.follow_up_days:  # periods without the follow-up the measure needs are incomplete
        complete = {
            p.start for p in src.periods if p.end + timedelta(days=d.follow_up_days) <= src.data_end
        }
        frame = frame[frame["period_start"].isin(complete)].reset_index(drop=True)
    frame.insert(0, "measure_id", d.id)
    frame.insert(3, "period", frame["period_start"].map(src.label))
    cols = ["measure_id", "grouping", "period_start", "period", "group", *keys]
    frame = frame[[*cols, *[c for c in frame.columns if c not in cols]]]
    return frame.sort_values(index, na_position="last").reset_index(drop=True)


def aggregate(
    wh: Warehouse,
    d: MeasureDefinition,
    by: str | list[str] = "partnership",
    period: str | None = None,
    periods: list[Period] | None = None,
    sources: Sources | None = None,
) -> pd.DataFrame:
    """Numerator and denominator of measure ``d`` per period and group, from the warehouse.

    Returns one row per (grouping, period_start, group) with ``numerator`` and
    ``denominator`` (for a mean: ``n``, ``total``, ``total_sq``; where the numerator
    sums a field, ``numerator_events`` counts its rows); for a standardised rate one row
    per ESP 2013 age band too (column ``esp_band``). ``by`` is one grouping or a list.
    Pass ``sources`` to share materialised inputs between measures.
    """
    kind = period or d.period
    if sources is None:
        sources = (
            Sources(wh, kind, periods) if periods is not None else Sources.for_warehouse(wh, kind)
        )
    elif sources.kind != kind:
        raise MeasureError(f"sources are for {sources.kind} periods, not {kind}")
    groupings = [by] if isinstance(by, str) else list(by)
    unknown = [g for g in groupings if g not in GROUPINGS]
    if unknown:
        raise MeasureError(
            f"unknown grouping {unknown[0]!r}; expected one of {', '.join(GROUPINGS)}"
        )
    return aggregate_groupings(sources, d, groupings)
