"""One spec suite, every backend: the same hand-worked answers from DuckDB and Spark.

The data are the measures spec cases (tests/measures/spec_cases.py) and, for the scores,
five admissions whose Charlson and HFRS totals are added up by hand from the published
weights. Counts must be equal, rates equal to floating tolerance. Each test runs once
per backend (``spec_wh`` is parametrised over duckdb and spark).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from joinedup.derived import event_source, persons
from joinedup.measures import compute
from joinedup.risk.scores import person_scores

from .conftest import BACKENDS, arrow, open_backend, spec_cases

pytestmark = [
    pytest.mark.integration,
    # pyspark 4.0 calls a pandas API that pandas 3 deprecates: nothing to act on here
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def test_persons_with_their_attributes(spec_wh) -> None:
    p = persons(spec_wh).to_pandas().set_index("person_id").sort_index()
    assert list(p.index) == ["p1", "p2", "p3", "p4", "p5", "p6"]
    # practices P1 -> cluster C1 (p1, p2, p6), P2 -> C2 (p3, p4, p5)
    assert p["cluster_code"].to_dict() == {
        "p1": "C1", "p2": "C1", "p3": "C2", "p4": "C2", "p5": "C2", "p6": "C1"
    }  # fmt: skip
    # IMD deciles 1, 3, 5, 7, 9, 2 -> quintiles (d + 1) // 2
    assert p["imd_quintile"].tolist() == [1, 2, 3, 4, 5, 1]


# Counts of rows and of each flag, worked by hand from spec_cases (one query a source).
EVENT_COUNTS = {
    "apc_spell": {
        None: 8,
        "emergency": 6,  # s7 s1 s2 s6 s5 s3 (methods 21, 22)
        "elective": 1,  # s4
        "maternity": 1,  # s8
        "readmitted_30d": 2,  # s1 (s2 15 days later), s4 (s6 17 days later)
        "chronic_acsc": 3,  # I50 (s7, s1), J44 (s5)
        "zero_los": 1,  # s2
        "hip_fracture": 1,  # s3, S720
        "fall": 1,  # s3: W01 with an injury primary diagnosis
        "died_in_hospital": 1,  # s3, destination 79
        "last_90_days_of_life": 1,  # s3, 31 days before p3's death
    },
    "ae_attendance": {
        None: 3,
        "type1": 2,  # a1 a2
        "ambulance": 1,  # a1
        "admitted": 1,  # a1, disposal 01
        "over_4_hours": 1,  # a2, 300 minutes
    },
    "op_appointment": {None: 6, "first": 3, "seen": 4, "dna": 1},  # o1 o4 o6; o1 o2 o4 o5; o3
    "gp_appointment": {None: 5},
    "community_contact": {None: 1},
    "death": {None: 1, "in_hospital": 1},  # p3
}


@pytest.mark.parametrize("source", list(EVENT_COUNTS))
def test_event_counts(spec_wh, source) -> None:
    e = event_source(spec_wh, source)
    expected = EVENT_COUNTS[source]
    aggs = {flag or "rows": (e[flag].sum() if flag else e.count()) for flag in expected}
    got = e.aggregate(**aggs).to_pandas().iloc[0]
    assert {k: int(v) for k, v in got.items()} == {(k or "rows"): v for k, v in expected.items()}


def test_length_of_stay_and_age_at_admission(spec_wh) -> None:
    s = event_source(spec_wh, "apc_spell").to_pandas().set_index("spell_id").sort_index()
    # 5 + 4 + 0 + 2 + 5 + 1 + 2 + 31 days
    assert int(s["los_days"].sum()) == 50
    assert int(s.loc["s3", "age"]) == 2024 - 1940
    assert s.loc["s3", "age_band"] == "75-84"
    assert s.loc["s4", "esp_band"] == "40-44"  # p2 born 1980, admitted 2023: 43


# -- scores ------------------------------------------------------------------------------

AS_OF = date(2025, 4, 1)
P1, P2, P3 = "p" * 63 + "1", "p" * 63 + "2", "p" * 63 + "3"
SCORE_SPELLS = [
    ("S1", P1, date(2025, 3, 31), ["I500", "E112"]),  # last day of the window
    ("S2", P1, date(2023, 4, 1), ["C787"]),  # first day of a 2-year window
    ("S3", P1, date(2023, 3, 31), ["B20"]),  # only inside a 3-year window
    ("S4", P2, date(2025, 4, 1), ["I21"]),  # on as_of: never counted
    ("S5", P3, date(2024, 6, 1), ["J44", "F03"]),
]


@pytest.fixture(scope="module", params=BACKENDS)
def score_wh(request, tmp_path_factory):
    wh = open_backend(request, tmp_path_factory.mktemp(f"scores-{request.param}"), request.param)
    spells = [
        {
            "spell_id": s, "person_id": p, "provider_code": "RXX", "admitted_on": d,
            "discharged_on": d, "admission_method": "21", "patient_classification": "1",
        }
        for s, p, d, _ in SCORE_SPELLS
    ]  # fmt: skip
    diagnoses = [
        {"spell_id": s, "position": i + 1, "icd10": code}
        for s, _, _, codes in SCORE_SPELLS
        for i, code in enumerate(codes)
    ]
    full = [{c: r.get(c) for c in arrow("apc_spell", []).column_names} for r in spells]
    wh.load("apc_spell", arrow("apc_spell", full), source="t", content_hash="spells")
    wh.load("apc_diagnosis", arrow("apc_diagnosis", diagnoses), source="t", content_hash="dx")
    yield wh
    wh.close()


def test_charlson_in_the_warehouse(score_wh) -> None:
    got = person_scores(score_wh, "charlson", AS_OF, 2).to_pandas().set_index("person_id")
    # P1: heart failure 1 + diabetes with complications 2 + metastatic tumour 6
    # P3: chronic pulmonary disease 1 + dementia 1; P2's only admission is on as_of.
    assert sorted(got.index) == [P1, P3]
    assert int(got.loc[P1, "score"]) == 9
    assert int(got.loc[P3, "score"]) == 2
    three = person_scores(score_wh, "charlson", AS_OF, 3).to_pandas().set_index("person_id")
    assert int(three.loc[P1, "score"]) == 15  # + AIDS/HIV 6


def test_hfrs_in_the_warehouse(score_wh) -> None:
    got = person_scores(score_wh, "hfrs", AS_OF, 3).to_pandas().set_index("person_id")
    # F03 unspecified dementia weighs 2.1 (Gilbert et al. 2018); nothing else is an HFRS group
    assert got.loc[P3, "score"] == pytest.approx(2.1, rel=1e-12)
    assert got.loc[P3, "band"] == "low"
    assert got.loc[P1, "score"] == 0


# -- measures: the measure helper's spec cases, on every backend ----------------------------


@pytest.fixture(scope="module")
def measure_results(spec_wh) -> dict[str, pd.DataFrame]:
    """Every grouping the cases need, one compute per period, per backend, unsuppressed."""
    from joinedup.measures import load_library

    library = load_library()
    out = {}
    for period in sorted({p for _m, _b, p, _e in spec_cases.CASES}):
        cases = [c for c in spec_cases.CASES if c[2] == period]
        groupings = sorted({b for _m, b, _p, _e in cases})
        ids = sorted({m for m, *_ in cases})
        # measures sharing the same allowed groupings are computed together
        plan: dict[tuple[str, ...], list[str]] = {}
        for m in ids:
            allowed = tuple(g for g in groupings if g in library[m].groupings)
            plan.setdefault(allowed, []).append(m)
        frames = [
            compute(spec_wh, ms, by=list(by), period=period, cache=False, suppression=False)
            for by, ms in plan.items()
        ]
        out[period] = pd.concat(frames, ignore_index=True)
    return out


@pytest.mark.parametrize(
    ("measure", "by", "period", "expected"),
    spec_cases.CASES,
    ids=[f"{m}-{b}-{p}" for m, b, p, _ in spec_cases.CASES],
)
def test_measure_spec_case(measure_results, measure, by, period, expected) -> None:
    spec_cases.check_case(measure_results[period], measure, by, expected, rel=1e-9)
