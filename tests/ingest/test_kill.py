"""Killing a load mid-way (kill -9) leaves the warehouse exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

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
