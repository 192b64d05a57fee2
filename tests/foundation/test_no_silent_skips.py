"""No silent skips: every skip in the suite goes through tests/conftest.py's skip_or_fail,
which fails instead under `make test` and CI, and `make test` (which CI runs) sets it."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from conftest import skip_or_fail

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
#: Names that skip a test, or expect it to fail, other than through skip_or_fail.
SKIPS = {"skip", "skipif", "importorskip", "xfail", "exit", "SkipTest"}


def _silent_skips(path: Path) -> list[str]:
    """Where ``path`` skips a test (or expects it to fail) other than through the policy.
    Allowed: the policy's own skip (skip_or_fail in tests/conftest.py, when the policy is
    off) and ``xfail(strict=True, reason=...)``, which fails the run once the expected
    failure stops happening."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def inside(node: ast.AST, function: str) -> bool:
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.FunctionDef) and node.name == function:
                return True
        return False

    def strict_xfail(node: ast.AST) -> bool:
        call = parents.get(node)
        return (
            isinstance(call, ast.Call)
            and call.func is node
            and any(
                k.arg == "strict" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords
            )
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark"
        )

    def root(node: ast.AST) -> str | None:
        while isinstance(node, ast.Attribute):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("pytest", "unittest"):
            names = {a.name for a in node.names} & SKIPS
            if names:  # from pytest import skip, ...: the names would escape the scan below
                found.append((node.lineno, f"from {node.module} import {', '.join(names)}"))
            continue
        if isinstance(node, ast.Attribute):
            if node.attr not in SKIPS or root(node) not in ("pytest", "unittest"):
                continue
            if isinstance(parents.get(node), ast.Attribute):
                continue  # pytest.skip.Exception: the exception class, not a skip
        elif not (isinstance(node, ast.Name) and node.id == "SkipTest"):
            continue
        name = node.attr if isinstance(node, ast.Attribute) else node.id
        if path == ROOT / "tests" / "conftest.py" and inside(node, "skip_or_fail"):
            continue
        if name == "xfail" and strict_xfail(node):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return [f"{path.relative_to(ROOT)}:{line}: {text}" for line, text in sorted(found)]


def _rule(target: str) -> tuple[list[str], list[str]]:
    """A Makefile rule's prerequisites and recipe lines."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    prerequisites = lines[start].split(":", 1)[1].split("|")[0].split()
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return prerequisites, recipe


def test_make_test_runs_pytest_with_the_policy_on() -> None:
    prerequisites, recipe = _rule("test")
    assert {"system-packages", "oracles"} <= set(prerequisites)
    runs = [line for line in recipe if "pytest" in line]
    assert len(runs) == 1, recipe
    assert re.fullmatch(r"JOINEDUP_REQUIRE_ALL=1 \$\(BIN\)/pytest", runs[0]), runs[0]


def test_ci_runs_make_test() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert "set -euo pipefail" in commands  # a failing step fails the run
    assert commands[-1] == "make test"  # the last command: its status is the run's


def test_skip_or_fail_fails_under_the_policy(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("JOINEDUP_REQUIRE_ALL", "1")
    try:
        skip_or_fail("a missing part")
    except pytest.fail.Exception as failed:
        assert "required under make test" in str(failed)
    except pytest.skip.Exception:  # caught, or this test would itself be skipped
        pytest.fail("skip_or_fail skipped under JOINEDUP_REQUIRE_ALL=1")
    else:
        pytest.fail("skip_or_fail neither skipped nor failed")
    monkeypatch.delenv("JOINEDUP_REQUIRE_ALL")
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("a missing part")


def test_every_skip_goes_through_skip_or_fail() -> None:
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path != Path(__file__).resolve():
            found += _silent_skips(path)
    assert not found, "skip through skip_or_fail (tests/conftest.py), not directly:\n" + (
        "\n".join(found)
    )


def test_the_scan_finds_each_kind_of_skip(tmp_path, monkeypatch) -> None:
    """The scan above is not blind: each way of skipping is reported, the allowed two not."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "tests").mkdir()
    probe = tmp_path / "tests" / "test_probe.py"
    probe.write_text(
        "import pytest, unittest\n"
        "pytest.importorskip('x')\n"
        "@pytest.mark.skipif(True, reason='r')\n"
        "@pytest.mark.skip\n"
        "@pytest.mark.xfail(reason='r')\n"
        "@pytest.mark.xfail(strict=True, reason='allowed')\n"
        "def test_a():\n"
        "    pytest.skip('r')\n"
        "    pytest.xfail('r')\n"
        "    raise unittest.SkipTest('r')\n"
        "    pytest.raises(pytest.skip.Exception)\n"
        "    sys.exit(0)\n"
        "from unittest import SkipTest\n"
    )
    lines = [int(f.split(":")[1]) for f in _silent_skips(probe)]
    assert lines == [2, 3, 4, 5, 8, 9, 10, 13]
    policy = tmp_path / "tests" / "conftest.py"
    policy.write_text("import pytest\ndef skip_or_fail(r):\n    pytest.skip(r)\npytest.skip('x')\n")
    assert [int(f.split(":")[1]) for f in _silent_skips(policy)] == [4]
