"""A partnership without a GP register: hospital, A&E and outpatient activity only.

The warehouse below has no ``person`` rows; people's details come from ``person_fact``
(see tests/derived/test_activity_persons.py). Measures whose denominator is a
registered population (or that count the register's deaths) end with one line saying
so; the others run, broken down by the details activity records gave, and say where
those came from. `joinedup measures compute ID` is run for every measure id: it either
succeeds or exits non-zero with one line on stderr and no traceback.

People (ages from the latest record; age at an event is its year minus year of birth):

    a  70 on 10 Apr 2023 (born 1953), F, ethnicity A, LSOA decile 1 (quintile 1), P2
    b  40 on 1 May 2023 (born 1983), M, ethnicity H, LSOA decile 8 (quintile 4), P1
    c  no record of their details at all: every breakdown "unknown"

Emergency spells (method 21), all ordinary (classification 1), dated by discharge:

    s0  a  01 Mar 2023 - 02 Mar 2023  (the earliest admission: discharges count from
                                       April 2023, and 2022-23 is not in the data)
    s1  a  02 May 2023 - 06 May 2023  LOS 4  -> readmitted: s2 14 days after discharge
    s2  a  20 May 2023 - 20 May 2023  LOS 0
    s3  b  01 Jun 2023 - 04 Jun 2023  LOS 3
    s4  c  10 Jun 2023 - 12 Jun 2023  LOS 2
    s9  b  30 Jun 2024 - 01 Jul 2024  elective: marks the end of the data, so 2023-24
                                       and its 30 days of follow-up are complete

Financial year 2023-24, by sex: mean stay F (s1, s2) 2 days, M (s3) 3, unknown (s4)
2; readmissions F 1 of 2, M 0 of 1, unknown 0 of 1.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.measures import RegisterRequired, compute, load_library
from joinedup.published import Figures
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration

FY = "2023-24"


def arrow(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())


def _fact(pid, day, source, age, sex, ethnicity, lsoa, practice):
    return {"person_id": pid, "recorded_on": day, "source_table": source, "age": age,
            "sex": sex, "ethnicity": ethnicity, "lsoa_code": lsoa,
            "practice_code": practice}  # fmt: skip


def _spell(sid, pid, adm, dis, method="21", cls="1"):
    return {"spell_id": sid, "person_id": pid, "provider_code": "RXX", "admitted_on": adm,
            "discharged_on": dis, "admission_method": method, "patient_classification": cls,
            "admission_source": "19", "discharge_destination": "19", "specialty": "300",
            "primary_diagnosis": "R69", "cost": 500.0}  # fmt: skip


def _ae(aid, pid, arrived, minutes, dtype):
    t = datetime.fromisoformat(arrived)
    return {"attendance_id": aid, "person_id": pid, "provider_code": "RXX", "arrived_at": t,
            "departed_at": t + timedelta(minutes=minutes), "department_type": dtype,
            "arrival_mode": "2", "disposal": "03", "cost": 200.0}  # fmt: skip


def _op(oid, pid, day, first, attended):
    return {"appointment_id": oid, "person_id": pid, "provider_code": "RXX", "date": day,
            "specialty": "100", "first_attendance": first, "attended": attended,
            "cost": 150.0}  # fmt: skip


TABLES = {
    "practice": [
        {"practice_code": "P1", "name": "One", "cluster_code": "C1", "footprint_code": "F1"},
        {"practice_code": "P2", "name": "Two", "cluster_code": "C2", "footprint_code": "F1"},
    ],
    "lsoa": [
        {"lsoa_code": "E01000001", "imd_decile": 1, "footprint_code": "F1"},
        {"lsoa_code": "E01000002", "imd_decile": 8, "footprint_code": "F1"},
    ],
    "person_fact": [
        _fact("a", date(2023, 3, 1), "apc_spell", 69, "F", "A", "E01000001", "P1"),
        _fact("a", date(2023, 4, 10), "ae_attendance", 70, "U", "Z", None, "P2"),
        _fact("b", date(2023, 5, 1), "apc_spell", 40, "M", "H", "E01000002", "P1"),
    ],
    "apc_spell": [
        _spell("s0", "a", date(2023, 3, 1), date(2023, 3, 2)),
        _spell("s1", "a", date(2023, 5, 2), date(2023, 5, 6)),
        _spell("s2", "a", date(2023, 5, 20), date(2023, 5, 20)),
        _spell("s3", "b", date(2023, 6, 1), date(2023, 6, 4)),
        _spell("s4", "c", date(2023, 6, 10), date(2023, 6, 12)),
        _spell("s9", "b", date(2024, 6, 30), date(2024, 7, 1), method="11"),
    ],
    "ae_attendance": [
        _ae("e1", "a", "2023-04-10T10:00", 180, 1),
        _ae("e2", "b", "2023-07-01T10:00", 300, 1),
        _ae("e3", "c", "2023-08-01T10:00", 60, 3),
    ],
    "op_appointment": [
        _op("o1", "a", date(2023, 6, 5), True, "5"),
        _op("o2", "a", date(2023, 7, 5), False, "3"),
        _op("o3", "b", date(2023, 9, 5), True, "5"),
    ],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("activity") / "w.duckdb"
    with open_warehouse(path) as wh:
        for name, rows in TABLES.items():
            wh.load(name, arrow(name, rows), source=name, content_hash=name)
    return str(path)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JOINEDUP_MEASURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("JOINEDUP_FIGURES_CACHE", str(tmp_path / "figures"))
    monkeypatch.delenv("JOINEDUP_MEASURES", raising=False)


LIBRARY = load_library()


@pytest.mark.parametrize("measure_id", list(LIBRARY))
def test_every_measure_runs_or_ends_with_one_line(warehouse, measure_id) -> None:
    result = CliRunner().invoke(app, ["measures", "compute", measure_id, "--warehouse", warehouse])
    # An exception other than the exit is a traceback in a terminal.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    d = LIBRARY[measure_id]
    if d.register_use is None:  # activity alone will do: it runs
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
    else:
        assert result.exit_code != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "needs a GP registered population" in lines[0]
        assert "holds activity only" in lines[0] and measure_id in lines[0]


def test_the_register_measures_are_those_with_a_population_or_deaths() -> None:
    needs = {m for m, d in LIBRARY.items() if d.register_use is not None}
    assert {"emergency_admissions", "ae_attendances", "deaths_in_hospital"} <= needs
    assert {"emergency_admissions_last_90_days_of_life", "acute_spend_per_head"} <= needs
    free = {"emergency_readmissions_30d", "emergency_mean_length_of_stay", "ae_within_4_hours",
            "outpatient_dna_rate", "emergency_stays_21_days_plus"}  # fmt: skip
    assert not free & needs


def test_breakdowns_use_the_details_from_activity(warehouse) -> None:
    ids = ["emergency_mean_length_of_stay", "emergency_readmissions_30d"]
    res = compute(warehouse, ids, by=["sex", "age_band", "imd_quintile", "practice", "cluster"],
                  period="financial_year", cache=False, suppression=False)  # fmt: skip
    assert (res["person_details"] == "activity").all()
    assert set(res["period"]) == {FY}

    def rows(measure, grouping):
        mine = res[(res["measure_id"] == measure) & (res["grouping"] == grouping)]
        return {r.group: r for r in mine.itertuples()}

    los = rows("emergency_mean_length_of_stay", "sex")
    assert {g: (r.numerator, r.value) for g, r in los.items()} == {
        "F": (2, 2.0), "M": (1, 3.0), "unknown": (1, 2.0)
    }  # fmt: skip
    ages = rows("emergency_mean_length_of_stay", "age_band")
    assert {g: r.numerator for g, r in ages.items()} == {"65-74": 2, "18-44": 1, "unknown": 1}
    imd = rows("emergency_mean_length_of_stay", "imd_quintile")
    assert {g: r.numerator for g, r in imd.items()} == {"1": 2, "4": 1, "unknown": 1}
    practice = rows("emergency_mean_length_of_stay", "practice")  # a's latest practice: P2
    assert {g: r.numerator for g, r in practice.items()} == {"P2": 2, "P1": 1, "unknown": 1}
    cluster = rows("emergency_mean_length_of_stay", "cluster")
    assert {g: r.numerator for g, r in cluster.items()} == {"C2": 2, "C1": 1, "unknown": 1}
    readmitted = rows("emergency_readmissions_30d", "sex")
    assert {g: (r.numerator, r.denominator) for g, r in readmitted.items()} == {
        "F": (1, 2), "M": (0, 1), "unknown": (0, 1)
    }  # fmt: skip


def test_every_measure_means_those_activity_allows(warehouse) -> None:
    res = compute(warehouse, period="financial_year", cache=False)
    assert set(res["measure_id"]) <= {m for m, d in LIBRARY.items() if d.register_use is None}
    assert "emergency_readmissions_30d" in set(res["measure_id"])
    with pytest.raises(RegisterRequired, match="needs a GP registered population"):
        compute(warehouse, ["emergency_admissions"], cache=False)


def test_published_figures_say_where_details_came_from(warehouse) -> None:
    with Figures(warehouse, cache=False) as figures:
        assert figures.activity_only()
        every = figures.measures(None, "partnership", "financial_year")
        assert "emergency_admissions" not in set(every["measure_id"])
        assert (every["person_details"] == "activity").all()
        with pytest.raises(RegisterRequired, match="holds activity only"):
            figures.measure("emergency_admissions")
    table = CliRunner().invoke(
        app, ["measures", "compute", "emergency_readmissions_30d", "--period",
              "financial_year", "--warehouse", warehouse],
    )  # fmt: skip
    assert table.exit_code == 0 and "No GP register" in table.stdout


def test_a_register_warehouse_says_nothing_of_activity(tmp_path) -> None:
    from test_engine_spec import build

    res = compute(build(tmp_path / "w.duckdb"), ["emergency_readmissions_30d"], cache=False)
    assert "person_details" not in res.columns
