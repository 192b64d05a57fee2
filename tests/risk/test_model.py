"""The emergency admission risk model on the synthetic economy: temporal validation,
comparators, model card, saving and scoring, and the reasons given per person."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(economy, tmp_path_factory):
    from joinedup.risk.model import train
    from joinedup.warehouse import open_warehouse

    folder = tmp_path_factory.mktemp("risk-model")
    with open_warehouse(economy.warehouse_path, read_only=True) as wh:
        result = train(wh, folder, rounds=200)
    return result, folder


def test_temporal_split_uses_three_distinct_years(trained):
    result, _ = trained
    d = result.dates
    assert d["train"] < d["validate"] < d["score"]
    assert (d["validate"] - d["train"]).days in (365, 366)
    # Validation features are as at the validation date: nobody's age is from training.
    assert (pd.to_datetime(result.validation["index_date"]).dt.date == d["validate"]).all()


def test_model_beats_both_comparators_and_is_calibrated(trained):
    from joinedup.risk.metrics import auroc, auroc_difference, average_precision

    result, _ = trained
    v = result.validation
    y = v["admitted"].to_numpy()
    for comparator in ("risk_logistic", "risk_prior"):
        _, lower, _ = auroc_difference(y, v["risk"].to_numpy(), v[comparator].to_numpy())
        assert lower > 0, comparator
        assert average_precision(y, v["risk"]) > average_precision(y, v[comparator])
    assert 0.7 < auroc(y, v["risk"])[0] < 0.95
    # Calibration in the large on a year the model never saw: within 10%.
    assert v["risk"].mean() == pytest.approx(y.mean(), rel=0.10)


def test_model_card_written_with_every_section(trained):
    _, folder = trained
    md = (folder / "model-card.md").read_text()
    for text in ("AUROC", "average precision", "Brier", "PPV top 0.5%", "sensitivity top 5%",
                 "Logistic regression", "Emergency admissions last year", "Age band",
                 "IMD quintile", "Ethnic group", "Sex", "DeLong"):  # fmt: skip
        assert text in md, text
    html = (folder / "model-card.html").read_text()
    assert "<table>" in html and "data:image/png;base64," in html
    assert (folder / "calibration.png").stat().st_size > 1000
    assert (folder / "calibration.svg").read_text().lstrip().startswith("<?xml")


def test_saved_model_predicts_the_same(trained):
    from joinedup.risk.model import RiskModel

    result, folder = trained
    loaded = RiskModel.load(folder)
    sample = result.validation.head(500)
    np.testing.assert_allclose(loaded.predict(sample), result.model.predict(sample))


def test_reasons_are_words_from_the_persons_own_record(trained):
    from joinedup.risk.explain import reasons

    result, _ = trained
    top = result.validation.sort_values("risk", ascending=False).head(50)
    words = reasons(result.model, top)
    assert all(1 <= len(w) <= 3 for w in words)
    for (_, row), w in zip(top.iterrows(), words, strict=True):
        for phrase in w:
            if "emergency admission" in phrase and "last 12 months" in phrase:
                assert phrase.startswith(f"{row.emergency_admissions} emergency admission")
            if phrase == "heart failure":
                assert row.ltc_heart_failure == 1


def test_missing_model_is_a_clear_error(tmp_path):
    from joinedup.risk.model import RiskModel

    with pytest.raises(FileNotFoundError, match="joinedup risk train"):
        RiskModel.load(tmp_path)
