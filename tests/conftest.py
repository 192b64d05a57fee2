"""Shared test set-up.

Every test must say what kind it is (unit, integration or e2e), as a marker on the
test or a ``pytestmark`` in its module, so the suite can be run by layer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail collection of any test that does not declare its kind."""
    missing = [i.nodeid for i in items if not any(i.get_closest_marker(k) for k in KINDS)]
    if missing:
        listed = "\n  ".join(missing[:20])
        raise pytest.UsageError(
            f"{len(missing)} tests declare no kind (unit, integration or e2e):\n  {listed}"
        )


def require_all() -> bool:
    """True under `make test` / CI: a missing server or browser is a failure, not a skip."""
    return os.environ.get("JOINEDUP_REQUIRE_ALL") == "1" or os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Skip locally when an external part is missing; fail under `make test` and CI."""
    if require_all():
        pytest.fail(f"{reason} (required under make test / CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def economy(tmp_path_factory: pytest.TempPathFactory):
    """The calibration-sized synthetic economy (200,000 people, 3 years), built once."""
    from joinedup.synth import SynthConfig, build

    return build(SynthConfig(people=200_000, years=3, seed=42), tmp_path_factory.mktemp("economy"))


def pence_and_reordered(built: Path, folder: Path) -> tuple[Path, Path]:
    """Two copies of the warehouse ``built``: one with pence on its costs (real tariffs
    have them; the synthetic economy's are whole pounds), and the same again with every
    table's rows stored in another order. A computation that gives the same bytes on both
    does not depend on the order rows are added in, even on one thread (so the check
    does not rest on thread timing)."""
    import shutil

    import duckdb

    a, b = folder / "a.duckdb", folder / "b.duckdb"
    shutil.copy(built, a)
    with duckdb.connect(str(a)) as con:
        for table in ("apc_spell", "ae_attendance", "op_appointment", "community_contact"):
            con.execute(f"UPDATE {table} SET cost = cost + hash(rowid) % 100 / 100")
    shutil.copy(a, b)
    with duckdb.connect(str(b)) as con:
        for (table,) in con.sql("SHOW TABLES").fetchall():
            con.execute(f'CREATE TEMP TABLE s AS FROM "{table}" ORDER BY hash(rowid)')
            con.execute(f'DELETE FROM "{table}"; INSERT INTO "{table}" FROM s; DROP TABLE s')
    return a, b


@pytest.fixture(scope="session")
def reordered_warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small economy (3,000 people, 3 years) as :func:`pence_and_reordered` copies."""
    from joinedup.synth import SynthConfig, build

    economy = build(SynthConfig(people=3000, years=3, seed=11), tmp_path_factory.mktemp("e"))
    return pence_and_reordered(economy.warehouse_path, tmp_path_factory.mktemp("copies"))
