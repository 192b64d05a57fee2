"""Fixtures of the backend spec suite: one SparkSession per test run, tiny warehouses.

The spec warehouse holds the measures spec data (tests/measures/spec_cases.py: six
people, eight spells, answers worked by hand), loaded the same way into each backend.
Spark starts once for the whole run (several seconds); every Spark warehouse gets its
own session on that context, so their views never mix.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import skip_or_fail
from joinedup.schema import TABLES as SCHEMA
from joinedup.warehouse import open_warehouse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "measures"))
import spec_cases

# Spark cases are slow (a second or more a query, start-up included in the first)
BACKENDS = ["duckdb", pytest.param("spark", marks=pytest.mark.slow)]


@pytest.fixture(scope="session")
def spark():
    """The shared local SparkSession (two cores; one shuffle partition suits tiny data)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        skip_or_fail("pyspark is not installed (pip install 'pyspark>=3.5,<4.1')")
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        skip_or_fail(
            "Java is not installed: Spark needs Java 17 on PATH or in JAVA_HOME "
            "(scripts/install-system-packages.sh installs openjdk-17-jre-headless)"
        )
    from joinedup.warehouse.spark import spark_session

    session = spark_session("local[2]", shuffle_partitions=1)
    yield session
    session.stop()


def arrow(name: str, rows: list[dict]) -> pa.Table:
    """Rows of a canonical table as Arrow, in the stored column types."""
    return pa.Table.from_pylist(rows, schema=SCHEMA[name].arrow_schema())


def warehouse_path(folder: Path, backend: str) -> Path:
    """Where a test warehouse lives: a DuckDB file or a Spark store directory."""
    return folder / ("w.duckdb" if backend == "duckdb" else "w.spark")


def open_backend(request: pytest.FixtureRequest, folder: Path, backend: str, **kw):
    """Open a warehouse on ``backend`` (starting the shared Spark session if needed)."""
    if backend == "spark":
        request.getfixturevalue("spark")
    return open_warehouse(warehouse_path(folder, backend), backend, **kw)


@pytest.fixture(scope="module", params=BACKENDS)
def spec_wh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The spec warehouse on each backend, one batch per table."""
    folder = tmp_path_factory.mktemp(f"spec-{request.param}")
    wh = open_backend(request, folder, request.param)
    for name, rows in spec_cases.TABLES.items():
        wh.load(name, arrow(name, rows), source=f"spec/{name}", content_hash=f"spec-{name}")
    yield wh
    wh.close()
