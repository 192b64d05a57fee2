"""Turn measure definitions into warehouse queries: counts by period and group.

All counting happens in the warehouse engine (Ibis, so DuckDB or Spark); only the
aggregates (one row per period and group) come back to Python, where the intervals
are added by :mod:`joinedup.measures.stats`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd

from joinedup.derived import event_source, persons, registered_population
from joinedup.derived.persons import AGE_BANDS, with_age
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


def first_condition_record(wh: Warehouse, conditions: Iterable[str], name: str) -> ibis.Table:
    """Each person's first record of any of ``conditions``: ``person_id`` and ``name``."""
    c = wh.table("condition")
    hits = c.filter(c.condition.isin(list(conditions)))
    return hits.group_by("person_id").agg(**{name: hits.recorded_on.min()})


def with_first_condition_records(
    wh: Warehouse, t: ibis.Table, conditions: list[tuple[str, ...]], prefix: str
) -> ibis.Table:
    """``t`` with ``<prefix><i>``: the person's first record of any of ``conditions[i]``
    (missing if none)."""
    for i, names in enumerate(conditions):
        t = t.left_join(first_condition_record(wh, names, f"{prefix}{i}"), "person_id")
        t = t.drop(*[col for col in t.columns if col.endswith("_right")])
    return t


def with_condition(wh: Warehouse, t: ibis.Table, count: Count, on: str) -> ibis.Table:
    """Keep rows of people with one of ``count.condition`` recorded on or before ``on``."""
    if not count.condition:
        return t
    joined = t.inner_join(
        first_condition_record(wh, count.condition, "first_recorded"), "person_id"
    )
    return joined.filter(joined.first_recorded <= joined[on]).drop("first_recorded")


def _period_start(d: ibis.Value, kind: str) -> ibis.Value:
    if kind == "month":  # a date from its parts: DuckDB's truncate goes via a timestamp
        return ibis.date(d.year(), d.month(), 1)
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


class Sources:
    """The inputs one compute run shares between measures.

    Event sources are restricted to the run's periods and given ``period_start``. Give
    ``plan`` (the definitions the run will compute) and every count the plan takes from
    a source is computed in one pass over it (:meth:`batched`), with the person
    attributes of one small table per run (:meth:`people`, materialised). Aggregated
    denominators are remembered too: most rates share the registered population.
    """

    def __init__(
        self,
        wh: Warehouse,
        kind: str,
        periods: list[Period],
        plan: Iterable[MeasureDefinition] = (),
        data_end: date | None = None,
        groupings: Iterable[str] | None = None,
    ):
        if kind not in PERIODS:
            raise MeasureError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
        if not periods:
            raise MeasureError(f"the warehouse holds no complete {kind.replace('_', ' ')} of data")
        self.wh, self.kind, self.periods = wh, kind, periods
        self.data_end = data_end or periods[-1].end
        self.labels = {p.start: p.label for p in periods}
        self.plan = list(plan)
        # Response bases are counted beside their measures: let them share passes too.
        self.plan += [b for d in self.plan if (b := getattr(d, "base_measure", None)) is not None]
        wanted = set(GROUPINGS if groupings is None else groupings)
        #: The groupings a batch over a source counts: all the run may ask of it.
        self.batch_groupings: dict[str, list[str]] = {}
        for d in self.plan:
            for r in _requests(d):
                allowed = self.batch_groupings.setdefault(r.source, [])
                allowed += [g for g in d.groupings if g in wanted and g not in allowed]
        #: The first event day of each source a batch has read (see :meth:`first_day`).
        self._first_days: dict[str, date | None] = {}
        self._population_counts: dict[str, pd.DataFrame] | None = None
        self._events: dict[str, ibis.Table] = {}
        self._people: ibis.Table | None = None
        self._lookups: list[ibis.Table] = []
        #: Group label of each integer code of a person attribute (see :meth:`people`).
        self.codes: dict[str, dict[int, str]] = {}
        #: Label of the footprint, cluster and partnership of each practice code: counts
        #: by those groupings are sums of the counts by practice (see :meth:`people`).
        self.by_practice: dict[str, dict[int, str]] = {}
        self._population: ibis.Table | None = None
        self._batches: list[tuple[set[str], dict[_Request, pd.DataFrame]]] = []
        self.memo: dict[str, pd.DataFrame] = {}

    @classmethod
    def for_warehouse(
        cls,
        wh: Warehouse,
        kind: str,
        plan: Iterable[MeasureDefinition] = (),
        groupings: Iterable[str] | None = None,
    ) -> Sources:
        """Sources over every complete period of ``kind`` in the warehouse's data.

        ``groupings``: those the run will ask for (default all), so that each source is
        read once for all of them.
        """
        if kind not in PERIODS:
            raise MeasureError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
        first, last = coverage(wh)
        return cls(wh, kind, periods_between(first, last, kind), plan, last, groupings)

    def events(self, name: str) -> ibis.Table:
        """Event source ``name`` within the run's periods, with ``period_start``.

        With a plan, the person's attributes come from :meth:`people`, with their
        integer codes (see :func:`_group_key`): grouping is by small integers instead
        of strings. The columns and their values are otherwise those of
        :func:`joinedup.derived.event_source`.
        """
        if name not in self._events:
            first, last = self.periods[0].start, self.periods[-1].end
            e = event_source(self.wh, name, self.people() if self.plan else None)
            e = e.filter((e.event_date >= first) & (e.event_date <= last))
            self._events[name] = e.mutate(period_start=_period_start(e.event_date, self.kind))
        return self._events[name]

    def people(self) -> ibis.Table:
        """Each person's attributes (as events carry them) and registration dates, with
        integer group codes: the person table of events and of the population.

        ``_k_<column>`` numbers the distinct values of each person attribute that
        measures group by; :attr:`codes` maps the numbers back to group labels.
        """
        if self._people is None:
            # Registration dates kept for the population (events carry them, unread).
            p = persons(self.wh).drop("place_of_death", "partnership")
            # Codes from a small dictionary per attribute, joined on (a window's
            # dense_rank would sort every person once per attribute).
            combos = p.select(*CODED).distinct().execute()
            self.codes = {}
            for c in CODED:
                kind = p[c].type()
                if not (kind.is_string() or kind.is_integer()):
                    continue  # grouped as text (see _group_key)
                values = [v for v in pd.unique(combos[c]) if pd.notna(v)]
                values = [str(v) if kind.is_string() else int(v) for v in values]
                codes = range(1, len(values) + 1)
                lookup = ibis.memtable(
                    pd.DataFrame({f"_v_{c}": values, f"_k_{c}": codes}),
                    schema={f"_v_{c}": kind, f"_k_{c}": "int32"},
                )
                p = p.left_join(lookup, p[c] == lookup[f"_v_{c}"]).drop(f"_v_{c}")
                # Kept: ibis drops an in-memory table's view once the table object goes,
                # and a lazily cached table (Spark) still reads it.
                self._lookups.append(lookup)
                # The labels cast("string") gives these values, as _group_key's text.
                self.codes[c] = {k: str(v) for k, v in zip(codes, values, strict=True)}
            self.by_practice = _practice_rollup(combos, self.codes)
            # Register the lookups first: not every backend's cache() does (Spark's).
            self.wh.con._run_pre_execute_hooks(p)
            self._people = self._cache(p)
        return self._people

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
            specs: dict[str, Count] = {}
            groupings: set[str] = set()
            for d in self.plan:
                den = d.denominator
                if den is not None and den.source == POPULATION and not den.value:
                    specs.setdefault(_key(den.model_dump()), den)
                    groupings.update(g for g in d.groupings if GROUPINGS[g] in POPULATION_FIELDS)
            self._population_counts = _count_populations(self, specs, groupings)
        return self._population_counts.get(_key(count.model_dump()))

    def batched(self, req: _Request, groupings: list[str]) -> pd.DataFrame | None:
        """``req`` by ``groupings`` from one pass shared with the plan's other requests.

        On first use for a source, every request of the plan over that source is
        computed in one GROUPING SETS query (:func:`_batch`), by every grouping the run
        may ask of any of them (:attr:`batch_groupings`). None when ``req`` is not one
        of the plan's (then it is computed on its own).
        """
        for covered, frames in self._batches:
            if req in frames and set(groupings) <= covered:
                out = frames[req]
                return out[out["grouping"].isin(groupings)].reset_index(drop=True)
        members = list(
            dict.fromkeys(r for d in self.plan for r in _requests(d) if r.source == req.source)
        )
        if req not in members:
            return None
        batch = self.batch_groupings.get(req.source, [])
        every = [*batch, *[g for g in groupings if g not in batch]]
        self._batches.append((set(every), _batch(self, members, every)))
        return self.batched(req, groupings)

    def first_day(self, name: str) -> date | None:
        """The first event day of source ``name`` within the run's periods (None: none).

        Read from a batch over the source when there has been one (see :func:`_batch`),
        which saves a pass over a source that is not materialised.
        """
        if name not in self._first_days:
            first = self.events(name).event_date.min().execute()
            self._first_days[name] = (
                None if first is None or pd.isna(first) else pd.Timestamp(first).date()
            )
        return self._first_days[name]

    def release(self) -> None:
        """Drop the materialised tables (call before closing the warehouse)."""
        if self._people is not None:
            with contextlib.suppress(Exception):
                self._people.release()
        self._events.clear()
        self._people = None

    def label(self, start: date) -> str:
        """The label of the period starting on ``start``."""
        return self.labels[start]


#: Person attributes grouped by integer code in events with a plan (see Sources.people).
CODED = ("practice_code", "cluster_code", "footprint_code", "imd_quintile", "ethnic_group", "sex")
#: Stands for a missing code or age in the grouping columns (NULL there means "not
#: this grouping set").
_MISSING = -100_000


def _age_band_label(age: int) -> str:
    """The age band of a whole age, as :func:`joinedup.derived.persons.band` gives it."""
    for label, low, high in AGE_BANDS:
        if (age <= high) if high is not None else (age >= low):
            return label
    return "unknown"


def _grouped(
    wh: Warehouse,
    t: ibis.Table,
    groupings: list[str],
    keys: list[str],
    values: dict[str, ibis.Value | None],
    mean: bool = False,
    codes: dict[str, dict[int, str]] | None = None,
    rollup: dict[str, dict[int, str]] | None = None,
) -> pd.DataFrame:
    """Aggregate ``t`` by period, ``keys`` and each grouping, in one GROUPING SETS query.

    ``values`` maps output names to a numeric expression to sum (None: count rows). For
    a mean the single value gives ``n``, ``total`` and ``total_sq``. Missing group values
    are reported as "unknown". Returns a long frame with ``grouping`` and ``group``.
    """
    columns = {name: v.cast("float64") for name, v in values.items() if v is not None}
    if mean:
        (name,) = values
        aggs = [f"count({name}) AS n", f"sum({name}) AS total", f"sum({name} * {name}) AS total_sq"]
    else:
        aggs = [
            f"count(*) AS {name}" if v is None else f"sum({name}) AS {name}"
            for name, v in values.items()
        ]
    return _grouping_sets(wh, t, groupings, keys, columns, aggs, codes, rollup)


def _practice_rollup(
    combos: pd.DataFrame, codes: dict[str, dict[int, str]]
) -> dict[str, dict[int, str]]:
    """Label of the partnership, cluster and footprint of each practice code.

    ``combos`` holds the distinct person attributes, ``codes`` the practice codes (see
    :meth:`Sources.people`). A parent is left out if a practice code falls in two of
    its groups (then it is counted directly).
    """
    if "practice_code" not in codes:
        return {}
    code_of = {label: k for k, label in codes["practice_code"].items()}
    practice = [_MISSING if pd.isna(v) else code_of[str(v)] for v in combos["practice_code"]]
    # Events without a person (anonymous feedback) have no practice and no parents.
    out = {"partnership": dict.fromkeys([*practice, _MISSING], "all")}
    for parent in ("cluster_code", "footprint_code"):
        labels = ["unknown" if pd.isna(v) else str(v) for v in combos[parent]]
        pairs = pd.DataFrame({"k": practice, "label": labels}).drop_duplicates()
        if not pairs["k"].duplicated().any():
            labels_of = dict(zip(pairs["k"], pairs["label"], strict=True))
            out[parent] = {_MISSING: "unknown", **labels_of}
    return out


def _group_key(
    t: ibis.Table,
    grouping: str,
    codes: dict[str, dict[int, str]] | None,
    rollup: dict[str, dict[int, str]] | None = None,
) -> tuple[str, ibis.Value, dict[int, str] | None]:
    """What to group ``t`` by for ``grouping``: the grouping set's name, its expression
    and how to label the result (None: as is).

    Strings are slow to hash and carry through a join: with ``codes`` (``t`` is an event
    source of :class:`Sources` with a plan), person attributes are grouped by their
    integer codes and age bands by whole age, and labelled after counting; with
    ``rollup`` too, partnership, footprint and cluster are labelled from the practice
    set (one pass counts all four; the labels' duplicates are summed). Otherwise the
    column is grouped as text, missing values as "unknown".
    """
    column = GROUPINGS[grouping]
    if codes and rollup and column in rollup and "_k_practice_code" in t.columns:
        return "_k_practice_code", t._k_practice_code.fill_null(_MISSING), rollup[column]
    if codes and column in codes:
        labels = {**codes[column], _MISSING: "unknown"}
        return f"_k_{column}", t[f"_k_{column}"].fill_null(_MISSING), labels
    if codes and column == "age_band" and "age" in t.columns:
        return "age", t.age.cast("int32").fill_null(_MISSING), {_MISSING: "unknown"}
    return grouping, t[column].cast("string").fill_null("unknown"), None


def _relabelled(
    part: pd.DataFrame, grouping: str, labels: dict[int, str], index: list[str]
) -> pd.DataFrame:
    """The counts of one grouping by code (column ``group``) by label instead.

    Codes that share a label (missing and "unknown"; the ages of a band; the practices
    of a cluster) become one group: sums and counts added, ``_min_*`` the least. Done
    before dates become Python objects, which are slow to group by.
    """
    codes = part["group"].astype("int64")
    if grouping == "age_band":
        labels = {a: labels.get(a) or _age_band_label(a) for a in codes.unique()}
    part = part.assign(group=codes.map(labels))
    index = [*index, "group"]
    if len(set(labels.values())) == len(labels) or not part.duplicated(index).any():
        return part  # one code per label (or none sharing one here): nothing to add up
    groups = part.groupby(index, sort=False, dropna=False)
    sums = [c for c in part.columns if c not in index and not c.startswith("_min_")]
    least = [c for c in part.columns if c.startswith("_min_")]
    combined = groups[sums].sum(min_count=1)
    if least:
        combined[least] = groups[least].min()
    return combined.reset_index()


def _grouping_sets(
    wh: Warehouse,
    t: ibis.Table,
    groupings: list[str],
    keys: list[str],
    columns: dict[str, ibis.Value],
    aggs: list[str],
    codes: dict[str, dict[int, str]] | None = None,
    rollup: dict[str, dict[int, str]] | None = None,
) -> pd.DataFrame:
    """``aggs`` (SQL over ``columns``) by period, ``keys`` and each grouping of ``t``.

    ``codes``, ``rollup``: group person attributes by code, and parents of practices by
    practice (see :func:`_group_key`). Aggregates are sums or counts (combined by
    summing), except those named ``_min_*`` (combined by taking the least).
    """
    grouped = {g: _group_key(t, g, codes, rollup) for g in groupings}
    sets = {name: expr for name, expr, _labels in grouped.values()}
    gcols = {name: f"g_{i}" for i, name in enumerate(sets)}
    inner = t.select(
        period_start=t.period_start,
        **{k: t[k] for k in keys},
        **{gcols[name]: expr for name, expr in sets.items()},
        **columns,
    )
    # The outer query is SQL (Ibis has no GROUPING SETS); register the in-memory
    # tables (the periods) that the compiled inner query refers to, as execute() would.
    wh.con._run_pre_execute_hooks(inner)
    base = ["period_start", *keys]
    spec = ", ".join(f"({', '.join([*base, col])})" for col in gcols.values())
    sql = (
        f"SELECT {', '.join([*base, *gcols.values(), *aggs])} "
        f"FROM ({wh.con.compile(inner)}) AS src GROUP BY GROUPING SETS ({spec})"
    )
    frame = wh.sql_frame(sql)
    parts = []
    for g, (name, _expr, labels) in grouped.items():
        col = gcols[name]
        part = frame[frame[col].notna()].drop(columns=[c for c in gcols.values() if c != col])
        part = part.rename(columns={col: "group"})
        if labels is not None:
            part = _relabelled(part, g, labels, base)
        part.insert(0, "grouping", g)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    out["group"] = out["group"].astype(str)
    return out


@dataclass(frozen=True)
class _Request:
    """One aggregate over an event source, as :func:`_grouped` computes it.

    The rows are those of ``source`` meeting ``where`` (with one of ``condition``
    recorded by the event date); ``values`` are (output name, kind, field, hit) with
    kind "rows" (count rows), "sum" (sum ``field``) or "hit" (sum 1, or ``field``, over
    rows also meeting the conditions ``hits[hit]``, else 0); ``mean`` averages the single
    value's field. Requests compare by content (conditions as JSON).
    """

    source: str
    where_key: str
    condition: tuple[str, ...]
    keys: tuple[str, ...]
    values: tuple[tuple[str, str, str | None, str | None], ...]
    mean: bool = False
    where: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)
    hits: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict, compare=False)

    def value_exprs(self, t: ibis.Table) -> dict[str, ibis.Value | None]:
        """The ``values`` argument of :func:`_grouped` over the filtered table ``t``."""
        out: dict[str, ibis.Value | None] = {}
        for name, kind, field, hit in self.values:
            if kind == "rows":
                out[name] = None
            elif kind == "sum":
                out[name] = t[field]
            else:
                one = t[field].cast("float64") if field else ibis.literal(1.0)
                out[name] = ibis.ifelse(_mask(t, self.hits[hit]), one, 0.0)
        return out


def _json(where: dict[str, Any]) -> str:
    return json.dumps(where, sort_keys=True, default=repr)


def _request(
    count: Count,
    keys: list[str],
    values: list[tuple[str, str, str | None, str | None]],
    hits: dict[str, dict[str, Any]] | None = None,
) -> _Request:
    return _Request(
        count.source,
        _json(count.where),
        tuple(count.condition),
        tuple(keys),
        tuple(values),
        where=count.where,
        hits=hits or {},
    )


def _requests(d: MeasureDefinition) -> list[_Request]:
    """The event aggregates :func:`aggregate_groupings` asks of measure ``d``."""
    keys = ["esp_band"] if d.standardisation == "esp2013" else []
    num = d.numerator_count
    if d.kind == "mean":
        return [_mean_request(num, keys)]
    if d.kind == "proportion" and not d.numerator.condition:
        return [_proportion_request(d, keys)]
    return [
        _count_request(count, keys, name)
        for count, name in ((num, "numerator"), (d.denominator, "denominator"))
        if count is not None and count.source != POPULATION
    ]


def _mean_request(num: Count, keys: list[str]) -> _Request:
    return dataclasses.replace(_request(num, keys, [("v", "sum", num.value, None)]), mean=True)


def _proportion_request(d: MeasureDefinition, keys: list[str]) -> _Request:
    num, den = d.numerator_count, d.denominator
    hit = _json(num.where)
    values = [
        ("numerator", "hit", num.value, hit),
        ("denominator", "sum", den.value, None)
        if den.value
        else ("denominator", "rows", None, None),
    ]
    if num.value:  # the events behind a summed numerator, for suppression
        values.append(("numerator_events", "hit", None, hit))
    return _request(den, keys, values, {hit: num.where})


def _count_request(count: Count, keys: list[str], name: str) -> _Request:
    if count.value:
        return _request(
            count, keys, [(name, "sum", count.value, None), (f"{name}_events", "rows", None, None)]
        )
    return _request(count, keys, [(name, "rows", None, None)])


def _aggregate_request(src: Sources, req: _Request, groupings: list[str]) -> pd.DataFrame:
    """``req`` by ``groupings``: from a batch over its source when the plan has one."""
    batched = src.batched(req, groupings)
    if batched is not None:
        return batched
    t = src.events(req.source)
    t = apply_where(t, req.where)
    if req.condition:
        t = with_condition(
            src.wh, t, Count(source=req.source, condition=list(req.condition)), "event_date"
        )
    return _grouped(
        src.wh,
        t,
        groupings,
        list(req.keys),
        req.value_exprs(t),
        req.mean,
        src.codes or None,
        src.by_practice,
    )


def _batch(
    src: Sources, reqs: list[_Request], groupings: list[str]
) -> dict[_Request, pd.DataFrame]:
    """Every request of ``reqs`` (one source) in one GROUPING SETS pass.

    Each request's rows are kept by a flag instead of a filter: its sums are of values
    where the flag holds (missing elsewhere, so a sum over no rows stays missing as it
    would be over a filtered table), and groups where it counts no row are left out.
    When any request is counted by ESP band, all are, and the others' bands are added
    up after. The result for each request is that of :func:`_grouped` over its
    filtered rows.
    """
    t = src.events(reqs[0].source)
    keys = sorted({k for r in reqs for k in r.keys})
    conditions = sorted({r.condition for r in reqs if r.condition})
    t = with_first_condition_records(src.wh, t, conditions, "_first_")
    columns: dict[str, ibis.Value] = {}
    aggs: list[str] = []
    names: list[dict[str, str]] = []
    for i, req in enumerate(reqs):
        rows = _mask(t, req.where)
        if req.condition:
            first = t[f"_first_{conditions.index(req.condition)}"]
            rows &= (first.notnull() & (first <= t.event_date)).fill_null(False)
        columns[f"r{i}"] = ibis.ifelse(rows, 1, ibis.null("int8"))
        aggs.append(f"count(r{i}) AS r{i}")
        rename = {}
        for j, (name, value) in enumerate(req.value_exprs(t).items()):
            col = f"r{i}_{j}"
            if value is None:
                aggs.append(f"count(r{i}) AS {col}")
            else:
                columns[col] = ibis.ifelse(rows, value.cast("float64"), ibis.null("float64"))
                if req.mean:
                    aggs += [f"count({col}) AS {col}_n", f"sum({col}) AS {col}_total"]
                    aggs.append(f"sum({col} * {col}) AS {col}_total_sq")
                    rename.update({f"{col}_n": "n", f"{col}_total": "total"})
                    rename[f"{col}_total_sq"] = "total_sq"
                    continue
                aggs.append(f"sum({col}) AS {col}")
            rename[col] = name
        names.append(rename)
    # The source's first day, for response bases (see Sources.first_day).
    columns["_day"] = t.event_date
    aggs.append("min(_day) AS _min_day")
    frame = _grouping_sets(
        src.wh, t, groupings, keys, columns, aggs, src.codes or None, src.by_practice
    )
    first = frame["_min_day"].min() if len(frame) else None
    src._first_days[reqs[0].source] = None if pd.isna(first) else pd.Timestamp(first).date()
    out = {}
    crude = [i for i, req in enumerate(reqs) if len(req.keys) < len(keys)]
    if crude:  # counted by band for the others: add the bands up
        columns = [c for i in crude for c in (f"r{i}", *names[i])]
        bands = frame.groupby(["grouping", "period_start", "group"], sort=False, dropna=False)
        summed = bands[columns].sum(min_count=1).reset_index()
    for i, req in enumerate(reqs):
        index = ["grouping", "period_start", *req.keys, "group"]
        part = summed if i in crude else frame
        part = part.loc[part[f"r{i}"] > 0, [*index, *names[i]]]
        out[req] = part.rename(columns=names[i]).reset_index(drop=True)
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
    if shared is not None and set(groupings) <= set(shared["grouping"].unique()):
        out = shared[shared["grouping"].isin(groupings)]
        index = ["grouping", "period_start", "group", *keys]
        out = out.groupby(index, as_index=False, sort=False)["count"].sum()
        src.memo[memo] = out.rename(columns={"count": name})
        return src.memo[memo]
    if count.source != POPULATION:
        out = _aggregate_request(src, _count_request(count, keys, name), groupings)
        src.memo[memo] = out
        return out
    if not count.value:  # not one of the plan's: count it alone, from intervals
        key = _key(count.model_dump())
        alone = _count_populations(src, {key: count}, groupings)[key]
        index = ["grouping", "period_start", "group", *keys]
        out = alone.groupby(index, as_index=False, sort=False)["count"].sum()
        # A head count, as count(*) gives it (integers), like the other unshared counts.
        src.memo[memo] = out.rename(columns={"count": name}).astype({name: "int64"})
        return src.memo[memo]
    t = src.population()
    t = with_condition(src.wh, apply_where(t, count.where), count, "period_mid")
    values: dict[str, ibis.Value | None] = {name: t[count.value] if count.value else None}
    if count.value:
        values[f"{name}_events"] = None
    out = _grouped(src.wh, t, groupings, keys, values)
    src.memo[memo] = out
    return out


#: Population fields that change with time (with age); the rest are fixed per person.
AGE_FIELDS = ("age", "age_band", "esp_band")
#: Stands for "no period" (never entered, never left) in the period of a change.
_NEVER = date(9999, 12, 31)


def _first_period(value: ibis.Value, periods: list[Period]) -> ibis.Value:
    """Start of the first period whose midpoint is on or after ``value`` (_NEVER if none).

    A person with a registration date of ``value`` counts from that period on; one who
    leaves (or dies, or is first recorded with a condition) on ``value`` counts until
    just before it. Missing dates give _NEVER.
    """
    first, last = periods[0], periods[-1]
    cases = [
        (value.isnull(), _NEVER),
        (value <= first.mid, first.start),
        (value > last.mid, _NEVER),
    ]
    cases += [(value <= p.mid, p.start) for p in periods[1:]]
    return ibis.cases(*cases, else_=_NEVER)


def _count_populations(
    src: Sources, specs: dict[str, Count], groupings: Iterable[str]
) -> dict[str, pd.DataFrame]:
    """Population denominators ``specs`` by ``groupings``, ESP band and period.

    Equivalent to counting the registered population of each period (people registered
    and alive at its midpoint, age at the midpoint) but without a row per person and
    period. Each person is registered over a run of consecutive periods: from the first
    period whose midpoint is on or after ``registered_from`` (or the condition's first
    record) to the one before the first whose midpoint is on or after
    ``registered_to``/``date_of_death``. The warehouse counts those starts (+1) and ends
    (-1) per period, group and year of birth, in one GROUPING SETS pass; a cumulative
    sum over periods turns the changes into head counts, and age (hence ESP band, age
    band and any age condition of a definition) follows from year of birth and period.
    Returns, per spec key, ``grouping``, ``period_start``, ``group``, ``esp_band`` and
    ``count`` (groups with nobody in them left out).
    """
    if not specs:
        return {}
    wanted = [g for g in GROUPINGS if g in set(groupings)]
    periods = src.periods
    # The people of the run, with their integer codes: grouped by number, parents of
    # practices summed from practices (see _group_key).
    t = src.people().mutate(partnership=ibis.literal("all"))
    coded = [c for c in t.columns if c.startswith("_k_")]
    conditions = sorted({tuple(sorted(c.condition)) for c in specs.values() if c.condition})
    t = with_first_condition_records(src.wh, t, conditions, "first_")
    t = t.mutate(
        _from=_first_period(t.registered_from, periods),
        _to=ibis.least(
            _first_period(t.registered_to, periods), _first_period(t.date_of_death, periods)
        ),
        **{f"_c{i}": _first_period(t[f"first_{i}"], periods) for i in range(len(conditions))},
    )
    # Materialised once: the changes below read it 2 + len(conditions) times.
    t = src._cache(t.drop(*[c for c in t.columns if c.startswith("first_")]))
    # Per spec: the fixed part of its where (the age part is applied after counting),
    # and the period it starts counting a person from.
    fixed, starts, dynamic = [], [], []
    for count in specs.values():
        fixed.append(_mask(t, {k: v for k, v in count.where.items() if k not in AGE_FIELDS}))
        dynamic.append({k: v for k, v in count.where.items() if k in AGE_FIELDS})
        k = conditions.index(tuple(sorted(count.condition))) if count.condition else None
        starts.append(k)
    keep = [
        "year_of_birth",
        *{GROUPINGS[g] for g in wanted if g != "age_band"},
        "partnership",
        *coded,
    ]
    change_sets = []
    for at in ("_from", "_to", *[f"_c{i}" for i in range(len(conditions))]):
        deltas = {}
        for j, k in enumerate(starts):
            begin = t._from if k is None else ibis.greatest(t._from, t[f"_c{k}"])
            on = fixed[j] & (begin < t._to)
            if at == "_to":
                deltas[f"d_{j}"] = ibis.ifelse(on, -1, 0)
            elif at == "_from":
                starts_here = on if k is None else on & (t[f"_c{k}"] <= t._from)
                deltas[f"d_{j}"] = ibis.ifelse(starts_here, 1, 0)
            else:
                own = at == f"_c{k}"
                starts_here = on & (t[at] > t._from) if own else ibis.literal(False)
                deltas[f"d_{j}"] = ibis.ifelse(starts_here, 1, 0)
        part = t.select(*dict.fromkeys(keep), period_start=t[at], **deltas)
        change_sets.append(part.filter(part.period_start != _NEVER))
    changes = ibis.union(*change_sets, distinct=False)
    first_pass = [g for g in wanted if g != "age_band"]
    if "partnership" not in first_pass:  # age bands are counted from the partnership's
        first_pass.insert(0, "partnership")
    names = [f"d_{j}" for j in range(len(specs))]
    try:
        frame = _grouped(
            src.wh,
            changes,
            first_pass,
            ["year_of_birth"],
            {name: changes[name] for name in names},
            codes=src.codes or None,
            rollup=src.by_practice,
        )
    finally:
        with contextlib.suppress(Exception):
            t.release()
    counted = _population_by_band(src, frame, names, wanted, dynamic)
    return dict(zip(specs, counted, strict=True))


def _population_by_band(
    src: Sources,
    frame: pd.DataFrame,
    names: list[str],
    wanted: list[str],
    dynamic: list[dict[str, Any]],
) -> list[pd.DataFrame]:
    """Changes per (grouping, group, year of birth, period) to head counts by ESP band.

    A cumulative sum over the periods, in order, turns each count's changes (``names``)
    into head counts. Age at each period's midpoint, its bands and each count's age
    conditions (``dynamic``) are worked out in the warehouse, with the events'
    expressions (see :func:`joinedup.derived.with_age`), once per year of birth and
    period; the heads are then added up by grouping, group, period and ESP band in
    arrays. Age bands are counted from the partnership's heads. Returns, for each of
    ``names``, ``grouping``, ``period_start``, ``group``, ``esp_band`` and ``count``
    (groups with nobody in them left out).
    """
    columns = ["grouping", "period_start", "group", "esp_band", "count"]
    if frame.empty:
        return [pd.DataFrame(columns=columns) for _ in names]
    periods = src.periods
    n_periods = len(periods)
    keys = ["grouping", "group", "year_of_birth"]
    key_id = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first = frame.drop_duplicates(keys)[keys].reset_index(drop=True)
    period = frame["period_start"].map({p.start: i for i, p in enumerate(periods)}).to_numpy()
    heads = np.stack(
        [
            np.bincount(
                key_id * n_periods + period, frame[name].to_numpy(float), len(first) * n_periods
            )
            .reshape(len(first), n_periods)
            .cumsum(axis=1)
            for name in names
        ]
    )
    # Age, ESP band, age band and age conditions per (year of birth, period).
    born, years = pd.factorize(first["year_of_birth"], use_na_sentinel=False)
    pairs = pd.DataFrame(
        {
            "b": np.repeat(np.arange(len(years)), n_periods),
            "p": np.tile(np.arange(n_periods), len(years)),
            "year_of_birth": pd.array(np.repeat(years, n_periods), dtype="Int64"),
            "period_mid": np.tile([p.mid for p in periods], len(years)),
        }
    ).astype({"period_mid": "datetime64[s]"})
    a = ibis.memtable(pairs)
    a = with_age(a, a.period_mid.cast("date"))
    ages = src.wh.con.execute(
        a.select(
            "b",
            "p",
            "esp_band",
            age_band=a.age_band.cast("string").fill_null("unknown"),
            **{f"m_{j}": _mask(a, cond) for j, cond in enumerate(dynamic)},
        )
    ).sort_values(["b", "p"])
    esp, bands = pd.factorize(ages["esp_band"], use_na_sentinel=False)
    esp = esp.reshape(len(years), n_periods)
    masks = np.stack([ages[f"m_{j}"].to_numpy(bool) for j in range(len(names))])
    masks = masks.reshape(len(names), len(years), n_periods)
    # Every (key, period) with anyone in it, to its output group (an index into
    # ``labels``): the key's grouping and group, or for age bands the partnership's key
    # with the band of its age then. Then summed by output group, period and ESP band.
    k, i = np.nonzero((heads != 0).any(axis=0))
    b = born[k]
    groups = first.groupby(["grouping", "group"], sort=False).ngroup().to_numpy()
    labels = first.drop_duplicates(["grouping", "group"])[["grouping", "group"]]
    labels = list(labels.itertuples(index=False, name=None))
    take = np.isin([g for g, _ in labels], wanted)[groups[k]]
    out_group, rows = [groups[k][take]], [np.flatnonzero(take)]
    if "age_band" in wanted:
        band, names_of_band = pd.factorize(ages["age_band"])
        band = band.reshape(len(years), n_periods)
        mine = np.flatnonzero(first["grouping"].to_numpy()[k] == "partnership")
        out_group.append(len(labels) + band[b[mine], i[mine]])
        rows.append(mine)
        labels += [("age_band", name) for name in names_of_band]
    out_group, rows = np.concatenate(out_group), np.concatenate(rows)
    at, e = i[rows], esp[b[rows], i[rows]]
    cells, slot = np.unique((out_group * n_periods + at) * len(bands) + e, return_inverse=True)
    counted = pd.DataFrame(
        {
            "grouping": [labels[c][0] for c in cells // (n_periods * len(bands))],
            "period_start": np.array([p.start for p in periods], dtype=object)[
                cells // len(bands) % n_periods
            ],
            "group": [str(labels[c][1]) for c in cells // (n_periods * len(bands))],
            "esp_band": np.asarray(bands, dtype=object)[cells % len(bands)],
        }
    )
    for j in range(len(names)):
        weight = np.where(masks[j][b[rows], at], heads[j][k[rows], at], 0.0)
        counted[f"pop_{j}"] = np.bincount(slot, weight, len(cells))
    out = []
    for j in range(len(names)):
        part = counted[["grouping", "period_start", "group", "esp_band", f"pop_{j}"]]
        part = part[part[f"pop_{j}"] > 0]  # as a filtered count would: no empty groups
        out.append(part.rename(columns={f"pop_{j}": "count"}).reset_index(drop=True))
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
        frame = _aggregate_request(src, _mean_request(num, keys), groupings)
        frame["n"] = frame["n"].astype("int64")
    elif d.kind == "proportion" and not d.numerator.condition:
        # One pass: the numerator is a flag over the denominator's rows.
        frame = _aggregate_request(src, _proportion_request(d, keys), groupings)
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
    frame.insert(3, "period", frame["period_start"].map(src.labels))
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
