"""Publishing: the same warehouse and code give byte-identical figures, run after run,
in fresh processes; a second reader takes them from the store instead of computing them;
a new state of the data is never served figures of the old one."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small economy with a trained risk model (segments, tiers and lists use it)."""
    from joinedup.risk.model import train
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    folder = tmp_path_factory.mktemp("published")
    result = build(SynthConfig(people=3000, years=3, seed=5), folder / "economy")
    with open_warehouse(result.warehouse_path, read_only=True) as wh:
        train(wh, result.warehouse_path.parent / "risk-model", rounds=40)
    return result.warehouse_path


def _publish(warehouse: Path, out: Path) -> subprocess.CompletedProcess:
    """`joinedup publish --out` in a fresh process."""
    r = subprocess.run(
        [str(Path(sys.executable).parent / "joinedup"), "publish", "--warehouse",
         str(warehouse), "--out", str(out)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    return r


def _forget(warehouse: Path) -> None:
    """Remove every kept figure and measure result: the next run computes afresh."""
    for suffix in (".published", ".measure-cache"):
        shutil.rmtree(f"{warehouse}{suffix}", ignore_errors=True)


def _same_tree(a: Path, b: Path) -> list[str]:
    """Files that differ (or exist on one side only) between two folders."""
    cmp = filecmp.dircmp(a, b)
    diff = [*cmp.left_only, *cmp.right_only, *cmp.diff_files, *cmp.funny_files]
    for sub in cmp.common_dirs:
        diff += [f"{sub}/{f}" for f in _same_tree(a / sub, b / sub)]
    return diff


def test_two_fresh_runs_write_the_same_bytes(economy, tmp_path) -> None:
    _forget(economy)
    first = _publish(economy, tmp_path / "one")
    assert "published" in first.stdout and "0 already kept" in first.stdout
    _forget(economy)
    _publish(economy, tmp_path / "two")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.*"))
    assert len(files) > 20
    names = {f.name for f in files}
    assert {"measures-own.csv", "headline.csv", "segments.csv", "tiers.csv"} <= names
    assert {"opportunity-practice.csv", "plan-scenario.json"} <= names
    assert _same_tree(tmp_path / "one", tmp_path / "two") == []
    # A third run reads what the second kept: nothing computed, the same bytes.
    third = _publish(economy, tmp_path / "three")
    assert " 0 figures computed" in third.stdout.replace("published", " ")
    assert _same_tree(tmp_path / "one", tmp_path / "three") == []


def test_a_new_state_of_the_data_is_not_served_old_figures(economy, tmp_path) -> None:
    """Retraining the risk model (or loading a batch) changes the state: the store keeps
    each state apart."""
    from joinedup.published import Figures

    with Figures(economy) as before:
        state = before.store.state
        before.segments("tier")
    model = economy.parent / "risk-model"
    saved = tmp_path / "saved-model"
    shutil.copytree(model, saved)
    try:
        (model / "model.json").write_text((model / "model.json").read_text() + "\n")
        with Figures(economy) as after:
            assert after.store.state != state
            assert after.store.computed == 0
            after.segments("tier")
            assert after.store.computed > 0  # computed for the new state, not read
    finally:
        shutil.rmtree(model)
        shutil.copytree(saved, model)
