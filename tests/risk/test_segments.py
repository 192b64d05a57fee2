"""Bridges to Health rules and Kaiser tiers on hand-made people."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from joinedup.risk.features import CONDITIONS
from joinedup.risk.segments import (
    PyramidThresholds,
    kaiser_tier,
    segment_summary,
    with_segments,
)

pytestmark = pytest.mark.unit


def person(**kw) -> dict:
    row = {f"ltc_{c}": 0 for c in CONDITIONS}
    row.update(
        person_id="p",
        age=50,
        ltc_count=0,
        emergency_admissions=0,
        ae_attendances=0,
        maternity_admissions=0,
        care_home=0,
        social_care=0,
        hfrs=0.0,
        cost=0.0,
        emergency_bed_days=0,
    )
    row.update(kw)
    row["ltc_count"] = kw.get("ltc_count", sum(row[f"ltc_{c}"] for c in CONDITIONS))
    return row


CASES = [
    (person(), 1),
    (person(ae_attendances=1), 3),
    (person(ltc_asthma=1), 4),
    (person(age=0), 2),
    (person(maternity_admissions=1, ltc_asthma=1), 2),
    (person(ltc_learning_disability=1), 5),
    (person(social_care=1, age=60), 5),
    (person(ltc_heart_failure=1, emergency_admissions=1), 7),
    (person(ltc_heart_failure=1), 4),  # organ failure without an exacerbation
    (person(ltc_dementia=1, ltc_heart_failure=1, emergency_admissions=2), 8),
    (person(care_home=1), 8),
    (person(hfrs=15.0), 8),
    (person(hfrs=14.9, ae_attendances=1), 3),
    (person(age=85, social_care=1), 8),
    (person(ltc_cancer=1, emergency_admissions=1, ltc_dementia=1), 6),
    (person(ltc_cancer=1), 4),
]


@pytest.mark.parametrize(("row", "segment"), CASES)
def test_bridges_rules(row, segment):
    out = with_segments(ibis.memtable(pd.DataFrame([row]))).to_pyarrow().to_pandas()
    assert out["segment"].iloc[0] == segment


def test_kaiser_tiers_share_and_threshold():
    frame = pd.DataFrame({"risk": np.linspace(0.01, 0.99, 100), "ltc_count": [0, 1] * 50})
    tier = kaiser_tier(frame, PyramidThresholds(case_management_share=0.05))
    assert (tier == 3).sum() == 5 and tier[-5:].tolist() == [3] * 5
    assert set(tier[:95][frame.ltc_count[:95] == 1]) == {2}
    assert set(tier[:95][frame.ltc_count[:95] == 0]) == {1}
    tier = kaiser_tier(frame, PyramidThresholds(case_management_min_risk=0.9))
    assert (tier == 3).sum() == int((frame.risk >= 0.9).sum())
    tier = kaiser_tier(frame, PyramidThresholds(0.05, min_conditions=2))
    assert set(tier[:95]) == {1}
    with pytest.raises(ValueError, match="case_management_share"):
        PyramidThresholds(case_management_share=2)


def test_summary_suppresses_small_groups_and_shares_add_up():
    people = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(60)],
            "footprint_code": ["A"] * 30 + ["B"] * 30,
            "segment": [1] * 25 + [4] * 5 + [1] * 20 + [4] * 10,
            "emergency_admissions": 1,
            "emergency_bed_days": 2,
            "ae_attendances": 0,
            "cost": 100.0,
        }
    )
    people["segment_name"] = people["segment"].map({1: "Healthy", 4: "Chronic"})
    whole = segment_summary(people).frame.set_index("segment")
    assert whole["people"].to_dict() == {1: 45, 2: 0, 3: 0, 4: 15, 5: 0, 6: 0, 7: 0, 8: 0}
    assert whole["share_of_people"].sum() == pytest.approx(1)
    assert whole.loc[[1, 4], "emergency_admissions_per_1000"].tolist() == [1000, 1000]
    assert whole["emergency_admissions_per_1000"].isna().sum() == 6  # no one: no rate
    by_fp = segment_summary(people, by="footprint").frame.set_index(["footprint_code", "segment"])
    # 5 people is suppressed, and so is its only neighbour in footprint A's total; the
    # partnership's 15 in segment 4 is published beside them, so B's 10 is hidden too
    # (else 15 - 10 gives A's 5), and with it B's other cell.
    assert pd.isna(by_fp.loc[("A", 4), "people"]) and pd.isna(by_fp.loc[("A", 1), "people"])
    assert pd.isna(by_fp.loc[("B", 4), "people"]) and pd.isna(by_fp.loc[("B", 1), "people"])
    assert by_fp.loc[("ALL", 4), "people"] == 15 and by_fp.loc[("ALL", 1), "people"] == 45
