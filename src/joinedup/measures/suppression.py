"""Small-number suppression for aggregate tables that leave the warehouse.

Rules (the platform's disclosure control, DESIGN.md "Small numbers"):

1. **Primary**: any count from 1 to 7 (inclusive) is suppressed. Zero is not: a zero
   discloses nothing about an individual.
2. **Derived**: every value computed from a suppressed count (its rate, proportion,
   interval limits, ...) is suppressed with it; name them in ``derived``. A value made
   from two counts goes with either: a feedback measure's response rate is derived
   from both its ``responses`` and its ``eligible`` count, each checked as a count.
3. **Secondary**: a total that is published (or can be summed from the table) would
   let a reader recover a single suppressed cell by subtraction. So in every "total
   group" - the cells that add up to one total, named by ``total_groups`` - that holds
   exactly one suppressed cell, the next smallest non-zero unsuppressed cell is
   suppressed too (a zero cell only when no non-zero one is left; among candidates,
   one that also closes another exposed total comes first). This repeats until
   no total group holds exactly one suppressed cell, so row and column totals of a
   two-way table are both protected.

Suppressed cells become missing (``pd.NA``). :func:`suppress` returns the new frame and
a log with one row per suppressed cell: its row label, column, original value, the rule
and the reason in words. The rules are conservative, not minimal: they never reveal,
but may hide more cells than an optimal cell-suppression solver would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Counts in this inclusive range are suppressed.
LOWEST_SUPPRESSED = 1
HIGHEST_SUPPRESSED = 7


@dataclass(frozen=True)
class SuppressionResult:
    """The safe frame and a log of the cells hidden (row, column, value, rule, reason)."""

    frame: pd.DataFrame
    log: pd.DataFrame

    @property
    def cells(self) -> set[tuple[object, str]]:
        """(row label, column) of every suppressed cell."""
        return set(zip(self.log["row"], self.log["column"], strict=True))


def _check(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what} {missing} not in the frame (columns: {list(frame.columns)})")


def suppress(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    derived: Mapping[str, Sequence[str]] | None = None,
    total_groups: Sequence[Sequence[str]] = (),
    low: int = LOWEST_SUPPRESSED,
    high: int = HIGHEST_SUPPRESSED,
) -> SuppressionResult:
    """Suppress small counts, what is derived from them, and protect them from totals.

    ``frame`` is long: one row per cell (e.g. practice x age band). ``count_columns``
    are the counts checked (a numerator; add a denominator too if it counts people).
    ``derived`` maps a count column to the columns computed from it. ``total_groups``
    lists column sets whose rows add up to a published total: ``[["practice"],
    ["age_band"]]`` for a practice x age-band table with row and column totals;
    ``[[]]`` for a single grand total over all rows.
    """
    derived = dict(derived or {})
    _check(frame, count_columns, "count columns")
    _check(frame, [c for cols in derived.values() for c in cols], "derived columns")
    _check(frame, [c for cols in total_groups for c in cols], "total-group columns")
    if not frame.index.is_unique:
        raise ValueError("the frame's index must be unique to report suppressed cells")

    labels = list(frame.index)
    n = len(frame)
    hidden: dict[tuple[int, str], tuple[str, str]] = {}  # (position, column) -> rule, reason
    numbers = {
        col: pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=float)
        for col in count_columns
    }
    for col in count_columns:
        values = numbers[col]
        for pos in np.flatnonzero((values >= low) & (values <= high)).tolist():
            hidden[(pos, col)] = (
                "primary",
                f"count of {values[pos]:g} is between {low} and {high}",
            )

    # Group id of every row in each total group ([] = one grand total), and the rows of
    # each group in position order (a stable sort keeps positions ascending).
    group_ids = [
        np.zeros(n, dtype=np.int64)
        if not keys
        else frame.groupby(list(keys), sort=False, dropna=False).ngroup().to_numpy()
        for keys in total_groups
    ]
    group_rows = [_rows_by_group(gid) for gid in group_ids]
    for col in count_columns:
        if n == 0:
            break
        values = numbers[col]
        mask = np.zeros(n, dtype=bool)
        mask[[pos for pos, c in hidden if c == col]] = True
        # Hidden cells per group of each total group, kept up to date as cells are hidden.
        counts = [np.bincount(gid[mask], minlength=gid.max() + 1) for gid in group_ids]
        changed = True
        while changed:  # repeat until no total group holds exactly one hidden cell
            changed = False
            for keys, _gid, rows, hidden_in in zip(
                total_groups, group_ids, group_rows, counts, strict=True
            ):
                for group in np.flatnonzero(hidden_in == 1).tolist():
                    members = rows[group]
                    if hidden_in[group] != 1:
                        continue  # already fixed earlier in this pass
                    pick = _choose_secondary(values, members, mask, group_ids, counts)
                    if pick is None:
                        continue  # the group's only cell: its total is the cell itself
                    secret = labels[members[mask[members]][0]]
                    label = ", ".join(keys) if keys else "grand"
                    hidden[(pick, col)] = (
                        "secondary",
                        f"protects suppressed row {secret!r} in the {label} total",
                    )
                    mask[pick] = True
                    for g, c in zip(group_ids, counts, strict=True):
                        c[g[pick]] += 1
                    changed = True

    records: list[tuple[int, str, str, str]] = []
    for (pos, col), (rule, reason) in hidden.items():
        records.append((pos, col, rule, reason))
        for dcol in derived.get(col, ()):
            if (pos, dcol) not in hidden:
                records.append((pos, dcol, "derived", f"derived from {col}"))
    values_out: list[object] = [None] * len(records)
    out = frame.copy()
    for col in dict.fromkeys(r[1] for r in records):
        where = [i for i, r in enumerate(records) if r[1] == col]
        at = np.array([records[i][0] for i in where], dtype=np.int64)
        for i, v in zip(where, _take(frame[col], at), strict=True):
            values_out[i] = v
        mask = np.zeros(n, dtype=bool)
        mask[at] = True
        out[col] = _nullable(frame[col]).mask(mask)
    log = pd.DataFrame(
        [
            (labels[pos], col, value, rule, reason)
            for (pos, col, rule, reason), value in zip(records, values_out, strict=True)
        ],
        columns=["row", "column", "value", "rule", "reason"],
    )
    return SuppressionResult(out, log)


def _take(column: pd.Series, positions: np.ndarray) -> list[object]:
    """The values at ``positions`` as ``column.iloc[pos]`` gives them, in one take."""
    if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        return list(column.array.take(positions))
    return list(column.to_numpy()[positions])


def _rows_by_group(gid: np.ndarray) -> list[np.ndarray]:
    """Positions of the rows of each group id (0..max), ascending within a group."""
    if len(gid) == 0:
        return []
    order = np.argsort(gid, kind="stable")
    bounds = np.cumsum(np.bincount(gid, minlength=gid.max() + 1))[:-1]
    return np.split(order, bounds)


def _choose_secondary(
    values: np.ndarray,
    members: np.ndarray,
    mask: np.ndarray,
    group_ids: Sequence[np.ndarray],
    hidden_per_group: Sequence[np.ndarray],
) -> int | None:
    """Position of the cell to hide next to a lone suppressed cell among ``members``.

    The smallest non-zero unsuppressed cell, except that a cell which also closes
    another exposed total (a total group with exactly one hidden cell) comes first:
    that keeps two-way tables to a rectangle of hidden cells instead of a cascade.
    Zero cells are chosen only when nothing else is left. Ties go to the first row.
    ``hidden_per_group`` holds the hidden cells per group of each total group.
    """
    candidates = members[~mask[members] & ~np.isnan(values[members])]
    if not len(candidates):
        return None
    closes = np.zeros(len(candidates), dtype=np.int64)
    for g, counts in zip(group_ids, hidden_per_group, strict=True):
        closes += counts[g[candidates]] == 1
    v = values[candidates]
    # lexsort: the last key is the primary one; positions break ties (first row wins).
    best = np.lexsort((candidates, v, -closes, v == 0))[0]
    return int(candidates[best])


def _nullable(column: pd.Series) -> pd.Series:
    """Counts become nullable integers, other numbers nullable floats, so NA fits."""
    if pd.api.types.is_integer_dtype(column):
        return column.astype("Int64")
    if pd.api.types.is_float_dtype(column):
        return column.astype("Float64")
    return column.astype("object")
