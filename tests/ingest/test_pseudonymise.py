"""The vectorised NHS number check and person ids agree with the definitions, and person
ids are the known answers of HMAC-SHA256 computed with the standard library (and pinned as
literals computed with OpenSSL: tests/known_answers.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import known_answers as ka
from joinedup.ingest.keys import source_person_id, source_person_ids
from joinedup.ingest.pseudonymise import (
    ReidentificationStore,
    check_nhs_numbers,
    load_or_create_key,
    person_id,
    person_ids,
    person_ids_of_valid,
)

from .helpers import VALID_EXAMPLE, check_digit, nhs_numbers

pytestmark = pytest.mark.unit


def _valid_by_definition(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    return check_digit(digits[:9]) == int(digits[9])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789", min_size=10, max_size=10)
        | st.text(alphabet="0123456789 -x", max_size=13),
        max_size=30,
    )
)
def test_check_agrees_with_the_modulus_11_definition(values):
    _, valid = check_nhs_numbers(pa.array(values, pa.string()))
    assert valid.to_pylist() == [_valid_by_definition(v) for v in values]


def test_published_example_and_formatting():
    normalised, valid = check_nhs_numbers(
        pa.array([VALID_EXAMPLE, "943 476 5919", "943-476-5919", "9434765918", None])
    )
    assert valid.to_pylist() == [True, True, True, False, None]
    assert normalised.to_pylist() == [VALID_EXAMPLE] * 3 + [None, None]


def test_person_id_is_the_known_answer():
    # The literal was computed with OpenSSL (tests/known_answers.py says how); the
    # standard library gives the same, and so must every path that makes person ids.
    assert ka.PERSON_ID == "dd5c602eeb31d60c7c0d"
    assert ka.expected_person_id(ka.NHS_NUMBER, ka.KEY) == ka.PERSON_ID
    assert person_id(ka.NHS_NUMBER, ka.KEY) == ka.PERSON_ID
    assert person_id("943 476 5919", ka.KEY) == ka.PERSON_ID  # formatting is not hashed
    assert person_ids([ka.NHS_NUMBER, "943-476-5919"], ka.KEY).to_pylist() == [ka.PERSON_ID] * 2
    ids = person_ids_of_valid(pa.array([ka.NHS_NUMBER, None, ka.NHS_NUMBER]), ka.KEY)
    assert ids.to_pylist() == [ka.PERSON_ID, None, ka.PERSON_ID]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (ka.KEY, ka.PERSON_ID),
        (ka.OTHER_KEY, ka.OTHER_PERSON_ID),  # one bit of the key differs
        (ka.LONG_KEY, ka.LONG_KEY_PERSON_ID),  # longer than a SHA-256 block: hashed first
    ],
    ids=["key", "one bit differs", "100-byte key"],
)
def test_the_key_decides_the_id(key, expected):
    assert ka.expected_person_id(ka.NHS_NUMBER, key) == expected
    assert person_id(ka.NHS_NUMBER, key) == expected
    assert person_ids_of_valid(pa.array([ka.NHS_NUMBER]), key).to_pylist() == [expected]
    assert len({ka.PERSON_ID, ka.OTHER_PERSON_ID, ka.LONG_KEY_PERSON_ID}) == 3


def test_many_person_ids_match_the_standard_library():
    numbers = nhs_numbers(50, seed=3)
    want = [ka.expected_person_id(n, ka.OTHER_KEY) for n in numbers]
    assert person_ids(numbers, ka.OTHER_KEY).to_pylist() == want
    assert person_ids_of_valid(pa.array(numbers), ka.OTHER_KEY).to_pylist() == want
    assert [person_id(n, ka.OTHER_KEY) for n in numbers] == want


def test_source_key_id_is_the_known_answer():
    value, scheme = ka.SOURCE_KEY, ka.SOURCE_SCHEME
    assert ka.expected_source_person_id(value, scheme, ka.KEY) == ka.SOURCE_PERSON_ID
    assert source_person_id(value, scheme, ka.KEY) == ka.SOURCE_PERSON_ID
    ids = source_person_ids(pa.array([f" {value} ", None, value]), scheme, ka.KEY)
    assert ids.to_pylist() == [ka.SOURCE_PERSON_ID, None, ka.SOURCE_PERSON_ID]
    # the scheme is hashed with the value: the same text as an NHS number's id differs
    assert source_person_id(ka.NHS_NUMBER, "nhs_number", ka.KEY) != ka.PERSON_ID


def test_key_file_written_by_hand_is_the_key_used(tmp_path):
    key_file = tmp_path / "k.key"
    key_file.write_text(ka.KEY.hex() + "\n")  # the key file format: one line of hex
    assert person_id(ka.NHS_NUMBER, load_or_create_key(key_file)) == ka.PERSON_ID
    made = tmp_path / "new.key"  # a key made by joinedup is read back the same way
    assert load_or_create_key(made) == ka.key_in_file(made)


def test_reidentification_store_maps_the_known_id_back(tmp_path):
    store = ReidentificationStore(tmp_path / "reid.duckdb")
    store.add(pa.array([ka.PERSON_ID]), pa.array([ka.NHS_NUMBER]))
    assert store.lookup([ka.PERSON_ID, ka.OTHER_PERSON_ID]) == {ka.PERSON_ID: ka.NHS_NUMBER}
