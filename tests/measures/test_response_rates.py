"""Response rates beside patient-voice figures, on a small warehouse worked by hand.

The figures are for 2023-24 Q2 (1 July to 30 September 2023). GP appointments on 1 April
and 30 September 2023 mark the data's first and last day, so Q1 and Q2 are complete.
Four people, all registered with practice P1.

A&E attendances in the quarter: 80 at RA1, 20 at RB2, 40 at RC3 = 140.
Friends and Family Test answers about A&E in the quarter:

    RA1  12 answers, 9 very good or good   (2 of them anonymous)
    RB2   3 answers, 3 positive
    RC3  20 answers, 16 positive

So by partnership: 35 responses of 140 eligible = 25% response rate, 28 positive =
80%. By provider: RA1 12 / 80 = 15%, 9 / 12 = 75%; RC3 20 / 40 = 50%, 16 / 20 = 80%;
RB2's 3 answers are a count from 1 to 7, so its responses, percentage and response
rate are suppressed, and RA1 (the smallest other provider that period) too, since the
partnership total 35 would give RB2 = 35 - 12 - 20 away. RB2's 20 eligible stay.

Hospital stays discharged in the quarter at RA1: 30, 2 of them ending in death, so 28
eligible. 8 inpatient answers (7 positive): 8 / 28 = 28.57% response rate; 8 is not
suppressed (it is above 7), but it is below the measure's 10 responses, so no
percentage positive is shown.

One A&E answer is dated 2 October 2023 (the next quarter, outside the data's complete
quarters): it counts nowhere.

Discharge-dated stays start in the first month beginning more than 30 days after the
earliest admission (1 April 2023), i.e. on 1 June: the stay discharged on 2 April is
left out, and the one discharged on 12 June is the base's first. So Q1 (from 1 April)
has 10 inpatient answers (20 June) but no eligible count: two months of its discharges
are missing, and 10 / 1 would be no response rate at all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from joinedup.measures import compute, finalise, load_library
from joinedup.measures.definition import MeasureError, parse_definition
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

pytestmark = [pytest.mark.integration]

Q = "2023-24 Q2"
PEOPLE = ["p1", "p2", "p3", "p4"]


def _person(pid: str) -> dict:
    return {
        "person_id": pid,
        "year_of_birth": 1960,
        "sex": "F",
        "ethnicity": "A",
        "lsoa_code": None,
        "imd_decile": 5,
        "practice_code": "P1",
        "registered_from": date(2000, 1, 1),
        "registered_to": None,
        "date_of_death": None,
        "place_of_death": None,
    }


def _ae(i: int, provider: str) -> dict:
    t = datetime(2023, 7, 1, 10) + timedelta(days=i % 90)
    return {
        "attendance_id": f"a{provider}{i}",
        "person_id": PEOPLE[i % 4],
        "provider_code": provider,
        "site_code": None,
        "arrived_at": t,
        "departed_at": t + timedelta(hours=2),
        "department_type": 1,
        "arrival_mode": "2",
        "disposal": "03",
        "cost": 100.0,
    }


def _spell(i: int, died: bool, adm: date | None = None) -> dict:
    adm = adm or date(2023, 7, 1) + timedelta(days=i * 2)
    return {
        "spell_id": f"s{i}",
        "person_id": PEOPLE[i % 4],
        "provider_code": "RA1",
        "site_code": None,
        "admitted_on": adm,
        "discharged_on": adm + timedelta(days=1),
        "admission_method": "21",
        "patient_classification": "1",
        "admission_source": "19",
        "discharge_destination": "79" if died else "19",
        "specialty": "300",
        "primary_diagnosis": "R69",
        "primary_procedure": None,
        "cost": 1000.0,
    }


def _answers(setting: str, provider: str, n: int, positive: int, anonymous: int = 0,
             day: date = date(2023, 8, 15)) -> list[dict]:  # fmt: skip
    return [
        {
            "response_id": f"f{setting}{provider}{day}{i}",
            "person_id": None if i < anonymous else PEOPLE[i % 4],
            "instrument": "fft",
            "setting": setting,
            "provider_code": provider,
            "responded_on": day,
            "answer_code": "1" if i < positive else "4",
            "score": None,
            "timing": None,
            "comment": None,
        }
        for i in range(n)
    ]


TABLES = {
    "practice": [
        {"practice_code": "P1", "name": "One", "cluster_code": "C1", "footprint_code": "F1"}
    ],
    "person": [_person(p) for p in PEOPLE],
    "ae_attendance": [
        *[_ae(i, "RA1") for i in range(80)],
        *[_ae(i, "RB2") for i in range(20)],
        *[_ae(i, "RC3") for i in range(40)],
    ],
    "apc_spell": [
        *[_spell(i, died=i < 2) for i in range(30)],
        _spell(98, died=False, adm=date(2023, 4, 1)),
        _spell(99, died=False, adm=date(2023, 6, 11)),
    ],
    "gp_appointment": [
        {
            "person_id": "p1",
            "practice_code": "P1",
            "date": day,
            "mode": "face_to_face",
            "staff_role": "gp",
        }
        for day in (date(2023, 4, 1), date(2023, 9, 30))
    ],
    "feedback_response": [
        *_answers("ae", "RA1", 12, 9, anonymous=2),
        *_answers("ae", "RB2", 3, 3),
        *_answers("ae", "RC3", 20, 16),
        *_answers("ae", "RA1", 1, 1, day=date(2023, 10, 2)),
        *_answers("inpatient", "RA1", 8, 7),
        *_answers("inpatient", "RA1", 10, 9, day=date(2023, 6, 20)),
    ],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("rates") / "w.duckdb"
    with open_warehouse(path) as wh:
        for name, rows in TABLES.items():
            table = pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())
            wh.load(name, table, source=f"test/{name}", content_hash=f"rates-{name}")
    return str(path)


def _row(frame: pd.DataFrame, measure: str, by: str, group: str) -> pd.Series:
    rows = frame[(frame["measure_id"] == measure) & (frame["grouping"] == by)
                 & (frame["group"] == group) & (frame["period"] == Q)]  # fmt: skip
    assert len(rows) == 1, f"{measure} by {by}: no single row for {group}"
    return rows.iloc[0]


@pytest.fixture(scope="module")
def raw(warehouse: str) -> pd.DataFrame:
    return compute(warehouse, ["fft_positive_ae", "fft_positive_inpatient"],
                   by=["partnership", "provider", "age_band"], period="quarter",
                   cache=False, suppression=False)  # fmt: skip


def test_partnership_responses_eligible_and_rate_worked_by_hand(raw) -> None:
    r = _row(raw, "fft_positive_ae", "partnership", "all")
    assert (r["responses"], r["eligible"]) == (35, 140)
    assert r["response_rate"] == pytest.approx(25.0)
    assert r["value"] == pytest.approx(80.0)
    assert list(raw[raw["measure_id"] == "fft_positive_ae"]["period"].unique()) == [Q]


def test_provider_rates_worked_by_hand(raw) -> None:
    ra1 = _row(raw, "fft_positive_ae", "provider", "RA1")
    assert (ra1["responses"], ra1["eligible"]) == (12, 80)  # anonymous answers count
    assert ra1["response_rate"] == pytest.approx(15.0)
    assert ra1["value"] == pytest.approx(75.0)
    rc3 = _row(raw, "fft_positive_ae", "provider", "RC3")
    assert (rc3["responses"], rc3["eligible"], rc3["response_rate"]) == (20, 40, 50.0)


def test_hospital_stays_ending_in_death_are_not_eligible(raw) -> None:
    r = _row(raw, "fft_positive_inpatient", "partnership", "all")
    assert (r["responses"], r["eligible"]) == (8, 28)
    assert r["response_rate"] == pytest.approx(100 * 8 / 28)
    assert pd.isna(r["value"]), "8 responses are fewer than the measure's 10"


def test_no_eligible_count_before_the_base_has_data(raw) -> None:
    q1 = raw[(raw["measure_id"] == "fft_positive_inpatient") & (raw["grouping"] == "partnership")
             & (raw["period"] == "2023-24 Q1")].iloc[0]  # fmt: skip
    assert q1["responses"] == 10 and q1["value"] == pytest.approx(90.0)
    assert pd.isna(q1["eligible"]) and pd.isna(q1["response_rate"])


def test_no_rate_by_person_attributes(raw) -> None:
    # Two anonymous answers have no age: a rate by age band would understate.
    ages = raw[(raw["measure_id"] == "fft_positive_ae") & (raw["grouping"] == "age_band")]
    assert set(ages["group"]) == {"45-64", "unknown"}
    assert ages["responses"].sum() == 35
    assert ages["eligible"].isna().all() and ages["response_rate"].isna().all()


def test_small_responses_are_suppressed_with_their_rate(warehouse: str) -> None:
    safe = compute(warehouse, ["fft_positive_ae"], by=["partnership", "provider"],
                   period="quarter", cache=False)  # fmt: skip
    rb2 = _row(safe, "fft_positive_ae", "provider", "RB2")
    for column in ("responses", "denominator", "numerator", "value", "response_rate"):
        assert pd.isna(rb2[column]), column
    assert rb2["eligible"] == 20 and rb2["suppressed"]
    # Secondary: RA1's 12 would give RB2's 3 away from the partnership's 35.
    ra1 = _row(safe, "fft_positive_ae", "provider", "RA1")
    assert pd.isna(ra1["responses"]) and pd.isna(ra1["response_rate"])
    rc3 = _row(safe, "fft_positive_ae", "provider", "RC3")
    assert (rc3["responses"], rc3["eligible"], rc3["response_rate"]) == (20, 40, 50.0)
    whole = _row(safe, "fft_positive_ae", "partnership", "all")
    assert (whole["responses"], whole["eligible"], whole["response_rate"]) == (35, 140, 25.0)


def test_small_eligible_count_hides_the_rate_not_the_figure() -> None:
    # Counts made by hand: 40 answers (30 positive) about 5 eligible contacts (answers
    # dated days after the contact can exceed a small base); 5 is a count from 1 to 7.
    d = load_library()["fft_positive_community"]
    counts = pd.DataFrame({
        "measure_id": [d.id] * 2, "grouping": ["provider"] * 2,
        "period_start": [date(2023, 7, 1)] * 2, "period": [Q] * 2, "group": ["RX1", "RX2"],
        "numerator": [30.0, 45.0], "denominator": [40.0, 50.0], "eligible": [5.0, 400.0],
    })  # fmt: skip
    res = finalise(counts, d, "quarter").set_index("group")
    assert res.loc["RX1", "value"] == pytest.approx(75.0)
    assert res.loc["RX1", "responses"] == 40
    assert pd.isna(res.loc["RX1", "eligible"]) and pd.isna(res.loc["RX1", "response_rate"])
    assert not res.loc["RX1", "suppressed"], "the figure itself is shown"
    # RX2 eligible 400 is hidden too (else 405 - 400 would give RX1 away, were the
    # total published); its 50 responses and 90% stay.
    assert res.loc["RX2", "responses"] == 50 and res.loc["RX2", "value"] == pytest.approx(90.0)
    assert pd.isna(res.loc["RX2", "response_rate"])


def test_mean_with_a_response_base_counts_its_answers() -> None:
    d = parse_definition({
        "id": "pam_test", "title": "PAM", "description": "Mean PAM score.", "kind": "mean",
        "numerator": {"source": "feedback", "where": {"instrument": "pam"}, "value": "score"},
        "unit": "mean_score", "direction": "increase", "min_responses": 10,
        "response_base": {"source": "programme_enrolment"},
    })  # fmt: skip
    assert d.response_base.groupings == ["partnership"]
    counts = pd.DataFrame({
        "measure_id": [d.id], "grouping": ["partnership"], "period_start": [date(2023, 7, 1)],
        "period": [Q], "group": ["all"], "n": [12], "total": [600.0], "total_sq": [30_300.0],
        "eligible": [48.0],
    })  # fmt: skip
    r = finalise(counts, d, "quarter").iloc[0]
    assert (r["responses"], r["eligible"], r["response_rate"]) == (12, 48, 25.0)
    assert r["value"] == pytest.approx(50.0)


BASE = {
    "id": "fft_x",
    "title": "FFT",
    "description": "FFT positive.",
    "kind": "proportion",
    "denominator": {"source": "feedback", "where": {"fft": True, "setting": "ae"}},
    "numerator": {"where": {"fft_positive": True}},
    "unit": "percent",
    "direction": "increase",
}


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ({"source": "ae"}, "response_base.source 'ae' is not an event source"),
        ({"source": "ae_attendance", "where": {"typ1": True}}, "has no field 'typ1'"),
        ({"source": "gp_appointment", "groupings": ["provider"]},
         "gp_appointment cannot be grouped by 'provider'"),
        ({"source": "ae_attendance", "groupings": ["ward"]}, "unknown grouping 'ward'"),
        ({"source": "ae_attendance", "extra": 1}, "response_base.extra"),
    ],
)  # fmt: skip
def test_bad_response_base_is_a_clear_error(base: dict, message: str) -> None:
    with pytest.raises(MeasureError, match=message):
        parse_definition({**BASE, "response_base": base}, origin="x.yaml")


def test_response_base_is_for_measures_of_responses() -> None:
    rate = {
        "id": "r",
        "title": "R",
        "description": "R.",
        "kind": "rate",
        "numerator": {"source": "ae_attendance"},
        "denominator": {"source": "population"},
        "unit": "per_1000",
        "direction": "decrease",
        "response_base": {"source": "ae_attendance"},
    }
    with pytest.raises(MeasureError, match="response_base applies to measures of responses"):
        parse_definition(rate)


def test_every_fft_measure_names_its_base() -> None:
    library = load_library()
    bases = {
        m: library[f"fft_positive_{m}"].response_base.source
        for m in ("ae", "inpatient", "outpatient", "gp", "community")
    }
    assert bases == {
        "ae": "ae_attendance",
        "inpatient": "apc_discharge",
        "outpatient": "op_appointment",
        "gp": "gp_appointment",
        "community": "community_contact",
    }


def test_cli_compute_shows_responses_and_rate(warehouse: str, tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    monkeypatch.setenv("JOINEDUP_MEASURE_CACHE", str(tmp_path / "cache"))
    args = ["measures", "compute", "fft_positive_ae", "--period", "quarter", "--warehouse",
            warehouse]  # fmt: skip
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "response rate" in shown.output and "25.0%" in shown.output
    # The quarter's figures, as a table row or (in a narrow terminal) a block of lines.
    quarter = " ".join(shown.output.split("2023-24 Q2", 1)[1].split("2023-24 Q3", 1)[0].split())
    assert "35" in quarter and "140" in quarter and "25.0%" in quarter
    out = tmp_path / "r.csv"
    written = CliRunner().invoke(app, [*args, "--format", "csv", "--out", str(out)])
    assert written.exit_code == 0, written.output
    csv = pd.read_csv(out)
    assert {"responses", "eligible", "response_rate"} <= set(csv.columns)
    assert csv.loc[0, ["responses", "eligible", "response_rate"]].tolist() == [35, 140, 25.0]
