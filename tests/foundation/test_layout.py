"""docs/development.md is true to the tree: the layout lists every package, and every
path in "Where to change what" exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "development.md").read_text()


def _section(title: str) -> str:
    return DOC.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_layout_lists_every_package_and_nothing_else():
    block = _section("Layout").split("```", 2)[1]
    listed = set(re.findall(r"^  (\w+)(?:/|\.py)", block, flags=re.M))
    package = ROOT / "src" / "joinedup"
    actual = {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    actual |= {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    assert listed == actual


def test_every_path_in_where_to_change_what_exists():
    paths = re.findall(r"`(src/[^`]+)`", _section("Where to change what"))
    assert len(paths) >= 10
    for path in paths:
        assert list(ROOT.glob(path)), f"docs/development.md names {path}, which is not there"


def test_the_design_names_every_package():
    design = (ROOT / "docs" / "design.md").read_text()
    package = ROOT / "src" / "joinedup"
    for p in package.iterdir():
        if (p / "__init__.py").exists():
            assert f"`{p.name}`" in design, f"docs/design.md does not name the {p.name} package"
