"""The shipped layouts document and `joinedup mappings check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.ingest.layouts import render_markdown
from joinedup.ingest.mapping import load_mapping, shipped_mappings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parent.parent.parent
SAMPLES = ROOT / "tests" / "data" / "artificial_hes"


def test_docs_layouts_md_is_generated_and_current():
    current = (ROOT / "docs" / "layouts.md").read_text()
    assert current == render_markdown(), "docs/layouts.md is stale: run `make docs`"


def test_every_shipped_mapping_says_what_it_follows_and_which_files_it_takes():
    for name in shipped_mappings():
        m = load_mapping(name)
        assert m.source, f"{name}: no `source:` (the specification it follows)"
        assert m.files, f"{name}: no `files:` patterns"
        assert f"## {name}" in render_markdown()


def test_mappings_check_says_which_mapping_and_what_would_be_quarantined(tmp_path):
    wh = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app,
        ["mappings", "check", str(SAMPLES / "artificial_hes_ae_0708_sample.csv"),
         "--warehouse", str(wh), "--key-file", str(tmp_path / "k.key")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "loads into ae_attendance; its header has every column hes_ae needs" in out
    assert "read 1,000 = accepted" in out and "nothing was written" in out
    assert not wh.exists() and not (tmp_path / "k.key").exists()
    bad = tmp_path / "odd.csv"
    bad.write_text("PSEUDO_HESID,ARRIVALDATE\nX,2020-01-01\n")
    result = CliRunner().invoke(app, ["mappings", "check", str(bad)])
    assert result.exit_code == 1
    assert "no mapping matches its columns (closest: hes_ae lacks AEKEY" in " ".join(
        result.stderr.split()
    )
