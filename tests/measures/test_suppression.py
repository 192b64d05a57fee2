"""Small-number suppression: primary, derived and secondary rules."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.measures.suppression import suppress

pytestmark = pytest.mark.unit


def _table(counts: list[list[int]]) -> pd.DataFrame:
    rows = []
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            rows.append({"practice": f"P{i}", "age_band": f"A{j}", "count": value})
    frame = pd.DataFrame(rows)
    frame["rate"] = frame["count"] / 1000.0
    return frame


def test_counts_one_to_seven_are_suppressed_but_zero_and_eight_are_not():
    frame = pd.DataFrame({"count": [0, 1, 7, 8, 100]})
    result = suppress(frame, ["count"])
    assert result.frame["count"].isna().tolist() == [False, True, True, False, False]
    assert result.frame["count"].dtype == "Int64"
    assert set(result.log["rule"]) == {"primary"}
    assert result.cells == {(1, "count"), (2, "count")}


def test_derived_values_go_with_their_count():
    frame = pd.DataFrame({"count": [3, 50], "rate": [0.3, 5.0], "lower": [0.1, 4.0]})
    result = suppress(frame, ["count"], derived={"count": ["rate", "lower"]})
    assert result.frame.loc[0, ["count", "rate", "lower"]].isna().all()
    assert result.frame.loc[1, "rate"] == 5.0
    assert set(result.log.loc[result.log["rule"] == "derived", "column"]) == {"rate", "lower"}


def test_grand_total_forces_next_smallest_cell():
    frame = pd.DataFrame({"count": [4, 30, 12, 90, 0]})
    result = suppress(frame, ["count"], total_groups=[[]])
    hidden = result.frame["count"].isna().tolist()
    # 4 is primary; 12 is the next smallest non-zero cell, so the total cannot reveal 4.
    assert hidden == [True, False, True, False, False]
    secondary = result.log[result.log["rule"] == "secondary"]
    assert secondary["value"].tolist() == [12]
    assert "grand total" in secondary["reason"].iloc[0]


def test_zero_is_used_for_secondary_only_when_nothing_else_is_left():
    frame = pd.DataFrame({"count": [5, 0]})
    result = suppress(frame, ["count"], total_groups=[[]])
    assert result.frame["count"].isna().all()


def test_two_way_table_hides_a_rectangle_not_a_cascade():
    #            A0  A1  A2
    # P0          3  20  15
    # P1          0  40  12
    # P2          9  30  25
    frame = _table([[3, 20, 15], [0, 40, 12], [9, 30, 25]])
    result = suppress(frame, ["count"], {"count": ["rate"]}, [["practice"], ["age_band"]])
    hidden = {(r.practice, r.age_band) for r in frame[result.frame["count"].isna()].itertuples()}
    assert hidden == {("P0", "A0"), ("P0", "A2"), ("P2", "A0"), ("P2", "A2")}
    assert result.frame["rate"].isna().sum() == 4


def test_unknown_column_is_named():
    with pytest.raises(KeyError, match="numerator"):
        suppress(pd.DataFrame({"count": [1]}), ["numerator"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=5),
        min_size=2,
        max_size=5,
    ).filter(lambda rows: len({len(r) for r in rows}) == 1)
)
def test_no_row_or_column_total_exposes_a_single_suppressed_cell(counts):
    frame = _table(counts)
    result = suppress(frame, ["count"], total_groups=[["practice"], ["age_band"]])
    hidden = result.frame["count"].isna()
    # Every primary cell is hidden; every published cell outside 1-7.
    assert hidden[(frame["count"] >= 1) & (frame["count"] <= 7)].all()
    for key in ("practice", "age_band"):
        per_group = hidden.groupby(frame[key]).sum()
        assert not (per_group == 1).any(), f"a {key} total would reveal a hidden cell"
