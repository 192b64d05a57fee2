"""Group labels of a compute run, on a small warehouse worked by hand.

A compute run groups event sources by integer codes of the person's attributes and by
whole age, and labels the groups after counting; these are the labels (and merged
"unknown" groups) that text grouping gives.

Nine Friends and Family Test answers about A&E at RA1 on 15 August 2023:

    3 from person a: born 1950 (73 in 2023: 65-74), F, ethnicity A (White), IMD decile
      1 (quintile 1), practice P1 (cluster C1, footprint F1)
    2 from person b: born 2020 (3: 0-4), M, no ethnicity recorded (ethnic group
      "Unknown"), no IMD decile, practice P9 (not in the practice table: no cluster)
    4 anonymous: no person, so every person attribute is missing ("unknown")

So by cluster: C1 3, unknown 6 (b's missing cluster and the anonymous answers are one
group); by IMD quintile: 1 3, unknown 6; by ethnic group: White 3, Unknown 2, unknown 4
(the recorded "Unknown" group is not the missing one); by age band 65-74 3, 0-4 2,
unknown 4; by practice P1 3, P9 2, unknown 4; by sex F 3, M 2, unknown 4.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from joinedup.measures import compute
from joinedup.measures.definition import parse_definition
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

pytestmark = [pytest.mark.integration]

DAY = date(2023, 8, 15)


def _person(pid: str, yob: int, sex: str, ethnicity: str | None, decile: int | None,
            practice: str) -> dict:  # fmt: skip
    return {
        "person_id": pid,
        "year_of_birth": yob,
        "sex": sex,
        "ethnicity": ethnicity,
        "lsoa_code": None,
        "imd_decile": decile,
        "practice_code": practice,
        "registered_from": date(2000, 1, 1),
        "registered_to": None,
        "date_of_death": None,
        "place_of_death": None,
    }


def _answer(i: int, person: str | None) -> dict:
    return {
        "response_id": f"r{i}",
        "person_id": person,
        "instrument": "fft",
        "setting": "ae",
        "provider_code": "RA1",
        "responded_on": DAY,
        "answer_code": "1",
        "score": None,
        "timing": None,
        "comment": None,
    }


TABLES = {
    "practice": [
        {"practice_code": "P1", "name": "One", "cluster_code": "C1", "footprint_code": "F1"}
    ],
    "person": [_person("a", 1950, "F", "A", 1, "P1"), _person("b", 2020, "M", None, None, "P9")],
    "gp_appointment": [  # the data's first and last day: April to September 2023
        {
            "person_id": "a",
            "practice_code": "P1",
            "date": day,
            "mode": "face_to_face",
            "staff_role": "gp",
        }
        for day in (date(2023, 4, 1), date(2023, 9, 30))
    ],
    "feedback_response": [
        *[_answer(i, "a") for i in range(3)],
        *[_answer(i, "b") for i in range(3, 5)],
        *[_answer(i, None) for i in range(5, 9)],
    ],
}

EXPECTED = {
    "partnership": {"all": 9},
    "provider": {"RA1": 9},
    "practice": {"P1": 3, "P9": 2, "unknown": 4},
    "cluster": {"C1": 3, "unknown": 6},
    "footprint": {"F1": 3, "unknown": 6},
    "imd_quintile": {"1": 3, "unknown": 6},
    "ethnic_group": {"White": 3, "Unknown": 2, "unknown": 4},
    "age_band": {"65-74": 3, "0-4": 2, "unknown": 4},
    "sex": {"F": 3, "M": 2, "unknown": 4},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("groups") / "w.duckdb"
    with open_warehouse(path) as wh:
        for name, rows in TABLES.items():
            table = pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())
            wh.load(name, table, source=f"test/{name}", content_hash=f"groups-{name}")
    base = {
        "title": "FFT",
        "description": "FFT positive.",
        "kind": "proportion",
        "denominator": {"source": "feedback", "where": {"fft": True}},
        "unit": "percent",
        "direction": "increase",
        "groupings": list(EXPECTED),
    }
    # Two measures over the feedback source: it is shared, as in a full run.
    library = {
        "fft_positive_x": parse_definition(
            {**base, "id": "fft_positive_x", "numerator": {"where": {"fft_positive": True}}}
        ),
        "fft_negative_x": parse_definition(
            {**base, "id": "fft_negative_x", "numerator": {"where": {"fft_negative": True}}}
        ),
    }
    return compute(
        str(path), by="all", period="month", cache=False, suppression=False, library=library
    )


@pytest.mark.parametrize("grouping", list(EXPECTED))
def test_groups_are_labelled_as_text_grouping_labels_them(
    results: pd.DataFrame, grouping: str
) -> None:
    for measure, positive in (("fft_positive_x", True), ("fft_negative_x", False)):
        rows = results[
            (results["measure_id"] == measure)
            & (results["grouping"] == grouping)
            & (results["period"] == "2023-08")
        ]
        got = dict(zip(rows["group"], rows["denominator"], strict=True))
        assert got == EXPECTED[grouping]
        numerators = dict(zip(rows["group"], rows["numerator"], strict=True))
        assert numerators == {g: n if positive else 0 for g, n in EXPECTED[grouping].items()}
