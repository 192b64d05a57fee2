"""Phrases for contributing factors."""

from __future__ import annotations

import pytest

from joinedup.risk.explain import phrase

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("feature", "value", "words"),
    [
        ("emergency_admissions", 3, "3 emergency admissions in the last 12 months"),
        ("emergency_admissions", 1, "1 emergency admission in the last 12 months"),
        ("emergency_admissions", 0, None),
        ("ltc_heart_failure", 1, "heart failure"),
        ("ltc_heart_failure", 0, None),
        ("ltc_copd", 1, "COPD"),
        ("emergency_bed_days", 12, "12 emergency bed days in the last 12 months"),
        ("age", 87, "aged 87"),
        ("days_since_emergency", 20, "last emergency admission 20 days ago"),
        ("days_since_emergency", 366, None),
        ("care_home", 1, "lives in a care home"),
        ("female", 1, None),
        ("imd_decile", 1, "lives in a deprived area (IMD decile 1)"),
        ("imd_decile", 8, None),
    ],
)
def test_phrases(feature, value, words):
    assert phrase(feature, value) == words
