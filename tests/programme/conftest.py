"""Fixtures of the programme store tests: one store per test, on SQLite and on a real
PostgreSQL server started for the session by scripts/postgres-test-server.sh."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "postgres-test-server.sh"


def _root_conftest():
    """tests/conftest.py, loaded by path (every conftest module is called `conftest`)."""
    spec = importlib.util.spec_from_file_location(
        "joinedup_tests_conftest", ROOT / "tests" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


skip_or_fail = _root_conftest().skip_or_fail


def _have_postgres() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL server, up for the whole test session."""
    if not _have_postgres():
        skip_or_fail("PostgreSQL server binaries not found (apt-get install postgresql)")
    env = {**os.environ, "JOINEDUP_PG_DIR": f"/tmp/joinedup-pg-pytest-{os.getpid()}"}
    started = subprocess.run(
        ["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120
    )
    if started.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
        skip_or_fail(f"could not start PostgreSQL: {started.stderr.strip()}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'programme.sqlite'}"
        return
    import psycopg

    server = request.getfixturevalue("postgres_server")
    name = f"programme_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def store(store_url: str):
    """An open, migrated store on each backend."""
    from joinedup.programme.store import open_store

    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
