"""Small-number suppression: primary, derived and secondary rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.measures import finalise, load_library
from joinedup.measures.suppression import hidden_cells, suppress

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


def _reference(frame: pd.DataFrame, col: str, total_groups: list[list[str]]) -> set[int]:
    """The rules of the module docstring written out plainly: the positions hidden."""
    values = [None if pd.isna(v) else float(v) for v in frame[col]]
    hidden = {i for i, v in enumerate(values) if v is not None and 1 <= v <= 7}
    # Each total group's groups in order of first appearance, and each row's group.
    groups_of: list[list[list[int]]] = []
    group_at: list[list[int]] = []
    for keys in total_groups:
        ids: dict[tuple, int] = {}
        members: list[list[int]] = []
        at = []
        for i, row in enumerate(frame[keys].itertuples(index=False)):
            key = tuple(row)
            if key not in ids:
                ids[key] = len(members)
                members.append([])
            members[ids[key]].append(i)
            at.append(ids[key])
        groups_of.append(members)
        group_at.append(at)

    def exposed(j: int, g: int) -> bool:
        return sum(i in hidden for i in groups_of[j][g]) == 1

    changed = True
    while changed:
        changed = False
        for j, members in enumerate(groups_of):
            for g in [g for g in range(len(members)) if exposed(j, g)]:
                if not exposed(j, g):
                    continue
                free = [i for i in members[g] if i not in hidden and values[i] is not None]
                if not free:
                    continue
                closes = {
                    i: sum(exposed(t, group_at[t][i]) for t in range(len(groups_of))) for i in free
                }
                hidden.add(min(free, key=lambda i: (values[i] == 0, -closes[i], values[i], i)))
                changed = True
    return hidden


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(min_value=1, max_value=6),
    cols=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_suppress_and_hidden_cells_follow_the_rules_with_several_totals(rows, cols, data):
    cells = data.draw(
        st.lists(
            # Mostly publishable counts, so that which cell protects which matters.
            st.one_of(*[st.integers(min_value=8, max_value=60)] * 4, st.integers(0, 7), st.none()),
            min_size=rows * cols,
            max_size=rows * cols,
        )
    )
    frame = pd.DataFrame(
        [(f"P{i}", f"C{i % 2}", f"A{j}") for i in range(rows) for j in range(cols)],
        columns=["practice", "cluster", "age_band"],
    )
    frame["count"] = pd.array(cells, dtype="Int64")
    frame["other"] = [v if v is None else 3 * v for v in cells]
    frame["other"] = frame["other"].astype("Float64")
    totals = data.draw(
        st.lists(
            st.sampled_from([[], ["practice"], ["age_band"], ["cluster", "age_band"]]),
            max_size=4,
        )
    )
    result = suppress(frame, ["count", "other"], total_groups=totals)
    gids = [
        frame.groupby(keys, sort=False).ngroup().to_numpy() if keys else np.zeros(len(frame), int)
        for keys in totals
    ]
    fast = hidden_cells(
        {c: frame[c].to_numpy(dtype=float, na_value=np.nan) for c in ("count", "other")}, gids
    )
    for col in ("count", "other"):
        want = _reference(frame, col, totals)
        assert {r for r, c in result.cells if c == col} == want
        assert set(np.flatnonzero(fast[col])) == want
        assert set(np.flatnonzero(result.frame[col].isna() & frame[col].notna())) == want


def test_finalise_protects_a_small_practice_within_its_cluster_total():
    # One month, four practices: P1 and P2 in cluster C1, P3 and P4 in C2, all in one
    # footprint. P1's 3 admissions are hidden. For the month's total the next cell to
    # hide would be the smallest, P3 (20), but P2 (50) also closes the C1 total (and
    # both close the footprint's), so P2 is hidden instead and the C2 figures stay.
    d = load_library()["emergency_admissions"]
    counts = pd.DataFrame({
        "measure_id": [d.id] * 4, "grouping": ["practice"] * 4,
        "period_start": [date(2023, 7, 1)] * 4, "period": ["2023-07"] * 4,
        "group": ["P1", "P2", "P3", "P4"], "numerator": [3, 50, 20, 30],
        "denominator": [1000.0] * 4,
    })  # fmt: skip
    parents = pd.DataFrame({
        "practice_code": ["P1", "P2", "P3", "P4"], "cluster_code": ["C1", "C1", "C2", "C2"],
        "footprint_code": ["F1"] * 4,
    })  # fmt: skip
    res = finalise(counts, d, "month", parents=parents).set_index("group")
    assert res["suppressed"].to_dict() == {"P1": True, "P2": True, "P3": False, "P4": False}
    assert res["numerator"].isna().to_dict() == {"P1": True, "P2": True, "P3": False, "P4": False}
    assert res.loc["P3", "numerator"] == 20 and res.loc["P4", "value"] > 0
    assert res["denominator"].notna().all()
    # Without parents, only the month and practice totals: the smallest cell, P3, goes.
    plain = finalise(counts, d, "month").set_index("group")
    assert plain["suppressed"].to_dict() == {"P1": True, "P2": False, "P3": True, "P4": False}
