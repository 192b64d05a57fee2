"""A definition's conditions as warehouse expressions: ``where`` filters and flags, and
the first record of a condition per person."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis

from joinedup.measures.definition import Count
from joinedup.warehouse import Warehouse


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


def where_mask(t: ibis.Table, where: dict[str, Any]) -> ibis.Value:
    """One boolean expression: every condition of ``where`` holds (missing = false)."""
    out = ibis.literal(True)
    for field, cond in where.items():
        out &= _condition_value(t, field, cond).fill_null(False)
    return out
