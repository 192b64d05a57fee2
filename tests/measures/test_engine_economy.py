"""Every built-in measure on the synthetic economy, checked against independent SQL.

The synthetic economy's calibration figures (``joinedup.synth.calibration``) are
computed with plain DuckDB SQL written separately from the measure engine; for the last
complete financial year the engine must give the same numbers (up to annualisation:
the engine scales a year of 365 days by 365.25 / 365).
"""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.measures import compute, load_library
from joinedup.measures.engine import aggregate
from joinedup.synth.calibration import compute_figures
from joinedup.warehouse import open_warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def yearly(economy, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return compute(
        economy.warehouse_path,
        by="partnership",
        period="financial_year",
        cache=tmp_path_factory.mktemp("measure-cache"),
    )


def test_every_builtin_measure_computes(yearly: pd.DataFrame) -> None:
    library = load_library()
    assert set(yearly["measure_id"]) == set(library)
    latest = yearly[yearly["period_start"] == yearly["period_start"].max()]
    # At 200,000 people every partnership-level figure is large enough to publish.
    assert latest["value"].notna().all(), latest[latest["value"].isna()]["measure_id"].tolist()
    assert not latest["suppressed"].any()


@pytest.mark.parametrize(
    ("measure", "figure", "scale", "annualised"),
    [
        ("emergency_admissions", "hospital.emergency_admissions_per_1000", 1, True),
        ("elective_admissions", "hospital.elective_and_daycase_admissions_per_1000", 1, True),
        ("ae_attendances", "hospital.ae_attendances_per_1000", 1, True),
        ("gp_appointments_per_person", "primary_care.gp_appointments_per_person", 1, True),
        ("emergency_mean_length_of_stay", "hospital.emergency_mean_length_of_stay_days", 1, False),
        ("emergency_same_day_share", "hospital.emergency_zero_day_share", 100, False),
        ("ae_type1_admitted", "hospital.ae_admitted_share_type1", 100, False),
    ],
)
def test_matches_the_calibration_sql(economy, yearly, measure, figure, scale, annualised) -> None:
    figures = compute_figures(economy.warehouse_path)
    rows = yearly[(yearly["measure_id"] == measure)].sort_values("period_start")
    row = rows.iloc[-1]
    days = (row["period_end"] - row["period_start"]).days + 1
    expected = figures[figure] * scale * (365.25 / days if annualised else 1)
    assert row["value"] == pytest.approx(expected, rel=1e-9)


def test_no_published_count_is_between_one_and_seven(economy, tmp_path) -> None:
    res = compute(economy.warehouse_path, ["emergency_admissions_75plus", "hip_fractures_65plus"],
                  by="practice", period="month", cache=tmp_path)  # fmt: skip
    for column in ("numerator", "denominator"):
        values = res[column].dropna().astype(float)
        assert not ((values >= 1) & (values <= 7)).any(), column
    assert res["suppressed"].any()  # small practices do have small monthly counts


SHARED = ["emergency_admissions", "emergency_readmissions_30d", "ae_within_4_hours",
          "outpatient_dna_rate", "fft_positive_ae", "gp_appointments_per_person"]  # fmt: skip
PARENTS = ["partnership", "footprint", "cluster", "age_band"]


def test_shared_run_counts_parents_as_direct_counts_do(economy) -> None:
    """A full run counts partnership, footprint and cluster as sums of practice counts
    (and age bands as sums of ages) in one pass per source; counting each measure
    alone groups by the text of each column instead. Same rows, same counts."""
    library = load_library()
    shared = compute(economy.warehouse_path, SHARED, by=PARENTS, period="financial_year",
                     cache=False, suppression=False)  # fmt: skip
    index = ["measure_id", "grouping", "period", "group"]
    with open_warehouse(economy.warehouse_path) as wh:
        alone = pd.concat(
            [aggregate(wh, library[m], by=PARENTS, period="financial_year") for m in SHARED]
        )
    if "n" in alone:  # a mean's count is its numerator in the results
        alone["numerator"] = alone["numerator"].fillna(alone["n"])
    got = shared.set_index(index).sort_index()
    want = alone.set_index(index).sort_index()
    assert list(got.index) == list(want.index)
    assert (got["numerator"].astype(float) == want["numerator"].astype(float)).all()
    dens = ~want["denominator"].isna()
    assert (got["denominator"][dens].astype(float) == want["denominator"][dens].astype(float)).all()
