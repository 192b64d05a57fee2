"""docs/measures.md stays honest: every measure is in its table, its example is valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from joinedup.measures import load_library
from joinedup.measures.definition import parse_definition

pytestmark = pytest.mark.unit

DOC = Path(__file__).parents[2] / "docs" / "measures.md"


def test_every_builtin_measure_is_in_the_library_table() -> None:
    text = DOC.read_text()
    section = text[text.index("## The measure library") : text.index("Notes on definitions")]
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.M))
    assert listed == set(load_library())


def test_the_worked_example_is_a_valid_definition() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    (example,) = yaml.safe_load(blocks[0])
    d = parse_definition(example, "docs/measures.md")
    assert d.numerator.condition == ["dementia"]
    assert "practice" in d.groupings
