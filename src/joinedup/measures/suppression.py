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
and the reason in words. :func:`hidden_cells` finds the same cells on arrays, with no
frame or log, for callers that suppress many tables (the measure results). The rules
are conservative, not minimal: they never reveal, but may hide more cells than an
optimal cell-suppression solver would.
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
    numbers = {
        col: pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=float)
        for col in count_columns
    }
    # Group id of every row in each total group ([] = one grand total).
    group_ids = [
        np.zeros(n, dtype=np.int64)
        if not keys
        else frame.groupby(list(keys), sort=False, dropna=False).ngroup().to_numpy()
        for keys in total_groups
    ]
    found = {col: _hide(numbers[col], group_ids, low, high, explain=True) for col in count_columns}

    # (position, column) -> rule, reason; primary cells of every column come first.
    hidden: dict[tuple[int, str], tuple[str, str]] = {}
    for col in count_columns:
        values = numbers[col]
        for pos in found[col].primary.tolist():
            hidden[(pos, col)] = (
                "primary",
                f"count of {values[pos]:g} is between {low} and {high}",
            )
    for col in count_columns:
        for pick, k, secret in found[col].secondary:
            keys = total_groups[k]
            label = ", ".join(keys) if keys else "grand"
            hidden[(pick, col)] = (
                "secondary",
                f"protects suppressed row {labels[secret]!r} in the {label} total",
            )

    records: list[tuple[int, str, str, str]] = []
    for (pos, col), (rule, reason) in hidden.items():
        records.append((pos, col, rule, reason))
        for dcol in derived.get(col, ()):
            if (pos, dcol) not in hidden:
                records.append((pos, dcol, "derived", f"derived from {col}"))
    values_out: list[object] = [None] * len(records)
    where_of: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        where_of.setdefault(r[1], []).append(i)
    out = frame.copy()
    for col, where in where_of.items():
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


def hidden_cells(
    counts: Mapping[str, np.ndarray],
    group_ids: Sequence[np.ndarray],
    low: int = LOWEST_SUPPRESSED,
    high: int = HIGHEST_SUPPRESSED,
) -> dict[str, np.ndarray]:
    """The count cells :func:`suppress` hides, as a boolean mask per count column.

    The fast path for callers that need neither the log nor a new frame: ``counts``
    maps each count column to its values (floats, NaN for missing), ``group_ids`` holds
    one array per total group with every row's group number, numbered from 0 in order
    of first appearance (as ``frame.groupby(keys, sort=False, dropna=False).ngroup()``
    numbers them; a grand total is all zeros). Primary and secondary cells are marked;
    the derived columns of a count go with its mask.
    """
    return {
        col: _hide(np.asarray(values, dtype=float), group_ids, low, high, explain=False).mask
        for col, values in counts.items()
    }


@dataclass
class _Found:
    """Hidden cells of one count column: primary positions (ascending), secondary picks
    in the order made as (position, total group, position of the cell it protects; -1
    unless explained), and the mask of all of them."""

    primary: np.ndarray
    secondary: list[tuple[int, int, int]]
    mask: np.ndarray


def _hide(
    values: np.ndarray, group_ids: Sequence[np.ndarray], low: int, high: int, explain: bool
) -> _Found:
    """Primary and secondary suppression of one count column."""
    mask = (values >= low) & (values <= high)
    primary = np.flatnonzero(mask)
    secondary: list[tuple[int, int, int]] = []
    if len(group_ids) and len(primary):  # no totals, or no hidden cell to expose
        secondary = _secondary(values, mask, group_ids, explain)
    return _Found(primary, secondary, mask)


def _secondary(
    values: np.ndarray, mask: np.ndarray, group_ids: Sequence[np.ndarray], explain: bool
) -> list[tuple[int, int, int]]:
    """Hide cells next to lone hidden cells until no total group holds exactly one.

    Updates ``mask`` in place. Total groups are visited in order, and within one the
    groups holding one hidden cell in group-id order, each pass until nothing changes.
    The next cell is the smallest non-zero cell not hidden (not missing either), except
    that a cell which also closes another exposed total (a total group with exactly one
    hidden cell) comes first: that keeps two-way tables to a rectangle of hidden cells
    instead of a cascade. Zero cells are chosen only when nothing else is left. Ties go
    to the first row. Picks are (position, total group, position of the lone cell).
    """
    # The groups of all total groups numbered together: total group j's groups start at
    # offset[j]. slot[j, row] is the row's group in total group j.
    sizes = [int(gid.max()) + 1 for gid in group_ids]
    offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    slot = np.stack([gid + offset[j] for j, gid in enumerate(group_ids)])
    # Rows of every group in position order (a stable sort keeps positions ascending).
    flat = slot.ravel()
    order = np.argsort(flat, kind="stable") % len(values)
    starts = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=offset[-1]))]).tolist()
    # Hidden cells per group, kept up to date as cells are hidden, and which groups are
    # exposed (exactly one hidden cell).
    hidden_in = np.bincount(slot[:, mask].ravel(), minlength=offset[-1])
    exposed = hidden_in == 1
    hidden_in = hidden_in.tolist()
    free = ~mask & ~np.isnan(values)  # cells that may still be chosen
    stuck = set()  # groups with no cell left to choose: hiding elsewhere gives them none
    picks: list[tuple[int, int, int]] = []
    changed = True
    while changed:  # repeat until no total group holds exactly one hidden cell
        changed = False
        for k in range(len(group_ids)):
            lo = int(offset[k])
            for group in (np.flatnonzero(exposed[lo : offset[k + 1]]) + lo).tolist():
                if hidden_in[group] != 1 or group in stuck:
                    continue  # already fixed earlier in this pass, or cannot be
                members = order[starts[group] : starts[group + 1]]
                candidates = members[free[members]]
                if len(candidates) > 1:
                    # How many exposed totals each candidate closes: its own group's
                    # counts for every candidate alike, so it does not change the order.
                    closes = exposed[slot[:, candidates]].sum(axis=0)
                    v = values[candidates]
                    # lexsort: the last key is the primary one; positions break ties.
                    pick = int(candidates[np.lexsort((candidates, v, -closes, v == 0))[0]])
                elif len(candidates):
                    pick = int(candidates[0])
                else:
                    stuck.add(group)  # the group's only cell: its total is the cell
                    continue
                secret = int(members[mask[members]][0]) if explain else -1
                mask[pick] = True
                free[pick] = False
                for g in slot[:, pick].tolist():
                    hidden_in[g] += 1
                    exposed[g] = hidden_in[g] == 1
                picks.append((pick, k, secret))
                changed = True
    return picks


def _take(column: pd.Series, positions: np.ndarray) -> list[object]:
    """The values at ``positions`` as ``column.iloc[pos]`` gives them, in one take."""
    if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        return list(column.array.take(positions))
    return list(column.to_numpy()[positions])


def _nullable(column: pd.Series) -> pd.Series:
    """Counts become nullable integers, other numbers nullable floats, so NA fits."""
    if pd.api.types.is_integer_dtype(column):
        return column.astype("Int64")
    if pd.api.types.is_float_dtype(column):
        return column.astype("Float64")
    return column.astype("object")
