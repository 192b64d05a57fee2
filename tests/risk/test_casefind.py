"""Case-finding lists and segmentation on the synthetic economy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def scored(economy, tmp_path_factory):
    """Everyone scored at the end of the data by a small model (its quality is not
    what these tests check), and that model saved for the command line."""
    import lightgbm as lgb

    from joinedup.risk.features import data_end
    from joinedup.risk.model import LGB_PARAMS, RiskModel, design, matrix, rank_people
    from joinedup.warehouse import open_warehouse

    with open_warehouse(economy.warehouse_path, read_only=True) as wh:
        frame = design(wh, data_end(wh), outcome=False)
    y = (frame["emergency_admissions"] + frame["ltc_count"] > 2).to_numpy(int)
    booster = lgb.train(LGB_PARAMS, lgb.Dataset(matrix(frame), y), num_boost_round=20)
    model = RiskModel(booster, 0.0, 1.0, meta={"note": "test model"})
    folder = tmp_path_factory.mktemp("casefind-model")
    model.save(folder)
    return rank_people(frame, model), RiskModel.load(folder), folder


def busiest_practice(scored_frame: pd.DataFrame) -> str:
    top = scored_frame.head(round(0.02 * len(scored_frame)))
    return top["practice_code"].value_counts().index[0]


def test_list_is_the_practices_top_tier_ranked_with_reasons(economy, scored):
    from joinedup.risk.casefind import ListFilters, case_finding_list, enrolled_on
    from joinedup.warehouse import open_warehouse

    frame, model, _ = scored
    practice = busiest_practice(frame)
    with open_warehouse(economy.warehouse_path, read_only=True) as wh:
        rows = case_finding_list(wh, model, frame, ListFilters(practice=practice))
        enrolled = enrolled_on(wh, pd.Timestamp(frame["index_date"].iloc[0]).date())
    top = frame.head(round(0.02 * len(frame)))
    expected = top[(top.practice_code == practice) & ~top.person_id.isin(enrolled)]
    assert len(rows) == len(expected) > 0
    assert set(rows.person_id) == set(expected.person_id)
    assert rows["risk_percent"].is_monotonic_decreasing
    assert rows["list_rank"].tolist() == list(range(1, len(rows) + 1))
    assert (rows["reasons"].str.len() > 0).all()
    # Only the pseudonymised id identifies anyone.
    assert not {"nhs_number", "name", "date_of_birth", "year_of_birth"} & set(rows.columns)


def test_filters(economy, scored):
    from joinedup.risk.casefind import ListFilters, case_finding_list
    from joinedup.warehouse import open_warehouse

    frame, model, _ = scored
    footprint = frame.head(round(0.02 * len(frame)))["footprint_code"].value_counts().index[0]
    with open_warehouse(economy.warehouse_path, read_only=True) as wh:
        everyone = case_finding_list(
            wh, model, frame, ListFilters(footprint=footprint, exclude_enrolled=False)
        )
        narrowed = case_finding_list(
            wh,
            model,
            frame,
            ListFilters(
                footprint=footprint,
                exclude_care_home=True,
                age_bands=("75-84", "85+"),
                conditions=("heart_failure",),
            ),
        )
    assert 0 < len(narrowed) < len(everyone)
    people = frame.set_index("person_id").loc[narrowed.person_id]
    assert (people.care_home == 0).all() and (people.ltc_heart_failure == 1).all()
    assert set(people.age_band) <= {"75-84", "85+"}
    with (
        pytest.raises(ValueError, match="not found"),
        open_warehouse(economy.warehouse_path, read_only=True) as wh,
    ):
        case_finding_list(wh, model, frame, ListFilters(practice="NOPE"))
    with pytest.raises(ValueError, match="age band"):
        ListFilters(practice="X", age_bands=("old",))


def test_segments_cover_everyone_and_the_needier_segments_cost_more(scored):
    from joinedup.risk.segments import segment_people, segment_summary

    frame, _, _ = scored
    people = segment_people(frame)
    assert len(people) == len(frame) and people["segment"].between(1, 8).all()
    summary = segment_summary(people).frame.set_index("segment")
    assert summary["people"].sum() == len(frame)
    assert summary.loc[1, "cost_per_head"] < summary.loc[4, "cost_per_head"]
    assert summary.loc[8, "cost_per_head"] > summary.loc[4, "cost_per_head"]
    tiers = segment_summary(people, kind="tier").frame.set_index("tier")
    assert tiers.loc[3, "share_of_people"] == pytest.approx(0.02, abs=0.001)
    assert tiers.loc[3, "cost_per_head"] > tiers.loc[2, "cost_per_head"]
    by_practice = segment_summary(people, by="practice", kind="tier").frame
    practices = by_practice[by_practice["practice_code"] != "ALL"]
    assert np.nansum(practices["people"]) <= len(frame)
    whole = by_practice[by_practice["practice_code"] == "ALL"]
    assert whole["people"].sum() == len(frame)


def test_casefind_command_exports_xlsx(economy, scored, tmp_path):
    from typer.testing import CliRunner

    from joinedup.cli import app

    frame, _, folder = scored
    practice = busiest_practice(frame)
    out = tmp_path / "list.xlsx"
    result = CliRunner().invoke(
        app,
        ["casefind", "--practice", practice, "--warehouse", str(economy.warehouse_path),
         "--model", str(folder), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    exported = pd.read_excel(out)
    assert len(exported) > 0 and exported.columns[1] == "person_id"
