"""The Spark warehouse: canonical tables as Parquet under a directory, read through Ibis.

Layout under the warehouse root (a directory)::

    tables/<table>/<batch_id>/part-*.parquet   rows of one batch (with ``batch_id``)
    quarantine/<batch_id>/part-*.parquet       rejected rows of one batch
    _log/000001.json, 000002.json, ...         commit records, one file per commit

A batch's files are written into a directory of their own that no reader looks at
until a commit record names the batch; the commit is the creation of one new log file
(written to a temporary name, then hard-linked to its final name, which fails if another
writer took that number). A crash before the link leaves only unreferenced files; the
log is the truth. Replacing a batch is part of the same commit record. This is
all-or-nothing on a POSIX filesystem seen by the driver and every executor (local disk
in local mode, a shared mount on a cluster); it is not atomic on object stores (S3, ADLS)
where rename and create-if-absent are not atomic: there, use a table format with its own
commit protocol (Delta Lake, Iceberg). One writer at a time; any number of readers.

Opened read-only over a synthetic economy's folder (``DIR`` holding ``parquet/``) with
no Spark store yet, the warehouse reads ``DIR/parquet/<table>.parquet`` in place, one
pseudo-batch per file, so ``joinedup --backend spark warehouse tables -w DIR`` works on
a ``joinedup synth`` output without copying it. ``import_parquet`` copies such a folder
into a writable store as ordinary batches.

Sessions: local mode (``local[*]`` bound to 127.0.0.1, UI off) unless
``$JOINEDUP_SPARK_MASTER`` names a master URL (``spark://host:7077``, ``yarn``) or a
Spark Connect endpoint (``sc://host:15002``). One SparkContext per process is shared;
each warehouse gets its own Spark session on it (``newSession``) so its temporary views
never clash with another warehouse's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup import __version__, settings
from joinedup.schema import SYSTEM_TABLES, TABLES, Table
from joinedup.warehouse.base import BATCH_COLUMN, Batch, Warehouse, hash_file, stored_schema

MASTER_ENV = settings.SPARK_MASTER.env
#: The driver's heap (e.g. "4g"; Spark's default is 1g): results fetched into Python,
#: such as the risk model's features for a million people, pass through it.
DRIVER_MEMORY_ENV = settings.SPARK_DRIVER_MEMORY.env
LOCAL_MASTER = settings.LOCAL_SPARK_MASTER


class SparkUnsupportedError(NotImplementedError):
    """A capability that does not run on the Spark backend (yet), said plainly."""

    def __init__(self, capability: str, why: str) -> None:
        super().__init__(
            f"{capability} is not supported on the Spark backend: {why}. "
            "Run it on the default DuckDB backend (omit --backend spark)."
        )


def unsupported(capability: str, why: str) -> SparkUnsupportedError:
    """The error a capability raises when it is asked to run on Spark and cannot."""
    return SparkUnsupportedError(capability, why)


class NoRawConnectionError(SparkUnsupportedError, AttributeError):
    """``wh.raw`` on Spark: there is no DuckDB connection to run DuckDB SQL on.

    Also an AttributeError, so code that probes for ``raw`` (``hasattr``) carries on.
    """


# -- Ibis on Spark: the one missing piece --------------------------------------------


def _teach_ibis_bit_aggregates() -> None:
    """Compile Ibis's BIT_OR/BIT_AND/BIT_XOR aggregates to Spark SQL's functions.

    Spark SQL has had ``bit_or``, ``bit_and`` and ``bit_xor`` since 3.0, but Ibis 12's
    PySpark compiler leaves them undefined; the risk scores OR category bit masks.
    """
    import ibis.expr.operations as ops
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    def make(name: str):
        def visit(self, op, *, arg, where):
            return self.agg[name](arg, where=where)

        return visit

    for op, name in ((ops.BitOr, "bit_or"), (ops.BitAnd, "bit_and"), (ops.BitXor, "bit_xor")):
        attr = f"visit_{op.__name__}"
        if getattr(PySparkCompiler, attr) is PySparkCompiler.visit_Undefined:
            setattr(PySparkCompiler, attr, make(name))


_teach_ibis_bit_aggregates()


# -- the Spark session ---------------------------------------------------------------


def spark_session(
    master: str | None = None,
    *,
    shuffle_partitions: int | None = None,
    warehouse_dir: Path | None = None,
):
    """The process's Spark session, started on first use.

    ``master`` defaults to ``$JOINEDUP_SPARK_MASTER`` or ``local[*]``; an ``sc://`` URL
    connects to Spark Connect; ``$JOINEDUP_SPARK_DRIVER_MEMORY`` sets the driver's heap.
    Local mode binds the driver to 127.0.0.1 and disables the web UI; shuffle partitions
    default to twice the cores in local mode (Spark's 200 is for clusters and makes small
    jobs slow). ``warehouse_dir`` keeps Spark SQL's own managed tables (none are made by
    joinedup) out of the working directory.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ImportError(
            "the Spark backend needs pyspark: pip install 'pyspark>=3.5,<4.1' "
            "(and a Java 17 runtime for local mode)"
        ) from None

    master = master or settings.spark_master()
    if master.startswith("sc://"):
        return SparkSession.builder.remote(master).getOrCreate()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    local = master.startswith("local")
    if local:
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise RuntimeError(
                "Spark local mode needs Java (17 is tested): install a JDK or set JAVA_HOME, "
                f"or point {MASTER_ENV} at a cluster or Spark Connect endpoint"
            )
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName("joinedup")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
    )
    if warehouse_dir is not None:
        builder = builder.config("spark.sql.warehouse.dir", str(Path(warehouse_dir).resolve()))
    if local:
        partitions = shuffle_partitions or 2 * (os.cpu_count() or 1)
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", str(partitions))
            .config("spark.default.parallelism", str(partitions))
        )
    elif shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    driver_memory = settings.spark_driver_memory()
    if driver_memory:  # read when the driver starts, so set it before
        builder = builder.config("spark.driver.memory", driver_memory)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _own_session(master: str | None, root: Path):
    """A session of this warehouse's own (separate temporary views) on the shared context."""
    session = spark_session(master, warehouse_dir=root / "_spark-sql")
    try:
        return session.newSession()
    except Exception:  # Spark Connect has no newSession: share the one session
        return session


def spark_schema(schema: pa.Schema):
    """The Spark struct type for an Arrow schema of the canonical types.

    Timestamps are ``TIMESTAMP_NTZ`` (wall-clock, no zone), as DuckDB's ``TIMESTAMP``.
    """
    from pyspark.sql import types as T

    def one(t: pa.DataType):
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return T.StringType()
        if pa.types.is_int16(t):
            return T.ShortType()
        if pa.types.is_int32(t):
            return T.IntegerType()
        if pa.types.is_int64(t):
            return T.LongType()
        if pa.types.is_float64(t):
            return T.DoubleType()
        if pa.types.is_boolean(t):
            return T.BooleanType()
        if pa.types.is_date32(t):
            return T.DateType()
        if pa.types.is_timestamp(t):
            return T.TimestampNTZType()
        raise TypeError(f"no Spark type for Arrow type {t}")

    return T.StructType([T.StructField(f.name, one(f.type), f.nullable) for f in schema])


# -- the commit log ------------------------------------------------------------------


@dataclass
class _Entry:
    """One batch as the log knows it: its record and where its rows are."""

    batch: Batch
    path: str  # directory (store) or file (an attached synth Parquet file)
    tagged: bool  # True when the files carry the batch_id column themselves


def _batch_json(batch: Batch) -> dict[str, Any]:
    d = asdict(batch)
    d["loaded_at"] = batch.loaded_at.isoformat()
    return d


def _batch_from_json(d: dict[str, Any]) -> Batch:
    return Batch(**{**d, "loaded_at": datetime.fromisoformat(d["loaded_at"])})


class SparkWarehouse(Warehouse):
    """Canonical tables as Parquet batches under a directory, computed on Spark."""

    backend_name = "spark"

    def __init__(self, session, root: Path, *, read_only: bool = False) -> None:
        self.session = session
        self.root = root
        self.read_only = read_only
        self._entries: dict[str, _Entry] = {}
        self._seq = 0  # number of commit records read
        self._pending: list[tuple[Batch, Path, Path | None]] | None = None
        self._views: set[str] = set()
        super().__init__(ibis.pyspark.connect(session), str(root))

    # -- opening -------------------------------------------------------------------
    @staticmethod
    def root_for(path: Path) -> Path:
        """The store directory for a warehouse path: ``X.duckdb`` maps to ``X.spark/``
        beside it (so the default ``--warehouse`` works), anything else is the directory."""
        return path.with_suffix(".spark") if path.suffix == ".duckdb" else path

    @classmethod
    def open(
        cls, path: Path, *, read_only: bool = False, master: str | None = None
    ) -> SparkWarehouse:
        """Open the Spark warehouse for ``path``, creating the store if needed.

        Read-only, with no store yet but a synthetic economy's ``parquet/`` folder beside
        ``path`` (or in it), the economy's files are read in place.
        """
        path = Path(path)
        root = cls.root_for(path)
        has_store = (root / "_log").is_dir()
        if read_only and not has_store:
            folder = _parquet_folder(path)
            if folder is None:
                raise FileNotFoundError(
                    f"no Spark warehouse at {root} and no synthetic economy parquet/ folder "
                    f"at {path}; build one with `joinedup synth` or load data first"
                )
            wh = cls(_own_session(master, root), root, read_only=True)
            wh._attach_folder(folder)
            return wh
        wh = cls(_own_session(master, root), root, read_only=read_only)
        if not read_only:
            wh.create_tables()
        wh._refresh()
        return wh

    def _attach_folder(self, folder: Path) -> None:
        """Read every canonical table's Parquet file in ``folder`` as one batch."""
        now = datetime.now().replace(microsecond=0)
        for i, name in enumerate(TABLES, start=1):
            f = folder / f"{name}.parquet"
            if not f.exists():
                continue
            rows = pq.ParquetFile(f).metadata.num_rows
            stat = f.stat()
            batch = Batch(
                batch_id=f"P{i:06d}-{name}",
                table_name=name,
                source_file=str(f),
                # Identity of the file without reading it all: size and modification time.
                content_hash=f"file:{stat.st_size}:{stat.st_mtime_ns}",
                rows_read=rows,
                rows_accepted=rows,
                rows_quarantined=0,
                status="loaded",
                loaded_at=now,
                code_version=__version__,
            )
            self._entries[batch.batch_id] = _Entry(batch, str(f), tagged=False)
        self._register_all()

    # -- the log -------------------------------------------------------------------
    @property
    def _log(self) -> Path:
        return self.root / "_log"

    def _refresh(self) -> None:
        """Read commit records written since the last refresh and re-register views."""
        if not self._log.is_dir():
            return
        names = sorted(p.name for p in self._log.glob("*.json"))
        if len(names) == self._seq and self._views:
            return
        for name in names[self._seq :]:
            record = json.loads((self._log / name).read_text())
            for item in record["batches"]:
                batch = _batch_from_json(item["batch"])
                if batch.replaces_batch_id and batch.replaces_batch_id in self._entries:
                    old = self._entries[batch.replaces_batch_id]
                    old.batch = Batch(**{**asdict(old.batch), "status": "replaced"})
                self._entries[batch.batch_id] = _Entry(batch, item["path"], tagged=True)
        self._seq = len(names)
        self._register_all()

    def _commit(self, items: list[tuple[Batch, Path, Path | None]]) -> None:
        """Write one commit record naming ``items``: the single step that publishes them."""
        record = {
            "committed_at": datetime.now().isoformat(),
            "batches": [{"batch": _batch_json(b), "path": str(p)} for b, p, _q in items],
        }
        final = self._log / f"{self._seq + 1:06d}.json"
        tmp = self._log / f".{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps(record, indent=1))
        try:
            os.link(tmp, final)  # atomic; fails if the number is taken
        except FileExistsError:
            raise RuntimeError(
                f"another writer committed to {self.root} at the same time; "
                "the Spark warehouse takes one writer at a time: load again"
            ) from None
        finally:
            tmp.unlink()
        self._refresh()

    @property
    def raw(self):
        """Not on Spark: capabilities that run DuckDB SQL directly say so clearly."""
        raise NoRawConnectionError(
            "this capability (it runs DuckDB SQL on the warehouse connection, as the web "
            "app's pages do)",
            "it needs the DuckDB connection, and Spark has none; the Ibis-based "
            "capabilities (measures, scores, derived events) do run on Spark",
        )

    # -- reading -------------------------------------------------------------------
    def _dataframe(self, name: str):
        """The Spark DataFrame of table ``name``: the union of its live batches."""
        definition = TABLES[name]
        schema = stored_schema(definition)
        sschema = spark_schema(schema)
        live = [
            e
            for e in self._entries.values()
            if e.batch.table_name == name and e.batch.status == "loaded"
        ]
        frames = []
        tagged = [e.path for e in live if e.tagged]
        if tagged:
            frames.append(self.session.read.schema(sschema).parquet(*tagged))
        for e in live:
            if not e.tagged:
                frames.append(self._read_untagged(e.path, definition, e.batch.batch_id))
        if not frames:
            return self.session.createDataFrame([], sschema)
        out = frames[0]
        for f in frames[1:]:
            out = out.unionByName(f)
        return out

    def _read_untagged(self, path: str, definition: Table, batch_id: str):
        """A canonical Parquet file without ``batch_id``, cast to the stored types."""
        from pyspark.sql import functions as F

        sschema = spark_schema(stored_schema(definition))
        df = self.session.read.parquet(path)
        return df.select(
            *[F.col(f.name).cast(f.dataType) for f in sschema.fields if f.name != BATCH_COLUMN],
            F.lit(batch_id).alias(BATCH_COLUMN),
        )

    def _system_dataframe(self, name: str):
        sschema = spark_schema(stored_schema(SYSTEM_TABLES[name]))
        if name == "load_batch":
            rows = [tuple(asdict(e.batch).values()) for e in self._entries.values()]
            return self.session.createDataFrame(rows, sschema)
        paths = [
            str(self.root / "quarantine" / e.batch.batch_id)
            for e in self._entries.values()
            if e.tagged
            and e.batch.rows_quarantined
            and (self.root / "quarantine" / e.batch.batch_id).is_dir()
        ]
        if not paths:
            return self.session.createDataFrame([], sschema)
        return self.session.read.schema(sschema).parquet(*paths)

    def _register_all(self) -> None:
        for name in TABLES:
            self._dataframe(name).createOrReplaceTempView(name)
        for name in SYSTEM_TABLES:
            self._system_dataframe(name).createOrReplaceTempView(name)
        self._views = {*TABLES, *SYSTEM_TABLES}

    def table(self, name: str) -> ibis.Table:
        """The canonical (or system) table ``name`` as an Ibis expression on Spark."""
        self._refresh()
        return super().table(name)

    def has_table(self, name: str) -> bool:
        """Whether the warehouse holds a table called ``name``."""
        return name in self._views

    def row_counts(self) -> dict[str, int]:
        """Rows in every canonical table, counted by Spark over the live batches."""
        self._refresh()
        # one Spark job for every table, not one each
        query = " UNION ALL ".join(f"SELECT '{n}' AS t, count(*) AS n FROM `{n}`" for n in TABLES)
        counts = {row["t"]: int(row["n"]) for row in self.session.sql(query).collect()}
        return {name: counts[name] for name in TABLES}

    def batches(self) -> pd.DataFrame:
        """Every load batch, oldest first (read from the commit log, no Spark job)."""
        self._refresh()
        rows = [asdict(e.batch) for e in self._entries.values()]
        columns = [c.name for c in SYSTEM_TABLES["load_batch"].columns]
        return pd.DataFrame(rows, columns=columns).sort_values("loaded_at", kind="stable")

    def find_batch(self, content_hash: str, table_name: str) -> Batch | None:
        """The live batch already loaded from content with this hash, if any."""
        self._refresh()
        for e in self._entries.values():
            b = e.batch
            if (b.content_hash, b.table_name, b.status) == (content_hash, table_name, "loaded"):
                return b
        return None

    # -- writing -------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the Spark warehouse at {self.root} is open read-only")

    def create_tables(self) -> None:
        """Create the store's directories (tables exist as soon as the store does)."""
        self._check_writable()
        for sub in ("tables", "quarantine", "_log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def next_batch_id(self, content_hash: str) -> str:
        """A batch id: a sequence number (ids sort by load order) and a hash prefix."""
        pending = len(self._pending) if self._pending else 0
        n = sum(1 for e in self._entries.values() if e.tagged) + pending
        return f"B{n + 1:06d}-{content_hash[:8]}"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several loads committed together by one log record, or none of them."""
        if self._pending is not None:
            yield
            return
        self._check_writable()
        self._refresh()
        self._pending = []
        try:
            yield
            items, self._pending = self._pending, None
            if items:
                self._commit(items)
        except BaseException:
            items, self._pending = self._pending or [], None
            for _b, data, q in items:
                shutil.rmtree(data, ignore_errors=True)
                if q is not None:
                    shutil.rmtree(q, ignore_errors=True)
            raise

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
        """Load ``data`` into ``table_name`` as one batch, published by one commit record.

        Chunks are written with Arrow straight into the batch's own directory (the data
        is already in the driver's memory); nothing is visible until the commit.
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
        q_schema = stored_schema(SYSTEM_TABLES["quarantine"])
        with self.transaction():
            batch_id = self.next_batch_id(content_hash)
            self._check_replaces(replaces, table_name)
            data_dir = self.root / "tables" / table_name / batch_id
            q_dir = self.root / "quarantine" / batch_id
            self._pending.append((None, data_dir, q_dir))  # type: ignore[union-attr,arg-type]
            data_dir.mkdir(parents=True)
            accepted = 0
            with pq.ParquetWriter(data_dir / "part-00000.parquet", target) as writer:
                for chunk in chunks:
                    chunk = chunk.select(columns)
                    ids = pa.array([batch_id] * chunk.num_rows, pa.string())
                    writer.write_table(chunk.append_column(BATCH_COLUMN, ids).cast(target))
                    accepted += chunk.num_rows
            q_rows = 0
            writer = None
            for q in q_chunks:
                if not q.num_rows:
                    continue
                if writer is None:
                    q_dir.mkdir(parents=True)
                    writer = pq.ParquetWriter(q_dir / "part-00000.parquet", q_schema)
                writer.write_table(q.select(q_schema.names).cast(q_schema))
                q_rows += q.num_rows
            if writer is not None:
                writer.close()
            quarantined = rows_quarantined if rows_quarantined is not None else q_rows
            batch = self._batch(
                batch_id,
                table_name,
                source,
                content_hash,
                rows_read if rows_read is not None else accepted + quarantined,
                accepted if rows_accepted is None else rows_accepted,
                quarantined,
                replaces,
                person_key,
            )
            self._pending[-1] = (batch, data_dir, q_dir)  # type: ignore[index]
        return batch

    def import_parquet(self, folder: Path) -> list[Batch]:
        """Load every canonical table's Parquet file in ``folder`` (a ``joinedup synth``
        output's ``parquet/``, or the output folder itself) as one batch per file.

        Spark reads and writes the files (so this scales to a cluster); a file whose
        content is already loaded is skipped. All files commit together.
        """
        self._check_writable()
        folder = _parquet_folder(Path(folder)) or Path(folder)
        files = [(n, folder / f"{n}.parquet") for n in TABLES if (folder / f"{n}.parquet").exists()]
        if not files:
            raise FileNotFoundError(f"no canonical table Parquet files in {folder}")
        out = []
        with self.transaction():
            for name, f in files:
                digest = hash_file(f)
                if self.find_batch(digest, name) is not None:
                    continue
                batch_id = self.next_batch_id(digest)
                data_dir = self.root / "tables" / name / batch_id
                self._pending.append((None, data_dir, None))  # type: ignore[union-attr,arg-type]
                df = self._read_untagged(str(f), TABLES[name], batch_id)
                df.write.mode("errorifexists").parquet(str(data_dir))
                rows = pq.ParquetFile(f).metadata.num_rows
                batch = self._batch(batch_id, name, str(f), digest, rows, rows, 0, None)
                self._pending[-1] = (batch, data_dir, None)  # type: ignore[index]
                out.append(batch)
        return out

    def _check_replaces(self, replaces: str | None, table_name: str) -> None:
        if replaces is None:
            return
        old = self._entries.get(replaces)
        if old is None or old.batch.table_name != table_name or old.batch.status != "loaded":
            raise KeyError(f"batch {replaces!r} is not a live batch of {table_name}")

    @staticmethod
    def _batch(
        batch_id, table_name, source, content_hash, read, accepted, quarantined, replaces,
        person_key=None,
    ):  # fmt: skip
        return Batch(
            batch_id=batch_id,
            table_name=table_name,
            source_file=source,
            content_hash=content_hash,
            rows_read=read,
            rows_accepted=accepted,
            rows_quarantined=quarantined,
            status="loaded",
            loaded_at=datetime.now().replace(microsecond=0),
            replaces_batch_id=replaces,
            code_version=__version__,
            person_key=person_key,
        )

    def close(self) -> None:
        """Drop this warehouse's views (the shared SparkContext stays up for reuse)."""
        for name in self._views:
            with contextlib.suppress(Exception):  # the session may already be stopped
                self.session.catalog.dropTempView(name)
        self._views = set()


def _parquet_folder(path: Path) -> Path | None:
    """The synthetic economy's ``parquet/`` folder for ``path``, if there is one."""
    base = path.parent if path.suffix in (".duckdb", ".spark") else path
    for candidate in (base / "parquet", base):
        if candidate.is_dir() and any(candidate.glob("person.parquet")):
            return candidate
    return None
