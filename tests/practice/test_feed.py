"""The practice feed, frequent attenders and timeliness on a hand-made warehouse.

Every expected value below was worked out by hand from the rows written here
(dates counted on a calendar), not by running the code.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pyarrow as pa
import pytest

from joinedup.practice.attenders import frequent_attenders
from joinedup.practice.feed import PracticeNotFound, activity_counts, activity_feed
from joinedup.practice.timeliness import source_dates, warnings_for
from joinedup.schema import TABLES
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration

A, B = "A11111", "B22222"
END = date(2025, 3, 31)


def pid(n: int) -> str:
    return f"{n:020x}"


PA, PB, PC, PD, PE, PF = (pid(i) for i in range(1, 7))


def _arrow(table_name: str, rows: list[dict]) -> pa.Table:
    schema = TABLES[table_name].arrow_schema()
    columns = {f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}
    return pa.table(columns, schema=schema)


def _person(p, practice, yob, sex="F", registered_to=None, died=None):
    return {
        "person_id": p,
        "year_of_birth": yob,
        "sex": sex,
        "practice_code": practice,
        "registered_from": date(2000, 1, 1),
        "registered_to": registered_to,
        "date_of_death": died,
    }


def _ae(n, p, day):
    return {
        "attendance_id": f"AE{n}",
        "person_id": p,
        "provider_code": "RXX",
        "arrived_at": datetime.combine(day, time(10, 0)),
        "department_type": 1,
    }


def _spell(s, p, admitted, discharged, method="21", classification="1", destination="19"):
    return {
        "spell_id": s,
        "person_id": p,
        "provider_code": "RXX",
        "admitted_on": admitted,
        "discharged_on": discharged,
        "admission_method": method,
        "patient_classification": classification,
        "discharge_destination": destination,
        "primary_diagnosis": "J441",
    }


def practice_tables() -> dict[str, list[dict]]:
    """The hand-made rows, table by table (the Spark suite loads the same rows)."""
    practices = [
        {"practice_code": c, "name": f"Practice {c}", "cluster_code": "C1", "footprint_code": "F1"}
        for c in (A, B)
    ]
    people = [
        _person(PA, A, 1950),
        _person(PB, A, 1940, "M"),
        _person(PC, A, 1980),
        _person(PD, A, 1990, registered_to=date(2025, 3, 1)),  # moved away before the week
        _person(PE, B, 1970),
        _person(PF, A, 1930, died=date(2025, 3, 29)),
    ]
    ae = [
        _ae(1, PA, date(2024, 12, 31)),  # 91 days before 31 March: outside the 90
        _ae(2, PA, date(2025, 1, 1)),  # day 90 counting back from 31 March
        _ae(3, PA, date(2025, 2, 15)),
        _ae(4, PA, date(2025, 3, 31)),  # third in 90 days
        _ae(5, PD, date(2025, 3, 30)),  # no longer registered with A
        _ae(6, PE, date(2025, 3, 30)),  # practice B's patient
    ]
    spells = [
        _spell("S1", PB, date(2025, 2, 1), date(2025, 2, 24)),
        _spell("S2", PB, date(2025, 3, 25), date(2025, 3, 29)),  # 29 days after S1: readmission
        _spell("S3", PC, date(2025, 2, 20), date(2025, 2, 25)),
        _spell("S4", PC, date(2025, 3, 27), None, destination="98"),  # 30 days: not; still in
        _spell("S5", PC, date(2025, 3, 28), date(2025, 3, 28), "11", "2"),  # day case
        _spell("S6", PF, date(2025, 3, 28), date(2025, 3, 29), destination="79"),  # died
    ]
    conditions = [
        {"person_id": PA, "condition": "copd", "code_system": "snomed", "code": "13645005",
         "recorded_on": date(2020, 1, 1)},
        {"person_id": PA, "condition": "diabetes", "code_system": "snomed", "code": "44054006",
         "recorded_on": date(2025, 4, 10)},  # after the week: not yet known
    ]  # fmt: skip
    care = [
        {"person_id": PB, "service_type": "residential_care", "started_on": date(2024, 1, 1)},
    ]
    enrol = [{"person_id": PA, "programme": "telephone_care_management",
              "enrolled_on": date(2024, 6, 1)}]  # fmt: skip
    return {
        "practice": practices,
        "person": people,
        "ae_attendance": ae,
        "apc_spell": spells,
        "condition": conditions,
        "social_care_service": care,
        "programme_enrolment": enrol,
    }


#: Practice A's feed for the week to 31 March, worked by hand from the rows above.
WEEK_A = [
    (PA, "ae_attendance", date(2025, 3, 31)),
    (PB, "emergency_admission", date(2025, 3, 25)),
    (PB, "discharge", date(2025, 3, 29)),
    (PC, "emergency_admission", date(2025, 3, 27)),
    (PF, "emergency_admission", date(2025, 3, 28)),
    (PF, "discharge", date(2025, 3, 29)),
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = open_warehouse(tmp_path_factory.mktemp("practice") / "wh.duckdb")
    for name, rows in practice_tables().items():
        w.load(name, _arrow(name, rows), source="test", content_hash=name)
    yield w
    w.close()


def _row(feed, person, event):
    rows = feed[(feed["person_id"] == person) & (feed["event"] == event)]
    assert len(rows) == 1, (person, event, rows)
    return rows.iloc[0]


def test_feed_holds_exactly_the_practices_events_of_the_week(wh) -> None:
    feed = activity_feed(wh, A, days=7)
    assert feed.attrs["start"] == date(2025, 3, 25) and feed.attrs["end"] == END
    got = sorted(zip(feed["person_id"], feed["event"], feed["date"], strict=True))
    assert got == sorted(WEEK_A)
    # Newest first.
    assert list(feed["date"]) == sorted(feed["date"], reverse=True)
    other = activity_feed(wh, B, days=7)
    assert list(other["person_id"]) == [PE]


def test_flags_worked_by_hand(wh) -> None:
    feed = activity_feed(wh, A, days=7, casefinding_ids={PC})
    a = _row(feed, PA, "ae_attendance")
    assert a["ae_attendances_90d"] == 3 and a["third_attendance_in_90_days"]
    assert a["programme"] == "telephone_care_management"
    assert "enrolled: telephone care management" in a["reasons"]
    assert a["long_term_conditions"] == "copd"  # diabetes recorded after the event
    assert "3 A&E attendances in 90 days" in a["reasons"]

    admit = _row(feed, PB, "emergency_admission")
    assert admit["readmission_within_30_days"] and admit["care_home_resident"]
    out = _row(feed, PB, "discharge")
    assert out["length_of_stay"] == 4 and out["discharge_destination"] == "19"
    assert "discharged: check follow-up" in out["reasons"]

    c = _row(feed, PC, "emergency_admission")
    assert not c["readmission_within_30_days"]  # 30 days after the last discharge: 0-29 count
    assert c["still_in_hospital"] and c["on_casefinding_list"]
    assert "on the case-finding list" in c["reasons"]
    assert "enrolled" not in c["reasons"]  # PC is in no programme

    died = _row(feed, PF, "discharge")
    assert died["died_on"] == date(2025, 3, 29)
    assert "died 29 Mar 2025" in died["reasons"]
    assert "follow-up" not in died["reasons"]


def test_shorter_window_and_event_filter(wh) -> None:
    feed = activity_feed(wh, A, days=2)  # 30 and 31 March
    assert list(feed["event"]) == ["ae_attendance"]
    only = activity_feed(wh, A, days=7, events=("discharge",))
    assert set(only["event"]) == {"discharge"} and len(only) == 2
    with pytest.raises(ValueError, match="unknown feed events"):
        activity_feed(wh, A, events=("elective",))
    with pytest.raises(ValueError, match="at least 1"):
        activity_feed(wh, A, days=0)


def test_unknown_practice_is_named(wh) -> None:
    with pytest.raises(PracticeNotFound, match=r"Z99999.*known: A11111, B22222"):
        activity_feed(wh, "Z99999")


def test_counts_for_every_practice_agree_with_the_feeds(wh) -> None:
    counts = activity_counts(wh, days=7).set_index("practice_code")
    assert counts.loc[A].to_dict() == {"ae_attendance": 1, "emergency_admission": 3, "discharge": 2}
    assert counts.loc[B].to_dict() == {"ae_attendance": 1, "emergency_admission": 0, "discharge": 0}


def test_frequent_attenders_and_their_pattern(wh) -> None:
    found = frequent_attenders(wh, A, days=365, min_ae=4, min_admissions=2)
    # Most admissions first, then attendances, then bed days.
    assert list(found["person_id"]) == [PB, PC, PA]
    b, c = found.iloc[0], found.iloc[1]
    assert b["emergency_admissions"] == 2 and b["ae_attendances"] == 0
    assert b["bed_days"] == 23 + 4  # 1-24 Feb and 25-29 Mar
    assert c["bed_days"] == 5 + 4  # 20-25 Feb, and 27-31 Mar still in hospital
    months = found.attrs["months"]
    assert months[0] == date(2024, 4, 1) and months[-1] == date(2025, 3, 1)
    a = found.iloc[2]
    # Attendances on 31 Dec, 1 Jan, 15 Feb and 31 Mar.
    assert a["pattern"] == [0] * 8 + [1, 1, 1, 1]
    # PF died and PD moved away: neither is on the list at the end of the window.
    assert PF not in set(found["person_id"]) and PD not in set(found["person_id"])
    none = frequent_attenders(wh, A, days=365, min_ae=5, min_admissions=3)
    assert none.empty


def test_timeliness_names_late_and_empty_sources(wh) -> None:
    frame = source_dates(wh).set_index("source")
    assert frame.attrs["newest"] == END
    assert frame.loc["ae", "latest"] == END and not frame.loc["ae", "late"]
    # The only social care package started on 1 January 2024: 455 days behind.
    assert frame.loc["social_care", "days_behind"] == 455 and frame.loc["social_care", "late"]
    assert frame.loc["gp", "latest"] is None and frame.loc["gp", "late"]
    words = warnings_for(source_dates(wh))
    assert any(w.startswith("GP appointments: no data held") for w in words)
    assert any("Social care packages: latest data 01 Jan 2024, 455 days behind" in w for w in words)
    assert warnings_for(source_dates(wh), ("ae", "apc_admissions")) == []
