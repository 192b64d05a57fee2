"""Risk features, scoring and segmentation on every backend: the same people, the same answers.

The warehouse is the measures spec data (tests/measures/spec_cases.py) plus 35 people of
practice P3 made to fall in four Bridges to Health segments by construction:

    h01-h10  nothing recorded                                  -> 1 healthy
    a01-a08  one A&E attendance (1 Jul 2023, cost 200)         -> 3 acutely ill
    c01-c09  asthma since 2020, one emergency admission         -> 4 chronic conditions
             (1-3 Jun 2023, 2 bed days, cost 1000, J45)
    f01-f08  heart failure since 2020, the same admission (I50) -> 7 organ failure

As at 1 January 2024 (look-back 1 Jan 2023 to 31 Dec 2023) the spec people registered
and alive are p1, p2, p3, p4 and p6 (p5 left in August 2023); worked by hand from their
rows: p1 (heart failure, care home from October 2023) -> 8 frailty, p2 (diabetes) -> 4,
p3 (her admission is in 2024) and p4 -> 1, p6 (a maternity admission) -> 2.

Features come from the warehouse engine (DuckDB or Spark); the model, the segment rules
and the Kaiser cut run on the driver on those features, so each backend must give the
same features (counts exactly, floats to 1e-9) and hence the same everything else.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from joinedup.risk.model import FEATURES, RiskModel, score_people
from joinedup.risk.segments import segment_people, segment_summary
from joinedup.warehouse import open_warehouse

from .conftest import arrow, spec_cases

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # pyspark 4.0 calls a pandas API that pandas 3 deprecates: nothing to act on here
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

AS_OF = date(2024, 1, 1)
GROUPS = {"h": 10, "a": 8, "c": 9, "f": 8}


def _tables() -> dict[str, list[dict]]:
    """The spec tables with the 35 people of practice P3 and their activity added."""
    t = {name: [dict(r) for r in rows] for name, rows in spec_cases.TABLES.items()}
    t["practice"].append(
        {"practice_code": "P3", "name": "Three", "cluster_code": "C3", "footprint_code": "F2"}
    )
    spell = spec_cases.SPELLS[0]
    for g, n in GROUPS.items():
        for i in range(1, n + 1):
            pid = f"{g}{i:02d}"
            t["person"].append(
                {**spec_cases.PERSONS[1], "person_id": pid, "year_of_birth": 1960,
                 "practice_code": "P3", "imd_decile": 4}
            )  # fmt: skip
            if g == "a":
                ae = spec_cases.AE[2]
                arrived = datetime(2023, 7, 1, 10)
                t["ae_attendance"].append(
                    {**ae, "attendance_id": f"x-{pid}", "person_id": pid,
                     "arrived_at": arrived, "departed_at": arrived.replace(hour=11)}
                )  # fmt: skip
            if g in "cf":
                condition, code = ("asthma", "J45") if g == "c" else ("heart_failure", "I50")
                t["condition"].append(
                    {"person_id": pid, "condition": condition, "code_system": "icd10",
                     "code": code, "recorded_on": date(2020, 1, 1)}
                )  # fmt: skip
                t["apc_spell"].append(
                    {**spell, "spell_id": f"x-{pid}", "person_id": pid,
                     "admitted_on": date(2023, 6, 1), "discharged_on": date(2023, 6, 3),
                     "primary_diagnosis": code, "cost": 1000.0}
                )  # fmt: skip
                t["apc_diagnosis"].append({"spell_id": f"x-{pid}", "position": 1, "icd10": code})
    return t


@pytest.fixture(scope="module")
def store(spark, tmp_path_factory):
    """The same rows in a DuckDB file (w.duckdb) and a Spark store beside it (w.spark)."""
    path = tmp_path_factory.mktemp("risk") / "w.duckdb"
    tables = _tables()
    for backend in ("duckdb", "spark"):
        with open_warehouse(path, backend) as wh:
            for name, rows in tables.items():
                wh.load(name, arrow(name, rows), source=f"t/{name}", content_hash=f"r-{name}")
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny LightGBM model whose risk rises with emergency admissions and conditions."""
    import lightgbm as lgb

    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, size=(400, len(FEATURES))).astype(float)
    signal = x[:, FEATURES.index("emergency_admissions")] + x[:, FEATURES.index("ltc_count")]
    y = (signal + rng.random(400) > 3).astype(int)
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1,
              "deterministic": True, "seed": 7}  # fmt: skip
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=10)
    folder = tmp_path_factory.mktemp("model")
    RiskModel(booster, 0.0, 1.0, {"note": "test model"}).save(folder)
    return folder


@pytest.fixture(scope="module")
def scored(store, model_dir) -> dict[str, pd.DataFrame]:
    """Features, risk, segments and tiers of everyone, computed on each backend."""
    model = RiskModel.load(model_dir)
    out = {}
    for backend in ("duckdb", "spark"):
        with open_warehouse(store, backend, read_only=True) as wh:
            people = segment_people(score_people(wh, model, AS_OF))
        out[backend] = people.sort_values("person_id").reset_index(drop=True)
    return out


def assert_same(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Same columns and rows: exactly, except floating point columns (1e-9 relative)."""
    assert list(duck.columns) == list(spark.columns)
    assert len(duck) == len(spark) > 0
    for c in duck.columns:
        if pd.api.types.is_float_dtype(duck[c]):
            np.testing.assert_allclose(spark[c], duck[c], rtol=1e-9, err_msg=c)
        else:
            assert spark[c].tolist() == duck[c].tolist(), c


def test_features_are_the_same_on_both_backends(scored) -> None:
    duck, spark = scored["duckdb"], scored["spark"]
    assert_same(duck[["person_id", *FEATURES]], spark[["person_id", *FEATURES]])
    for frame in (duck, spark):
        f = frame.set_index("person_id")
        assert len(f) == 40 and "p5" not in f.index  # p5 left the list in August 2023
        # p1, worked by hand from spec_cases: s7 s1 s2 (5 + 4 + 0 bed days), a1, o1 o2 seen
        # and o3 not attended, two GP appointments, care home from October 2023;
        # cost 600 + 1000 + 500 + 200 + 3 x 150; last emergency 20 May 2023.
        p1 = f.loc["p1"]
        assert (p1.age, p1.ltc_heart_failure, p1.ltc_count, p1.care_home) == (74, 1, 1, 1)
        assert (p1.emergency_admissions, p1.emergency_bed_days, p1.ae_attendances) == (3, 9, 1)
        assert (p1.op_attendances, p1.op_dna, p1.gp_appointments) == (2, 1, 2)
        assert (p1.cost, p1.days_since_emergency) == (2750.0, 226)
        c01 = f.loc["c01"]  # admitted 1 June 2023: 214 days before 1 January 2024
        assert (c01.emergency_admissions, c01.bed_days, c01.cost) == (1, 2, 1000.0)
        assert (c01.days_since_emergency, c01.charlson) == (214, 1)  # J45: chronic pulmonary


def test_features_at_each_persons_own_date(store) -> None:
    """The evaluation's path: an index of people with dates of their own (a memtable)."""
    import ibis

    from joinedup.risk.features import features_at

    index = pd.DataFrame(
        {"person_id": ["p1", "p2", "c01"], "index_date": [AS_OF, date(2023, 9, 1), AS_OF]}
    )
    frames = {}
    for backend in ("duckdb", "spark"):
        with open_warehouse(store, backend, read_only=True) as wh:
            t = features_at(wh, ibis.memtable(index)).to_pyarrow().to_pandas()
        frames[backend] = t.sort_values("person_id").reset_index(drop=True)
    assert_same(frames["duckdb"], frames["spark"])
    p2 = frames["spark"].set_index("person_id").loc["p2"]
    # as at 1 Sep 2023: s4 elective and s6 emergency (20 Jul: 43 days before), a2, o4 (o5 is
    # later); diabetes recorded 10 Jul 2023; cost 1200 + 900 + 200 + 150
    assert (p2.elective_admissions, p2.emergency_admissions, p2.ltc_diabetes) == (1, 1, 1)
    assert (p2.days_since_emergency, p2.cost, p2.op_attendances) == (43, 2450.0, 1)


def test_segments_and_tiers_are_the_same_on_both_backends(scored) -> None:
    duck, spark = scored["duckdb"], scored["spark"]
    assert_same(
        duck[["person_id", "risk", "rank", "segment", "segment_name", "tier"]],
        spark[["person_id", "risk", "rank", "segment", "segment_name", "tier"]],
    )
    for frame in (duck, spark):
        # worked by hand: see the module docstring
        assert frame["segment"].value_counts().sort_index().to_dict() == {
            1: 12, 2: 1, 3: 8, 4: 10, 7: 8, 8: 1
        }  # fmt: skip
        seg = frame.set_index("person_id")["segment"]
        assert (seg["p1"], seg["p2"], seg["p6"], seg["f01"]) == (8, 4, 2, 7)
        assert (frame["tier"] == 3).sum() == 1  # 2% of 40 people, rounded


def test_segment_summary_by_practice(scored) -> None:
    frames = {}
    for backend, people in scored.items():
        frames[backend] = segment_summary(people, "practice").frame
    assert_same(frames["duckdb"], frames["spark"])
    p3 = frames["spark"].set_index(["practice_code", "segment"]).loc["P3"]
    # 35 people in P3: 10 + 8 + 9 + 8. The 10 and the 8 in segments 1 and 3 are hidden
    # (secondary): other practices of P3's footprint hold 1-7 people in those segments,
    # and the footprints' and the partnership's figures are published beside them.
    people = p3["people"].astype("float64")
    assert people[people > 0].to_dict() == {4: 9, 7: 8}
    assert people[[1, 3]].isna().all() and (people[[2, 5, 6, 8]] == 0).all()
    c = p3.loc[4]  # nine asthma admissions of 2 bed days and £1,000 each
    assert (c.emergency_admissions_per_1000, c.emergency_bed_days_per_1000) == (1000, 2000)
    assert c.cost_per_head == 1000 and c.share_of_people == pytest.approx(9 / 35, rel=1e-12)
    assert c.share_of_cost == pytest.approx(9000 / (9000 + 8000 + 8 * 200), rel=1e-12)
    # What derives from a hidden count is hidden with it.
    assert pd.isna(p3.loc[3].ae_attendances_per_1000) and pd.isna(p3.loc[3].cost_per_head)


def _run(monkeypatch, backend: str, args: list[str]) -> str:
    from joinedup.cli import app

    monkeypatch.setenv("JOINEDUP_BACKEND", "duckdb")  # restored after the test
    result = CliRunner().invoke(app, ["--backend", backend, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_segments_on_spark(store, model_dir, tmp_path, monkeypatch) -> None:
    frames = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / f"segments-{backend}.csv"
        args = ["segments", "--warehouse", str(store), "--model", str(model_dir)]
        _run(monkeypatch, backend, [*args, "--as-of", "2024-01-01", "--by", "practice",
                                    "--out", str(out)])  # fmt: skip
        frames[backend] = pd.read_csv(out)
    assert_same(frames["duckdb"], frames["spark"])
    spark = frames["spark"]
    p3 = spark[(spark.practice_code == "P3") & (spark.table == "segment")]
    shown = p3[p3.people.notna() & (p3.people > 0)]
    assert dict(zip(shown.segment, shown.people, strict=True)) == {4: 9, 7: 8}


def test_cli_risk_scores_on_spark(store, tmp_path, monkeypatch) -> None:
    frames = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / f"charlson-{backend}.csv"
        args = ["risk", "scores", "--score", "charlson", "--as-of", "2024-01-01"]
        _run(monkeypatch, backend, [*args, "--warehouse", str(store), "--out", str(out)])
        frames[backend] = pd.read_csv(out).sort_values("person_id").reset_index(drop=True)
    assert_same(frames["duckdb"], frames["spark"])
    score = frames["spark"].set_index("person_id")["score"]
    # I50 heart failure (f01-f08) and J45 chronic pulmonary disease (c01-c09) weigh 1 each
    assert (score[score.index.str[0].isin(["c", "f"])] == 1).all()
    assert score.index.str[0].isin(["c", "f"]).sum() == 17
