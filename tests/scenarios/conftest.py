"""A tiny synthetic economy shared by this folder's integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """3,000 people over 2 financial years (built in a few seconds)."""
    from joinedup.synth import SynthConfig, build

    return build(SynthConfig(people=3000, years=2, seed=7), tmp_path_factory.mktemp("tiny"))
