"""Shared test set-up.

Every test must say what kind it is (unit, integration or e2e), as a marker on the
test or a ``pytestmark`` in its module, so the suite can be run by layer.
"""

from __future__ import annotations

import os

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
