"""The synthetic economy's national extracts (joinedup.synth.extracts): deterministic,
shaped as HES issues episodes, keyed by pseudonyms with bridges, and written by
`joinedup synth --extracts`. That they load back to the same facts is
tests/ingest/test_roundtrip.py."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.ingest.mapping import load_mapping
from joinedup.synth import SynthConfig, build
from joinedup.synth.extracts import COSTED, SCHEMES, pseudonyms, write_extracts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def economy(tmp_path_factory):
    return build(SynthConfig(people=1000, years=1, seed=3), tmp_path_factory.mktemp("e"))


def _write(economy, folder: Path, seed: int = 3):
    return write_extracts(
        economy.warehouse_path, economy.out / "reidentification.duckdb", folder, seed=seed
    )


def _rows(path: Path, delimiter: str = ",") -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_pseudonyms(economy, tmp_path):
    a, b, c = (_write(economy, tmp_path / n, seed) for n, seed in (("a", 3), ("b", 3), ("c", 4)))
    assert _files(a.folder) == _files(b.folder)
    assert len(a.files) == 18 and set(a.bridges) == set(SCHEMES)
    hesids = {r["PSEUDO_HESID"] for r in _rows(a.folder / "hes_op.txt", "|")}
    assert hesids.isdisjoint(r["PSEUDO_HESID"] for r in _rows(c.folder / "hes_op.txt", "|"))
    assert _rows(a.folder / "ecds.csv") == _rows(c.folder / "ecds.csv")  # NHS numbers


def test_pseudonyms_are_keyed_hashes_of_the_nhs_number():
    one = pseudonyms(["9990000018", "9990000026"], seed=1)
    assert one == pseudonyms(["9990000018", "9990000026"], seed=1)
    assert one != pseudonyms(["9990000018", "9990000026"], seed=2)
    for scheme, (_, length) in SCHEMES.items():
        assert [len(p) for p in one[scheme]] == [length, length]
        assert len(set(one[scheme])) == 2


def test_hes_apc_is_episodes_as_hes_issues_them(economy, tmp_path):
    written = _write(economy, tmp_path)
    episodes = _rows(written.folder / "hes_apc.txt", "|")
    nhs = {r["NHS_NUMBER"] for r in _rows(written.folder / "gp_register.csv")}
    assert not any(v in nhs for r in episodes for v in r.values())  # no NHS number
    spells: dict[tuple, list[dict]] = {}
    for r in episodes:
        spells.setdefault((r["PSEUDO_HESID"], r["PROCODE3"], r["ADMIDATE"]), []).append(r)
    # (two spells of one person on one day at one provider look alike: left out here)
    single = [e for e in spells.values() if [r["EPIORDER"] for r in e].count("01") == 1]
    multi = [e for e in single if len(e) > 1]
    assert len(multi) >= 5
    for eps in multi:
        assert [e["EPIORDER"] for e in eps] == [f"{n:02d}" for n in range(1, len(eps) + 1)]
        assert eps[0]["EPISTART"] == eps[0]["ADMIDATE"]
        assert eps[-1]["EPIEND"] == eps[-1]["DISDATE"] != ""
        for before, after in itertools.pairwise(eps):
            assert after["EPISTART"] == before["EPIEND"]  # contiguous
            assert before["DISDATE"] == "" and before["DISDEST"] == "98"
            assert after["MAINSPEF"] != eps[0]["MAINSPEF"]
        assert len({(e["ADMIMETH"], e["ADMISORC"], e["CLASSPAT"]) for e in eps}) == 1
        assert all(e["DIAG_4_01"] for e in eps)  # each episode has a primary diagnosis
        assert all(e["OPERTN_4_01"] == "-" for e in eps[1:])
    assert all(len(r["DIAG_4_01"]) == 4 for r in episodes)  # J81 is written J81X


def test_costed_mappings_are_the_shipped_ones_and_cost(economy, tmp_path):
    written = _write(economy, tmp_path)
    assert [p.name for p in written.mappings] == [f"{m}_costed.yaml" for m in COSTED]
    for name, path in zip(COSTED, written.mappings, strict=True):
        shipped, costed = load_mapping(name), load_mapping(path)
        assert costed.name == f"{name}_costed"
        assert set(costed.target.columns) == set(shipped.target.columns) | {"cost"}
        assert costed.target.columns["cost"].sources == ("COST",)
        assert [t.table.name for t in costed.also] == [t.table.name for t in shipped.also]
    assert load_mapping(written.mappings[0]).episodes.total == ("cost",)


def test_synth_cli_writes_the_extracts_and_says_how_to_load_them(tmp_path):
    result = CliRunner().invoke(
        app,
        ["synth", "-n", "300", "-y", "1", "--out", str(tmp_path / "economy"),
         "--extracts", str(tmp_path / "extracts")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "extracts" / "hes_apc.txt").exists()
    assert (tmp_path / "extracts" / "bridges" / "hesid.csv").exists()
    assert "joinedup keys bridge" in result.output and "joinedup ingest" in result.output
    assert "registers derive" in (tmp_path / "extracts" / "README.md").read_text()
