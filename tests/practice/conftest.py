"""A small synthetic economy shared by the practice tests that need realistic data."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_economy(tmp_path_factory: pytest.TempPathFactory):
    """6,000 people over 2 financial years (built in a few seconds)."""
    from joinedup.synth import SynthConfig, build

    return build(SynthConfig(people=6000, years=2, seed=23), tmp_path_factory.mktemp("practice"))
