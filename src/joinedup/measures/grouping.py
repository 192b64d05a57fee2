"""Counting by every grouping at once: one GROUPING SETS query, relabelled after.

Person attributes are grouped by integer code and age bands by whole age; the codes
become group labels on the aggregated rows (see :meth:`joinedup.measures.engine.Sources.people`).
"""

from __future__ import annotations

import ibis
import pandas as pd

from joinedup.derived.persons import AGE_BANDS
from joinedup.measures.definition import GROUPINGS
from joinedup.warehouse import Warehouse
from joinedup.warehouse.sums import exact_sum_sql

#: Person attributes grouped by integer code in events with a plan (see Sources.people).
CODED = ("practice_code", "cluster_code", "footprint_code", "imd_quintile", "ethnic_group", "sex")
#: Stands for a missing code or age in the grouping columns (NULL there means "not
#: this grouping set").
MISSING_CODE = -100_000


def age_band_label(age: int) -> str:
    """The age band of a whole age, as :func:`joinedup.derived.persons.band` gives it."""
    for label, low, high in AGE_BANDS:
        if (age <= high) if high is not None else (age >= low):
            return label
    return "unknown"


def grouped(
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
        ((name, v),) = values.items()
        aggs = [
            f"count({name}) AS n",
            f"{exact_sum_sql(name, v)} AS total",
            f"{exact_sum_sql(f'{name} * {name}', v)} AS total_sq",
        ]
    else:
        aggs = [
            f"count(*) AS {name}" if v is None else f"{exact_sum_sql(name, v)} AS {name}"
            for name, v in values.items()
        ]
    return grouping_sets(wh, t, groupings, keys, columns, aggs, codes, rollup)


def practice_rollup(
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
    practice = [MISSING_CODE if pd.isna(v) else code_of[str(v)] for v in combos["practice_code"]]
    # Events without a person (anonymous feedback) have no practice and no parents.
    out = {"partnership": dict.fromkeys([*practice, MISSING_CODE], "all")}
    for parent in ("cluster_code", "footprint_code"):
        labels = ["unknown" if pd.isna(v) else str(v) for v in combos[parent]]
        pairs = pd.DataFrame({"k": practice, "label": labels}).drop_duplicates()
        if not pairs["k"].duplicated().any():
            labels_of = dict(zip(pairs["k"], pairs["label"], strict=True))
            out[parent] = {MISSING_CODE: "unknown", **labels_of}
    return out


def group_key(
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
        return "_k_practice_code", t._k_practice_code.fill_null(MISSING_CODE), rollup[column]
    if codes and column in codes:
        labels = {**codes[column], MISSING_CODE: "unknown"}
        return f"_k_{column}", t[f"_k_{column}"].fill_null(MISSING_CODE), labels
    if codes and column == "age_band" and "age" in t.columns:
        return "age", t.age.cast("int32").fill_null(MISSING_CODE), {MISSING_CODE: "unknown"}
    return grouping, t[column].cast("string").fill_null("unknown"), None


def relabelled(
    part: pd.DataFrame, grouping: str, labels: dict[int, str], index: list[str]
) -> pd.DataFrame:
    """The counts of one grouping by code (column ``group``) by label instead.

    Codes that share a label (missing and "unknown"; the ages of a band; the practices
    of a cluster) become one group: sums and counts added, ``_min_*`` the least. Done
    before dates become Python objects, which are slow to group by.
    """
    codes = part["group"].astype("int64")
    if grouping == "age_band":
        labels = {a: labels.get(a) or age_band_label(a) for a in codes.unique()}
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


def grouping_sets(
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
    practice (see :func:`group_key`). Aggregates are sums or counts (combined by
    summing), except those named ``_min_*`` (combined by taking the least). Sums of
    fractions should be exact (:func:`~joinedup.warehouse.sums.exact_sum_sql`): the rows
    come back sorted, so that sums combined here are added in the same order every run.
    """
    grouped = {g: group_key(t, g, codes, rollup) for g in groupings}
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
    # The engine returns groups in whatever order its threads finish them.
    frame = wh.sql_frame(sql).sort_values([*base, *gcols.values()], ignore_index=True)
    parts = []
    for g, (name, _expr, labels) in grouped.items():
        col = gcols[name]
        part = frame[frame[col].notna()].drop(columns=[c for c in gcols.values() if c != col])
        part = part.rename(columns={col: "group"})
        if labels is not None:
            part = relabelled(part, g, labels, base)
        part.insert(0, "grouping", g)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    out["group"] = out["group"].astype(str)
    return out
