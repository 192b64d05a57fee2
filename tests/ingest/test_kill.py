"""Killing a load mid-way (kill -9) leaves the warehouse exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import duckdb
import pytest

from joinedup import settings
from joinedup.ingest import ingest

from .helpers import SPELL_HEADER, nhs_numbers, write_csv

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADER = SPELL_HEADER

# Runs the real ingest in a child, pausing inside the load transaction after the first
# chunk of apc_spell rows has been inserted, so the parent can kill it at that moment.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from joinedup.ingest import pipeline

    original = pipeline._Spill.read
    def paused(self, name, *args, **kwargs):
        for n, chunk in enumerate(original(self, name, *args, **kwargs)):
            yield chunk
            if n == 0 and name == "apc_spell":
                Path(sys.argv[4]).write_text("inside the transaction")
                time.sleep(120)
    pipeline._Spill.read = paused
    pipeline.ingest([sys.argv[1]], table="apc_spell", warehouse=sys.argv[2],
                    key_file=sys.argv[3], chunk_rows=1000)
    """
)


def _state(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("apc_spell", "load_batch", "quarantine")
        }


def test_kill_9_mid_load_leaves_the_warehouse_unchanged(tmp_path):
    people = nhs_numbers(50)
    wh, key = tmp_path / "w.duckdb", tmp_path / "k.key"
    first = write_csv(
        tmp_path / "first.csv",
        HEADER,
        [[f"F{i}", people[i % 50], "RXX", "2024-01-01", "21", "1"] for i in range(10)],
    )
    ingest([first], table="apc_spell", warehouse=wh, key_file=key)
    before = _state(wh)
    # rows 29,000 on repeat the keys of rows 0 to 999: duplicates, quarantined after the
    # first pass, so the kill also lands while those rows are being left out
    big = write_csv(
        tmp_path / "big.csv",
        HEADER,
        [
            [f"B{i % 29_000}", people[i % 50], "RXX", "2024-01-01", "21" if i % 7 else "bad", "1"]
            for i in range(30_000)
        ],
    )
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(big), str(wh), str(key), str(marker)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the load"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _state(wh) == before
    # and the warehouse still takes the load afterwards
    [report] = ingest([big], table="apc_spell", warehouse=wh, key_file=key)
    # accepted: rows 0 to 28,999 less the 4,143 multiples of 7 among them ("bad" method)
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (
        30_000,
        24_857,
        5_143,
    )


ROWS = 300_000
# A machine with many cores, on any machine: `connect` opens DuckDB with 16 threads.
MANY_CORES = textwrap.dedent(
    """
    import duckdb
    _connect = duckdb.connect
    def connect(database=":memory:", read_only=False, config=None, **kwargs):
        config = {"threads": 16, **(config or {})}
        return _connect(database, read_only=read_only, config=config, **kwargs)
    """
)
# The real ingest, killed from outside while it runs: nothing pauses it.
LOAD = MANY_CORES + textwrap.dedent(
    """
    import sys
    from joinedup.ingest import ingest
    duckdb.connect = connect
    ingest([sys.argv[1]], table="apc_spell", warehouse=sys.argv[2], key_file=sys.argv[3])
    """
)


def test_kill_9_mid_load_then_reload_under_a_low_cap_on_16_cores(tmp_path, monkeypatch):
    """Issue 21: kill -9 a load while it writes rows, then load the same file again,
    DuckDB held to the smallest memory the load setting allows on a 16-core machine (the
    reload once failed out of memory under a fixed 128 MiB cap: too little for DuckDB's
    duplicate-key aggregate on that many threads). The reload succeeds and the
    warehouse holds its rows once."""
    monkeypatch.setenv(settings.LOAD_MEMORY.env, "64MiB")
    people = nhs_numbers(500)
    wh, key = tmp_path / "w.duckdb", tmp_path / "k.key"
    first = write_csv(
        tmp_path / "first.csv",
        HEADER,
        [[f"F{i}", people[i], "RXX", "2024-01-01", "21", "1"] for i in range(10)],
    )
    ingest([first], table="apc_spell", warehouse=wh, key_file=key)
    before = _state(wh)
    n = ROWS
    # every 50th row repeats an earlier key (6,000 duplicates); every 20th has a bad
    # method (15,000; never a duplicate too)
    big = write_csv(
        tmp_path / "big.csv",
        HEADER,
        (
            [
                f"SPELL-{i - 7 if i % 50 == 49 else i:012d}", people[i % 500], "RXX",
                "2024-01-01", "bad" if i % 20 == 3 else "21", "1",
            ]
            for i in range(n)
        ),
    )  # fmt: skip
    spilling = tmp_path / "w.duckdb.tmp"  # DuckDB's spill of rows beyond the cap
    (tmp_path / "tmp").mkdir()  # the killed load's own spill is left here
    child = subprocess.Popen(
        [sys.executable, "-c", LOAD, str(big), str(wh), str(key)],
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
    )
    try:
        deadline = time.monotonic() + 120
        while not (spilling.is_dir() and any(spilling.iterdir())):
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never wrote rows"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _state(wh) == before  # killed inside the transaction: nothing of it stays
    assert any(spilling.iterdir())  # but its spill is left behind
    # and so is its own scratch folder, spilled rows and NHS numbers in it
    [left] = (tmp_path / "tmp").glob("joinedup-ingest-*")
    assert any(left.rglob("*.parquet"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))

    many_cores: dict = {}
    exec(MANY_CORES, many_cores)
    monkeypatch.setattr(duckdb, "connect", many_cores["connect"])  # 16 threads here too
    [report] = ingest([big], table="apc_spell", warehouse=wh, key_file=key)
    assert report.status == "loaded"
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (
        300_000,
        279_000,
        21_000,
    )
    with duckdb.connect(str(wh), read_only=True) as con:
        rows, ids, batches = con.execute(
            "SELECT count(*), count(DISTINCT spell_id), count(DISTINCT batch_id) FROM apc_spell"
        ).fetchone()
        assert (rows, ids, batches) == (10 + report.rows_accepted,) * 2 + (2,)
        loaded = con.execute(
            "SELECT batch_id, source_file, rows_read, rows_accepted, rows_quarantined, status"
            " FROM load_batch ORDER BY batch_id"
        ).fetchall()
        per_batch = dict(
            con.execute("SELECT batch_id, count(*) FROM apc_spell GROUP BY ALL").fetchall()
        )
        quarantined = con.execute(
            "SELECT count(DISTINCT source_row) FROM quarantine WHERE batch_id = ?",
            [report.batches[0].batch_id],
        ).fetchone()[0]
    assert [b[1:] for b in loaded] == [
        (str(first), 10, 10, 0, "loaded"),
        (str(big), n, report.rows_accepted, report.rows_quarantined, "loaded"),
    ]
    assert per_batch == {loaded[0][0]: 10, loaded[1][0]: report.rows_accepted}
    assert quarantined == report.rows_quarantined
    # the killed transaction's spill was reused by the reload's, and removed with it
    assert not spilling.exists() or not any(spilling.iterdir())
    # the killed load's scratch folder was swept away by the reload, and the reload's own
    # removed when it ended
    assert not list((tmp_path / "tmp").glob("joinedup-ingest-*"))
