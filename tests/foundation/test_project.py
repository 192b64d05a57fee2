"""Keep README, Makefile, CI and --help true to each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from joinedup.cli import app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.M))


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1].strip().splitlines()
    assert first_block == ["make demo", "make test"]


def test_readme_make_commands_are_makefile_targets():
    readme = (ROOT / "README.md").read_text()
    used = set(re.findall(r"`make ([a-z-]+)`", readme)) | {"demo", "test"}
    assert used <= _makefile_targets()


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _walk(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def test_every_command_has_help_text_and_help_works():
    runner = CliRunner()
    root = get_command(app)
    seen = 0
    for path, command in _walk(root):
        if path:
            assert (command.help or "").strip(), f"`joinedup {' '.join(path)}` has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        seen += 1
    assert seen > 5


def test_readme_joinedup_commands_exist():
    readme = (ROOT / "README.md").read_text()
    root = get_command(app)
    code = "\n".join(readme.split("```")[1::2])
    mentioned = re.findall(r"^joinedup ([a-z][a-z-]*)", code, flags=re.M)
    assert mentioned
    for name in mentioned:
        assert name in root.commands, f"README mentions unknown command: joinedup {name}"
