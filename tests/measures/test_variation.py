"""A measure's funnel plot across practices, on the synthetic economy: the units, target
and expected counts against the measure's own results, and the CLI end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_engine_spec import build
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.measures import MeasureError, compute
from joinedup.measures.funnel import proportion_limits
from joinedup.measures.variation import funnel_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("measure-cache")


def _latest(economy, measure: str, cache) -> pd.DataFrame:
    r = compute(economy.warehouse_path, [measure], "practice", "financial_year", cache=cache)
    r = r[r["period_start"] == r["period_start"].max()]
    return r[~r["suppressed"] & (r["group"] != "unknown")].sort_values("group")


def test_a_proportion_is_compared_with_the_pooled_proportion(economy, cache) -> None:
    frame = funnel_for(economy.warehouse_path, "emergency_readmissions_30d", cache=cache)
    shown = _latest(economy, "emergency_readmissions_30d", cache)
    frame = frame.sort_values("unit")
    assert list(frame["unit"]) == list(shown["group"])
    num, den = shown["numerator"].to_numpy(float), shown["denominator"].to_numpy(float)
    target = num.sum() / den.sum()
    assert frame.attrs["target"] == pytest.approx(target)
    # Values are proportions of the published percentages.
    assert frame["value"].to_numpy() == pytest.approx(shown["value"].to_numpy(float) / 100)
    lo, hi = proportion_limits(den, target, 0.998)
    outside = (num / den > hi) | (num / den < lo)
    assert (frame["outlier"].str.endswith("99.8").to_numpy() == outside).all()
    assert frame.attrs["period"] == shown["period"].iloc[0]


def test_a_rate_is_compared_as_observed_over_expected(economy, cache) -> None:
    frame = funnel_for(
        economy.warehouse_path, "emergency_admissions", adjust_overdispersion=True, cache=cache
    )
    shown = _latest(economy, "emergency_admissions", cache)
    assert frame["observed"].sum() == pytest.approx(shown["numerator"].sum())
    assert frame["expected"].sum() == pytest.approx(frame["observed"].sum())
    rate = shown["numerator"].sum() / shown["denominator"].sum()
    expected = dict(zip(shown["group"], shown["denominator"] * rate, strict=True))
    assert frame["expected"].to_numpy() == pytest.approx([expected[u] for u in frame["unit"]])
    assert frame.attrs["adjusted"] and frame.attrs["phi"] > 0


def test_means_standardised_rates_and_tiny_areas_have_no_funnel(economy, cache, tmp_path):
    with pytest.raises(MeasureError, match="standardised rate"):
        funnel_for(economy.warehouse_path, "emergency_admissions_dsr", cache=cache)
    with pytest.raises(MeasureError, match="mean"):
        funnel_for(economy.warehouse_path, "emergency_mean_length_of_stay", cache=cache)
    with pytest.raises(MeasureError, match="it needs 3 units or more"):
        funnel_for(build(tmp_path / "spec.duckdb"), "emergency_admissions", cache=False)


def test_cli_names_the_outliers_and_draws_the_chart(economy, cache, tmp_path, monkeypatch):
    monkeypatch.setenv("JOINEDUP_MEASURE_CACHE", str(cache))
    frame = funnel_for(economy.warehouse_path, "emergency_readmissions_30d", cache=cache)
    chart = tmp_path / "funnel.png"
    args = ["measures", "funnel", "emergency_readmissions_30d", "--chart", str(chart)]
    result = CliRunner().invoke(app, [*args, "-w", str(economy.warehouse_path)])
    assert result.exit_code == 0, result.output
    outside = frame[frame["outlier"] != "within"]
    assert f"{len(outside)} of {len(frame)} units outside" in result.output
    for unit in outside["unit"]:
        assert str(unit) in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(app, [*args[:3], "--chart", str(tmp_path / "f.pdf")])
    assert bad.exit_code == 1 and ".svg or .png" in bad.output
    assert np.isfinite(frame["z"]).all()
