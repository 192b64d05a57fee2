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

from .helpers import nhs_numbers, write_csv

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADER = [
    "spell_id",
    "nhs_number",
    "provider_code",
    "admitted_on",
    "admission_method",
    "patient_classification",
]

# Runs the real ingest in a child, pausing inside the load transaction after the first
# chunk of rows has been inserted, so the parent can kill it at that moment.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from joinedup.ingest import pipeline

    original = pipeline._Spill.read
    def paused(self, name):
        for n, chunk in enumerate(original(self, name)):
            yield chunk
            if n == 0:
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
    big = write_csv(
        tmp_path / "big.csv",
        HEADER,
        [
            [f"B{i}", people[i % 50], "RXX", "2024-01-01", "21" if i % 7 else "bad", "1"]
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
    assert report.rows_read == 30_000
