"""The backend-neutral warehouse interface and the batch record."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from joinedup import settings
from joinedup.schema import SYSTEM_TABLES, TABLES, Table

DEFAULT_DIR = settings.DATA_DIR
BATCH_COLUMN = "batch_id"


def default_warehouse_path() -> Path:
    """The warehouse file used when none is given: ``$JOINEDUP_WAREHOUSE`` or
    ``./joinedup-data/warehouse.duckdb`` (see :func:`joinedup.settings.warehouse_path`)."""
    return settings.warehouse_path()


@dataclass(frozen=True)
class Batch:
    """One committed load: where the rows came from and how many were kept."""

    batch_id: str
    table_name: str
    source_file: str
    content_hash: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    status: str
    loaded_at: datetime
    replaces_batch_id: str | None = None
    code_version: str | None = None
    person_key: str | None = None  # nhs_number, a source key scheme, or None


def stored_schema(table: Table) -> pa.Schema:
    """Arrow schema of a canonical table as stored: its columns plus ``batch_id``."""
    schema = table.arrow_schema()
    if table.name in TABLES:
        schema = schema.append(pa.field(BATCH_COLUMN, pa.string(), nullable=False))
    return schema


def hash_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks so large files never sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class Warehouse(ABC):
    """Canonical tables and their load batches on one analytic backend."""

    backend_name: str = "abstract"

    def __init__(self, con: ibis.BaseBackend, location: str) -> None:
        self.con = con
        self.location = location

    # -- reading: Ibis expressions, the same on every backend ---------------------
    def table(self, name: str) -> ibis.Table:
        """The canonical (or system) table ``name`` as an Ibis expression."""
        if name not in TABLES and name not in SYSTEM_TABLES:
            known = ", ".join([*TABLES, *SYSTEM_TABLES])
            raise KeyError(f"unknown table {name!r}; the warehouse tables are: {known}")
        return self.con.table(name)

    def has_table(self, name: str) -> bool:
        """Whether the backend holds a table called ``name``."""
        return name in self.con.list_tables()

    def row_counts(self) -> dict[str, int]:
        """Number of rows in every canonical table."""
        return {name: int(self.table(name).count().execute()) for name in TABLES}

    def sql_frame(self, sql: str) -> pd.DataFrame:
        """The result of ``sql``, in the backend's own dialect, as a data frame."""
        return self.con.sql(sql).to_pandas()

    def batches(self) -> pd.DataFrame:
        """Every load batch, oldest first."""
        return self.table("load_batch").order_by("loaded_at").to_pandas()

    def find_batch(self, content_hash: str, table_name: str) -> Batch | None:
        """The live batch already loaded from content with this hash, if any."""
        t = self.table("load_batch")
        rows = (
            t.filter(
                (t.content_hash == content_hash)
                & (t.table_name == table_name)
                & (t.status == "loaded")
            )
            .to_pandas()
            .to_dict("records")
        )
        if not rows:
            return None
        row = {k: (None if pd.isna(v) else v) for k, v in rows[0].items()}
        return Batch(**row)

    # -- writing: backend specific -------------------------------------------------
    @abstractmethod
    def create_tables(self) -> None:
        """Create every canonical and system table that does not exist yet."""

    @abstractmethod
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
        """Load ``data`` into ``table_name`` as one batch, all or nothing.

        ``data`` and ``quarantine`` may be iterables of Arrow tables (streamed chunks);
        ``rows_quarantined`` counts rejected source rows when it differs from the
        number of quarantine records.

        ``data`` must have the canonical columns (``batch_id`` is added here).
        ``quarantine`` holds rejected rows in the quarantine table's columns.
        ``replaces`` names a batch whose rows this one supersedes: they are removed
        from the table and the old batch is marked replaced, in the same transaction.
        ``person_key`` records how the rows were keyed to people (``nhs_number`` or a
        source key scheme, see :mod:`joinedup.ingest.keys`). ``rows_accepted`` counts
        accepted source rows when several make one table row (episodes into spells).
        """

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_warehouse(
    path: str | Path | None = None,
    backend: str | None = None,
    *,
    read_only: bool = False,
) -> Warehouse:
    """Open (creating if needed) the warehouse at ``path`` on ``backend``.

    ``backend`` defaults to ``$JOINEDUP_BACKEND`` or ``duckdb``. On ``spark`` a path
    ``X.duckdb`` means the Parquet store ``X.spark/`` (see joinedup.warehouse.spark).
    """
    backend = backend or settings.backend()
    path = Path(path) if path is not None else default_warehouse_path()
    if backend == "duckdb":
        from joinedup.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse.open(path, read_only=read_only)
    if backend == "spark":
        from joinedup.warehouse.spark import SparkWarehouse

        return SparkWarehouse.open(path, read_only=read_only)
    raise ValueError(f"unknown warehouse backend {backend!r}; expected one of: duckdb, spark")
