"""Registered-population denominators, counted from registration intervals.

Every population denominator of a compute run comes from one pass over the run's
people (:func:`count_populations`), without a row per person and period; head counts
are then added up by ESP band in arrays (:func:`population_by_band`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from joinedup.derived.persons import with_age
from joinedup.measures.conditions import where_mask, with_first_condition_records
from joinedup.measures.definition import GROUPINGS, Count
from joinedup.measures.grouping import grouped
from joinedup.measures.periods import Period

if TYPE_CHECKING:
    from joinedup.measures.engine import Sources

#: Population fields that change with time (with age); the rest are fixed per person.
AGE_FIELDS = ("age", "age_band", "esp_band")
#: Stands for "no period" (never entered, never left) in the period of a change.
NEVER = date(9999, 12, 31)


def first_period(value: ibis.Value, periods: list[Period]) -> ibis.Value:
    """Start of the first period whose midpoint is on or after ``value`` (NEVER if none).

    A person with a registration date of ``value`` counts from that period on; one who
    leaves (or dies, or is first recorded with a condition) on ``value`` counts until
    just before it. Missing dates give NEVER.
    """
    first, last = periods[0], periods[-1]
    cases = [
        (value.isnull(), NEVER),
        (value <= first.mid, first.start),
        (value > last.mid, NEVER),
    ]
    cases += [(value <= p.mid, p.start) for p in periods[1:]]
    return ibis.cases(*cases, else_=NEVER)


def count_populations(
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
    # practices summed from practices (see group_key).
    t = src.people().mutate(partnership=ibis.literal("all"))
    coded = [c for c in t.columns if c.startswith("_k_")]
    conditions = sorted({tuple(sorted(c.condition)) for c in specs.values() if c.condition})
    t = with_first_condition_records(src.wh, t, conditions, "first_")
    t = t.mutate(
        _from=first_period(t.registered_from, periods),
        _to=ibis.least(
            first_period(t.registered_to, periods), first_period(t.date_of_death, periods)
        ),
        **{f"_c{i}": first_period(t[f"first_{i}"], periods) for i in range(len(conditions))},
    )
    # Materialised once: the changes below read it 2 + len(conditions) times.
    t = src._cache(t.drop(*[c for c in t.columns if c.startswith("first_")]))
    # Per spec: the fixed part of its where (the age part is applied after counting),
    # and the period it starts counting a person from.
    fixed, starts, dynamic = [], [], []
    for count in specs.values():
        fixed.append(where_mask(t, {k: v for k, v in count.where.items() if k not in AGE_FIELDS}))
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
        change_sets.append(part.filter(part.period_start != NEVER))
    changes = ibis.union(*change_sets, distinct=False)
    first_pass = [g for g in wanted if g != "age_band"]
    if "partnership" not in first_pass:  # age bands are counted from the partnership's
        first_pass.insert(0, "partnership")
    names = [f"d_{j}" for j in range(len(specs))]
    try:
        frame = grouped(
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
    counted = population_by_band(src, frame, names, wanted, dynamic)
    return dict(zip(specs, counted, strict=True))


def population_by_band(
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
            **{f"m_{j}": where_mask(a, cond) for j, cond in enumerate(dynamic)},
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
