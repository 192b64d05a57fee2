"""Patient-voice measures agree with a plain count of the answers, and hide small groups."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from joinedup.measures import compute
from joinedup.synth import SynthConfig, build

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def small_economy(tmp_path_factory):
    return build(SynthConfig(people=6_000, years=2, seed=11), tmp_path_factory.mktemp("fb"))


def _financial_year(d: pd.Series) -> pd.Series:
    start = d.dt.year.where(d.dt.month >= 4, d.dt.year - 1)
    return start.astype(str) + "-" + ((start + 1) % 100).astype(str).str.zfill(2)


def test_fft_percentage_positive_matches_a_plain_count(small_economy):
    answers = pq.read_table(small_economy.out / "parquet" / "feedback_response.parquet")
    f = answers.to_pandas()
    f = f[(f["instrument"] == "fft") & (f["setting"] == "ae")]
    f["period"] = _financial_year(pd.to_datetime(f["responded_on"]))
    expected = f.groupby("period")["answer_code"].agg(
        positive=lambda s: s.isin(["1", "2"]).sum(), total="count"
    )
    got = compute(small_economy.warehouse_path, ids=["fft_positive_ae"], by="partnership",
                  period="financial_year", cache=False).set_index("period")  # fmt: skip
    for period, row in expected.iterrows():
        assert got.loc[period, "numerator"] == row["positive"]
        assert got.loc[period, "denominator"] == row["total"]  # anonymous answers included
        assert got.loc[period, "value"] == pytest.approx(100 * row["positive"] / row["total"])


def test_no_figure_from_fewer_than_ten_responses(small_economy):
    got = compute(small_economy.warehouse_path, ids=["fft_positive_ae", "pam_score"],
                  by="practice", period="month", cache=False)  # fmt: skip
    fft = got[got["measure_id"] == "fft_positive_ae"]
    small = fft["denominator"].notna() & (fft["denominator"] < 10)
    assert small.any(), "the test needs some practices with few answers in a month"
    assert fft.loc[small, "value"].isna().all()
    pam = got[got["measure_id"] == "pam_score"]
    assert pam.loc[pam["numerator"] < 10, "value"].isna().all()


def test_board_view_of_a_quarter_shows_no_identifying_comment(small_economy):
    from datetime import date

    from joinedup.feedback.board import quarter_feedback
    from joinedup.feedback.themes import could_identify

    view = quarter_feedback(small_economy.warehouse_path, date(2025, 10, 1), date(2025, 12, 31))
    f = pq.read_table(small_economy.out / "parquet" / "feedback_response.parquet").to_pandas()
    f = f[(f["instrument"] == "fft") & (f["responded_on"].astype(str) >= "2025-10-01")
          & (f["responded_on"].astype(str) <= "2025-12-31")]  # fmt: skip
    ae = f[f["setting"] == "ae"]
    row = next(s for s in view["settings"] if s["setting"].startswith("A&E"))
    assert row["responses"] == len(ae)
    assert row["percent_positive"] == round(100 * ae["answer_code"].isin(["1", "2"]).mean(), 1)
    shown = pd.Series([c["comment"] for c in view["comments"]])
    assert len(shown) and not could_identify(shown).any()
    assert could_identify(f["comment"].dropna()).any(), "the data do hold identifying comments"
