"""`joinedup scenario`: the JSON contract, reproducibility and clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from joinedup.cli import app

pytestmark = pytest.mark.integration

YEAR_KEYS = (
    "activity",
    "bed_days",
    "beds_at_85",
    "beds_at_92",
    "wte",
    "cost",
    "investment",
    "gross_savings",
    "net_benefit",
)


def _run(*args):
    return CliRunner().invoke(app, ["scenario", *args])


def test_run_json_follows_the_contract_and_the_seed_fixes_the_numbers(tiny_warehouse):
    args = [
        "run",
        "urgent_care_centre_streaming",
        "--warehouse",
        str(tiny_warehouse.warehouse_path),
        "--runs",
        "50",
        "--seed",
        "3",
        "--format",
        "json",
    ]
    first = _run(*args)
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert len(data["years"]) == 5
    for year in data["years"]:
        for key in YEAR_KEYS:
            assert set(year[key]) == {"p10", "p50", "p90"}, key
            assert year[key]["p10"] <= year[key]["p50"] <= year[key]["p90"]
    for key in ("npv", "roi", "payback_year"):
        assert set(data[key]) == {"p10", "p50", "p90"}
    assert _run(*args).stdout == first.stdout
    other = _run(*args[:-4], "--seed", "4", "--format", "json")
    assert json.loads(other.stdout)["npv"] != data["npv"]


MINE = (
    "name: mine\ntitle: Mine\nuptake: {share: [1.0]}\n"
    "effects:\n  - {setting: op_followup, change: {low: -0.2, central: -0.1, high: 0}}\n"
)


@pytest.mark.slow
def test_run_a_file_with_charts(tiny_warehouse, tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(MINE)
    wh = str(tiny_warehouse.warehouse_path)
    out = _run("run", str(f), "-w", wh, "--runs", "20", "--charts", str(tmp_path / "charts"))
    assert out.exit_code == 0, out.output
    assert "NPV (Green Book 3.5%)" in out.stdout
    assert (tmp_path / "charts" / "mine_tornado_npv.svg").read_text().startswith("<?xml")
    assert (tmp_path / "charts" / "mine_fan_bed_days.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "charts").iterdir())) == 12


def test_compare_list_and_baseline(tiny_warehouse, tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(MINE)
    wh = str(tiny_warehouse.warehouse_path)
    cmp = _run(
        "compare", str(f), "prior_approval_referrals", "-w", wh, "--runs", "20", "--format", "json"
    )
    assert cmp.exit_code == 0, cmp.output
    assert set(json.loads(cmp.stdout)) == {"mine", "prior_approval_referrals"}
    assert "telephone_care_management" in _run("list").stdout
    base = _run("baseline", "-w", wh, "--by", "segment", "--format", "json")
    assert base.exit_code == 0 and json.loads(base.stdout)["year"] == "2025/26"


def test_bad_file_gets_a_clear_message(tiny_warehouse, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "name: bad\ntitle: Bad\nuptake: {share: [0.5]}\n"
        "effects:\n  - {setting: emergency_admission, change: {low: 0, central: -0.2, high: 0}}\n"
    )
    out = _run("run", str(f), "-w", str(tiny_warehouse.warehouse_path), "--runs", "5")
    assert out.exit_code == 1
    assert "interventions.0.effects.0.change" in out.output
    assert "expected low <= central <= high" in out.output
    assert "Traceback" not in out.output
    assert _run("validate", str(f)).exit_code == 1


def test_baseline_output_suppresses_small_numbers(tiny_warehouse):
    out = _run(
        "baseline", "-w", str(tiny_warehouse.warehouse_path), "--by", "age_band", "--format", "json"
    )
    assert out.exit_code == 0, out.output
    counts = [r["count"] for r in json.loads(out.stdout)["rows"]]
    assert not [c for c in counts if c is not None and 1 <= c <= 7]
    assert None in counts  # the tiny economy has small cells (deaths by age band)
