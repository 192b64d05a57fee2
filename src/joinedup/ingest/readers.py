"""Read partner extracts as they really come, in chunks of string columns.

Every reader yields :class:`Chunk` objects: a block of source rows as an Arrow table
whose columns are all strings (parsing to types happens in validation, so one bad
value costs one row, never the file), with the source row number of its first row.
Row numbers count data rows from 1, skipping blank lines, as the quarantine reports.

CSV has two readers giving identical chunks: :func:`read_csv_fast` (pyarrow's
multithreaded parser, the default) and :func:`read_csv` (Python's csv module, exact for
any file). Row numbers are the ordinal of each non-blank record, never physical lines,
so quoted newlines cannot shift them in either. The fast reader gives up, raising
:class:`FastPathUnsuitable` before the end of the file, as soon as a record's number of
fields differs from the header's (the only case where the two readers would differ);
the pipeline then reads the whole file again with the exact reader.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from joinedup.ingest.errors import IngestError

CHUNK_ROWS = 50_000
FAST_BLOCK_BYTES = 2 << 20  # pyarrow parses a block of this many bytes at a time
DELIMITERS = (",", "|", "\t", ";")
SNIFF_BYTES = 1 << 16


@dataclass(frozen=True)
class Chunk:
    """A block of source rows: string columns named as in the file."""

    first_row: int
    table: pa.Table


@dataclass(frozen=True)
class CsvDialect:
    """What was detected about a CSV file before reading it."""

    encoding: str
    delimiter: str
    content_hash: str


def inspect_csv(path: Path) -> CsvDialect:
    """Hash the file and detect its encoding and delimiter, reading it once in blocks.

    UTF-8 (with or without a byte order mark) is tried first; a file that is not valid
    UTF-8 is read as Windows-1252, the encoding Excel writes on UK Windows machines.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    head = b""
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                if len(head) < SNIFF_BYTES:
                    head += block[: SNIFF_BYTES - len(head)]
                if utf8:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        utf8 = False
        if utf8:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        utf8 = False
    except OSError as exc:
        raise IngestError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif utf8:
        encoding = "utf-8"
    else:
        encoding = "cp1252"
    text = head.decode(encoding, errors="replace")
    return CsvDialect(encoding, _delimiter(path, text), digest.hexdigest())


def _delimiter(path: Path, text: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    if not header:
        raise IngestError(path, "the file is empty; expected a header row of column names")
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path, dialect: CsvDialect, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Stream a CSV file as chunks of string columns.

    Handles quoted fields with embedded newlines, blank lines and trailing separators
    (an empty last field on the header or on every row). A row whose number of fields
    differs from the header's is kept with ``None`` for every field and a ``__problem__``
    note, so validation quarantines it instead of the read failing.
    """
    header = read_header(path, dialect)
    width = len(header)
    with open(path, encoding=dialect.encoding, newline="", errors="strict") as f:
        reader = csv.reader(f, delimiter=dialect.delimiter)
        next(_non_blank(reader))
        rows: list[list[str] | None] = []
        problems: list[str | None] = []
        first = 1
        row_no = 0
        for row in reader:
            if not any(row):  # blank line, or only separators (Excel's empty rows)
                continue
            row_no += 1
            if len(row) == width:
                rows.append(row)
                problems.append(None)
            else:
                while len(row) > width and row[-1] == "":
                    row = row[:-1]
                if len(row) == width:
                    rows.append(row)
                    problems.append(None)
                else:
                    rows.append(None)
                    problems.append(f"row has {len(row)} fields; the header has {width}")
            if len(rows) >= chunk_rows:
                yield Chunk(first, _to_table(header, rows, problems))
                first = row_no + 1
                rows, problems = [], []
        if rows:
            yield Chunk(first, _to_table(header, rows, problems))


def peek_header(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file, reading only its start (to choose a
    mapping before the whole file is read and hashed)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return parquet_columns(path)
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise IngestError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        try:
            head.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:  # a cut multi-byte character at the end is fine
            encoding = "utf-8" if exc.start >= len(head) - 3 else "cp1252"
    text = head.decode(encoding, errors="replace")
    dialect = CsvDialect(encoding, _delimiter(path, text), "")
    return read_header(path, dialect)


def read_header(path: Path, dialect: CsvDialect) -> list[str]:
    """The column names of a CSV file, with a trailing empty name removed."""
    try:
        with open(path, encoding=dialect.encoding, newline="") as f:
            header = next(_non_blank(csv.reader(f, delimiter=dialect.delimiter)), None)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read the header row ({exc})") from None
    if not header:
        raise IngestError(path, "the file is empty; expected a header row of column names")
    header = [h.strip() for h in header]
    while header and header[-1] == "":
        header.pop()
    if "" in header:
        raise IngestError(path, "a column in the header row has no name")
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise IngestError(path, f"duplicate column names in the header: {', '.join(dupes)}")
    return header


class FastPathUnsuitable(Exception):
    """The fast CSV reader cannot give exactly what the exact reader would."""


def _raw_header_width(path: Path, dialect: CsvDialect) -> int:
    with open(path, encoding=dialect.encoding, newline="") as f:
        return len(next(_non_blank(csv.reader(f, delimiter=dialect.delimiter))))


def read_csv_fast(
    path: Path,
    dialect: CsvDialect,
    chunk_rows: int = CHUNK_ROWS,
    block_bytes: int = FAST_BLOCK_BYTES,
) -> Iterator[Chunk]:
    """Stream a CSV file with pyarrow's parser: the same chunks as :func:`read_csv`.

    Every column is read as text; blank lines and rows of only separators are skipped
    and not counted; a trailing separator on the header (and on any row) is ignored.
    Raises :class:`FastPathUnsuitable` at the first record whose number of fields is not
    the header's, or at a value holding a carriage return: read the file with
    :func:`read_csv` instead.
    """
    header = read_header(path, dialect)
    width = len(header)
    raw_width = _raw_header_width(path, dialect)  # the header's trailing empty names too
    names = [f"c{i}" for i in range(raw_width)]
    # UTF-8 is parsed natively (pyarrow drops a byte order mark); others are transcoded
    encoding = "utf8" if dialect.encoding in ("utf-8", "utf-8-sig") else dialect.encoding
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=block_bytes, encoding=encoding
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise FastPathUnsuitable(str(exc)) from None
    first = 1
    header_skipped = False
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:  # e.g. a row of the wrong width
            raise FastPathUnsuitable(str(exc)) from None
        table = _drop_separator_rows(pa.Table.from_batches([batch]))
        if any(pc.any(pc.match_substring(c, "\r")).as_py() for c in table.columns):
            # pyarrow can lose the "\n" of a quoted "\r\n" that straddles two blocks:
            # carriage returns in values are rare, and the exact reader keeps them.
            raise FastPathUnsuitable("a value holds a carriage return")
        if not header_skipped and table.num_rows:
            table, header_skipped = table.slice(1), True  # the first non-blank record
        if not table.num_rows:
            continue
        problems = pa.nulls(table.num_rows, pa.string())
        if raw_width > width:
            # the header ends in a separator: a row with a value there has too many fields
            extra = [table.column(i) for i in range(width, raw_width)]
            too_long = pc.fill_null(_any_non_empty(extra), False)
            if pc.any(too_long).as_py():
                fields = _fields_after_stripping(table, width, raw_width)
                note = pc.binary_join_element_wise(
                    "row has ", pc.cast(fields, pa.string()), f" fields; the header has {width}", ""
                )
                problems = pc.if_else(too_long, note, problems)
                blank = pa.scalar(None, pa.string())
                cols = [pc.if_else(too_long, blank, table.column(i)) for i in range(width)]
                table = pa.table(cols, names=names[:width])
            table = table.select(list(range(width)))
        table = table.rename_columns(header).append_column(PROBLEM, problems)
        for start in range(0, table.num_rows, chunk_rows):
            part = table.slice(start, chunk_rows)
            yield Chunk(first, part)
            first += part.num_rows


def _any_non_empty(columns: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    out = pc.not_equal(columns[0], "")
    for col in columns[1:]:
        out = pc.or_(out, pc.not_equal(col, ""))
    return out


def _drop_separator_rows(table: pa.Table) -> pa.Table:
    """Rows whose every field is empty (Excel's rows of only separators) are not data."""
    if not table.num_rows:
        return table
    keep = _any_non_empty(table.columns)
    if pc.all(keep).as_py():
        return table
    return table.filter(keep)


def _fields_after_stripping(table: pa.Table, width: int, raw_width: int) -> pa.Array:
    """Fields each row has once trailing empty fields beyond the header are dropped."""
    fields = pa.array([width] * table.num_rows, pa.int64())
    for i in range(width, raw_width):
        fields = pc.if_else(pc.not_equal(table.column(i), ""), i + 1, fields)
    return fields


def _non_blank(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    for row in reader:
        if any(row):
            yield row


PROBLEM = "__problem__"


def _to_table(
    header: list[str], rows: list[list[str] | None], problems: list[str | None]
) -> pa.Table:
    width = len(header)
    blank = [None] * width
    columns = zip(*(blank if r is None else r for r in rows), strict=True)
    arrays = [pa.array(c, pa.string()) for c in columns]
    return pa.table([*arrays, pa.array(problems, pa.string())], names=[*header, PROBLEM])


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet file."""
    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(path, f"not a readable Parquet file ({exc})") from None


def read_parquet(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Stream a Parquet file as chunks of string columns (dates become ISO text)."""
    first = 1
    # pre_buffer would keep every row group read so far: memory would grow with the file
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=chunk_rows):
        table = pa.Table.from_batches([batch])
        cols = [_as_string(table[name]) for name in table.column_names]
        n = table.num_rows
        problems = pa.nulls(n, pa.string())
        yield Chunk(first, pa.table([*cols, problems], names=[*table.column_names, PROBLEM]))
        first += n


def _as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        import pyarrow.compute as pc

        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_boolean(column.type):
        import pyarrow.compute as pc

        return pc.if_else(column, "true", "false")
    return column.cast(pa.string())
