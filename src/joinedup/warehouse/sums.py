"""Exact, order-independent sums: the same total whatever order the engine adds in.

A parallel engine (DuckDB's threads, Spark's partitions) adds a group's rows in the
order its workers happen to finish, and floating-point addition is not associative: a
SUM of DOUBLEs (money, scores) can differ in its last digits from one run to the next.
Summed as an exact decimal (to a millionth: pence, bed days and scores fit), the total
does not depend on that order; it becomes float64 once, at the end. Whole numbers
(counts, flags, days) are summed as they are: every partial sum of them is exact.
"""

from __future__ import annotations

import ibis.expr.types as ir

#: The exact type fractions are summed in: 32 digits before the point, 6 after.
EXACT = "decimal(38, 6)"


def _whole(value: ir.Value | None) -> bool:
    return value is not None and (value.type().is_integer() or value.type().is_boolean())


def exact_sum(value: ir.NumericValue) -> ir.FloatingValue:
    """SUM of ``value``, the same in every run, as float64 (NULL over no non-null rows)."""
    if _whole(value):
        return value.sum().cast("float64")
    return value.cast(EXACT).sum().cast("float64")


def exact_mean(value: ir.NumericValue) -> ir.FloatingValue:
    """Mean of the non-null ``value``: :func:`exact_sum` over their count."""
    return exact_sum(value) / value.count().cast("float64")


def exact_sum_sql(column: str, value: ir.Value | None = None) -> str:
    """:func:`exact_sum` for hand-written SQL (the same text in DuckDB's and Spark's
    dialects): the SUM of ``column``, which holds ``value`` (if given and whole numbers,
    summed as it is, even as DOUBLE)."""
    if _whole(value):
        return f"SUM({column})"
    return f"CAST(SUM(CAST({column} AS {EXACT.upper()})) AS DOUBLE)"
