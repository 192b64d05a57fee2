"""Spec tests: every case of spec_cases.py on a hand-made warehouse, answers worked by hand.

The cases are data plus expected values, so the same list can run on another warehouse
backend; this module runs them on DuckDB. Also here: suppression, the cache per data
batch, error messages and the DSR path of ``finalise`` (checked against PHEindicatormethods'
published DSRs).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import phe_outputs as phe
import pyarrow as pa
import pytest
from spec_cases import CASES, SPELLS, TABLES, check_case

from joinedup.derived import ESP2013_BANDS
from joinedup.measures import MeasureError, compute, finalise, headline, load_library, spc_for
from joinedup.measures.cache import MeasureCache
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def arrow(name: str, rows: list[dict]) -> pa.Table:
    """Rows of a canonical table as Arrow, in the stored column types."""
    schema = SCHEMA[name].arrow_schema()
    return pa.Table.from_pylist(rows, schema=schema)


def build(path) -> str:
    """Load every spec table as its own batch; return the warehouse path."""
    with open_warehouse(path) as wh:
        for name, rows in TABLES.items():
            wh.load(name, arrow(name, rows), source=f"spec/{name}", content_hash=f"spec-{name}")
    return str(path)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(tmp_path_factory.mktemp("spec") / "w.duckdb")


@pytest.fixture(scope="module")
def results(warehouse: str) -> dict[str, pd.DataFrame]:
    """Each period kind the cases need, every grouping, computed once, unsuppressed."""
    out = {}
    for period in sorted({p for *_, p, _e in CASES}):
        ids = sorted({m for m, _b, p, _e in CASES if p == period})
        out[period] = compute(
            warehouse, ids, by="all", period=period, cache=False, suppression=False
        )
    return out


@pytest.mark.parametrize(
    ("measure", "by", "period", "expected"),
    CASES,
    ids=[f"{m}-{b}-{p}" for m, b, p, _ in CASES],
)
def test_spec_case(results, measure, by, period, expected) -> None:
    check_case(results[period], measure, by, expected, rel=1e-12)


def test_groups_without_events_or_people_are_absent_not_invented(results) -> None:
    frame = results["financial_year"]
    mine = (frame["measure_id"] == "emergency_admissions") & (frame["grouping"] == "practice")
    groups = set(frame.loc[mine, "group"])
    assert groups == {"P1", "P2"}


def test_incomplete_follow_up_periods_are_left_out(warehouse: str) -> None:
    # The data end on 30 Jun 2024. With 400 days of follow-up only April 2023 is complete
    # (30 Apr 2023 + 400 days = 3 Jun 2024; 31 May 2023 + 400 days = 4 Jul 2024).
    d = load_library()["gp_appointments_per_person"]
    d = d.model_copy(update={"follow_up_days": 400})
    res = compute(warehouse, [d.id], period="month", cache=False, suppression=False,
                  library={d.id: d})  # fmt: skip
    assert list(res["period"]) == ["2023-04"]
    assert res["numerator"].iloc[0] == 1


def test_small_counts_are_suppressed(warehouse: str) -> None:
    # By practice every count is 1-7: numerator, denominator and every figure go.
    res = compute(warehouse, ["emergency_admissions"], by="practice", period="financial_year",
                  cache=False)  # fmt: skip
    assert len(res) == 2
    assert res["suppressed"].all()
    for column in ("numerator", "denominator", "value", "lower", "upper"):
        assert res[column].isna().all(), column


def test_cache_hits_until_a_batch_changes(tmp_path) -> None:
    path = build(tmp_path / "w.duckdb")
    folder = tmp_path / "cache"
    first = compute(path, ["emergency_admissions"], period="financial_year", cache=folder,
                    suppression=False)  # fmt: skip
    assert len(list(folder.glob("*.parquet"))) == 1
    with open_warehouse(path, read_only=True) as wh:
        store = MeasureCache.for_warehouse(wh, folder)
        d = load_library()["emergency_admissions"]
        cached = store.get(d, "financial_year", '{"levels": [0.95], "suppression": false}')
    assert cached is not None and store.hits == 1
    again = compute(path, ["emergency_admissions"], period="financial_year", cache=folder,
                    suppression=False)  # fmt: skip
    pd.testing.assert_frame_equal(first, again)
    # A new batch (one more emergency spell in 2023-24) changes the key: recomputed.
    extra = dict(SPELLS[1], spell_id="s9", admitted_on=date(2023, 12, 1),
                 discharged_on=date(2023, 12, 2))  # fmt: skip
    with open_warehouse(path) as wh:
        wh.load("apc_spell", arrow("apc_spell", [extra]), source="more", content_hash="more")
    after = compute(path, ["emergency_admissions"], period="financial_year", cache=folder,
                    suppression=False)  # fmt: skip
    assert after["numerator"].iloc[0] == first["numerator"].iloc[0] + 1
    assert len(list(folder.glob("*.parquet"))) == 2


def test_unknown_measure_grouping_or_period_is_a_clear_error(warehouse: str) -> None:
    with pytest.raises(MeasureError, match="unknown measure 'nope'"):
        compute(warehouse, ["nope"], cache=False)
    with pytest.raises(MeasureError, match="cannot be grouped by 'provider'"):
        compute(warehouse, ["emergency_admissions"], by="provider", cache=False)
    with pytest.raises(MeasureError, match="unknown grouping 'ward'"):
        compute(warehouse, ["emergency_admissions"], by="ward", cache=False)
    with pytest.raises(MeasureError, match="unknown period 'week'"):
        compute(warehouse, ["emergency_admissions"], period="week", cache=False)
    with pytest.raises(MeasureError, match="no warehouse at"):
        compute("/nonexistent/w.duckdb", ["emergency_admissions"], cache=False)


def test_by_all_gives_each_measure_its_allowed_groupings(warehouse: str) -> None:
    res = compute(warehouse, ["emergency_admissions", "ae_within_4_hours"], by="all",
                  period="financial_year", cache=False)  # fmt: skip
    library = load_library()
    for mid in ("emergency_admissions", "ae_within_4_hours"):
        got = set(res.loc[res["measure_id"] == mid, "grouping"])
        assert got == set(library[mid].groupings)


def test_spc_for_runs_xmr_with_the_measure_direction(warehouse: str) -> None:
    from joinedup.measures.results import spc_of

    # The spec warehouse is tiny: every quarter is suppressed, and a series with a
    # suppressed period is not charted (dropping small counts would bias it).
    with pytest.raises(MeasureError, match="5 of its 5 periods are suppressed"):
        spc_for(warehouse, "ae_attendances", period="quarter", cache=False)
    d = load_library()["ae_attendances"]
    results = compute(warehouse, [d.id], period="quarter", cache=False, suppression=False)
    with pytest.warns(UserWarning):  # fewer than 13 points: trial limits
        frame = spc_of(results, d)
    assert frame.attrs["improvement"] == "decrease"
    assert frame.attrs["measure_id"] == "ae_attendances"
    assert len(frame) == 5  # 2023-24 Q1 to 2024-25 Q1
    assert "variation_icon" in frame.attrs


def test_dsr_finalise_matches_phe_published_outputs() -> None:
    """The engine's DSR path (per-band counts to Dobson sums to value and limits) gives
    PHEindicatormethods' published DSRs for its testdata_big and testdata_small areas (19
    ESP 2013 bands each; phe_outputs.py), at 95% and 99.8%, times the engine's
    annualisation (365.25 days a year over the 366 days of 2023-24)."""
    d = load_library()["emergency_admissions_dsr"]
    bands = [label for label, *_ in ESP2013_BANDS]
    assert tuple(w for *_, w in ESP2013_BANDS) == phe.ESP2013
    areas = ["testdata_big", "testdata_small"]
    counts = pd.DataFrame(
        {
            "measure_id": d.id,
            "grouping": "partnership",
            "period_start": date(2023, 4, 1),
            "period": "2023-24",
            "group": [a for a in areas for _ in bands],
            "esp_band": bands * len(areas),
            "numerator": [float(c) for a in areas for c in phe.MULTIAREA_COUNTS[a]],
            "denominator": [float(n) for _ in areas for n in phe.MULTIAREA_POPULATION],
        }
    )
    res = finalise(counts, d, "financial_year", levels=(0.95, 0.998), suppression=False)
    res = res.set_index("group")
    year = 365.25 / 366
    published = {(r[0], r[1]): r[3:] for r in phe.DSR_RESULTS}
    for area in areas:
        value, lo95, hi95, lo998, hi998 = published[(area, 100_000)]
        got = res.loc[area]
        assert got["numerator"] == sum(phe.MULTIAREA_COUNTS[area])
        assert got["value"] == pytest.approx(value * year, rel=1e-12)
        assert got["lower"] == pytest.approx(lo95 * year, rel=1e-12)
        assert got["upper"] == pytest.approx(hi95 * year, rel=1e-12)
        assert got["lower_998"] == pytest.approx(lo998 * year, rel=1e-12)
        assert got["upper_998"] == pytest.approx(hi998 * year, rel=1e-12)


def test_headline_has_latest_year_month_and_icons(warehouse: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trial limits on few points
        board = headline(warehouse, ["gp_appointments_per_person", "ae_within_4_hours"],
                         cache=False)  # fmt: skip
    assert list(board["measure_id"]) == ["gp_appointments_per_person", "ae_within_4_hours"]
    assert set(board["latest_year"]) == {"2023-24"}
    # GP appointments run to June 2024; the last A&E attendance is in November 2023.
    assert list(board["latest_period"]) == ["2024-06", "2023-11"]
    assert board.loc[1, "target"] == 95
    assert {"variation_icon", "assurance_icon"} <= set(board.columns)


def test_a_proportion_of_a_summed_field(warehouse: str) -> None:
    """Share of A&E spend on ambulance arrivals: a1 (200 pounds) of a1-a3 (600)."""
    from joinedup.measures.definition import parse_definition

    d = parse_definition(
        {
            "id": "ae_spend_ambulance_share",
            "title": "Share of A&E spend on ambulance arrivals",
            "description": "Spend on attendances arriving by ambulance over all A&E spend.",
            "kind": "proportion",
            "denominator": {"source": "ae_attendance", "value": "cost"},
            "numerator": {"where": {"ambulance": True}},
            "unit": "percent",
            "direction": "neutral",
        }
    )
    res = compute(warehouse, [d.id], period="financial_year", cache=False,
                  suppression=False, library={d.id: d})  # fmt: skip
    row = res.iloc[0]
    assert (row["numerator"], row["denominator"]) == (200, 600)
    assert row["value"] == pytest.approx(100 / 3, rel=1e-12)
    assert pd.isna(row["lower"])  # a sum of pounds is not a count: no interval
    # With suppression on, the single ambulance attendance behind the 200 pounds is a
    # count of 1, so the numerator and the share are hidden.
    safe = compute(warehouse, [d.id], period="financial_year", cache=False,
                   library={d.id: d})  # fmt: skip
    assert safe["suppressed"].iloc[0] and pd.isna(safe["value"].iloc[0])
