"""Synthetic NHS numbers: valid, distinct, from the test range first.

The 999 test range holds 1,000,000 stems of which about 909,000 have a valid check
digit; a 1,000,000-person economy used to run past it into 11-digit numbers that fail
the check (found by ingesting a 1M economy's spells in the Spark benchmark).
"""

from __future__ import annotations

import numpy as np
import pytest

from ingest.helpers import check_digit
from joinedup.synth.build import test_range_nhs_numbers as nhs_numbers

pytestmark = pytest.mark.unit


def test_a_million_people_get_distinct_valid_ten_digit_numbers() -> None:
    numbers = nhs_numbers(np.random.default_rng(1), 1_000_000)
    text = [str(n) for n in numbers]
    assert len(set(text)) == 1_000_000
    assert all(len(t) == 10 for t in text)
    sample = np.random.default_rng(2).choice(len(text), 2_000, replace=False)
    assert all(check_digit(text[i][:9]) == int(text[i][9]) for i in sample)
    # Every valid number of the test range is used before any other range.
    in_test_range = sum(t.startswith("999") for t in text)
    assert in_test_range == sum(check_digit(f"999{i:06d}") is not None for i in range(10**6))
    assert {t[:3] for t in text} == {"999", "998"}


def test_small_economies_use_the_test_range_only() -> None:
    numbers = nhs_numbers(np.random.default_rng(1), 10_000)
    assert all(str(n).startswith("999") for n in numbers)
