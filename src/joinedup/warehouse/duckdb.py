"""The DuckDB warehouse: one file, loads committed in a single transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from joinedup import __version__, settings
from joinedup.schema import SYSTEM_TABLES, TABLES
from joinedup.warehouse.base import BATCH_COLUMN, Batch, Warehouse, stored_schema

# DuckDB's out-of-core operators (the hash aggregate that finds duplicate keys above all)
# keep some memory per thread: under a fixed 128 MiB cap, 14 or more threads failed, now
# and then, on 2 to 3 million keys (issue 21). A load's DuckDB gets one thread per this.
THREAD_MEMORY = 32 * settings.MiB
_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _bytes(size: str) -> float:
    """A DuckDB size setting ('18.6 GiB', '256MB') in bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", size)
    if m is None or m.group(2).lower() not in _UNITS:
        return float("inf")  # unknown form (e.g. no limit): treat as unlimited
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def load_limits(threads: int) -> tuple[str, int]:
    """DuckDB's memory limit during a load (:func:`joinedup.settings.load_memory`, sized
    from the machine) and the threads, of ``threads``, that it has room for."""
    cap = settings.load_memory()
    return f"{cap // settings.MiB}MiB", max(1, min(int(threads), cap // THREAD_MEMORY))


# DuckDB's name for each canonical column type (for columns added to older warehouses)
_SQL_TYPES = {
    "string": "VARCHAR", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
    "float64": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP",
}  # fmt: skip


class DuckDBWarehouse(Warehouse):
    """Canonical tables in a DuckDB file (the embedded default)."""

    backend_name = "duckdb"

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> DuckDBWarehouse:
        """Open the DuckDB file at ``path``, creating it and its tables if needed."""
        if read_only and not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}; build one with `joinedup synth`")
        path.parent.mkdir(parents=True, exist_ok=True)
        con = ibis.duckdb.connect(str(path), read_only=read_only)
        con.raw_sql("SET enable_progress_bar = false")  # rich shows our own progress
        wh = cls(con, str(path))
        if not read_only:
            wh.create_tables()
        return wh

    _in_transaction: bool = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction around several loads: all commit together or none does.

        Loads inside the block join it instead of opening their own.
        """
        if self._in_transaction:
            yield
            return
        with self._load_memory():
            self.raw.execute("BEGIN TRANSACTION")
            self._in_transaction = True
            try:
                yield
                self.raw.execute("COMMIT")
            except BaseException:
                self.raw.execute("ROLLBACK")
                raise
            finally:
                self._in_transaction = False

    @contextmanager
    def _load_memory(self) -> Iterator[None]:
        """Settings for a load transaction, put back afterwards: DuckDB's memory capped
        (if its limit is higher; see :func:`load_limits`) so a big load spills to the
        database's temporary folder instead of growing with the file, its threads to
        those the cap has room for, and inserts free to skip the work of keeping rows in
        order across parallel threads (each insert scans one record batch, so rows still
        land in the order given). Opening the file (replaying its write-ahead log after
        a crash) happens before, under DuckDB's own limit."""
        raw = self.raw
        (limit, ordered, threads) = raw.execute(
            "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order'),"
            " current_setting('threads')"
        ).fetchone()
        load_limit, load_threads = load_limits(threads)
        cap = _bytes(limit) > _bytes(load_limit)
        if cap:
            raw.execute(f"SET memory_limit = '{load_limit}'")
        raw.execute(f"SET threads = {load_threads}")
        raw.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            if cap:
                raw.execute(f"SET memory_limit = '{limit}'")
            raw.execute(f"SET threads = {int(threads)}")
            raw.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")

    @property
    def raw(self):
        """The underlying DuckDB connection (for transactions and bulk reads)."""
        return self.con.con

    def sql_frame(self, sql: str) -> pd.DataFrame:
        """The result of DuckDB SQL ``sql`` as a data frame.

        Straight to DuckDB: Ibis would parse the SQL to wrap it, slow for a long query.
        """
        return self.raw.sql(sql).df()

    def create_tables(self) -> None:
        """Create every canonical and system table that does not exist yet."""
        existing = set(self.con.list_tables())
        for table in [*TABLES.values(), *SYSTEM_TABLES.values()]:
            if table.name not in existing:
                self.con.create_table(
                    table.name, schema=ibis.Schema.from_pyarrow(stored_schema(table))
                )
            else:
                self._add_new_columns(table)

    def _add_new_columns(self, table) -> None:
        """Columns a later version added to ``table`` (nullable, at the end), so a
        warehouse made by an earlier version keeps working."""
        have = {
            name
            for (name,) in self.raw.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table.name],
            ).fetchall()
        }
        for col in table.columns:
            if col.name not in have and col.nullable:
                sql_type = _SQL_TYPES[col.type]
                self.raw.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {sql_type}')

    def next_batch_id(self, content_hash: str) -> str:
        """A batch id: a sequence number (so ids sort by load order) and a hash prefix."""
        (n,) = self.raw.execute("SELECT count(*) FROM load_batch").fetchone()
        return f"B{n + 1:06d}-{content_hash[:8]}"

    def load(
        self,
        table_name: str,
        data: pa.Table | Iterable[pa.Table],
        *,
        source: str,
        content_hash: str,
        rows_read: int | None = None,
        quarantine: pa.Table | Iterable[pa.Table] | None = None,
        replaces: str | None = None,
        rows_quarantined: int | None = None,
        person_key: str | None = None,
        rows_accepted: int | None = None,
    ) -> Batch:
        """Load ``data`` into ``table_name`` as one batch inside one transaction.

        ``data`` and ``quarantine`` may be one Arrow table or an iterable of them (so a
        large file streams in chunks). ``rows_quarantined`` counts rejected source rows
        when a row can have several quarantine records (default: quarantine rows).
        """
        if table_name not in TABLES:
            raise KeyError(f"unknown table {table_name!r}")
        target = stored_schema(TABLES[table_name])
        columns = TABLES[table_name].column_names
        chunks = [data] if isinstance(data, pa.Table) else data
        if quarantine is None:
            q_chunks: Iterable[pa.Table] = []
        else:
            q_chunks = [quarantine] if isinstance(quarantine, pa.Table) else quarantine
        q_table = SYSTEM_TABLES["quarantine"]
        raw = self.raw
        with self.transaction():
            batch_id = self.next_batch_id(content_hash)
            if replaces is not None:
                raw.execute(f'DELETE FROM "{table_name}" WHERE batch_id = ?', [replaces])
                raw.execute(
                    "UPDATE load_batch SET status = 'replaced' WHERE batch_id = ?", [replaces]
                )
            accepted = 0
            for chunk in chunks:
                chunk = chunk.select(columns)
                ids = pa.array([batch_id] * chunk.num_rows, pa.string())
                chunk = chunk.append_column(BATCH_COLUMN, ids).cast(target)
                _insert(raw, table_name, chunk)
                accepted += chunk.num_rows
            q_rows = 0
            for q in q_chunks:
                if not q.num_rows:
                    continue
                q = q.select(q_table.column_names).cast(stored_schema(q_table))
                _insert(raw, "quarantine", q)
                q_rows += q.num_rows
            quarantined = rows_quarantined if rows_quarantined is not None else q_rows
            batch = Batch(
                batch_id=batch_id,
                table_name=table_name,
                source_file=source,
                content_hash=content_hash,
                rows_read=rows_read if rows_read is not None else accepted + quarantined,
                rows_accepted=accepted if rows_accepted is None else rows_accepted,
                rows_quarantined=quarantined,
                status="loaded",
                loaded_at=datetime.now().replace(microsecond=0),
                replaces_batch_id=replaces,
                code_version=__version__,
                person_key=person_key,
            )
            record = pa.Table.from_pylist(
                [batch.__dict__], schema=stored_schema(SYSTEM_TABLES["load_batch"])
            )
            raw.register("_batch", record)
            raw.execute("INSERT INTO load_batch SELECT * FROM _batch")
            raw.unregister("_batch")
        return batch

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.disconnect()


def _insert(raw, table_name: str, data: pa.Table) -> None:
    """Append ``data`` to a table, one record batch per insert (so the rows keep their
    order). Each batch is scanned as a stream: DuckDB keeps a registered *table* alive,
    all of its Arrow buffers, until the transaction ends, so a big load inside one
    transaction would hold every chunk in memory; a scanned stream is copied and let go."""
    for batch in data.to_batches():
        raw.register("_incoming", pa.RecordBatchReader.from_batches(batch.schema, [batch]))
        try:
            raw.execute(f'INSERT INTO "{table_name}" SELECT * FROM _incoming')
        finally:
            raw.unregister("_incoming")
