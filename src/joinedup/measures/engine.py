"""Turn measure definitions into warehouse queries: counts by period and group.

All counting happens in the warehouse engine (Ibis, so DuckDB or Spark); only the
aggregates (one row per period and group) come back to Python, where the intervals
are added by :mod:`joinedup.measures.stats`. A compute run shares its inputs through
:class:`Sources`: every count the run takes from one event source is one pass over it
(:mod:`joinedup.measures.grouping`), and every population denominator one pass over
the people (:mod:`joinedup.measures.population`).
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
import pandas as pd

from joinedup.derived import (
    activity_persons,
    event_source,
    has_register,
    persons,
    registered_population,
)
from joinedup.measures.conditions import (
    apply_where,
    where_mask,
    with_condition,
    with_first_condition_records,
)
from joinedup.measures.definition import (
    GROUPINGS,
    PERIODS,
    POPULATION,
    POPULATION_FIELDS,
    Count,
    MeasureDefinition,
    MeasureError,
)
from joinedup.measures.grouping import CODED, grouped, grouping_sets, practice_rollup
from joinedup.measures.periods import (
    Period,
    coverage,
    period_start_of,
    periods_between,
    periods_table,
)
from joinedup.measures.population import count_populations
from joinedup.warehouse import Warehouse
from joinedup.warehouse.sums import exact_sum_sql


class Sources:
    """The inputs one compute run shares between measures.

    Event sources are restricted to the run's periods and given ``period_start``. Give
    ``plan`` (the definitions the run will compute) and every count the plan takes from
    a source is computed in one pass over it (:meth:`batched`), with the person
    attributes of one small table per run (:meth:`people`, materialised). Aggregated
    denominators are remembered too: most rates share the registered population.

    Without a GP register (:attr:`activity_only`) people's details come from activity
    records, every event is kept (those of people no record describes, with their
    attributes missing), and a measure that needs the register cannot be computed.
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
        self._activity_only: bool | None = None
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

    @property
    def activity_only(self) -> bool:
        """Whether the warehouse holds activity only, no GP register
        (:func:`joinedup.derived.has_register`): people's details then come from
        activity records (:func:`joinedup.derived.activity_persons`)."""
        if self._activity_only is None:
            self._activity_only = not has_register(self.wh)
        return self._activity_only

    def events(self, name: str) -> ibis.Table:
        """Event source ``name`` within the run's periods, with ``period_start``.

        With a plan, the person's attributes come from :meth:`people`, with their
        integer codes (see :func:`joinedup.measures.grouping.group_key`): grouping is
        by small integers instead of strings. The columns and their values are
        otherwise those of :func:`joinedup.derived.event_source`.
        """
        if name not in self._events:
            first, last = self.periods[0].start, self.periods[-1].end
            own = self.activity_only
            people = self.people() if self.plan or own else None
            e = event_source(self.wh, name, people, unlinked=own)
            e = e.filter((e.event_date >= first) & (e.event_date <= last))
            self._events[name] = e.mutate(period_start=period_start_of(e.event_date, self.kind))
        return self._events[name]

    def people(self) -> ibis.Table:
        """Each person's attributes (as events carry them) and registration dates, with
        integer group codes: the person table of events and of the population. From the
        GP register, or without one from activity records (:attr:`activity_only`).

        ``_k_<column>`` numbers the distinct values of each person attribute that
        measures group by; :attr:`codes` maps the numbers back to group labels.
        """
        if self._people is None:
            # Registration dates kept for the population (events carry them, unread).
            if self.activity_only:
                p = activity_persons(self.wh).drop("lsoa_code", "details_from")
            else:
                p = persons(self.wh)
            p = p.drop("place_of_death", "partnership")
            # Codes from a small dictionary per attribute, joined on (a window's
            # dense_rank would sort every person once per attribute).
            combos = p.select(*CODED).distinct().execute()
            self.codes = {}
            for c in CODED:
                kind = p[c].type()
                if not (kind.is_string() or kind.is_integer()):
                    continue  # grouped as text (see grouping.group_key)
                values = [v for v in pd.unique(combos[c]) if pd.notna(v)]
                # Sorted: distinct() gives the values in a different order each run.
                values = sorted(str(v) if kind.is_string() else int(v) for v in values)
                codes = range(1, len(values) + 1)
                lookup = ibis.memtable(
                    pd.DataFrame({f"_v_{c}": values, f"_k_{c}": codes}),
                    schema={f"_v_{c}": kind, f"_k_{c}": "int32"},
                )
                p = p.left_join(lookup, p[c] == lookup[f"_v_{c}"]).drop(f"_v_{c}")
                # Kept: ibis drops an in-memory table's view once the table object goes,
                # and a lazily cached table (Spark) still reads it.
                self._lookups.append(lookup)
                # The labels cast("string") gives these values, as group_key's text.
                self.codes[c] = {k: str(v) for k, v in zip(codes, values, strict=True)}
            self.by_practice = practice_rollup(combos, self.codes)
            # Register the lookups first: not every backend's cache() does (Spark's).
            self.wh.con._run_pre_execute_hooks(p)
            self._people = self._cache(p)
        return self._people

    def population(self) -> ibis.Table:
        """Registered population at each period's midpoint (one row per person and period)."""
        if self._population is None:
            self._population = registered_population(self.wh, periods_table(self.periods))
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
            self._population_counts = count_populations(self, specs, groupings)
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


@dataclass(frozen=True)
class _Request:
    """One aggregate over an event source, as :func:`grouped` computes it.

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
        """The ``values`` argument of :func:`grouped` over the filtered table ``t``."""
        out: dict[str, ibis.Value | None] = {}
        for name, kind, field, hit in self.values:
            if kind == "rows":
                out[name] = None
            elif kind == "sum":
                out[name] = t[field]
            else:  # whole numbers stay whole: their sums need no exact decimal
                one = t[field] if field else ibis.literal(1, "int8")
                zero = ibis.literal(0, one.type())
                out[name] = ibis.ifelse(where_mask(t, self.hits[hit]), one, zero)
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
    return grouped(
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
    up after. Sums are exact (:func:`~joinedup.warehouse.sums.exact_sum_sql`): the same
    in every run, whatever order the engine adds in. The result for each request is that
    of :func:`grouped` over its filtered rows.
    """
    t = src.events(reqs[0].source)
    keys = sorted({k for r in reqs for k in r.keys})
    conditions = sorted({r.condition for r in reqs if r.condition})
    t = with_first_condition_records(src.wh, t, conditions, "_first_")
    columns: dict[str, ibis.Value] = {}
    aggs: list[str] = []
    names: list[dict[str, str]] = []
    for i, req in enumerate(reqs):
        rows = where_mask(t, req.where)
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
                    total, squares = exact_sum_sql(col, value), exact_sum_sql(f"{col}*{col}", value)
                    aggs += [f"count({col}) AS {col}_n", f"{total} AS {col}_total"]
                    aggs.append(f"{squares} AS {col}_total_sq")
                    rename.update({f"{col}_n": "n", f"{col}_total": "total"})
                    rename[f"{col}_total_sq"] = "total_sq"
                    continue
                aggs.append(f"{exact_sum_sql(col, value)} AS {col}")
            rename[col] = name
        names.append(rename)
    # The source's first day, for response bases (see Sources.first_day).
    columns["_day"] = t.event_date
    aggs.append("min(_day) AS _min_day")
    frame = grouping_sets(
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
        alone = count_populations(src, {key: count}, groupings)[key]
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
    out = grouped(src.wh, t, groupings, keys, values)
    src.memo[memo] = out
    return out


def aggregate_groupings(src: Sources, d: MeasureDefinition, groupings: list[str]) -> pd.DataFrame:
    """Numerator and denominator of ``d`` per grouping, period and group (see aggregate).

    :class:`~joinedup.measures.definition.RegisterRequired` when ``d`` needs a GP
    register (:attr:`~MeasureDefinition.register_use`) and the warehouse holds activity
    only.
    """
    bad = [g for g in groupings if g not in d.groupings]
    if bad:
        raise MeasureError(
            f"measure {d.id!r} cannot be grouped by {bad[0]!r}; it allows: {', '.join(d.groupings)}"
        )
    if d.register_use is not None and src.activity_only:
        raise d.register_required()
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
