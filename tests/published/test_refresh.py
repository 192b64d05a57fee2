"""`joinedup refresh`: every step runs once, a second refresh skips them all, and new
extracts make the published figures and what follows them run again while the risk
model stays as it is. Statuses are asserted, never timings."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from joinedup.refresh import STEPS, Ledger, StepResult, _Runner

# A published example of a valid NHS number (NHS Digital's documentation of the check digit).
NHS_NUMBER = "9434765919"
ENV = ("JOINEDUP_RISK_MODEL", "JOINEDUP_FIGURES_CACHE", "JOINEDUP_PROGRAMME_DB")


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small economy with a trained risk model (so refresh does not train one)."""
    from joinedup.risk.model import train
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    folder = tmp_path_factory.mktemp("refresh")
    result = build(SynthConfig(people=3000, years=3, seed=8), folder / "economy")
    with open_warehouse(result.warehouse_path, read_only=True) as wh:
        train(wh, result.warehouse_path.parent / "risk-model", rounds=40)
    return result.warehouse_path


@pytest.mark.integration
@pytest.mark.slow
def test_a_second_refresh_skips_every_step_and_new_extracts_run_publish_again(
    economy, tmp_path, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app
    from joinedup.refresh import refresh, state_file

    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    key, out = tmp_path / "secrets" / "k.key", tmp_path / "pack"
    seen: list[StepResult] = []

    first = refresh(economy, key_file=key, out=out, progress=seen.append)
    assert [s.step for s in first.steps] == list(STEPS)
    assert first.statuses() == {
        "ingest": "skipped",  # no folder given
        "registers": "skipped",  # the synthetic economy has no GP coded events
        "risk model": "skipped",  # one is trained already
        "publish": "done",
        "evaluation": "done",
        "board pack": "done",
    }
    assert first.quarter == "2026Q1"  # the data end on 31 March 2026
    assert sorted(p.name for p in first.board_pack) == [
        "board-pack-2026Q1.html", "board-pack-2026Q1.pdf", "board-pack-2026Q1.xlsx",
    ]  # fmt: skip
    assert all(p.exists() for p in first.board_pack)
    assert "Programme evaluations" in (out / "board-pack-2026Q1.html").read_text()
    assert {"running", "done", "skipped"} <= {s.status for s in seen}
    assert state_file(economy).exists()

    second = refresh(economy, key_file=key, out=out)
    assert set(second.statuses().values()) == {"skipped"}, second.statuses()
    unchanged = [s.step for s in second.steps if s.detail.startswith("inputs unchanged")]
    assert unchanged == ["publish", "evaluation", "board pack"]

    # One new canonical extract (community contacts) in a folder given to refresh.
    extracts = tmp_path / "extracts"
    extracts.mkdir()
    (extracts / "community_contact.csv").write_text(
        "nhs_number,provider_code,date,service,team,cost\n"
        f"{NHS_NUMBER},XCA,2024-01-10,therapy,FP01,50\n"
        f"{NHS_NUMBER},XCA,2024-01-11,therapy,FP01,50\n"
    )
    third = refresh(economy, extracts, key_file=key, out=out)
    assert third.statuses() == {
        "ingest": "done",
        "registers": "skipped",
        "risk model": "skipped",
        "publish": "done",
        "evaluation": "done",
        "board pack": "done",
    }
    assert third.steps[0].detail == "1 file: 1 loaded"

    # The command line, on the same inputs: every step skipped, a summary, exit 0.
    args = ["refresh", str(extracts), "--warehouse", str(economy), "--key-file", str(key)]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Refresh" in r.output
    for step in STEPS:
        assert f"{step}: skipped" in r.output
    assert "board-pack-2026Q1.html" in r.output


@pytest.mark.integration
def test_refresh_refuses_a_bad_quarter_and_a_missing_warehouse(tmp_path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    r = CliRunner().invoke(app, ["refresh", "--warehouse", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 1 and "no warehouse at" in r.output
    assert not (tmp_path / "none.duckdb.refresh.json").exists()
    r = CliRunner().invoke(app, ["refresh", "--quarter", "2026-03", "--warehouse", "x.duckdb"])
    assert r.exit_code == 1 and "expected YEARQn" in r.output


@pytest.mark.unit
def test_a_step_is_skipped_only_on_the_same_state_with_its_outputs(tmp_path) -> None:
    ledger = Ledger(tmp_path / "w.duckdb.refresh.json")
    runner = _Runner(ledger, force=False, progress=None)
    assert not runner.fresh("publish", "s1", outputs_exist=True)  # never ran
    runner.run("publish", lambda note: "ran", "s1")
    assert Ledger(ledger.path).states == {"publish": "s1"}  # kept on disk at once
    assert runner.fresh("publish", "s1", outputs_exist=True)
    assert not runner.fresh("publish", "s2", outputs_exist=True)  # inputs changed
    assert not runner.fresh("publish", "s1", outputs_exist=False)  # outputs gone
    forced = _Runner(Ledger(ledger.path), force=True, progress=None)
    assert not forced.fresh("publish", "s1", outputs_exist=True)
    assert [(r.step, r.status) for r in runner.results] == [
        ("publish", "done"),
        ("publish", "skipped"),
    ]


@pytest.mark.unit
def test_a_failed_step_is_reported_and_not_recorded(tmp_path) -> None:
    ledger = Ledger(tmp_path / "w.duckdb.refresh.json")
    seen: list[StepResult] = []
    runner = _Runner(ledger, force=False, progress=seen.append)

    def broken(note):
        raise RuntimeError("no disk")

    with pytest.raises(RuntimeError):
        runner.run("publish", broken, "s1")
    assert (seen[-1].status, seen[-1].detail) == ("failed", "no disk")
    assert ledger.states == {} and not ledger.path.exists()


@pytest.mark.unit
def test_a_corrupt_ledger_counts_as_no_record(tmp_path) -> None:
    path = tmp_path / "w.duckdb.refresh.json"
    path.write_text("{not json")
    assert Ledger(path).states == {}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("end", "quarter"),
    [
        (date(2026, 3, 31), "2026Q1"),
        (date(2026, 3, 30), "2025Q4"),
        (date(2026, 1, 1), "2025Q4"),
        (date(2025, 12, 31), "2025Q4"),
    ],
)
def test_the_latest_complete_quarter(end, quarter) -> None:
    from joinedup.reports.boardpack import latest_complete_quarter

    assert latest_complete_quarter(SimpleNamespace(census_day=lambda: end)) == quarter
