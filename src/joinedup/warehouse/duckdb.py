"""The DuckDB warehouse: one file, loads committed in a single transaction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import ibis
import pyarrow as pa

from joinedup import __version__
from joinedup.schema import SYSTEM_TABLES, TABLES
from joinedup.warehouse.base import BATCH_COLUMN, Batch, Warehouse, stored_schema


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
        wh = cls(con, str(path))
        if not read_only:
            wh.create_tables()
        return wh

    @property
    def raw(self):
        """The underlying DuckDB connection (for transactions and bulk reads)."""
        return self.con.con

    def create_tables(self) -> None:
        """Create every canonical and system table that does not exist yet."""
        existing = set(self.con.list_tables())
        for table in [*TABLES.values(), *SYSTEM_TABLES.values()]:
            if table.name not in existing:
                self.con.create_table(
                    table.name, schema=ibis.Schema.from_pyarrow(stored_schema(table))
                )

    def next_batch_id(self, content_hash: str) -> str:
        """A batch id: a sequence number (so ids sort by load order) and a hash prefix."""
        (n,) = self.raw.execute("SELECT count(*) FROM load_batch").fetchone()
        return f"B{n + 1:06d}-{content_hash[:8]}"

    def load(
        self,
        table_name: str,
        data: pa.Table,
        *,
        source: str,
        content_hash: str,
        rows_read: int | None = None,
        quarantine: pa.Table | None = None,
        replaces: str | None = None,
    ) -> Batch:
        """Load ``data`` into ``table_name`` as one batch inside one transaction."""
        if table_name not in TABLES:
            raise KeyError(f"unknown table {table_name!r}")
        target = stored_schema(TABLES[table_name])
        batch_id = self.next_batch_id(content_hash)
        data = data.select(TABLES[table_name].column_names)
        data = data.append_column(BATCH_COLUMN, pa.array([batch_id] * data.num_rows, pa.string()))
        data = data.cast(target)
        quarantined = 0 if quarantine is None else quarantine.num_rows
        batch = Batch(
            batch_id=batch_id,
            table_name=table_name,
            source_file=source,
            content_hash=content_hash,
            rows_read=rows_read if rows_read is not None else data.num_rows + quarantined,
            rows_accepted=data.num_rows,
            rows_quarantined=quarantined,
            status="loaded",
            loaded_at=datetime.now().replace(microsecond=0),
            replaces_batch_id=replaces,
            code_version=__version__,
        )
        raw = self.raw
        raw.execute("BEGIN TRANSACTION")
        try:
            if replaces is not None:
                raw.execute(f'DELETE FROM "{table_name}" WHERE batch_id = ?', [replaces])
                raw.execute(
                    "UPDATE load_batch SET status = 'replaced' WHERE batch_id = ?", [replaces]
                )
            raw.register("_incoming", data)
            raw.execute(f'INSERT INTO "{table_name}" SELECT * FROM _incoming')
            raw.unregister("_incoming")
            if quarantine is not None and quarantine.num_rows:
                q = quarantine.select(SYSTEM_TABLES["quarantine"].column_names).cast(
                    stored_schema(SYSTEM_TABLES["quarantine"])
                )
                raw.register("_quarantine", q)
                raw.execute("INSERT INTO quarantine SELECT * FROM _quarantine")
                raw.unregister("_quarantine")
            record = pa.Table.from_pylist(
                [batch.__dict__], schema=stored_schema(SYSTEM_TABLES["load_batch"])
            )
            raw.register("_batch", record)
            raw.execute("INSERT INTO load_batch SELECT * FROM _batch")
            raw.unregister("_batch")
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        return batch

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.disconnect()
