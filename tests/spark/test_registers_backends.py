"""QOF registers from GP coded events on every backend: the hand-worked cases of
tests/derived/register_cases.py give the same rows on DuckDB and Spark, and a derivation
loads and replaces its batch on each."""

from __future__ import annotations

import pytest

from derived.register_cases import (
    AS_OF_2024,
    AS_OF_2025,
    EXPECTED_2024,
    EXPECTED_2025,
    EXPECTED_END,
    as_tuples,
    event_rows,
    person_rows,
)
from joinedup.derived.registers import derive, load_registers

from .conftest import BACKENDS, arrow, open_backend

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def wh(request, tmp_path_factory):
    w = open_backend(request, tmp_path_factory.mktemp(f"registers-{request.param}"), request.param)
    w.load("person", arrow("person", person_rows()), source="t/person", content_hash="p")
    w.load("gp_event", arrow("gp_event", event_rows()), source="t/events", content_hash="e")
    yield w
    w.close()


def test_the_worked_cases(wh) -> None:
    assert as_tuples(derive(wh, AS_OF_2024)) == EXPECTED_2024
    assert as_tuples(derive(wh, AS_OF_2025)) == EXPECTED_2025
    assert as_tuples(derive(wh)) == EXPECTED_END


def test_load_and_replace(wh) -> None:
    first = load_registers(wh, AS_OF_2024)
    later = load_registers(wh, AS_OF_2025)
    assert later.replaced == first.batch.batch_id
    rows = wh.table("condition").to_pyarrow()
    assert as_tuples(rows) == EXPECTED_2025
    assert set(rows["batch_id"].to_pylist()) == {later.batch.batch_id}
