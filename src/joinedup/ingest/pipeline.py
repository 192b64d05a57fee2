"""Ingest files into the warehouse: read -> map -> validate -> pseudonymise -> load.

Memory stays flat for any file size: the file streams in chunks, which are validated
and spilled (accepted rows, quarantine records, every row's key, new re-identification
entries) to temporary Parquet files. Duplicate keys are then found by DuckDB over the
spilled keys, out of core (a file with duplicates is read once more to quarantine those
rows with their source values), and the spilled rows load inside one warehouse
transaction (all tables of the file commit together or not at all). The NHS number
never reaches the warehouse.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from joinedup import settings
from joinedup.ingest import episodes as spells
from joinedup.ingest import readers
from joinedup.ingest.errors import IngestError
from joinedup.ingest.keys import SOURCE_KEY, bridge_beside, bridge_files, load_bridge
from joinedup.ingest.mapping import NHS_NUMBER, Mapping, apply, identity_mapping, load_mapping
from joinedup.ingest.mapping import resolve_headers as _resolve
from joinedup.ingest.pseudonymise import (
    ReidentificationStore,
    arrow_reader,
    default_key_file,
    load_or_create_key,
    reid_store_path,
)
from joinedup.ingest.scratch import scratch_folder
from joinedup.ingest.validate import Context, duplicate_reason, validate
from joinedup.schema import SYSTEM_TABLES, TABLES
from joinedup.warehouse import Batch, Warehouse, open_warehouse
from joinedup.warehouse.base import stored_schema
from joinedup.warehouse.duckdb import load_limits

FORMATS = ("csv", "parquet", "fhir")
SOURCE_ROW = "_source_row"  # spilled with every row: the source row it came from
BAD = "_bad"  # spilled with every key: the row failed another check
KEYS, QUARANTINE, IDENTITY = "_keys", "_quarantine", "_identity"
DUPLICATES = "_duplicates"  # source rows of the second and later rows of a key
DUPLICATE_RECORDS = "_duplicate_quarantine"  # their quarantine records
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
    person_key: str | None = None  # nhs_number, a source key scheme, or None
    rows_linked: int = 0  # rows keyed by a source key that the key bridge linked
    key_note: str = ""  # how this file's people link to others, in words
    spells: int | None = None  # spells built, for a file of episodes
    examples: list[dict] = field(default_factory=list)  # quarantine records (checks only)

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


def _check_load_memory() -> None:
    """A load_memory setting that is not a size stops a load before it starts."""
    try:
        settings.load_memory()
    except ValueError as exc:
        raise IngestError(None, str(exc)) from None


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
    fhir_person_key: str = "nhs-number",
) -> list[FileReport]:
    """Load partner extracts into the warehouse; the Python API of `joinedup ingest`.

    ``table`` is the canonical table (optional when the mapping names it). Every file
    is checked (readable, columns present) before anything is written; a whole-file
    problem raises :class:`IngestError` and writes nothing. Returns one report per file.
    ``fast_csv=False`` reads CSV with the exact (slower) reader only; results are equal.
    ``fhir_person_key="patient-id"`` keys FHIR people by Patient.id (see joinedup.ingest.fhir).
    """
    _check_load_memory()
    given = [Path(p) for p in paths]
    if table is None and mapping is None and fmt != "fhir":
        # each file (or folder's files) with the mapping its name or header gives
        return _ingest_planned(
            given, fmt, warehouse, key_file, reid_store, chunk_rows, on_rows, fast_csv,
            fhir_person_key,
        )  # fmt: skip
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
            person_key=fhir_person_key,
        )
    if replaces is not None and len(files) > 1:
        raise IngestError(None, "--replaces takes one file (the corrected version of a batch)")
    the_mapping = _mapping(table, mapping)
    prepared = [_prepare(f, the_mapping, fmt or detect_format(f)) for f in files]
    return run_prepared(
        prepared, warehouse, key_file, reid_store, replaces, chunk_rows, on_rows, fast_csv
    )


def _ingest_planned(
    paths, fmt, warehouse, key_file, reid_store, chunk_rows, on_rows, fast_csv, fhir_person_key
):
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
    _load_bridges(bridge_files(paths), key_file, reid_store)
    own = warehouse is None or not isinstance(warehouse, Warehouse)
    wh = open_warehouse(warehouse) if own else warehouse
    try:
        reports = []
        if fhir:
            reports += ingest_fhir(
                fhir, table=None, warehouse=wh, key_file=key_file, reid_store=reid_store,
                chunk_rows=chunk_rows, on_rows=on_rows, person_key=fhir_person_key,
            )  # fmt: skip
        reports += run_prepared(
            prepared, wh, key_file, reid_store, None, chunk_rows, on_rows, fast_csv
        )
        return reports
    finally:
        if own:
            wh.close()


def _load_bridges(files: list[Path], key_file, reid_store) -> None:
    """Load the key bridges kept with extract folders (``bridges/<scheme>.csv``), before
    the extracts, so pseudonymised rows link to the people of their NHS numbers."""
    if not files:
        return
    key_path = Path(key_file) if key_file else default_key_file()
    key = load_or_create_key(key_path)
    bridge = bridge_beside(reid_store_path(key_path, reid_store))
    for f in files:
        load_bridge(f, f.stem, key, bridge)


def run_prepared(
    prepared, warehouse, key_file, reid_store, replaces, chunk_rows, on_rows, fast_csv=True
):
    """Load files that passed their whole-file checks, one batch (set) per file."""
    key_path = Path(key_file) if key_file else default_key_file()
    key = load_or_create_key(key_path)
    store = ReidentificationStore(reid_store_path(key_path, reid_store))
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
    """Known dates of death by person_id (an Ibis query: the same on every backend)."""
    person = wh.table("person")
    known = (
        person.filter(person.date_of_death.notnull())
        .select("person_id", "date_of_death")
        .to_pyarrow()
    )
    ids, dates = known["person_id"].to_pylist(), known["date_of_death"].to_pylist()
    return dict(zip(ids, dates, strict=True))


def _ingest_one(
    prep, wh, key, store, replaces, chunk_rows, on_rows, fast_csv, dry_run=False
) -> FileReport:
    """Load one file (``dry_run``: everything but writing, for ``joinedup mappings check``)."""
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
    identifying |= {
        prep.headers.get(i.strip().lower(), i) for i in (*mapping.identifiers, *mapping.key_columns)
    }
    identifier_fields = {NHS_NUMBER, SOURCE_KEY} | {
        name
        for target in mapping.targets
        for name, spec in target.columns.items()
        if any(prep.headers.get(s.strip().lower()) in identifying for s in spec.sources)
    }
    scheme = mapping.key_scheme
    pseudonym = scheme not in (None, NHS_NUMBER)
    bridge = bridge_beside(store.path) if pseudonym else None
    ctx = Context(
        key=key,
        deaths=_deaths(wh),
        identifier_fields=frozenset(identifier_fields),
        scheme=scheme if pseudonym else None,
        bridge=bridge if bridge is not None and bridge.path.exists() else None,
    )
    with scratch_folder("joinedup-ingest-") as tmp:
        fast = prep.fmt == "csv" and fast_csv
        spill = None
        try:
            while True:
                report = FileReport(prep.source, main, "loaded")
                spill = _Spill(Path(tmp) / ("fast" if fast else "exact"))
                try:
                    for chunk in _chunks(prep, chunk_rows, fast):
                        _process_chunk(chunk, prep, ctx, spill, report, identifying)
                        if on_rows is not None:
                            on_rows(prep.source, chunk.table.num_rows)
                    break
                except readers.FastPathUnsuitable:
                    spill.dispose()  # start again with the exact reader; nothing is loaded
                    fast = False
            spill.close()
            if mapping.episodes is not None:
                built = _build_spells(prep, spill, report)
                late = built.n_rejected
                sources = {mapping.table.name: built.spells, **built.also}
                without = None  # the built files hold only what loads
            else:
                late = _find_duplicates(spill, mapping.table, report)
                sources = {}
                without = spill.path(DUPLICATES) if late else None
            if late:
                _quarantine_late(prep, fast, chunk_rows, spill, identifying)
            report.reader = "fast" if fast else ("exact" if prep.fmt == "csv" else prep.fmt)
            if dry_run:
                report.status = "checked"
                report.examples = _examples(spill)
                return _finish(report, replaces, scheme, pseudonym, ctx)
            store.add_parquet(
                spill.path(IDENTITY) if IDENTITY in spill.writers else None,
                without=spill.path(DUPLICATES) if late else None,
                scratch=spill.sql(),
            )
            report.batches = _load(wh, prep, spill, report, replaces, without, sources)
        finally:
            if spill is not None:
                spill.dispose()
    return _finish(report, replaces, scheme, pseudonym, ctx)


def _examples(spill: _Spill, n: int = 10) -> list[dict]:
    """The first ``n`` quarantine records of a checked file, by source row."""
    rows: list[dict] = []
    for name in (QUARANTINE, DUPLICATE_RECORDS):
        for q in spill.read(name, rows=n):
            rows += q.select(["source_row", "field", "value", "reason"]).to_pylist()
            break
    return sorted(rows, key=lambda r: r["source_row"])[:n]


def check(
    path: Path | str,
    *,
    mapping: str | Path | Mapping | None = None,
    table: str | None = None,
    warehouse: Path | str | None = None,
    key_file: Path | str | None = None,
    reid_store: Path | str | None = None,
    chunk_rows: int = readers.CHUNK_ROWS,
) -> tuple[FileReport, str]:
    """What loading one file would do, writing nothing: its report (status ``checked``,
    with the first quarantine records) and which mapping takes it and why.

    Without ``mapping``/``table`` the mapping is recognised as `joinedup ingest` would
    (see :mod:`joinedup.ingest.folder`). The warehouse, if it exists, is read for the
    batches already loaded and known deaths; the key file, if it exists, for the bridge.
    """
    from joinedup.ingest.folder import plan
    from joinedup.ingest.recognise import fit

    _check_load_memory()
    path = Path(path)
    if mapping is not None or table is not None:
        chosen, why = _mapping(table, mapping), "as given"
    else:
        [planned] = plan([path])
        if planned.mapping is None:
            raise IngestError(path, "a FHIR file: checked only by loading it")
        chosen = planned.mapping
        how = fit(chosen, readers.peek_header(path), path.name)
        why = f"its header has every column {chosen.name} needs ({how.used} of them read)" + (
            "; its name matches too" if how.by_name else ""
        )
    prep = _prepare(path, chosen, detect_format(path))
    key_path = Path(key_file) if key_file else default_key_file()
    key = load_or_create_key(key_path) if key_path.exists() else os.urandom(32)
    store = ReidentificationStore(reid_store_path(key_path, reid_store))
    with scratch_folder("joinedup-check-") as tmp:
        try:
            wh = open_warehouse(warehouse, read_only=True)
        except FileNotFoundError:  # no warehouse yet: check against an empty one
            open_warehouse(Path(tmp) / "empty.duckdb").close()
            wh = open_warehouse(Path(tmp) / "empty.duckdb", read_only=True)
        with wh:
            report = _ingest_one(prep, wh, key, store, None, chunk_rows, None, True, True)
    return report, why


def _finish(report: FileReport, replaces, scheme, pseudonym: bool, ctx: Context) -> FileReport:
    """The report's status and message once the file is loaded (or checked)."""
    if replaces is not None:
        report.status = "replaced"
    report.message = (
        f"read {report.rows_read:,} = accepted {report.rows_accepted:,} "
        f"+ quarantined {report.rows_quarantined:,}"
    )
    if report.spells is not None:
        report.message = (
            f"read {report.rows_read:,} episodes = accepted {report.rows_accepted:,} "
            f"(in {report.spells:,} spells) + quarantined {report.rows_quarantined:,}"
        )
    report.person_key = scheme
    if pseudonym:
        report.key_note = _key_note(scheme, report.rows_linked, ctx.bridge)
    return report


def _key_note(scheme: str, linked: int, bridge) -> str:
    """How people keyed by pseudonym ``scheme`` link to the rest of the warehouse."""
    if bridge is not None and scheme in bridge.schemes():
        return (
            f"people keyed by {scheme} pseudonym; {linked:,} rows linked to NHS-number-keyed "
            "records by the key bridge, the rest only to other files keyed by it"
        )
    return (
        f"people keyed by {scheme} pseudonym: they link to other files keyed by {scheme}, "
        f"not to files keyed by NHS number or another scheme (no key bridge for {scheme}; "
        "see joinedup keys)"
    )


class _Spill:
    """Temporary Parquet files holding validated rows until the load transaction.

    Every spilled row carries its source row (``_source_row``), so the rows of
    duplicate keys found after the first pass can be left out when loading.
    """

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts: Counter = Counter()
        self._sql: duckdb.DuckDBPyConnection | None = None

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def write(self, name: str, data: pa.Table, schema: pa.Schema) -> None:
        if name not in self.writers:
            # temporary files: fast to write and read back matters more than size
            self.writers[name] = pq.ParquetWriter(
                self.path(name), schema, compression="lz4", use_dictionary=False,
                write_statistics=False,
            )  # fmt: skip
        self.writers[name].write_table(data.cast(schema))
        self.counts[name] += data.num_rows

    def close(self) -> None:
        """Finish every file written so far (they can then be read)."""
        for w in self.writers.values():
            if w.is_open:
                w.close()

    def sql(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection over the spilled files, its memory capped and
        its threads those the cap has room for (see
        :func:`joinedup.warehouse.duckdb.load_limits`); beyond the cap it spills to the
        temporary folder, so memory does not grow with the file."""
        if self._sql is None:
            con = duckdb.connect(str(self.folder / "scratch.duckdb"))
            (threads,) = con.execute("SELECT current_setting('threads')").fetchone()
            limit, threads = load_limits(threads)
            con.execute(f"SET memory_limit = '{limit}'")
            con.execute(f"SET threads = {threads}")
            con.execute("SET temp_directory = ?", [str(self.folder / "duckdb.tmp")])
            con.execute("SET enable_progress_bar = false")
            # everything written from here is ordered explicitly (ORDER BY _source_row)
            con.execute("SET preserve_insertion_order = false")
            self._sql = con
        return self._sql

    def dispose(self) -> None:
        """Close the files and the DuckDB connection."""
        self.close()
        if self._sql is not None:
            self._sql.close()
            self._sql = None

    def read(
        self, name: str, without: Path | None = None, rows: int = 100_000
    ) -> Iterator[pa.Table]:
        """The spilled rows of ``name`` in blocks of ``rows``; ``without``: a Parquet
        file of source rows to leave out."""
        if name not in self.writers:
            return
        if without is None:
            for batch in _batches(self.path(name), rows):
                yield pa.Table.from_batches([batch])
            return
        for batch in arrow_reader(self._kept(name, without, "s.*"), rows):
            yield pa.Table.from_batches([batch])

    def count(self, name: str, without: Path | None = None) -> int:
        """Spilled rows of ``name`` (less those whose source rows ``without`` lists)."""
        if name not in self.writers or without is None:
            return self.counts[name]
        (n,) = self._kept(name, without, "count(*)").fetchone()
        return n

    def _kept(self, name: str, without: Path, what: str) -> duckdb.DuckDBPyConnection:
        """``SELECT what`` over the rows of ``name`` whose source rows ``without`` lacks."""
        return self.sql().execute(
            f"SELECT {what} FROM read_parquet($1) s"
            f" ANTI JOIN read_parquet($2) d USING ({SOURCE_ROW})",
            [str(self.path(name)), str(without)],
        )


IDENTITY_SPILL = pa.schema(
    [("person_id", pa.string()), ("nhs_number", pa.string()), (SOURCE_ROW, pa.int64())]
)
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


def _process_chunk(chunk, prep, ctx, spill, report, identifying) -> None:
    n = chunk.table.num_rows
    staged = apply(prep.mapping, chunk.table, prep.headers)
    episodes = prep.mapping.episodes
    if episodes is not None and "spell_id" not in prep.mapping.target.columns:
        for st in staged:  # spell ids are made once the spells are built
            if "spell_id" in st.table.column_names:
                st.columns["spell_id"] = spells.provisional_ids(st.rows + chunk.first_row)
    results = [validate(s, ctx) for s in staged]
    records: list[tuple[int, str, str | None, str | None, str]] = []
    shape = chunk.table[readers.PROBLEM]
    if shape.null_count < n:
        for i in np.flatnonzero(pc.is_valid(shape).to_numpy(zero_copy_only=False)):
            records.append((int(i), staged[0].table.name, None, None, shape[int(i)].as_py()))
    if episodes is not None:
        raw_order = chunk.table[prep.headers[episodes.order.strip().lower()]]
        order, bad_order = spells.parse_order(raw_order)
        for i in np.flatnonzero(bad_order).tolist():
            value = raw_order[i].as_py()
            records.append((i, staged[0].table.name, spells.ORDER_FIELD, value,
                            spells.ORDER_EXPECTED))  # fmt: skip
    for res in results:
        for p in res.problems:
            rows = res.source_rows[p.rows].tolist()
            name = res.table.name
            records.extend(
                (row, name, p.field, value, p.reason)
                for row, value in zip(rows, p.values, strict=True)
            )
    bad = np.zeros(n, dtype=bool)
    if records:
        bad[np.fromiter((r[0] for r in records), np.int64, len(records))] = True
    main = prep.mapping.table
    report.rows_linked += results[0].rows_bridged  # the main table's rows
    for res in results:
        global_rows = pa.array(res.source_rows + chunk.first_row, pa.int64())
        if res.table.name == main.name and episodes is not None:
            # every episode, bad ones too: a spell with a bad episode cannot load
            keys = spells.episode_keys(
                res.data, order.take(pa.array(res.source_rows)), global_rows,
                pa.array(bad[res.source_rows]),
            )  # fmt: skip
            spill.write(KEYS, keys, keys.schema)
        elif res.table.name == main.name and main.primary_key:
            # every row's key, bad rows too: a later row repeating it is a duplicate
            keys = res.data.select(list(main.primary_key))
            keys = keys.append_column(SOURCE_ROW, global_rows)
            keys = keys.append_column(BAD, pa.array(bad[res.source_rows]))
            spill.write(KEYS, keys, keys.schema)
        keep = pa.array(~bad[res.source_rows] if len(res.source_rows) else np.zeros(0, bool))
        data = res.data.filter(keep).append_column(SOURCE_ROW, global_rows.filter(keep))
        spill.write(res.table.name, data, _spill_schema(res.table))
        if res.nhs_numbers is not None and data.num_rows:
            pairs = pa.table(
                {
                    "person_id": data["person_id"],
                    "nhs_number": res.nhs_numbers.filter(keep),
                    SOURCE_ROW: data[SOURCE_ROW],
                }
            )
            pairs = pairs.filter(pc.is_valid(pairs["person_id"]))  # anonymous rows
            spill.write(IDENTITY, pairs, IDENTITY_SPILL)
    n_bad = int(bad.sum())
    report.rows_read += n
    report.rows_quarantined += n_bad
    report.rows_accepted += n - n_bad
    if records:
        raw = _raw_rows(chunk.table, sorted({r[0] for r in records}), identifying)
        rows = {
            "source_row": [chunk.first_row + r[0] for r in records],
            "table_name": [r[1] for r in records],
            "field": [r[2] for r in records],
            "value": [r[3] for r in records],
            "reason": [r[4] for r in records],
            "raw_row": [raw[r[0]] for r in records],
        }
        report.reasons.update(f"{r[2]}: {r[4]}" if r[2] else r[4] for r in records)
        spill.write(QUARANTINE, pa.table(rows, schema=QUARANTINE_SPILL), QUARANTINE_SPILL)


def _spill_schema(table) -> pa.Schema:
    return table.arrow_schema().append(pa.field(SOURCE_ROW, pa.int64()))


def _raw_rows(chunk: pa.Table, rows: list[int], identifying: set[str]) -> dict[int, str]:
    """The chunk rows at ``rows`` as JSON, leaving out identifying columns."""
    keep_cols = [c for c in chunk.column_names if c not in identifying and c != readers.PROBLEM]
    picked = chunk.select(keep_cols).take(pa.array(rows, pa.int64())).to_pylist()
    return {
        row: json.dumps(values, ensure_ascii=False)
        for row, values in zip(rows, picked, strict=True)
    }


def _find_duplicates(spill: _Spill, table, report: FileReport) -> int:
    """Find the rows whose key an earlier row of the file has (in DuckDB, over the
    spilled keys, so memory does not grow with the file) and write their source rows,
    in order, to the ``_duplicates`` spill. Moves those not already quarantined from
    accepted to quarantined; returns how many rows there are.

    Keys compare as the current Python code did: typed values, an empty (or unreadable)
    key equal to another empty one, and a row quarantined for another reason still
    counts as the first occurrence of its key.
    """
    if not table.primary_key or KEYS not in spill.writers:
        return 0
    cols = ", ".join(f'"{c}"' for c in table.primary_key)
    same = " AND ".join(f'k."{c}" IS NOT DISTINCT FROM f."{c}"' for c in table.primary_key)
    con = spill.sql()
    con.execute(
        f"COPY (SELECT k.{SOURCE_ROW}, k.{BAD}, $2 AS field, $3 AS reason"
        f" FROM read_parquet($1) k JOIN ("
        f"  SELECT {cols}, min({SOURCE_ROW}) AS _first FROM read_parquet($1)"
        f"  GROUP BY {cols} HAVING count(*) > 1) f ON {same}"
        f" WHERE k.{SOURCE_ROW} > f._first ORDER BY k.{SOURCE_ROW})"
        f" TO '{_quoted(spill.path(DUPLICATES))}' (FORMAT parquet)",
        [str(spill.path(KEYS)), table.primary_key[-1], duplicate_reason(table)],
    )
    n, fresh = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT {BAD}) FROM read_parquet($1)",
        [str(spill.path(DUPLICATES))],
    ).fetchone()
    report.rows_accepted -= fresh
    report.rows_quarantined += fresh
    if n:
        report.reasons[f"{table.primary_key[-1]}: {duplicate_reason(table)}"] += n
    return n


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _build_spells(prep: _Prepared, spill: _Spill, report: FileReport) -> spells.Spells:
    """Group the spilled episodes into spells (see :mod:`joinedup.ingest.episodes`);
    episodes that cannot form a spell move from accepted to quarantined."""
    mapping = prep.mapping
    built = spells.build(
        spill.sql(),
        spill.folder,
        spill.path(KEYS),
        spill.path(mapping.table.name) if mapping.table.name in spill.writers else None,
        {t.table.name: spill.path(t.table.name) for t in mapping.also
         if t.table.name in spill.writers},
        mapping.episodes,
        has_spell_id="spell_id" in mapping.target.columns,
        columns=mapping.table.column_names,
    )  # fmt: skip
    if built.n_rejected:
        # the same file the duplicate-key check writes: rows quarantined after the first pass
        spill.sql().execute(
            f"COPY (SELECT * FROM read_parquet($1)) TO '{_quoted(spill.path(DUPLICATES))}' "
            "(FORMAT parquet)",
            [str(built.rejected)],
        )
    report.rows_accepted -= built.n_rejected
    report.rows_quarantined += built.n_rejected
    report.reasons.update(built.reasons)
    report.spells = built.n_spells
    return built


def _quarantine_late(prep, fast, chunk_rows, spill, identifying) -> None:
    """Quarantine records, with their source values, for the rows rejected after the
    first pass (duplicate keys, episodes that form no spell): the file is read once
    more and only those rows are kept."""
    table = prep.mapping.table
    pending = _late_blocks(spill.path(DUPLICATES))
    rows = np.zeros(0, np.int64)
    fields: list = []
    reasons: list = []
    exhausted = False
    for chunk in _chunks(prep, chunk_rows, fast):
        end = chunk.first_row + chunk.table.num_rows
        while not exhausted and (not len(rows) or rows[-1] < end):
            more = next(pending, None)
            exhausted = more is None
            if more is not None:
                rows = np.concatenate([rows, more[0]])
                fields += more[1]
                reasons += more[2]
        cut = int(np.searchsorted(rows, end))
        here, rows = rows[:cut], rows[cut:]
        here_fields, fields = fields[:cut], fields[cut:]
        here_reasons, reasons = reasons[:cut], reasons[cut:]
        if len(here):
            local = (here - chunk.first_row).tolist()
            raw = _raw_rows(chunk.table, local, identifying)
            n = len(local)
            records = {
                "source_row": pa.array(here, pa.int64()),
                "table_name": pa.array([table.name] * n, pa.string()),
                "field": pa.array(here_fields, pa.string()),
                "value": pa.nulls(n, pa.string()),
                "reason": pa.array(here_reasons, pa.string()),
                "raw_row": pa.array([raw[r] for r in local], pa.string()),
            }
            data = pa.table(records, schema=QUARANTINE_SPILL)
            spill.write(DUPLICATE_RECORDS, data, QUARANTINE_SPILL)
        if exhausted and not len(rows):
            break
    spill.close()


def _late_blocks(path: Path) -> Iterator[tuple[np.ndarray, list, list]]:
    for batch in _batches(path, 65_536, columns=[SOURCE_ROW, "field", "reason"]):
        yield (
            batch.column(0).to_numpy(),
            batch.column(1).to_pylist(),
            batch.column(2).to_pylist(),
        )


def _load(
    wh: Warehouse,
    prep: _Prepared,
    spill: _Spill,
    report: FileReport,
    replaces,
    without: Path | None = None,
    sources: dict[str, Path] | None = None,
):
    """Load the spilled rows: each table from ``sources`` (files built after the first
    pass, as spells are) or its own spill less the source rows listed in ``without``."""
    main = prep.mapping.table.name
    source = prep.source
    siblings = _siblings(wh, replaces, main)
    q_schema = stored_schema(SYSTEM_TABLES["quarantine"])
    sources = sources or {}

    def rows_of(name: str) -> Iterator[pa.Table]:
        if name in sources:
            return _rows(pa.Table.from_batches([b]) for b in _batches(sources[name], 100_000))
        return _rows(spill.read(name, without))

    def count_of(name: str) -> int:
        if name in sources:
            return pq.ParquetFile(sources[name]).metadata.num_rows
        return spill.count(name, without)

    batches = []
    with wh.transaction():
        batch_id = wh.next_batch_id(prep.content_hash)

        def quarantine() -> Iterator[pa.Table]:
            for name in (QUARANTINE, DUPLICATE_RECORDS):
                for q in spill.read(name, rows=10_000):  # long text: smaller blocks
                    q = q.append_column("batch_id", pa.array([batch_id] * q.num_rows, pa.string()))
                    q = q.append_column("source_file", pa.array([source] * q.num_rows, pa.string()))
                    yield q.select(q_schema.names)

        batch = wh.load(
            main,
            rows_of(main),
            source=source,
            content_hash=prep.content_hash,
            rows_read=report.rows_read,
            quarantine=quarantine(),
            rows_quarantined=report.rows_quarantined,
            replaces=replaces,
            person_key=prep.mapping.key_scheme,
            # episodes: source rows accepted, in fewer spells
            rows_accepted=report.rows_accepted if main in sources else None,
        )
        assert batch.batch_id == batch_id
        batches.append(batch)
        for target in prep.mapping.also:
            name = target.table.name
            batches.append(
                wh.load(
                    name,
                    rows_of(name),
                    source=source,
                    content_hash=prep.content_hash,
                    rows_read=count_of(name),
                    replaces=siblings.get(name),
                    person_key=prep.mapping.key_scheme if target.table.person_level else None,
                )
            )
    return batches


def _rows(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Spilled rows without the source row column (the warehouse has no such column)."""
    for t in tables:
        yield t.drop_columns([SOURCE_ROW])


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


def _batches(path: Path, size: int, columns: list[str] | None = None):
    """Record batches of a spilled file. Without pre-buffering: pyarrow would otherwise
    keep every row group read so far, and memory would grow with the file."""
    return pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=size, columns=columns)
