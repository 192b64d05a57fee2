"""Measure definitions: the built-in library validates and bad YAML is explained."""

from __future__ import annotations

import pytest

from joinedup.measures.definition import MeasureError, load_library, parse_definition

pytestmark = pytest.mark.unit


def test_built_in_library_has_at_least_25_valid_measures():
    library = load_library()
    assert len(library) >= 25
    assert all(d.id == key for key, d in library.items())


def test_unknown_event_source_is_named_in_the_error():
    bad = {
        "id": "bad",
        "title": "Bad",
        "description": "Counts a source that does not exist.",
        "kind": "rate",
        "numerator": {"source": "apc_spells"},
        "denominator": {"source": "population"},
        "unit": "per_1000",
        "direction": "decrease",
    }
    with pytest.raises(MeasureError, match="apc_spells"):
        parse_definition(bad, origin="test.yaml")


def test_unknown_condition_is_named_in_the_error():
    bad = {
        "id": "bad",
        "title": "Bad",
        "description": "Counts people with a condition that does not exist.",
        "kind": "rate",
        "numerator": {"source": "apc_spell", "condition": ["gout"]},
        "denominator": {"source": "population"},
        "unit": "per_1000",
        "direction": "decrease",
    }
    with pytest.raises(MeasureError, match="gout"):
        parse_definition(bad, origin="test.yaml")
