"""DuckDB's memory during a load: sized from the machine (or the load_memory setting),
with no more threads than it has room for, so a load never fails for memory the machine
has (issue 21). The kill -9 sequence under the same pressure is in test_kill.py."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from joinedup import settings
from joinedup.ingest import IngestError, ingest, pipeline
from joinedup.schema import TABLES
from joinedup.warehouse.duckdb import load_limits

MiB, GiB = 2**20, 2**30


@pytest.mark.unit
@pytest.mark.parametrize(
    ("cpus", "machine", "expected"),
    [
        (1, 24 * GiB, 128 * MiB),  # at least 128 MiB
        (2, 24 * GiB, 128 * MiB),
        (4, 24 * GiB, 256 * MiB),  # 64 MiB a core
        (16, 64 * GiB, 1 * GiB),
        (64, 8 * GiB, 2 * GiB),  # at most a quarter of the machine
        (16, 512 * MiB, 128 * MiB),  # a small container
        (1, 128 * MiB, 64 * MiB),  # never below 64 MiB
        (16, None, 1 * GiB),  # the machine's memory unknown
    ],
)
def test_the_cap_is_sized_from_the_machine(monkeypatch, cpus, machine, expected):
    monkeypatch.delenv(settings.LOAD_MEMORY.env, raising=False)
    monkeypatch.setattr(settings, "_cpus", lambda: cpus)
    monkeypatch.setattr(settings, "_machine_memory", lambda: machine)
    assert settings.load_memory() == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "expected"),
    [("512MiB", 512 * MiB), ("2g", 2 * GiB), ("1 GB", 10**9), ("16MiB", 64 * MiB)],
)
def test_the_setting_overrides_it(monkeypatch, value, expected):
    monkeypatch.setenv(settings.LOAD_MEMORY.env, value)
    assert settings.load_memory() == expected


@pytest.mark.unit
def test_a_setting_that_is_not_a_size_is_refused(monkeypatch):
    monkeypatch.setenv(settings.LOAD_MEMORY.env, "lots")
    with pytest.raises(ValueError, match="JOINEDUP_LOAD_MEMORY"):
        settings.load_memory()


@pytest.mark.unit
def test_a_load_with_a_bad_setting_stops_before_it_starts(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.LOAD_MEMORY.env, "lots")
    with pytest.raises(IngestError, match="JOINEDUP_LOAD_MEMORY='lots' is not a size"):
        ingest([tmp_path / "a.csv"], table="apc_spell", warehouse=tmp_path / "w.duckdb")
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.unit
def test_threads_are_those_the_cap_has_room_for(monkeypatch):
    monkeypatch.setenv(settings.LOAD_MEMORY.env, "128MiB")
    assert load_limits(16) == ("128MiB", 4)  # 32 MiB a thread
    assert load_limits(2) == ("128MiB", 2)  # never more than DuckDB had
    monkeypatch.setenv(settings.LOAD_MEMORY.env, "64MiB")
    assert load_limits(16) == ("64MiB", 2)


def _sixteen_threads(connect):
    def opened(database=":memory:", read_only=False, config=None, **kwargs):
        config = {"threads": 16, **(config or {})}
        return connect(database, read_only=read_only, config=config, **kwargs)

    return opened


@pytest.mark.integration
def test_duplicate_keys_are_found_within_the_cap_on_a_16_core_machine(tmp_path, monkeypatch):
    """The step that failed: DuckDB's GROUP BY over the spilled keys keeps memory per
    thread, and 800,000 keys on 16 threads run out of 64 MiB (as 2 to 3 million did out
    of the fixed 128 MiB there was). With threads to match the cap, it spills instead."""
    monkeypatch.setenv(settings.LOAD_MEMORY.env, "64MiB")
    monkeypatch.setattr(duckdb, "connect", _sixteen_threads(duckdb.connect))
    table = TABLES["apc_spell"]
    spill = pipeline._Spill(tmp_path / "spill")
    n, block = 800_000, 100_000
    schema = pa.schema(
        [("spell_id", pa.string()), (pipeline.SOURCE_ROW, pa.int64()), (pipeline.BAD, pa.bool_())]
    )
    for start in range(0, n, block):
        rows = range(start, start + block)
        # every 100th row repeats the key of the row before it
        ids = [f"SPELL-{i - 1 if i % 100 == 99 else i:012d}" for i in rows]
        keys = pa.table([ids, list(rows), [False] * block], schema=schema)
        spill.write(pipeline.KEYS, keys, schema)
    spill.close()
    report = pipeline.FileReport("big.csv", table.name, "loaded", rows_accepted=n)
    try:
        late = pipeline._find_duplicates(spill, table, report)
        (threads,) = spill.sql().execute("SELECT current_setting('threads')").fetchone()
    finally:
        spill.dispose()
    assert threads == 2
    assert late == n // 100
    assert (report.rows_accepted, report.rows_quarantined) == (n - n // 100, n // 100)


@pytest.mark.integration
def test_episodes_become_spells_within_the_cap(tmp_path, monkeypatch):
    """Spells were built with list and distinct aggregates over every group, whose
    states DuckDB cannot spill: a 1,000,000-person refresh (about 800,000 HES episodes)
    ran out of the 128 MiB cap. Over every group the checks now keep fixed-size states
    only; 900,000 episodes in 600,000 spells are grouped within 128 MiB."""
    from joinedup.ingest import episodes
    from joinedup.ingest.mapping import Episodes

    monkeypatch.setenv(settings.LOAD_MEMORY.env, "128MiB")
    n = 900_000
    rows = np.arange(n)
    spell = rows // 3 * 2 + (rows % 3 == 2)  # pairs of episodes, then one alone
    order = np.where(rows % 3 == 1, 2, 1)
    people = np.char.add("P", (spell % 150_000).astype(str))
    admitted = pa.array(np.datetime64("2024-01-01") + (spell // 150_000), pa.date32())
    schema = TABLES["apc_spell"].arrow_schema()
    columns = {name: pa.nulls(n, schema.field(name).type) for name in schema.names}
    columns.update(
        person_id=pa.array(people), provider_code=pa.array(np.full(n, "RXX")),
        admitted_on=admitted, admission_method=pa.array(np.full(n, "21")),
    )  # fmt: skip
    episodes_file, keys_file = tmp_path / "episodes.parquet", tmp_path / "keys.parquet"
    source_row = pa.array(rows + 1)
    pq.write_table(pa.table({**columns, "_source_row": source_row}), episodes_file)
    pq.write_table(
        pa.table({"_source_row": source_row, "_bad": pa.array(np.zeros(n, bool)),
                  "_order": pa.array(order), "person_id": columns["person_id"],
                  "provider_code": columns["provider_code"], "admitted_on": admitted}),
        keys_file,
    )  # fmt: skip
    spill = pipeline._Spill(tmp_path / "spill")
    try:
        built = episodes.build(
            spill.sql(), tmp_path, keys_file, episodes_file, {},
            Episodes(order="EPIORDER", last=("discharged_on",)), False, schema.names,
        )  # fmt: skip
    finally:
        spill.dispose()
    assert (built.n_spells, built.n_rejected) == (n // 3 * 2, 0)
