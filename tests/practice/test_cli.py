"""`joinedup practice feed | attenders | profile` on a small economy."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from joinedup.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def largest(small_economy) -> str:
    import duckdb

    with duckdb.connect(str(small_economy.warehouse_path), read_only=True) as con:
        return con.execute(
            "SELECT practice_code FROM person GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]


def test_feed_writes_the_rows_it_shows(small_economy, largest, tmp_path) -> None:
    from joinedup.practice.feed import activity_feed
    from joinedup.warehouse import open_warehouse

    out = tmp_path / "feed.csv"
    wh = str(small_economy.warehouse_path)
    r = runner.invoke(app, ["practice", "feed", largest, "-w", wh, "--days", "28", "-o", str(out)])
    assert r.exit_code == 0, r.output
    written = pd.read_csv(out, dtype={"person_id": str})
    with open_warehouse(small_economy.warehouse_path, read_only=True) as w:
        direct = activity_feed(w, largest, 28)
    assert len(written) == len(direct) > 0
    assert list(written["person_id"]) == list(direct["person_id"])
    assert "nhs_number" not in written.columns  # the command line is pseudonymised


def test_bad_practice_and_bad_event_are_named(small_economy) -> None:
    wh = str(small_economy.warehouse_path)
    r = runner.invoke(app, ["practice", "feed", "Z99999", "-w", wh])
    assert r.exit_code == 1 and "practice 'Z99999' not found" in r.output
    r = runner.invoke(app, ["practice", "feed", "Z99999", "-w", wh, "--event", "elective"])
    assert r.exit_code == 1 and "--event 'elective'" in r.output


def test_attenders_and_profile_print(small_economy, largest) -> None:
    wh = str(small_economy.warehouse_path)
    r = runner.invoke(app, ["practice", "attenders", largest, "-w", wh, "--min-ae", "2"])
    assert r.exit_code == 0, r.output
    assert "frequent attenders" in r.output
    r = runner.invoke(app, ["practice", "profile", largest, "-w", wh])
    assert r.exit_code == 0, r.output
    assert "Long-term conditions against expected" in r.output
    assert "Similar practices" in r.output
