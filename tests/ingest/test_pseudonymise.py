"""The vectorised NHS number check and person ids agree with the definitions."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.ingest.pseudonymise import check_nhs_numbers, person_id, person_ids_of_valid

from .helpers import VALID_EXAMPLE, check_digit

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


def test_person_ids_match_the_single_value_function():
    key = bytes(range(32))
    ids = person_ids_of_valid(pa.array([VALID_EXAMPLE, None, VALID_EXAMPLE]), key)
    assert ids.to_pylist() == [person_id(VALID_EXAMPLE, key), None, person_id(VALID_EXAMPLE, key)]
