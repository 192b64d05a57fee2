"""One settings module: every JOINEDUP_ variable is in its table, read only there, and
documented in docs/settings.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from joinedup import settings
from joinedup.cli import app
from joinedup.settings import SETTINGS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "joinedup"
SETTINGS_MODULE = SRC / "settings.py"


@pytest.fixture(autouse=True)
def _no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the defaults (and any variable it sets is restored)."""
    for s in SETTINGS:
        monkeypatch.setenv(s.env, "")  # empty means unset; restored after the test


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p != SETTINGS_MODULE)


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ`` (``from os import environ``)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == "environ"


def _is_getenv(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "getenv"
    return isinstance(node, ast.Name) and node.id == "getenv"


def _environment_keys(tree: ast.AST) -> list[tuple[int, ast.AST]]:
    """(line, key) of every read or write of one environment variable."""
    keys: list[tuple[int, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if _is_getenv(func) or (isinstance(func, ast.Attribute) and _is_environ(func.value)):
                keys.append((node.lineno, node.args[0]))
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            keys.append((node.lineno, node.slice))
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            keys.append((node.lineno, node.left))
    return keys


def test_only_the_settings_module_reads_a_joinedup_variable() -> None:
    # Another program's variable named by a literal (SPARK_LOCAL_IP, JAVA_HOME) is fine;
    # a JOINEDUP_ one, or a key that is not a literal (it might be one), is not.
    found = []
    for path in _modules():
        for line, key in _environment_keys(ast.parse(path.read_text(), str(path))):
            literal = isinstance(key, ast.Constant) and isinstance(key.value, str)
            if not literal or key.value.startswith("JOINEDUP_"):
                found.append(f"{path.relative_to(ROOT)}:{line}: {ast.unparse(key)}")
    assert not found, "read these through joinedup.settings:\n" + "\n".join(found)


def test_no_command_line_option_reads_an_environment_variable() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call) and any(k.arg == "envvar" for k in node.keywords)
    ]
    assert not found, "resolve a missing option through joinedup.settings:\n" + "\n".join(found)


def test_every_joinedup_variable_in_the_source_is_a_setting() -> None:
    known = {s.env for s in SETTINGS}
    named: dict[str, str] = {}
    for path in sorted(SRC.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".yaml", ".yml", ".html", ".md", ".txt"}:
            for name in re.findall(r"\bJOINEDUP_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()):
                named.setdefault(name, str(path.relative_to(ROOT)))
    unknown = {name: where for name, where in named.items() if name not in known}
    assert not unknown, f"add these to joinedup.settings.SETTINGS: {unknown}"
    assert named, "the scan found no JOINEDUP_ variable at all"


def test_the_table_is_complete_and_every_setting_resolves() -> None:
    names = [s.name for s in SETTINGS]
    envs = [s.env for s in SETTINGS]
    assert len(set(names)) == len(names) and len(set(envs)) == len(envs)
    for s in SETTINGS:
        assert s.env == f"JOINEDUP_{s.name.upper()}", s
        assert s.default.strip() and s.help.strip(), s
        settings.current_value(s)  # no error at the defaults


def test_docs_settings_md_is_what_the_command_renders(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["settings", "--markdown"])
    assert printed.exit_code == 0, printed.output
    documented = (ROOT / "docs" / "settings.md").read_text()
    assert printed.stdout == documented, "docs/settings.md is stale: run `make docs`"
    out = tmp_path / "settings.md"
    written = runner.invoke(app, ["settings", "--markdown", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text() == documented
    for s in SETTINGS:
        assert f"`{s.env}`" in documented


def test_the_command_shows_each_value_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINEDUP_SPARK_MASTER", "spark://cluster:7077")
    monkeypatch.setenv("JOINEDUP_PROGRAMME_DB", "postgresql://u:s3cret@db/prog")
    result = CliRunner().invoke(app, ["settings"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "spark://cluster:7077" in result.output
    assert "postgresql+psycopg://u:***@db/prog" in result.output
    assert "s3cret" not in result.output  # the password is never shown
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for s in SETTINGS:
        assert s.env in result.output


def test_programme_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from joinedup.programme.errors import StoreURLError
    from joinedup.programme.store import default_store_url

    assert settings.programme_url(Path("a/b/wh.duckdb")) == "sqlite:///a/b/programme.sqlite"
    monkeypatch.setenv("JOINEDUP_WAREHOUSE", "data/wh/warehouse.duckdb")
    assert settings.programme_url() == "sqlite:///data/wh/programme.sqlite"
    assert default_store_url() == settings.programme_url()
    monkeypatch.setenv("JOINEDUP_PROGRAMME_DB", "elsewhere/p.sqlite")
    assert settings.programme_url(Path("a/b/wh.duckdb")) == "sqlite:///elsewhere/p.sqlite"
    monkeypatch.setenv("JOINEDUP_PROGRAMME_DB", "postgresql://u:pw@h:5433/db")
    assert settings.programme_url() == "postgresql+psycopg://u:pw@h:5433/db"
    monkeypatch.setenv("JOINEDUP_PROGRAMME_DB", "mysql://u@h/db")
    with pytest.raises(StoreURLError, match="not mysql"):
        settings.programme_url()


def test_risk_model_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from joinedup.cli.risk_model import model_dir

    warehouse = tmp_path / "data" / "warehouse.duckdb"
    assert settings.risk_model_dir(warehouse) == tmp_path / "data" / "risk-model"
    monkeypatch.setenv("JOINEDUP_RISK_MODEL", str(tmp_path / "models" / "v2"))
    assert settings.risk_model_dir(warehouse) == tmp_path / "models" / "v2"
    assert model_dir(None, warehouse) == tmp_path / "models" / "v2"
    assert model_dir(tmp_path / "given", warehouse) == tmp_path / "given"  # --model wins


def test_paths_and_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    from joinedup.ingest.pseudonymise import default_key_file
    from joinedup.warehouse import default_warehouse_path

    wh = tmp_path / "warehouse.duckdb"
    assert settings.warehouse_path() == default_warehouse_path() == settings.DEFAULT_WAREHOUSE
    assert settings.key_file() == default_key_file() == settings.DEFAULT_KEY_FILE
    assert settings.backend() == "duckdb" and settings.spark_master() == "local[*]"
    assert settings.spark_driver_memory() is None and settings.change_user() is None
    assert settings.extra_measure_files() == [] and settings.feedback_themes() is None
    assert settings.measure_cache_dir(wh) == tmp_path / "warehouse.duckdb.measure-cache"
    assert settings.measure_cache_dir(None) is None
    assert settings.figures_cache_dir(wh) == tmp_path / "warehouse.duckdb.published"

    monkeypatch.setenv("JOINEDUP_WAREHOUSE", str(wh))
    monkeypatch.setenv("JOINEDUP_KEY_FILE", str(tmp_path / "k.key"))
    monkeypatch.setenv("JOINEDUP_MEASURES", os.pathsep.join(["a.yaml", "", "b.yaml"]))
    monkeypatch.setenv("JOINEDUP_MEASURE_CACHE", str(tmp_path / "mc"))
    monkeypatch.setenv("JOINEDUP_FIGURES_CACHE", str(tmp_path / "fc"))
    monkeypatch.setenv("JOINEDUP_FEEDBACK_THEMES", "themes.yaml")
    monkeypatch.setenv("JOINEDUP_USER", "alice")
    monkeypatch.setenv("JOINEDUP_SPARK_DRIVER_MEMORY", "4g")
    assert default_warehouse_path() == wh
    assert default_key_file() == tmp_path / "k.key"
    assert settings.extra_measure_files() == [Path("a.yaml"), Path("b.yaml")]
    assert settings.measure_cache_dir(None) == tmp_path / "mc"  # even in memory
    assert settings.figures_cache_dir(wh) == tmp_path / "fc"
    assert settings.feedback_themes() == Path("themes.yaml")
    assert settings.change_user() == "alice" and settings.spark_driver_memory() == "4g"


def test_backend_option_sets_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINEDUP_BACKEND", "duckdb")  # restored after the test
    result = CliRunner().invoke(app, ["--backend", "spark", "settings"])
    assert result.exit_code == 0, result.output
    assert settings.backend() == "spark"
    settings.BACKEND.set(None)
    assert settings.backend() == "duckdb"
