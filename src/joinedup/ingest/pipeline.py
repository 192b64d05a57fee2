"""Ingest files into the warehouse: read -> map -> validate -> pseudonymise -> load.

Two passes keep memory flat for any file size: the first streams the file in chunks,
validates them and spills accepted rows and quarantine records to temporary Parquet
files; the second loads those inside one warehouse transaction (all tables of the file
commit together or not at all). The NHS number never reaches the warehouse.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from joinedup.ingest import readers
from joinedup.ingest.errors import IngestError
from joinedup.ingest.mapping import NHS_NUMBER, Mapping, apply, identity_mapping, load_mapping
from joinedup.ingest.mapping import resolve_headers as _resolve
from joinedup.ingest.pseudonymise import ReidentificationStore, default_key_file, load_or_create_key
from joinedup.ingest.validate import Context, validate
from joinedup.schema import SYSTEM_TABLES, TABLES
from joinedup.warehouse import Batch, Warehouse, open_warehouse
from joinedup.warehouse.base import stored_schema

FORMATS = ("csv", "parquet", "fhir")
# Source columns that identify a person: never kept, not even in quarantine.
IDENTIFYING = frozenset(
    {
        "nhs_number", "nhsno", "newnhsno", "nhs_no", "name", "forename", "surname",
        "given_name", "family_name", "date_of_birth", "dob", "birth_date", "postcode",
        "address", "homeadd",
    }
)  # fmt: skip


@dataclass
class FileReport:
    """What happened to one file: counts, batches, the commonest reasons."""

    path: str
    table: str
    status: str  # loaded | unchanged | replaced
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    batches: list[Batch] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    message: str = ""
    reader: str = ""  # fast | exact (CSV), parquet, fhir

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` commonest quarantine reasons with their counts."""
        return self.reasons.most_common(n)


@dataclass
class _Prepared:
    path: Path
    fmt: str
    mapping: Mapping
    content_hash: str
    dialect: readers.CsvDialect | None
    headers: dict[str, str]
    columns: list[str]
    source: str = ""

    def __post_init__(self) -> None:
        self.source = self.source or str(self.path)


def detect_format(path: Path) -> str:
    """csv, parquet or fhir from the file name."""
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        return "parquet"
    if suffix.endswith((".json", ".ndjson", ".jsonl")):
        return "fhir"
    return "csv"


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, with folders expanded to the extract files they hold (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            kinds = (".csv", ".txt", ".tsv", ".psv", ".parquet", ".json", ".ndjson")
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in kinds))
        else:
            out.append(p)
    return out


def _prepare(path: Path, mapping: Mapping, fmt: str) -> _Prepared:
    if not path.exists():
        raise IngestError(path, "no such file")
    if not path.is_file():
        raise IngestError(path, "not a file")
    if fmt == "csv":
        dialect = readers.inspect_csv(path)
        columns = readers.read_header(path, dialect)
        content_hash = dialect.content_hash
    elif fmt == "parquet":
        dialect = None
        columns = readers.parquet_columns(path)
        from joinedup.warehouse.base import hash_file

        content_hash = hash_file(path)
    else:
        raise IngestError(path, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    headers = _resolve(mapping, columns, path)
    return _Prepared(path, fmt, mapping, content_hash, dialect, headers, columns)


def _chunks(prep: _Prepared, chunk_rows: int, fast: bool = True) -> Iterator[readers.Chunk]:
    if prep.fmt == "csv":
        read = readers.read_csv_fast if fast else readers.read_csv
        try:
            yield from read(prep.path, prep.dialect, chunk_rows)
        except (UnicodeDecodeError, OSError) as exc:
            raise IngestError(prep.path, f"cannot read the file ({exc})") from None
    else:
        yield from readers.read_parquet(prep.path, chunk_rows)


def ingest(
    paths: list[Path | str],
    *,
    table: str | None = None,
    mapping: str | Path | Mapping | None = None,
    fmt: str | None = None,
    warehouse: Warehouse | Path | str | None = None,
    key_file: Path | str | None = None,
    reid_store: Path | str | None = None,
    replaces: str | None = None,
    chunk_rows: int = readers.CHUNK_ROWS,
    on_rows: Callable[[str, int], None] | None = None,
    fast_csv: bool = True,
) -> list[FileReport]:
    """Load partner extracts into the warehouse; the Python API of `joinedup ingest`.

    ``table`` is the canonical table (optional when the mapping names it). Every file
    is checked (readable, columns present) before anything is written; a whole-file
    problem raises :class:`IngestError` and writes nothing. Returns one report per file.
    ``fast_csv=False`` reads CSV with the exact (slower) reader only; results are equal.
    """
    given = [Path(p) for p in paths]
    if table is None and mapping is None and any(p.is_dir() for p in given):
        return _ingest_planned(
            given, fmt, warehouse, key_file, reid_store, chunk_rows, on_rows, fast_csv
        )
    files = expand_paths(given)
    if not files:
        raise IngestError(None, "no files to ingest")
    if fmt == "fhir" or (fmt is None and all(detect_format(f) == "fhir" for f in files)):
        from joinedup.ingest.fhir import ingest_fhir

        return ingest_fhir(
            files,
            table=table,
            warehouse=warehouse,
            key_file=key_file,
            reid_store=reid_store,
            chunk_rows=chunk_rows,
            on_rows=on_rows,
        )
    if replaces is not None and len(files) > 1:
        raise IngestError(None, "--replaces takes one file (the corrected version of a batch)")
    the_mapping = _mapping(table, mapping)
    prepared = [_prepare(f, the_mapping, fmt or detect_format(f)) for f in files]
    return run_prepared(
        prepared, warehouse, key_file, reid_store, replaces, chunk_rows, on_rows, fast_csv
    )


def _ingest_planned(paths, fmt, warehouse, key_file, reid_store, chunk_rows, on_rows, fast_csv):
    """Folders of partner extracts: each file loads with the mapping its name or the
    folder's manifest gives (see :mod:`joinedup.ingest.folder`)."""
    from joinedup.ingest.fhir import ingest_fhir
    from joinedup.ingest.folder import plan

    planned = plan(paths)
    fhir = [p.path for p in planned if p.mapping is None]
    # every tabular file is checked before anything is loaded
    prepared = [
        _prepare(p.path, p.mapping, fmt or detect_format(p.path))
        for p in planned
        if p.mapping is not None
    ]
    own = warehouse is None or not isinstance(warehouse, Warehouse)
    wh = open_warehouse(warehouse) if own else warehouse
    try:
        reports = []
        if fhir:
            reports += ingest_fhir(
                fhir, table=None, warehouse=wh, key_file=key_file, reid_store=reid_store,
                chunk_rows=chunk_rows, on_rows=on_rows,
            )  # fmt: skip
        reports += run_prepared(
            prepared, wh, key_file, reid_store, None, chunk_rows, on_rows, fast_csv
        )
        return reports
    finally:
        if own:
            wh.close()


def run_prepared(
    prepared, warehouse, key_file, reid_store, replaces, chunk_rows, on_rows, fast_csv=True
):
    """Load files that passed their whole-file checks, one batch (set) per file."""
    key_path = Path(key_file) if key_file else default_key_file()
    key = load_or_create_key(key_path)
    store = ReidentificationStore(
        Path(reid_store) if reid_store else key_path.parent / "reidentification.duckdb"
    )
    own = not isinstance(warehouse, Warehouse)
    wh = open_warehouse(warehouse) if own else warehouse
    try:
        return [
            _ingest_one(p, wh, key, store, replaces, chunk_rows, on_rows, fast_csv)
            for p in prepared
        ]
    finally:
        if own:
            wh.close()


def _mapping(table: str | None, mapping: str | Path | Mapping | None) -> Mapping:
    if isinstance(mapping, Mapping):
        m = mapping
    elif mapping is not None:
        m = load_mapping(mapping)
    elif table is None:
        raise IngestError(None, "give --table (or a --mapping that names its table)")
    elif table not in TABLES:
        raise IngestError(None, f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
    else:
        m = identity_mapping(TABLES[table])
    if table is not None and table != m.table.name:
        raise IngestError(None, f"mapping {m.name} loads table {m.table.name}, not {table!r}")
    return m


def _deaths(wh: Warehouse) -> dict:
    raw = getattr(wh, "raw", None)
    if raw is None:
        return {}
    rows = raw.execute(
        "SELECT person_id, date_of_death FROM person WHERE date_of_death IS NOT NULL"
    ).fetchall()
    return dict(rows)


def _ingest_one(prep, wh, key, store, replaces, chunk_rows, on_rows, fast_csv) -> FileReport:
    mapping = prep.mapping
    main = mapping.table.name
    existing = wh.find_batch(prep.content_hash, main)
    if existing is not None:
        return FileReport(
            prep.source,
            main,
            "unchanged",
            message=f"already loaded as batch {existing.batch_id} on "
            f"{existing.loaded_at:%d/%m/%Y %H:%M} (same content); nothing to do",
            batches=[existing],
        )
    identifying = {h for h in prep.columns if h.strip().lower() in IDENTIFYING}
    identifying |= {prep.headers.get(i.strip().lower(), i) for i in mapping.identifiers}
    identifier_fields = {NHS_NUMBER} | {
        name
        for target in mapping.targets
        for name, spec in target.columns.items()
        if any(prep.headers.get(s.strip().lower()) in identifying for s in spec.sources)
    }
    deaths = _deaths(wh)
    with tempfile.TemporaryDirectory(prefix="joinedup-ingest-") as tmp:
        fast = prep.fmt == "csv" and fast_csv
        while True:
            ctx = Context(
                key=key,
                deaths=deaths,
                identifier_fields=frozenset(identifier_fields),
                seen_keys={main: set()} if mapping.table.primary_key else {},
            )
            report = FileReport(prep.source, main, "loaded")
            spill = _Spill(Path(tmp) / ("fast" if fast else "exact"))
            try:
                for chunk in _chunks(prep, chunk_rows, fast):
                    _process_chunk(chunk, prep, ctx, spill, store, report, identifying)
                    if on_rows is not None:
                        on_rows(prep.source, chunk.table.num_rows)
                break
            except readers.FastPathUnsuitable:
                spill.close()  # start again with the exact reader; nothing is loaded yet
                fast = False
        spill.close()
        store.add_many(spill.read("_identity"))
        report.reader = "fast" if fast else ("exact" if prep.fmt == "csv" else prep.fmt)
        report.batches = _load(wh, prep, spill, report, replaces)
    if replaces is not None:
        report.status = "replaced"
    report.message = (
        f"read {report.rows_read:,} = accepted {report.rows_accepted:,} "
        f"+ quarantined {report.rows_quarantined:,}"
    )
    return report


class _Spill:
    """Temporary Parquet files holding validated rows until the load transaction."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts: Counter = Counter()

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def write(self, name: str, data: pa.Table, schema: pa.Schema) -> None:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.path(name), schema)
        self.writers[name].write_table(data.cast(schema))
        self.counts[name] += data.num_rows

    def close(self) -> None:
        for w in self.writers.values():
            w.close()

    def read(self, name: str) -> Iterator[pa.Table]:
        if name in self.writers:
            for batch in pq.ParquetFile(self.path(name)).iter_batches(batch_size=100_000):
                yield pa.Table.from_batches([batch])


IDENTITY_SPILL = pa.schema([("person_id", pa.string()), ("nhs_number", pa.string())])
QUARANTINE_SPILL = pa.schema(
    [
        ("source_row", pa.int64()),
        ("table_name", pa.string()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
        ("raw_row", pa.string()),
    ]
)


def _process_chunk(chunk, prep, ctx, spill, store, report, identifying) -> None:
    n = chunk.table.num_rows
    staged = apply(prep.mapping, chunk.table, prep.headers)
    results = [validate(s, ctx) for s in staged]
    records: list[tuple[int, str, str | None, str | None, str]] = []
    shape = chunk.table[readers.PROBLEM].to_pylist()
    for i, problem in enumerate(shape):
        if problem is not None:
            records.append((i, staged[0].table.name, None, None, problem))
    for res in results:
        for p in res.problems:
            for pos, value in zip(p.rows, p.values, strict=True):
                records.append(
                    (int(res.source_rows[pos]), res.table.name, p.field, value, p.reason)
                )
    bad = np.zeros(n, dtype=bool)
    for row, *_ in records:
        bad[row] = True
    for res in results:
        keep = ~bad[res.source_rows] if len(res.source_rows) else np.zeros(0, bool)
        data = res.data.filter(pa.array(keep))
        spill.write(res.table.name, data, res.table.arrow_schema())
        if res.nhs_numbers is not None and data.num_rows:
            # distinct per chunk; the store is written once, before the warehouse load
            pairs = (
                pa.table(
                    {
                        "person_id": data["person_id"],
                        "nhs_number": res.nhs_numbers.filter(pa.array(keep)),
                    }
                )
                .group_by(["person_id", "nhs_number"])
                .aggregate([])
            )
            pairs = pairs.filter(pc.is_valid(pairs["person_id"]))  # anonymous rows
            spill.write("_identity", pairs, IDENTITY_SPILL)
    n_bad = int(bad.sum())
    report.rows_read += n
    report.rows_quarantined += n_bad
    report.rows_accepted += n - n_bad
    if records:
        keep_cols = [
            c for c in chunk.table.column_names if c not in identifying and c != readers.PROBLEM
        ]
        bad_rows = sorted({r[0] for r in records})
        picked = chunk.table.select(keep_cols).take(pa.array(bad_rows)).to_pylist()
        raw = {
            row: json.dumps(values, ensure_ascii=False)
            for row, values in zip(bad_rows, picked, strict=True)
        }
        rows = {
            "source_row": [chunk.first_row + r[0] for r in records],
            "table_name": [r[1] for r in records],
            "field": [r[2] for r in records],
            "value": [r[3] for r in records],
            "reason": [r[4] for r in records],
            "raw_row": [raw[r[0]] for r in records],
        }
        report.reasons.update(f"{r[2]}: {r[4]}" if r[2] else r[4] for r in records)
        spill.write("_quarantine", pa.table(rows, schema=QUARANTINE_SPILL), QUARANTINE_SPILL)


def _load(wh: Warehouse, prep: _Prepared, spill: _Spill, report: FileReport, replaces):
    main = prep.mapping.table.name
    source = prep.source
    siblings = _siblings(wh, replaces, main)
    q_schema = stored_schema(SYSTEM_TABLES["quarantine"])
    batches = []
    with wh.transaction():
        batch_id = wh.next_batch_id(prep.content_hash)

        def quarantine() -> Iterator[pa.Table]:
            for q in spill.read("_quarantine"):
                q = q.append_column("batch_id", pa.array([batch_id] * q.num_rows, pa.string()))
                q = q.append_column("source_file", pa.array([source] * q.num_rows, pa.string()))
                yield q.select(q_schema.names)

        batch = wh.load(
            main,
            spill.read(main),
            source=source,
            content_hash=prep.content_hash,
            rows_read=report.rows_read,
            quarantine=quarantine(),
            rows_quarantined=report.rows_quarantined,
            replaces=replaces,
        )
        assert batch.batch_id == batch_id
        batches.append(batch)
        for target in prep.mapping.also:
            name = target.table.name
            n = spill.counts[name]
            batches.append(
                wh.load(
                    name,
                    spill.read(name),
                    source=source,
                    content_hash=prep.content_hash,
                    rows_read=n,
                    replaces=siblings.get(name),
                )
            )
    return batches


def _siblings(wh: Warehouse, replaces: str | None, main: str) -> dict[str, str]:
    """Live batches loaded from the same file as ``replaces`` into other tables."""
    if replaces is None:
        return {}
    df = wh.batches()
    old = df[df.batch_id == replaces]
    if old.empty:
        raise IngestError(None, f"no batch {replaces!r} to replace")
    row = old.iloc[0]
    if row.table_name != main:
        raise IngestError(None, f"batch {replaces} loaded table {row.table_name}, not {main}")
    if row.status != "loaded":
        raise IngestError(None, f"batch {replaces} was already {row.status}")
    same = df[
        (df.content_hash == row.content_hash)
        & (df.source_file == row.source_file)
        & (df.status == "loaded")
        & (df.table_name != main)
    ]
    return dict(zip(same.table_name, same.batch_id, strict=True))
