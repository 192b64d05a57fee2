from __future__ import annotations

import pyarrow as pa
import pytest

from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration

FOOTPRINTS = pa.table({"footprint_code": ["F1", "F2"], "name": ["North", "South"]})


def test_load_records_a_batch_with_row_accounting(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        batch = wh.load("footprint", FOOTPRINTS, source="f.csv", content_hash="a" * 64)
        assert (batch.rows_read, batch.rows_accepted, batch.rows_quarantined) == (2, 2, 0)
        assert wh.row_counts()["footprint"] == 2
        stored = wh.table("footprint").to_pyarrow()
        assert set(stored["batch_id"].to_pylist()) == {batch.batch_id}
        assert wh.find_batch("a" * 64, "footprint") == wh.find_batch("a" * 64, "footprint")
        assert wh.find_batch("a" * 64, "footprint").batch_id == batch.batch_id
        assert wh.find_batch("b" * 64, "footprint") is None


def test_reopening_keeps_the_data(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        wh.load("footprint", FOOTPRINTS, source="f.csv", content_hash="a" * 64)
    with open_warehouse(tmp_path / "w.duckdb", read_only=True) as wh:
        assert wh.row_counts()["footprint"] == 2
        assert len(wh.batches()) == 1


def test_a_failed_load_leaves_the_store_as_it_was(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        wh.load("footprint", FOOTPRINTS, source="f.csv", content_hash="a" * 64)
        bad = pa.table({"footprint_code": ["F3", None], "name": ["East", "West"]})
        with pytest.raises(Exception):  # noqa: B017 - any failure must roll back
            wh.load("footprint", bad, source="g.csv", content_hash="b" * 64)
        assert wh.row_counts()["footprint"] == 2
        assert len(wh.batches()) == 1


def test_replacing_a_batch_swaps_its_rows_and_keeps_history(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        first = wh.load("footprint", FOOTPRINTS, source="f.csv", content_hash="a" * 64)
        fixed = pa.table({"footprint_code": ["F1"], "name": ["North (corrected)"]})
        second = wh.load(
            "footprint", fixed, source="f.csv", content_hash="c" * 64, replaces=first.batch_id
        )
        rows = wh.table("footprint").to_pyarrow().to_pylist()
        assert [r["name"] for r in rows] == ["North (corrected)"]
        statuses = dict(zip(wh.batches().batch_id, wh.batches().status, strict=True))
        assert statuses == {first.batch_id: "replaced", second.batch_id: "loaded"}


def test_unknown_backend_and_table_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown warehouse backend 'oracle'"):
        open_warehouse(tmp_path / "w.duckdb", backend="oracle")
    with open_warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(KeyError, match="person"):
        wh.table("people")


def test_read_only_open_of_a_missing_warehouse_says_how_to_build_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="joinedup synth"):
        open_warehouse(tmp_path / "missing.duckdb", read_only=True)
