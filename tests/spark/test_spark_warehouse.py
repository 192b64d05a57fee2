"""The Spark store itself: batches, all-or-nothing commits, reading a synth folder, CLI.

Plus the contract of issue 9: ``joinedup --backend spark measures compute`` prints the
same rows as the default backend for the same warehouse data.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from joinedup.warehouse import open_warehouse
from joinedup.warehouse.spark import SparkUnsupportedError, SparkWarehouse

from .conftest import arrow, spec_cases

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # pyspark 4.0 calls a pandas API that pandas 3 deprecates: nothing to act on here
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _count(wh, table: str) -> int:
    return int(wh.table(table).count().execute())


@pytest.fixture()
def store(spark, tmp_path):
    wh = open_warehouse(tmp_path / "store", "spark")
    yield wh
    wh.close()


def _people(*ids: str) -> pa.Table:
    return arrow("person", [p for p in spec_cases.PERSONS if p["person_id"] in ids])


def test_load_records_a_batch_and_reopening_sees_it(store, tmp_path) -> None:
    batch = store.load("person", _people("p1", "p2"), source="a.csv", content_hash="h" * 64)
    assert (batch.rows_read, batch.rows_accepted, batch.status) == (2, 2, "loaded")
    assert store.find_batch("h" * 64, "person") == batch
    store.close()
    again = open_warehouse(tmp_path / "store", "spark", read_only=True)
    ids = again.table("person").batch_id.to_pandas().tolist()
    assert ids == [batch.batch_id] * 2
    assert again.batches()["batch_id"].tolist() == [batch.batch_id]
    again.close()


def test_failed_load_leaves_nothing_behind(store) -> None:
    store.load("person", _people("p1"), source="a", content_hash="a" * 64)

    def chunks():
        yield _people("p2")
        raise ValueError("source broke mid-file")

    with pytest.raises(ValueError, match="mid-file"):
        store.load("person", chunks(), source="b", content_hash="b" * 64)
    assert _count(store, "person") == 1
    assert len(store.batches()) == 1
    # the aborted batch's files are gone too, not just unreferenced
    assert len(list((store.root / "tables" / "person").iterdir())) == 1


def test_replacing_a_batch_swaps_its_rows_in_one_commit(store) -> None:
    old = store.load("person", _people("p1", "p2"), source="v1", content_hash="1" * 64)
    new = store.load(
        "person",
        _people("p1", "p2", "p3"),
        source="v2",
        content_hash="2" * 64,
        replaces=old.batch_id,
    )
    assert _count(store, "person") == 3
    statuses = store.batches().set_index("batch_id")["status"].to_dict()
    assert statuses == {old.batch_id: "replaced", new.batch_id: "loaded"}
    logs = sorted((store.root / "_log").glob("*.json"))
    assert (
        len(logs) == 2
        and json.loads(logs[1].read_text())["batches"][0]["batch"]["replaces_batch_id"]
        == old.batch_id
    )


def test_transaction_commits_several_loads_together_or_none(store) -> None:
    with pytest.raises(RuntimeError, match="abort"), store.transaction():
        store.load("person", _people("p1"), source="a", content_hash="a" * 64)
        store.load(
            "practice", arrow("practice", spec_cases.PRACTICES), source="b", content_hash="b" * 64
        )
        raise RuntimeError("abort")
    assert store.batches().empty and _count(store, "person") == 0
    with store.transaction():
        store.load("person", _people("p1"), source="a", content_hash="a" * 64)
        store.load(
            "practice", arrow("practice", spec_cases.PRACTICES), source="b", content_hash="b" * 64
        )
    assert len(list((store.root / "_log").glob("*.json"))) == 1
    counts = store.row_counts()  # all tables in one Spark job
    assert (counts["person"], counts["practice"], counts["apc_spell"]) == (1, 2, 0)


def test_quarantine_rows_are_kept(store) -> None:
    q = pa.Table.from_pylist(
        [{"batch_id": "x", "table_name": "person", "source_file": "a.csv", "source_row": 7,
          "field": "sex", "value": "Q", "reason": "expected one of F, M, U", "raw_row": "{}"}]
    )  # fmt: skip
    b = store.load("person", _people("p1"), source="a.csv", content_hash="q" * 64, quarantine=q)
    assert (b.rows_read, b.rows_accepted, b.rows_quarantined) == (2, 1, 1)
    got = store.table("quarantine").to_pandas()
    assert got["reason"].tolist() == ["expected one of F, M, U"]


def _synth_folder(tmp_path, tables=("practice", "person", "apc_spell")):
    """A folder shaped like `joinedup synth` output: parquet/<table>.parquet, no batch_id."""
    folder = tmp_path / "econ"
    (folder / "parquet").mkdir(parents=True)
    for name in tables:
        rows = spec_cases.TABLES[name]
        pq.write_table(arrow(name, rows), folder / "parquet" / f"{name}.parquet")
    return folder


def test_reads_a_synth_folder_in_place_and_imports_it(spark, tmp_path) -> None:
    folder = _synth_folder(tmp_path)
    with open_warehouse(folder, "spark", read_only=True) as wh:
        counts = wh.row_counts()
        assert counts["apc_spell"] == len(spec_cases.SPELLS) and counts["person"] == 6
        assert not (folder / "_log").exists()  # nothing written
    with open_warehouse(tmp_path / "store", "spark") as wh:
        first = wh.import_parquet(folder)
        assert {b.table_name for b in first} == {"practice", "person", "apc_spell"}
        assert wh.import_parquet(folder) == []  # same content: skipped
        assert wh.row_counts() == counts


def test_missing_warehouse_says_where_it_looked(spark, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no Spark warehouse at"):
        SparkWarehouse.open(tmp_path / "nothing", read_only=True)


def test_duckdb_sql_capabilities_say_they_do_not_run_on_spark(store) -> None:
    with pytest.raises(SparkUnsupportedError, match="not supported on the Spark backend"):
        store.raw.execute("SELECT 1")
    assert not hasattr(store, "raw")  # code probing for a DuckDB connection carries on


@pytest.mark.unit
def test_unknown_backend_lists_spark() -> None:
    with pytest.raises(ValueError, match="duckdb, spark"):
        open_warehouse("x.duckdb", "hive")


# -- the CLI ------------------------------------------------------------------------------


def _both(tmp_path):
    """The spec data in a DuckDB file and in the Spark store beside it (w.duckdb, w.spark)."""
    path = tmp_path / "w.duckdb"
    for backend in ("duckdb", "spark"):
        with open_warehouse(path, backend) as wh:
            for name, rows in spec_cases.TABLES.items():
                wh.load(name, arrow(name, rows), source=f"spec/{name}", content_hash=f"s-{name}")
    return path


def _run(monkeypatch, backend, args):
    from joinedup.cli import app

    monkeypatch.setenv("JOINEDUP_BACKEND", "duckdb")  # restored after the test
    result = CliRunner().invoke(app, ["--backend", backend, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_warehouse_tables_on_spark(spark, tmp_path, monkeypatch) -> None:
    folder = _synth_folder(tmp_path)
    out = _run(monkeypatch, "spark", ["warehouse", "tables", "--warehouse", str(folder)])
    assert "apc_spell" in out and "│ 8 " in out


def test_cli_measures_compute_same_rows_on_both_backends(spark, tmp_path, monkeypatch) -> None:
    path = _both(tmp_path)
    ids = ["emergency_admissions", "emergency_readmissions_30d"]
    args = ["measures", "compute", *ids, "--by", "practice", "--period", "financial_year"]
    args += ["--format", "csv", "--no-cache", "--warehouse", str(path)]
    frames = {b: pd.read_csv(io.StringIO(_run(monkeypatch, b, args))) for b in ("duckdb", "spark")}
    duck, spark_ = (f.sort_values(["measure_id", "group", "period"]) for f in frames.values())
    assert len(duck) > 0
    assert duck["numerator"].tolist() == spark_["numerator"].tolist() or (
        duck["numerator"].isna().tolist() == spark_["numerator"].isna().tolist()
    )
    pd.testing.assert_frame_equal(
        duck.reset_index(drop=True), spark_.reset_index(drop=True), check_exact=False, rtol=1e-9
    )
