"""A measure's inequality by deprivation (SII, RII, Core20 gap), against plain DuckDB SQL
on the synthetic economy and against statsmodels; suppression on the spec warehouse."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.rates import confint_poisson_2indep
from test_engine_spec import build

from joinedup.measures import MeasureError, load_library
from joinedup.measures.deprivation import COLUMNS, inequality_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EMERGENCY = "('21','22','23','24','25','2A','2B','2C','2D','28')"


@pytest.fixture(scope="module")
def yearly(economy, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return inequality_for(
        economy.warehouse_path,
        "emergency_admissions",
        cache=tmp_path_factory.mktemp("measure-cache"),
    )


def _counts_by_quintile(warehouse, start: date, end: date) -> tuple[np.ndarray, np.ndarray]:
    """Emergency admissions in [start, end] and people registered and alive at the
    midpoint, by IMD quintile 1-5: written here, apart from the engine."""
    mid = start + (end - start) / 2
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = con.execute(
            """SELECT (imd_decile + 1) // 2 AS q, count(*) FROM person
               WHERE imd_decile IS NOT NULL AND registered_from <= ?
                 AND coalesce(registered_to, DATE '9999-12-31') > ?
                 AND coalesce(date_of_death, DATE '9999-12-31') > ?
               GROUP BY q ORDER BY q""",
            [mid, mid, mid],
        ).fetchall()
        events = con.execute(
            f"""SELECT (p.imd_decile + 1) // 2 AS q, count(*)
                FROM apc_spell AS s JOIN person AS p USING (person_id)
                WHERE p.imd_decile IS NOT NULL AND s.admitted_on BETWEEN ? AND ?
                  AND s.admission_method IN {EMERGENCY}
                GROUP BY q ORDER BY q""",
            [start, end],
        ).fetchall()
    assert [q for q, _ in people] == [q for q, _ in events] == [1, 2, 3, 4, 5]
    return np.array([n for _, n in events], float), np.array([n for _, n in people], float)


def test_indices_match_independent_sql_and_weighted_least_squares(economy, yearly) -> None:
    row = yearly.iloc[-1]
    start = row["period_start"]
    end = date(start.year + 1, 3, 31)
    events, people = _counts_by_quintile(economy.warehouse_path, start, end)
    years = ((end - start).days + 1) / 365.25
    rates = 1000 * events / people / years
    # SII and RII: the population-weighted regression of the quintile rates on relative
    # rank (the cumulative population midpoint), fitted by statsmodels.
    share = people / people.sum()
    rank = np.cumsum(share) - share / 2
    fit = sm.WLS(rates, sm.add_constant(rank), weights=people).fit()
    intercept, slope = fit.params
    assert row["sii"] == pytest.approx(slope, rel=1e-9)
    assert row["rii"] == pytest.approx((intercept + slope) / intercept, rel=1e-9)
    assert row["sii_lower"] < row["sii"] < row["sii_upper"]
    assert row["rii_lower"] < row["rii"] < row["rii_upper"]
    # The Core20 gap: quintile 1 against quintiles 2-5 pooled.
    rest = 1000 * events[1:].sum() / people[1:].sum() / years
    assert row["core20_value"] == pytest.approx(rates[0], rel=1e-9)
    assert row["rest_value"] == pytest.approx(rest, rel=1e-9)
    assert row["core20_gap"] == pytest.approx(rates[0] - rest, rel=1e-9)
    assert row["core20_ratio"] == pytest.approx(rates[0] / rest, rel=1e-9)
    # MOVER intervals from each rate's limits: Byar's at these counts, which statsmodels
    # does not offer; its exact ("exact-c") MOVER agrees to well within 0.1%.
    exposure = [people[0] * years / 1000, people[1:].sum() * years / 1000]
    for compare, name in (("diff", "core20_gap"), ("ratio", "core20_ratio")):
        lo, hi = confint_poisson_2indep(
            events[0],
            exposure[0],
            events[1:].sum(),
            exposure[1],
            method="mover",
            method_mover="exact-c",
            compare=compare,
        )
        assert (row[f"{name}_lower"], row[f"{name}_upper"]) == pytest.approx((lo, hi), rel=1e-3)
    assert row["note"] == ""


def test_one_row_per_period_with_the_documented_columns(yearly) -> None:
    assert list(yearly.columns) == COLUMNS
    assert yearly["period"].is_unique and len(yearly) == 3
    assert yearly.attrs["measure_id"] == "emergency_admissions"


def test_suppressed_quintiles_give_no_indices_and_say_why(tmp_path) -> None:
    # The spec warehouse holds a handful of people: every quintile count is 1-7 or 0.
    warehouse = build(tmp_path / "spec.duckdb")
    frame = inequality_for(warehouse, "emergency_admissions", cache=False)
    assert len(frame) >= 1
    assert frame["sii"].isna().all() and frame["core20_gap"].isna().all()
    assert frame["note"].str.contains("suppressed").all()


def test_a_measure_without_the_imd_grouping_is_refused(tmp_path) -> None:
    d = load_library()["emergency_admissions"]
    narrow = d.model_copy(update={"groupings": ["partnership", "practice"]})
    with pytest.raises(MeasureError, match="imd_quintile"):
        inequality_for(tmp_path / "unused.duckdb", narrow, library={d.id: narrow})


def test_quintiles_nobody_falls_in_are_left_out_of_the_fit(tmp_path) -> None:
    # A small synthetic area: its people fall in IMD quintiles 2 to 4 only.
    from joinedup.measures import compute
    from joinedup.synth import SynthConfig
    from joinedup.synth import build as build_economy

    warehouse = build_economy(SynthConfig(people=5000, years=2, seed=11), tmp_path).warehouse_path
    frame = inequality_for(warehouse, "emergency_admissions", cache=False)
    by = compute(warehouse, ["emergency_admissions"], "imd_quintile", "financial_year", cache=False)
    for row in frame.itertuples():
        q = by[(by["period_start"] == row.period_start) & (by["group"] != "unknown")]
        q = q.sort_values("group")
        assert list(q["group"]) == ["2", "3", "4"]
        people = q["denominator"].to_numpy(float)
        share = people / people.sum()
        rank = np.cumsum(share) - share / 2
        fit = sm.WLS(q["value"].to_numpy(float), sm.add_constant(rank), weights=people).fit()
        assert row.sii == pytest.approx(fit.params[1], rel=1e-9)
        assert np.isnan(row.core20_gap) and row.rest_value > 0
        assert "nothing counted in IMD quintiles 1, 5" in row.note
