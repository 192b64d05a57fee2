"""The fast CSV reader (pyarrow) against the exact one (Python's csv module).

Both must give the same rows, the same source row numbers and the same notes on
malformed rows; where the fast reader cannot guarantee that it must say so (raise
FastPathUnsuitable), and the pipeline then reads the file again with the exact reader.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from joinedup.ingest import ingest, readers

from .helpers import invalid_nhs_number, nhs_numbers

pytestmark = pytest.mark.integration

# Text an extract really holds: separators, quotes, newlines, Excel's £ and accents.
FIELD_TEXT = st.text(alphabet='ab1 ,|\t"\n\r£é-/', max_size=8)


def _both(path: Path, chunk_rows: int = 5):
    dialect = readers.inspect_csv(path)
    exact = list(readers.read_csv(path, dialect, chunk_rows))
    try:
        fast = list(readers.read_csv_fast(path, dialect, chunk_rows, block_bytes=64))
    except readers.FastPathUnsuitable:
        fast = None
    return exact, fast


def _rows(chunks: list[readers.Chunk]) -> list[tuple[int, dict]]:
    out = []
    for c in chunks:
        for i, row in enumerate(c.table.to_pylist()):
            out.append((c.first_row + i, row))
    return out


@st.composite
def extracts(draw):
    """A CSV file as bytes, and whether any record's width differs from the header's."""
    width = draw(st.integers(1, 4))
    header = [f"col{i}" for i in range(width)]
    sep = draw(st.sampled_from([",", "|", "\t", ";"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    trailing = draw(st.sampled_from(["none", "header and rows", "header only", "rows only"]))
    lines: list[str] = []
    irregular = trailing in ("header only", "rows only")

    def record(fields: list[str], end: bool) -> str:
        out = io.StringIO()
        # "\r\n" as terminator so that fields holding \r or \n are quoted
        csv.writer(out, delimiter=sep, lineterminator="\r\n").writerow(fields)
        return out.getvalue()[:-2] + (sep if end else "")

    lines.append(record(header, trailing in ("header and rows", "header only")))
    for kind in draw(st.lists(st.sampled_from("rrrrrbsw"), max_size=25)):
        if kind == "r":
            fields = draw(st.lists(FIELD_TEXT, min_size=width, max_size=width))
            lines.append(record(fields, trailing in ("header and rows", "rows only")))
        elif kind == "b":
            lines.append("")  # blank line
        elif kind == "s":
            lines.append(sep * (width - 1 + (trailing in ("header and rows", "header only"))))
        else:  # a row of the wrong width
            n = draw(st.integers(1, width + 2).filter(lambda k: k != width))
            lines.append(record(draw(st.lists(FIELD_TEXT, min_size=n, max_size=n)), False))
            irregular = True
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return (newline.join(lines) + newline).encode(encoding), irregular


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts())
@example((b"col0\n,\n", False))  # one column of text holding a comma reads as two
# A quoted "\r\n" across the reader's 64-byte blocks: pyarrow kept only the "\r".
@example(
    (
        b'col0,col1\r\n"11""","111111\r\xc2\xa3"\r\n"1111""\xc2\xa3\xc2\xa3","1111111,"\r\n,\r\n"111\r\n",\r\n',
        False,
    )
)
def test_fast_reader_gives_the_exact_readers_rows_or_steps_aside(case):
    content, irregular = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        path.write_bytes(content)
        exact, fast = _both(path)
        dialect = readers.inspect_csv(path)
    if fast is None:
        # The fast reader only steps aside for records of the wrong width, judged with the
        # separator the reader detected (a generated file can read as another dialect,
        # e.g. a one-column file whose text holds commas), and for values holding a
        # carriage return (pyarrow can drop the "\n" of a quoted "\r\n").
        text = io.StringIO(content.decode(dialect.encoding), newline="")
        records = [r for r in csv.reader(text, delimiter=dialect.delimiter) if r]
        widths = {len(r) for r in records}
        carriage_return = any("\r" in field for r in records for field in r)
        assert irregular or len(widths) > 1 or carriage_return
        return
    assert _rows(fast) == _rows(exact)
    assert [c.table.column_names for c in fast][:1] == [c.table.column_names for c in exact][:1]


TRICKY = {
    # name: (bytes, whether the fast reader can take it)
    "embedded newlines and blank lines": (b'a,b\n1,"two\nlines"\n\n\n3,"x\n\ny"\n,\n5,6\n', True),
    # pyarrow can lose the "\n" of a quoted "\r\n" across blocks: the exact reader reads it
    "embedded carriage returns": (b'a,b\n1,"two\nlines"\n\n\n3,"x\r\n\r\ny"\n,\n5,6\n', False),
    "bom": ("\ufeffa|b\r\n1|2\r\n".encode(), True),
    "windows-1252": ("a\tb\n£5\tcafé\n".encode("cp1252"), True),
    "trailing separator everywhere": (b"a,b,\n1,2,\n3,4,x\n,,\n", True),
    "trailing separator on rows only": (b"a,b\n1,2,\n3,4\n", False),
    "short row": (b"a,b,c\n1,2,3\n4,5\n\n6,7,8\n", False),
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_fixtures(tmp_path, name):
    content, fast_ok = TRICKY[name]
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    exact, fast = _both(path, chunk_rows=2)
    assert (fast is not None) == fast_ok
    if fast is not None:
        assert _rows(fast) == _rows(exact)


def test_row_numbers_and_notes_on_a_known_file(tmp_path):
    """Worked by hand: blank lines are not counted, a quoted newline is one row."""
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b,\n1,"2\n2",\n\n3,4,x\n,,\n5,6,\n')
    dialect = readers.inspect_csv(path)
    rows = _rows(list(readers.read_csv_fast(path, dialect)))
    assert rows == [
        (1, {"a": "1", "b": "2\n2", readers.PROBLEM: None}),
        (2, {"a": None, "b": None, readers.PROBLEM: "row has 3 fields; the header has 2"}),
        (3, {"a": "5", "b": "6", readers.PROBLEM: None}),
    ]


PEOPLE = nhs_numbers(6, seed=4)
HEADER = "spell_id,nhs_number,provider_code,admitted_on,discharged_on,admission_method,"
HEADER += "patient_classification,primary_diagnosis"


def _extract(tail_sep: str = "", last_row_too: bool = True) -> bytes:
    """The test extract; with ``tail_sep`` every record ends in it (the header and each
    row), or every record but the last one if not ``last_row_too``."""
    p = PEOPLE
    rows = [
        f'S1,{p[0]},RXX,01/03/2023,2023-03-04,11,1,"I21.9"{tail_sep}',
        f"S2,{invalid_nhs_number(p[1])},RXX,01/03/2023,,21,1,{tail_sep}",
        "",
        f'S3,{p[2]},"RX\nX",30/02/2023,,21,1,J189{tail_sep}',
        f"S4,{p[3]},RXX,05/03/2023,01/03/2023,99,1,E99{tail_sep}",
        f"S1,{p[4]},RXX,05/03/2023,,21,2,N390{tail_sep}",
        f"S6,{p[5]},RXX,05/03/2023,,21,2,N390{tail_sep if last_row_too else ''}",
    ]
    return "\n".join([HEADER + tail_sep, *rows]).encode("cp1252")


def _load(path: Path, folder: Path, fast: bool) -> tuple[str, tuple]:
    """Ingest ``path`` into a new warehouse in ``folder``: the reader the report names, and
    every spell, every quarantine record and the report's counts."""
    [report] = ingest(
        [path],
        table="apc_spell",
        warehouse=folder / "w.duckdb",
        key_file=folder.parent / "k.key",
        reid_store=folder / "reid.duckdb",
        chunk_rows=2,
        fast_csv=fast,
    )
    with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as con:
        loaded = (
            con.execute("SELECT * EXCLUDE (batch_id) FROM apc_spell ORDER BY ALL").fetchall(),
            con.execute(
                "SELECT source_row, field, value, reason, raw_row FROM quarantine ORDER BY ALL"
            ).fetchall(),
            (report.rows_read, report.rows_accepted, report.rows_quarantined),
        )
    return report.reader, loaded


@pytest.mark.parametrize(
    "tail_sep", ["", ","], ids=["no trailing separator", "trailing separator on every record"]
)
def test_pipeline_gives_the_same_warehouse_either_way(tmp_path, tail_sep):
    """Every table and every quarantine record equal, fast reader or exact: the fast
    reader really reads the file in both cases (the report says which reader ran)."""
    path = tmp_path / "apc.csv"
    path.write_bytes(_extract(tail_sep))
    fast_reader, fast = _load(path, tmp_path / "fast", fast=True)
    exact_reader, exact = _load(path, tmp_path / "exact", fast=False)
    assert (fast_reader, exact_reader) == ("fast", "exact")
    assert fast == exact
    spells, quarantine, counts = fast
    assert counts == (6, 2, 4)
    assert {(r, f) for r, f, *_ in quarantine} == {
        (2, "nhs_number"),
        (3, "provider_code"),
        (3, "admitted_on"),
        (4, "discharged_on"),
        (4, "admission_method"),
        (4, "primary_diagnosis"),
        (5, "spell_id"),
    }
    assert [s[0] for s in spells] == ["S1", "S6"]


def test_a_file_of_mixed_record_widths_falls_back_to_the_exact_reader(tmp_path):
    """Trailing separators on every record but the last: the fast reader steps aside
    (pyarrow needs one width), the exact reader reads the file, and the warehouse is the
    one the fast reader makes of the same extract without the trailing separators."""
    mixed, clean = tmp_path / "mixed.csv", tmp_path / "clean.csv"
    mixed.write_bytes(_extract(",", last_row_too=False))
    clean.write_bytes(_extract(""))
    with pytest.raises(readers.FastPathUnsuitable):
        list(readers.read_csv_fast(mixed, readers.inspect_csv(mixed)))
    fallback_reader, fallback = _load(mixed, tmp_path / "mixed", fast=True)
    fast_reader, fast = _load(clean, tmp_path / "clean", fast=True)
    assert (fallback_reader, fast_reader) == ("exact", "fast")
    assert fallback == fast
