"""Measures: declarative definitions, the engine that computes them, and their statistics.

The API most callers need: :func:`compute` (results with intervals, suppressed),
:func:`spc_for` (a Making Data Count chart frame) and :func:`headline` (the headline
figures with their SPC icons). They are imported on first use, so that reading the
library (``load_library``) does not pay for the statistics stack.
"""

from __future__ import annotations

from typing import Any

from joinedup.measures.definition import MeasureDefinition, MeasureError, load_library

_LAZY = {"HEADLINE_MEASURES", "compute", "finalise", "headline", "spc_for"}

__all__ = ["MeasureDefinition", "MeasureError", "load_library", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module("joinedup.measures.results")

        return getattr(module, name)
    raise AttributeError(f"module 'joinedup.measures' has no attribute {name!r}")
