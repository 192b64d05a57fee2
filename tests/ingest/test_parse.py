"""Parsing text to types, checked against Python's own datetime and int/float."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.ingest import icd10
from joinedup.ingest.parse import parse_bool, parse_date, parse_float, parse_int, parse_timestamp

pytestmark = pytest.mark.unit

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


@settings(max_examples=200, deadline=None)
@given(dates)
def test_uk_iso_and_compact_dates_agree_with_datetime(d):
    forms = [
        d.strftime("%d/%m/%Y"),
        d.isoformat(),
        d.strftime("%Y%m%d"),
        f"{d.day}/{d.month}/{d.year}",
    ]
    parsed, bad = parse_date(pa.array(forms))
    assert parsed.to_pylist() == [d] * 4
    assert not any(bad.to_pylist())


@settings(max_examples=200, deadline=None)
@given(st.integers(1900, 2099), st.integers(1, 12), st.integers(1, 31))
def test_impossible_dates_are_rejected_not_rolled_over(y, m, day):
    try:
        expected = dt.date(y, m, day)
    except ValueError:
        expected = None
    parsed, bad = parse_date(pa.array([f"{day:02d}/{m:02d}/{y}"]))
    assert parsed.to_pylist() == [expected]
    assert bad.to_pylist() == [expected is None]


def test_timestamps():
    values = pa.array(
        [
            "2024-03-31 14:05",
            "2024-03-31T14:05:09+01:00",
            "31/03/2024 9:05",
            "2024-03-31",
            "25:00",
            None,
        ]
    )
    parsed, bad = parse_timestamp(values)
    assert parsed.to_pylist() == [
        dt.datetime(2024, 3, 31, 14, 5),
        dt.datetime(2024, 3, 31, 14, 5, 9),
        dt.datetime(2024, 3, 31, 9, 5),
        dt.datetime(2024, 3, 31),
        None,
        None,
    ]
    assert bad.to_pylist() == [False, False, False, False, True, False]


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**15), 2**15 - 2))
def test_int16_round_trip(n):
    parsed, bad = parse_int(pa.array([str(n), f" {n} "]), pa.int16())
    assert parsed.to_pylist() == [n, n] and not any(bad.to_pylist())


def test_numbers_and_booleans():
    ints, bad = parse_int(pa.array(["7", "7.0", "7.5", "x", "99999", ""]), pa.int16())
    assert ints.to_pylist() == [7, 7, None, None, None, None]
    assert bad.to_pylist() == [False, False, True, True, True, False]
    floats, bad = parse_float(pa.array(["£1,234.50", "-2e3", ".5", "12p", None]))
    assert floats.to_pylist() == [1234.5, -2000.0, 0.5, None, None]
    assert bad.to_pylist() == [False, False, False, True, False]
    bools, bad = parse_bool(pa.array(["Y", "no", "TRUE", "0", "maybe"]))
    assert bools.to_pylist() == [True, False, True, False, None]
    assert bad.to_pylist() == [False, False, False, False, True]


def test_icd10_categories_by_chapter():
    # I21.9 acute myocardial infarction, Z99 dependence on enabling machines, U07 COVID-19;
    # E99, K94 (ICD-10-CM only), D49 (ICD-10-CM only) and W-less X-codes outside chapters
    codes = ["I219", "Z99", "U071", "E99", "K94", "D49", "U99"]
    assert icd10.exists(pa.array(codes)).to_pylist() == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
