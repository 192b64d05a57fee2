"""The same warehouse gives byte-identical measures, whatever order rows are added in.

A parallel engine adds a group's rows in whatever order its threads reach them, and
floating-point addition is not associative: DuckDB's SUM of costs and scores, and the
engine's own adding up of practices into clusters and footprints (in the order the
groups came back), differed in their last digits from run to run. Here the second
warehouse holds the same rows stored in another order, which changes the order of
addition even on one thread, so the check does not depend on thread timing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.measures import compute

pytestmark = pytest.mark.integration

#: Sums of money and bed days, means of scores, counts, a standardised rate, a proportion.
MEASURES = [
    "acute_spend_per_head",
    "outpatient_spend_per_head",
    "emergency_bed_days",
    "pam_score",
    "emergency_admissions",
    "emergency_admissions_dsr",
    "ae_within_4_hours",
]


def assert_same_csv(x: pd.DataFrame, y: pd.DataFrame) -> None:
    """``x`` and ``y`` written as CSV are the same text (else: the first lines that differ)."""
    xs, ys = x.to_csv().splitlines(), y.to_csv().splitlines()
    assert len(xs) == len(ys)
    assert [(p, q) for p, q in zip(xs, ys, strict=True) if p != q][:3] == []


def test_measures_do_not_depend_on_the_order_rows_are_added_in(reordered_warehouses) -> None:
    a, b = (compute(w, MEASURES, by="all", cache=False) for w in reordered_warehouses)
    assert set(a["measure_id"]) == set(MEASURES)
    assert_same_csv(a, b)
