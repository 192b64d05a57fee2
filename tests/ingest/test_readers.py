"""CSV and Parquet reading as extracts really come."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from joinedup.ingest import readers
from joinedup.ingest.errors import IngestError

pytestmark = pytest.mark.unit


def _read(path):
    dialect = readers.inspect_csv(path)
    tables = [c.table for c in readers.read_csv(path, dialect)]
    return dialect, pa.concat_tables(tables).to_pylist() if tables else []


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")],
)
def test_encodings_are_detected_and_decoded(tmp_path, encoding, expected):
    path = tmp_path / "f.csv"
    path.write_bytes("name,cost\nCafé Ré,£12\n".encode(encoding))
    dialect, rows = _read(path)
    assert dialect.encoding == expected
    assert rows[0]["name"] == "Café Ré" and rows[0]["cost"] == "£12"
    # the byte order mark never leaks into the first column name
    assert next(iter(rows[0])) == "name"


def test_windows_1252_detected_even_after_the_sniffed_head(tmp_path):
    path = tmp_path / "f.csv"
    body = "a,b\n" + "x,y\n" * 30_000 + "caf\xe9,z\n"
    path.write_bytes(body.encode("cp1252"))
    dialect, rows = _read(path)
    assert dialect.encoding == "cp1252"
    assert rows[-1]["a"] == "café"


@pytest.mark.parametrize("sep", [",", "|", "\t"])
def test_delimiter_is_detected(tmp_path, sep):
    path = tmp_path / "f.csv"
    path.write_text(
        sep.join(["a", "b", "c"]) + "\n" + sep.join(["1", "2,5" if sep != "," else "2", "3"]) + "\n"
    )
    dialect, rows = _read(path)
    assert dialect.delimiter == sep
    assert rows[0]["a"] == "1" and rows[0]["c"] == "3"


def test_quoted_newlines_blank_lines_and_trailing_separators(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b,\n\n1,"line one\nline two",\n\n\n2,plain,\n3,"say ""hi""",\n')
    _, rows = _read(path)
    assert [r["a"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["b"] == "line one\nline two"
    assert rows[2]["b"] == 'say "hi"'
    assert all(r[readers.PROBLEM] is None for r in rows)


def test_trailing_separator_on_rows_only(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,2,\n3,4\n")
    _, rows = _read(path)
    assert [(r["a"], r["b"]) for r in rows] == [("1", "2"), ("3", "4")]


def test_a_row_of_the_wrong_width_is_kept_with_a_problem(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n")
    _, rows = _read(path)
    assert len(rows) == 3
    assert rows[1][readers.PROBLEM] == "row has 2 fields; the header has 3"
    assert rows[2][readers.PROBLEM] == "row has 4 fields; the header has 3"


def test_chunks_carry_their_first_row_number(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a\n" + "".join(f"{i}\n\n" for i in range(1, 11)))
    dialect = readers.inspect_csv(path)
    chunks = list(readers.read_csv(path, dialect, chunk_rows=4))
    assert [c.first_row for c in chunks] == [1, 5, 9]
    assert chunks[1].table["a"].to_pylist() == ["5", "6", "7", "8"]


def test_whole_file_problems(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(IngestError, match=r"empty\.csv: the file is empty"):
        readers.read_header(empty, readers.inspect_csv(empty))
    dupes = tmp_path / "dupes.csv"
    dupes.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(IngestError, match="duplicate column names in the header: a"):
        readers.read_header(dupes, readers.inspect_csv(dupes))
    with pytest.raises(IngestError, match="not a readable Parquet file"):
        readers.parquet_columns(dupes)


def test_parquet_streams_as_text(tmp_path):
    import datetime as dt

    path = tmp_path / "f.parquet"
    pq.write_table(
        pa.table({"d": [dt.date(2024, 3, 31), None], "n": [1, 2], "b": [True, False]}), path
    )
    rows = pa.concat_tables(c.table for c in readers.read_parquet(path)).to_pylist()
    assert rows[0]["d"] == "2024-03-31" and rows[1]["d"] is None
    assert rows[0]["n"] == "1" and rows[0]["b"] == "true"
